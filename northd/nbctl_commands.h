// ovn-nbctl's command table and the context each command runs in.
//
// What
//   One NbctlCommand per command name: its argument-count bounds, its
//   usage line, whether it writes, and the function that runs it.  The
//   functions read the Idl replica, record operations on the Txn and append
//   output to NbctlContext::out; they never commit (nbctl.cc does).
//   ACL rows are found by their `lswitch` reference (the April-2015 schema
//   has no Logical_Switch.acls set) and listed by priority descending,
//   then match.
//
// Thread-safety
//   The table is immutable; a context belongs to one RunNbctl call.
#ifndef SPATE_NORTHD_NBCTL_COMMANDS_H
#define SPATE_NORTHD_NBCTL_COMMANDS_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ovsdb/idl.h"
#include "ovsdb/idl_txn.h"

namespace spate::northd {

// What a running command sees.
struct NbctlContext {
  ovsdb::idl::Idl& idl;    // Synced replica of OVN_Northbound.
  ovsdb::idl::Txn& txn;    // The transaction the command fills.
  std::string out;         // Text to print on success.
};

// One command of the table.
struct NbctlCommand {
  std::string_view name;   // "lswitch-add".
  int min_args;            // Fewest arguments after the name.
  int max_args;            // Most arguments (-1 = unlimited).
  std::string_view usage;  // "lswitch-add [LSWITCH]" plus its help text.
  std::string_view group;  // Heading in --help.
  bool writes;             // Needs a commit.
  std::function<Status(NbctlContext&, const std::vector<std::string>&)> run;  // Body.
};

// Every command, in --help order.
const std::vector<NbctlCommand>& NbctlCommands();
// The command named `name`, or nullptr.
const NbctlCommand* FindNbctlCommand(std::string_view name);

// True if `text` is an Ethernet address "xx:xx:xx:xx:xx:xx" (hex digits,
// either case).
bool IsEthernetAddress(std::string_view text);
// Parses a VLAN tag 0..4095 written in decimal; nullopt otherwise.
std::optional<int64_t> ParseTag(std::string_view text);

// ACL priorities the schema accepts (reference §2.1, from 2015-04-20).
inline constexpr int64_t kMinAclPriority = 1;
inline constexpr int64_t kMaxAclPriority = 65535;
// Parses an ACL priority kMinAclPriority..kMaxAclPriority written in
// decimal; nullopt otherwise.
std::optional<int64_t> ParseAclPriority(std::string_view text);
// True for the ACL actions of the schema: allow, allow-related, drop, reject.
bool IsAclAction(std::string_view text);

}  // namespace spate::northd

#endif  // SPATE_NORTHD_NBCTL_COMMANDS_H
