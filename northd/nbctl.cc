// ovn-nbctl: options and the connect / run / commit cycle (see nbctl.h).
#include "northd/nbctl.h"

#include <charconv>
#include <cstdlib>

#include "common/event_loop.h"
#include "northd/nbctl_commands.h"
#include "ovsdb/idl.h"
#include "ovsdb/idl_txn.h"

#ifndef SPATE_NBCTL_VERSION
#define SPATE_NBCTL_VERSION "unknown"
#endif

namespace spate::northd {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Parses "-t N"/"--timeout=N" seconds.
Result<milliseconds> ParseTimeout(const std::string& text) {
  int64_t seconds = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, seconds);
  if (text.empty() || ec != std::errc() || ptr != end || seconds < 0 || seconds > 86400) {
    return Error("usage", "value '" + text + "' is invalid for --timeout (seconds expected)");
  }
  return milliseconds(seconds * 1000);
}

// Checks the command name and its argument count.
Status CheckCommand(const std::vector<std::string>& command) {
  if (command.empty()) return Error("usage", "missing command name (use --help for help)");
  const NbctlCommand* cmd = FindNbctlCommand(command[0]);
  if (!cmd) return Error("usage", "unknown command '" + command[0] + "'; use --help for help");
  int n_args = static_cast<int>(command.size()) - 1;
  if (n_args >= cmd->min_args && (cmd->max_args < 0 || n_args <= cmd->max_args)) {
    return Status::Ok();
  }
  std::string expected = std::to_string(cmd->min_args);
  if (cmd->max_args < 0) {
    expected = "at least " + expected;
  } else if (cmd->max_args != cmd->min_args) {
    expected += " to " + std::to_string(cmd->max_args);
  }
  return Error("usage", "'" + command[0] + "' command takes " + expected +
                            " arguments, but " + std::to_string(n_args) + " given");
}

// Runs the command once against the synced replica and commits.
Result<std::string> RunOnce(ovsdb::idl::Idl& idl, const NbctlCommand& cmd,
                            const std::vector<std::string>& command, milliseconds timeout,
                            bool* try_again) {
  ovsdb::idl::Txn txn(idl);
  NbctlContext ctx{idl, txn, {}};
  std::vector<std::string> args(command.begin() + 1, command.end());
  if (Status s = cmd.run(ctx, args); !s) return s.error();
  if (!cmd.writes) return std::move(ctx.out);
  std::string comment = "ovn-nbctl:";
  for (const std::string& word : command) comment += " " + word;
  txn.AddComment(comment);
  ovsdb::idl::TxnResult result = txn.CommitBlock(timeout);
  if (result.status == ovsdb::idl::TxnStatus::kTryAgain) {
    *try_again = true;
    return Error("transaction error", result.error.ToString());
  }
  if (!result.ok()) return Error("transaction error", "transaction error: " + result.error.ToString());
  return std::move(ctx.out);
}

}  // namespace

std::string DefaultNbDb() {
  if (const char* db = std::getenv("OVN_NB_DB"); db && *db) return db;
  const char* rundir = std::getenv("OVS_RUNDIR");
  return std::string("unix:") + (rundir && *rundir ? rundir : "/var/run/openvswitch") +
         "/db.sock";
}

Result<NbctlOptions> ParseNbctlArgs(const std::vector<std::string>& args) {
  NbctlOptions options;
  size_t i = 0;
  for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; i++) {
    const std::string& arg = args[i];
    auto value = [&](std::string_view longname) -> std::optional<std::string> {
      if (arg.rfind(std::string(longname) + "=", 0) == 0) return arg.substr(longname.size() + 1);
      if (i + 1 < args.size()) return args[++i];
      return std::nullopt;
    };
    if (arg == "-h" || arg == "--help") {
      options.help = true;
    } else if (arg == "-V" || arg == "--version") {
      options.version = true;
    } else if (arg == "--db" || arg.rfind("--db=", 0) == 0) {
      std::optional<std::string> db = value("--db");
      if (!db) return Error("usage", "option '--db' requires an argument");
      options.db = *db;
    } else if (arg == "-t" || arg == "--timeout" || arg.rfind("--timeout=", 0) == 0) {
      std::optional<std::string> text = value("--timeout");
      if (!text) return Error("usage", "option '" + arg + "' requires an argument");
      Result<milliseconds> timeout = ParseTimeout(*text);
      if (!timeout) return timeout.error();
      options.timeout = *timeout;
    } else {
      return Error("usage", "unrecognized option '" + arg + "'");
    }
  }
  if (options.db.empty()) options.db = DefaultNbDb();
  options.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (options.help || options.version) return options;
  if (Status s = CheckCommand(options.command); !s) return s.error();
  return options;
}

std::string NbctlUsage() {
  std::string text =
      "ovn-nbctl: OVN northbound DB management utility\n"
      "usage: ovn-nbctl [OPTIONS] COMMAND [ARG...]\n";
  std::string_view group;
  for (const NbctlCommand& cmd : NbctlCommands()) {
    if (cmd.group != group) {
      group = cmd.group;
      text += "\n" + std::string(group) + ":\n";
    }
    text += "  " + std::string(cmd.usage) + "\n";
  }
  text +=
      "\nOptions:\n"
      "  --db=DATABASE               connect to DATABASE\n"
      "                              (default: $OVN_NB_DB, else unix:$OVS_RUNDIR/db.sock)\n"
      "  -t, --timeout=SECS          give up after SECS seconds (0 = no limit; default 5)\n"
      "  -h, --help                  display this help message\n"
      "  -V, --version               display version information\n";
  return text;
}

std::string NbctlVersion() { return std::string("ovn-nbctl (Spate) ") + SPATE_NBCTL_VERSION; }

Result<std::string> RunNbctl(const NbctlOptions& options) {
  const NbctlCommand* cmd = FindNbctlCommand(options.command.empty() ? "" : options.command[0]);
  if (!cmd) return Error("usage", "missing or unknown command");
  // 0 means "no limit"; a day is as good as forever for one command.
  milliseconds timeout = options.timeout.count() ? options.timeout : milliseconds(86400000);
  steady_clock::time_point deadline = steady_clock::now() + timeout;
  common::EventLoop loop;
  Result<std::unique_ptr<ovsdb::idl::Idl>> idl = ovsdb::idl::Idl::Create(
      loop, {.remote = options.db, .database = "OVN_Northbound",
             .min_backoff = milliseconds(100), .max_backoff = milliseconds(1000)});
  if (!idl) return Error("usage", idl.error().details().empty() ? idl.error().tag()
                                                                  : idl.error().details());
  (*idl)->Start();
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0 || !(*idl)->WaitSynced(left)) {
      std::string why = (*idl)->last_error().ok() ? "timed out"
                                                   : (*idl)->last_error().error().ToString();
      return Error("database connection failed",
                   options.db + ": database connection failed (" + why + ")");
    }
    bool try_again = false;
    left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    Result<std::string> out = RunOnce(**idl, *cmd, options.command, left, &try_again);
    if (out || !try_again) return out;
  }
}

}  // namespace spate::northd
