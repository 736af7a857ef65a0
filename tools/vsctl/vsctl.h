// ovs-vsctl: manages the local Open_vSwitch database (bridges, ports,
// interfaces, and any column through the database commands), with Open
// vSwitch 3.1's command names, options, output and error wording.
//
// What
//   ParseVsctlArgs() turns argv into VsctlOptions: global options, then a
//   chain of commands separated by "--", each with its own options
//   (--if-exists, --may-exist, --with-iface, --all, --id=@name,
//   --columns=...).  RunVsctl() connects an Idl replica of Open_vSwitch
//   (ovsdb/idl.h), runs every command of the chain against one View
//   (vsctl_view.h), commits all their changes in one transaction (so a
//   failing command commits nothing), and unless --no-wait, when the chain
//   has a changing command and changed something, increments
//   Open_vSwitch.next_cfg and waits (bounded by -t) until cur_cfg reaches
//   it, as Open vSwitch does.
//
// Design
//   Commands are CommandSpec entries (vsctl_commands.h) in two files
//   (bridge commands, database commands).  A commit that reports
//   kTryAgain re-runs the whole chain against the refreshed replica.
//   Output is printed only after a successful commit; UUIDs of rows the
//   chain created are rewritten to the ones the server assigned.
//
// Thread-safety
//   RunVsctl owns its EventLoop and Idl; separate calls may run on
//   separate threads.
#ifndef SPATE_TOOLS_VSCTL_VSCTL_H
#define SPATE_TOOLS_VSCTL_VSCTL_H

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tools/vsctl/vsctl_commands.h"

namespace spate::vsctl {

// Error tag of "br-exists" on a missing bridge: exit status 2, no message.
inline constexpr std::string_view kExitStatus2 = "exit status 2";
// Error tag when the cur_cfg wait ran out of time: exit status 142 (what
// Open vSwitch's alarm signal gives).
inline constexpr std::string_view kWaitTimedOut = "timed out";

// What the command line asked for.
struct VsctlOptions {
  std::string db;                        // --db, else unix:$OVS_RUNDIR/db.sock.
  std::chrono::milliseconds timeout{0};  // -t/--timeout; 0 = no limit.
  bool wait = true;                      // false with --no-wait.
  bool dry_run = false;                  // --dry-run: do not commit.
  bool help = false;                     // --help.
  bool version = false;                  // --version.
  OutputOptions output;                  // --format, --data, --bare, ...
  std::vector<ParsedCommand> commands;   // The "--" chain.
};

// The default database: "unix:$OVS_RUNDIR/db.sock", OVS_RUNDIR defaulting
// to /var/run/openvswitch.
std::string DefaultVswitchDb();

// Parses argv[1..].  Errors ("usage"), in Open vSwitch's words: unknown
// option, missing option value, bad timeout or format, no command,
// unknown command, wrong argument count, an option the command does not
// take, an option given twice.
[[nodiscard]] Result<VsctlOptions> ParseVsctlArgs(const std::vector<std::string>& args);

// The --help text and the --version line ("ovs-vsctl (Spate) X.Y.Z").
std::string VsctlUsage();
std::string VsctlVersion();

// Runs the chain (see above) and returns its output (every line ends in
// '\n').  Warnings (e.g. a created row nothing refers to) are appended to
// `warnings`, one line each.  Errors carry the one-line message in
// details() (tags: "database connection failed", "not found", "usage",
// "syntax error", "constraint violation", "transaction error",
// kExitStatus2, kWaitTimedOut).
[[nodiscard]] Result<std::string> RunVsctl(const VsctlOptions& options,
                                           std::vector<std::string>* warnings);

// The line main() prints for `error` after "ovs-vsctl: " ("" for none) and
// the exit status.
std::string ErrorText(const Error& error);
int ExitStatus(const Error& error);

}  // namespace spate::vsctl

#endif  // SPATE_TOOLS_VSCTL_VSCTL_H
