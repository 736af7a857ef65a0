// RunVsctl: connect, run the chain against a View, commit, wait for
// cur_cfg (see vsctl.h).
#include <algorithm>

#include "common/event_loop.h"
#include "ovsdb/idl.h"
#include "ovsdb/idl_txn.h"
#include "tools/vsctl/vsctl.h"

namespace spate::vsctl {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// What one pass over the chain produced.
struct ChainResult {
  std::string out;                    // The commands' output.
  std::vector<std::string> warnings;  // Warning lines.
  bool read_only = true;              // Every command only reads.
};

// Symbols used but never created are errors; new rows in non-root tables
// that nothing refers to are warnings (the server would drop them).
Status CheckSymbols(View& view, const SymbolTable& symbols, std::vector<std::string>* warnings) {
  for (const auto& [name, symbol] : symbols) {
    if (symbol.referenced && !symbol.created) {
      return Error("usage", "row id \"" + name + "\" is referenced but never created (e.g. with \"-- --id=" +
                                name + " create ...\")");
    }
    if (!symbol.created || !symbol.new_row || symbol.referenced) continue;
    for (const ovsdb::TableSchema& t : view.schema().tables) {
      if (!t.is_root && view.Exists(t, symbol.uuid)) {
        warnings->push_back("row id \"" + name +
                            "\" was created but no reference to it was inserted, so it will not "
                            "actually appear in the database");
      }
    }
  }
  return Status::Ok();
}

// Runs every command of the chain against `view`.
Result<ChainResult> RunChain(const VsctlOptions& options, View& view) {
  ChainResult result;
  SymbolTable symbols;
  const ovsdb::TableSchema* ovs = view.schema().FindTable("Open_vSwitch");
  if (ovs && view.Rows(*ovs).empty()) view.Insert(*ovs);  // As Open vSwitch's ovs-vsctl.
  for (const ParsedCommand& cmd : options.commands) {
    const CommandSpec* spec = FindCommand(cmd.name);
    Context ctx{view, symbols, options.output, cmd, {}, result.warnings};
    if (Status s = spec->run(ctx); !s) return s.error();
    result.out += ctx.out;
    if (!spec->read_only) result.read_only = false;
  }
  if (Status s = CheckSymbols(view, symbols, &result.warnings); !s) return s.error();
  return result;
}

// Replaces every local UUID of a new row in `out` with the server's UUID.
void RewriteUuids(const std::map<ovsdb::Uuid, ovsdb::Uuid>& new_uuids,
                  const ovsdb::idl::TxnResult& result, std::string* out) {
  for (const auto& [local, new_uuid] : new_uuids) {
    std::string from = local.ToString();
    std::string to = result.Real(new_uuid).ToString();
    for (size_t pos = out->find(from); pos != std::string::npos; pos = out->find(from, pos)) {
      out->replace(pos, from.size(), to);
      pos += to.size();
    }
  }
}

milliseconds Left(steady_clock::time_point deadline) {
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()));
}

// Waits until Open_vSwitch.cur_cfg >= next_cfg.
Status WaitForCurCfg(ovsdb::idl::Idl& idl, int64_t next_cfg, steady_clock::time_point deadline) {
  auto caught_up = [&] {
    ovsdb::idl::ReplicaTable* t = idl.table("Open_vSwitch");
    if (!t) return false;
    for (const ovsdb::idl::RowView& row : t->All()) {
      if (row.GetInteger("cur_cfg") >= next_cfg) return true;
    }
    return false;
  };
  if (idl.RunUntil(caught_up, Left(deadline))) return Status::Ok();
  return Error(std::string(kWaitTimedOut),
               "timed out waiting for cur_cfg to reach " + std::to_string(next_cfg) +
                   " (is ovs-vswitchd or ovn-controller running? see --no-wait)");
}

// One attempt: run the chain, commit.  Sets *retry on kTryAgain.
Result<std::string> RunOnce(ovsdb::idl::Idl& idl, const VsctlOptions& options,
                            steady_clock::time_point deadline, std::vector<std::string>* warnings,
                            bool* retry) {
  View view(*idl.replica());
  Result<ChainResult> chain = RunChain(options, view);
  if (!chain) return chain.error();
  bool wait = options.wait && !chain->read_only && view.HasChanges();
  int64_t next_cfg = 0;
  if (wait) {
    const ovsdb::TableSchema* ovs = view.schema().FindTable("Open_vSwitch");
    ovsdb::Uuid row = view.Rows(*ovs).front();
    const ovsdb::Datum& cur = view.Read(*ovs, row, "next_cfg");
    next_cfg = (cur.size() == 1 ? cur.keys()[0].integer() : 0) + 1;
    view.Write(*ovs, row, "next_cfg", ovsdb::Datum(ovsdb::Atom(next_cfg)));
  }
  if (options.dry_run || !view.HasChanges()) {
    warnings->insert(warnings->end(), chain->warnings.begin(), chain->warnings.end());
    return std::move(chain->out);
  }
  ovsdb::idl::Txn txn(idl);
  Result<std::map<ovsdb::Uuid, ovsdb::Uuid>> new_uuids = view.Build(txn);
  if (!new_uuids) return new_uuids.error();
  std::string comment = "ovs-vsctl:";
  for (const ParsedCommand& cmd : options.commands) {
    comment += " " + cmd.name;
    for (const std::string& a : cmd.args) comment += " " + a;
  }
  txn.AddComment(comment);
  ovsdb::idl::TxnResult result = txn.CommitBlock(Left(deadline));
  if (result.status == ovsdb::idl::TxnStatus::kTryAgain) {
    *retry = true;
    return Error("transaction error", result.error.ToString());
  }
  if (!result.ok()) return Error("transaction error", "transaction error: " + result.error.ToString());
  warnings->insert(warnings->end(), chain->warnings.begin(), chain->warnings.end());
  RewriteUuids(*new_uuids, result, &chain->out);
  if (wait) {
    if (Status s = WaitForCurCfg(idl, next_cfg, deadline); !s) return s.error();
  }
  return std::move(chain->out);
}

// Gives every replicated table the always-true condition [true].  The
// rows stay the same, but Txn's success no longer waits for the replica
// to show the transaction's effects (idl_txn.h: the check skips tables
// with a condition).  ovs-vsctl never acts on its replica after a commit
// (it only watches cur_cfg, which it compares, not expects), and two of
// those effects never show: rows the server garbage-collects ("create"
// without --id on a non-root table) and, against Open vSwitch's server, an
// optional column cleared to [] (its update2 diff is the new value, which
// the replica does not apply yet).  Errors are ignored: a server without
// conditional monitoring keeps the unconditional monitor.
void IgnoreReplicaAfterCommit(ovsdb::idl::Idl& idl) {
  for (const auto& table : idl.replica()->tables()) {
    (void)idl.SetCondition(table->name(), ovsdb::Json::array({true}));
  }
}

// The system's reason for a failed connection ("No such file or
// directory"), which is what Open vSwitch prints in parentheses; the whole
// error text when it carries none.
std::string ConnectReason(const Error& error) {
  std::string text = ErrorText(error);
  size_t open = text.rfind(" (");
  if (open == std::string::npos || text.back() != ')') return text;
  return text.substr(open + 2, text.size() - open - 3);
}

}  // namespace

Result<std::string> RunVsctl(const VsctlOptions& options, std::vector<std::string>* warnings) {
  // 0 means "no limit"; a year is as good as forever for one command.
  milliseconds timeout = options.timeout.count() ? options.timeout : milliseconds(86400000LL * 365);
  steady_clock::time_point deadline = steady_clock::now() + timeout;
  common::EventLoop loop;
  Result<std::unique_ptr<ovsdb::idl::Idl>> idl = ovsdb::idl::Idl::Create(
      loop, {.remote = options.db, .database = "Open_vSwitch",
             .min_backoff = milliseconds(100), .max_backoff = milliseconds(1000)});
  if (!idl) return Error("usage", ErrorText(idl.error()));
  (*idl)->Start();
  bool conditions_set = false;
  for (;;) {
    bool synced = (*idl)->RunUntil(
        [&] { return (*idl)->synced() || !(*idl)->last_error().ok(); }, Left(deadline));
    if (!synced || !(*idl)->synced()) {
      std::string why = (*idl)->last_error().ok() ? "timed out"
                                                   : ConnectReason((*idl)->last_error().error());
      return Error("database connection failed",
                   options.db + ": database connection failed (" + why + ")");
    }
    if (!conditions_set) {
      IgnoreReplicaAfterCommit(**idl);
      conditions_set = true;
    }
    bool retry = false;
    Result<std::string> out = RunOnce(**idl, options, deadline, warnings, &retry);
    if (out || !retry) return out;
  }
}

}  // namespace spate::vsctl
