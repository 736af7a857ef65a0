// ovn-nbctl's logic: options, the one-command-per-process model, and the
// commands on the OVN_Northbound database.
//
// What
//   ParseNbctlArgs() turns argv into NbctlOptions (--db, -t/--timeout,
//   --help, --version, then COMMAND ARGS...).  RunNbctl() connects an Idl
//   replica of OVN_Northbound (ovsdb/idl.h), waits for the first snapshot,
//   runs the command against the replica, commits its transaction with
//   Txn::CommitBlock and returns what the command printed.  The commands
//   and output formats are those of reference §3.3/§3.4 (2015), with the
//   seed's argument order `lport-add LPORT LSWITCH [PARENT TAG]`, the ACL
//   commands without the August-2015 DIRECTION argument (the schema's ACL
//   table has no direction column), and
//   today's error policy: every failure is an Error whose details are the
//   one-line message the tool prints after "ovn-nbctl: ", with exit 1.
//
// Design
//   Every command is a function over an NbctlContext (replica + the
//   transaction being built + output text).  Read-only commands never
//   commit.  A commit that reports kTryAgain (a verified column changed
//   under us, or the connection dropped before the reply) re-runs the
//   command against the refreshed replica, as Open vSwitch's tools do,
//   until the deadline.  Switches and ports are named by UUID or by name
//   (reference §3.2): a UUID is looked up first, then names; a name shared
//   by several switches is an error listing their UUIDs.  Lists are
//   sorted by name, then UUID (the September-2015 behaviour; 2015-04's
//   tool printed hash-table order, which is what the seed shows).
//
// Thread-safety
//   RunNbctl owns its EventLoop and Idl; separate calls may run on
//   separate threads.  Nothing is shared.
#ifndef SPATE_NORTHD_NBCTL_H
#define SPATE_NORTHD_NBCTL_H

#include <chrono>
#include <string>
#include <vector>

#include "common/result.h"

namespace spate::northd {

// What the command line asked for.
struct NbctlOptions {
  std::string db;                       // --db, else $OVN_NB_DB, else the default socket.
  std::chrono::milliseconds timeout{5000};  // -t/--timeout: bound on connect + commit.
  bool help = false;                    // --help: print NbctlUsage() and exit 0.
  bool version = false;                 // --version: print NbctlVersion() and exit 0.
  std::vector<std::string> command;     // COMMAND and its arguments.
};

// The default database: $OVN_NB_DB if set, else "unix:$OVS_RUNDIR/db.sock"
// with OVS_RUNDIR defaulting to /var/run/openvswitch.
std::string DefaultNbDb();

// Parses argv[1..] (argv[0] excluded).  Options must precede the command.
// Errors ("usage"): unknown option, missing or bad option value (timeout
// not a non-negative integer of seconds), no command, unknown command,
// wrong argument count for the command.
[[nodiscard]] Result<NbctlOptions> ParseNbctlArgs(const std::vector<std::string>& args);

// The --help text: usage line, commands grouped as the 2015 tool did, and
// options.
std::string NbctlUsage();
// The --version line, "ovn-nbctl (Spate) X.Y.Z".
std::string NbctlVersion();

// Connects to options.db, runs options.command (which ParseNbctlArgs has
// validated), commits and returns the command's output text (possibly
// empty; every line ends in '\n').  Errors carry the one-line message in
// details(): "database connection failed/timed out", "not found",
// "usage" (bad MAC, tag, ...), "transaction error" (the server refused the
// commit, e.g. a referential integrity violation).
[[nodiscard]] Result<std::string> RunNbctl(const NbctlOptions& options);

}  // namespace spate::northd

#endif  // SPATE_NORTHD_NBCTL_H
