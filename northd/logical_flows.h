// Logical flows: the June-2015 logical pipeline that ovn-nbd writes to the
// southbound Pipeline table for one logical switch (reference §4.4).
//
// What
//   BuildSwitchFlows() turns one switch's ports and ACLs into the rows of
//   tables 0-3:
//     0  ingress port security: drop logical VLANs and multicast sources,
//        one flow per port (`inport == "P"` plus an eth.src clause), and a
//        default drop;
//     1  destination lookup: flood eth.dst[40] to every port, one flow per
//        (port, MAC), and a priority-0 flood to the ports with `unknown`;
//     2  ACLs (allow/allow-related -> next;, drop/reject -> drop;) and a
//        default next;
//     3  egress port security: deliver multicast, one flow per port
//        (`outport == "P"` plus an eth.dst clause).
//   A disabled port (Logical_Port.enabled = false, reference §2.2) gets
//   `drop;` for both of its port-security flows.  Port names are written
//   as JSON strings (QuoteName).  MACs are written in Open vSwitch's
//   canonical form (lower case, two digits per byte).
//
// Design
//   A pure function over plain structs: no database, no logging.  The
//   caller passes a match checker for ACLs (an ACL whose match it rejects
//   is left out and reported in `notes`) and receives a sorted,
//   duplicate-free vector, so that two computations compare with ==.
//   Ports are taken in name order, so the flood actions are deterministic
//   (2015's ovn-northd used hash order).  A switch without ports floods to
//   nobody: its table-1 broadcast flow is `drop;` (2015 wrote an empty
//   action string, which means the same).
//
// Thread-safety
//   Reentrant; nothing is shared.
#ifndef SPATE_NORTHD_LOGICAL_FLOWS_H
#define SPATE_NORTHD_LOGICAL_FLOWS_H

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace spate::northd {

// One Pipeline row without its datapath.
struct LogicalFlow {
  int64_t table_id = 0;   // Pipeline.table_id, 0..3 here.
  int64_t priority = 0;   // Pipeline.priority.
  std::string match;      // Pipeline.match (expression language, §5).
  std::string actions;    // Pipeline.actions.

  auto operator<=>(const LogicalFlow&) const = default;
};

// What the flows need of one Logical_Port.
struct FlowPort {
  std::string name;                        // Logical_Port.name.
  std::vector<std::string> macs;           // Logical_Port.macs (may hold "unknown").
  std::vector<std::string> port_security;  // Logical_Port.port_security.
  bool enabled = true;                     // False only for enabled=[false].
};

// What the flows need of one ACL.
struct FlowAcl {
  int64_t priority = 0;  // ACL.priority.
  std::string match;     // ACL.match.
  std::string action;    // allow, allow-related, drop or reject.
};

// One switch's inputs.
struct SwitchFlowInput {
  std::vector<FlowPort> ports;  // The switch's ports, any order.
  std::vector<FlowAcl> acls;    // The switch's ACLs, any order.
};

// Checks an ACL match; an error's details() says what is wrong.
using MatchChecker = std::function<Status(std::string_view match)>;

// The switch's flows, sorted and without duplicates.  ACLs that `check`
// rejects, or whose action is not one of the four, are skipped; one line
// per skipped ACL and per invalid `macs` entry is appended to `notes`
// (which may be null).
std::vector<LogicalFlow> BuildSwitchFlows(const SwitchFlowInput& input,
                                          const MatchChecker& check,
                                          std::vector<std::string>* notes);

// `text` as a JSON string: quoted, with `"`, `\` and control characters
// escaped.
std::string QuoteName(std::string_view text);

// A MAC "xx:xx:xx:xx:xx:xx" (hex digits, either case, one or two per
// byte as Open vSwitch's parser accepts) in canonical lower-case form;
// nullopt if `text` is not one.
std::optional<std::string> CanonicalMac(std::string_view text);

}  // namespace spate::northd

#endif  // SPATE_NORTHD_LOGICAL_FLOWS_H
