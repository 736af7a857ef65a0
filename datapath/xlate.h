// Slow path: translate a flow key through the flow tables into datapath
// actions and the widest megaflow that is correct for them.
//
// What it is
//   Translate(key, env) looks `key` up in table 0, runs the rule's actions
//   on a copy of the key (set-field changes it, resubmit and goto_table
//   look it up again in other tables, output/flood become datapath
//   outputs), and returns:
//   * the datapath action list (actions.h), with the reason when it drops;
//   * the wildcard mask: every bit of the ORIGINAL key the result depends
//     on.  It is the union of what each classifier lookup consulted, minus
//     bits that an earlier action had overwritten with a constant (those do
//     not depend on the packet), plus the fields that actions themselves
//     read (in_port for output, vlan presence for mod_vlan_vid, dl_type and
//     nw_proto for set-field prerequisites, nw_ttl for dec_ttl, tunnel
//     fields for tunnel output).  in_port is always exact.
//     Every key that agrees with `key` on these bits gets the same actions
//     at this version; the fast path installs (key & wc, wc) as a megaflow;
//   * the rules it went through (for statistics) and the tables visited
//     (for targeted revalidation after a commit).
//
// Design
//   Lock-free: the caller passes one classifier version for the whole
//   translation and must be a registered reader of the tables' domain
//   (between quiescent states), so concurrent commits are invisible until
//   its next translation.  Limits as Open vSwitch: resubmit depth 64 and
//   4096 table lookups per packet, beyond which the packet is dropped.
//   An optional XlateTrace collects ofproto/trace-style lines; the fast
//   path passes none.
//
// Thread-safety
//   Reentrant; reads only the tables (lock-free) and the port snapshot.
#ifndef SPATE_DATAPATH_XLATE_H
#define SPATE_DATAPATH_XLATE_H

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "classifier/flow.h"
#include "datapath/actions.h"
#include "datapath/flow_rule.h"
#include "datapath/port_map.h"

namespace spate::datapath {

inline constexpr int kMaxResubmitDepth = 64;  // Nested resubmit/goto.
inline constexpr int kMaxResubmits = 4096;    // Table lookups per packet.

// What a translation reads.
struct XlateEnv {
  const FlowTables* tables = nullptr;  // The pipeline.
  cls::Version version = 0;            // Version to look up at.
  const PortMap* ports = nullptr;      // Ports for output/flood.
  const TunnelHook* tunnels = nullptr; // Tunnel hook, or nullptr.
};

// A set of table numbers.
struct TableSet {
  std::array<uint64_t, 4> bits{};  // Bit t set: table t.

  void Add(int t) { bits[static_cast<size_t>(t) / 64] |= 1ULL << (t % 64); }
  bool Has(int t) const { return bits[static_cast<size_t>(t) / 64] >> (t % 64) & 1; }
  bool Intersects(const TableSet& o) const {
    for (size_t i = 0; i < bits.size(); ++i) {
      if (bits[i] & o.bits[i]) return true;
    }
    return false;
  }
  void AddAll(const TableSet& o) {
    for (size_t i = 0; i < bits.size(); ++i) bits[i] |= o.bits[i];
  }
  bool empty() const { return (bits[0] | bits[1] | bits[2] | bits[3]) == 0; }
};

// The outcome of a translation.
struct XlateResult {
  DpActions actions;               // Finalized datapath actions.
  cls::FlowKey wc{};               // Bits of the key the result depends on.
  std::vector<FlowRule*> rules;    // Rules matched, in order.
  TableSet tables;                 // Tables looked up.
};

// ofproto/trace-style explanation lines.
struct XlateTrace {
  std::vector<std::string> lines;  // One per step, indented by depth.
};

// Translates `key` (see the header comment).  `trace` may be null.
XlateResult Translate(const cls::FlowKey& key, const XlateEnv& env,
                      XlateTrace* trace = nullptr);

// The megaflow a translation implies: (key & wc, wc).
cls::Match MegaflowMatch(const cls::FlowKey& key, const cls::FlowKey& wc);

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_XLATE_H
