// ovn-nbd's daemon logic: two replicas, the lock, and the commit cycle;
// see nbd.h.
#include "northd/nbd.h"

#include <cinttypes>
#include <cstdio>

#include <malloc.h>

#include "common/daemon.h"
#include "expr/expr.h"
#include "ovsdb/idl_txn.h"

namespace spate::northd {
namespace {

using common::LogLevel;
using ovsdb::idl::Idl;
using ovsdb::idl::IdlOptions;
using ovsdb::idl::TableRequest;
using ovsdb::idl::Txn;
using ovsdb::idl::TxnResult;

// A southbound commit this big (a full build) is followed by malloc_trim().
constexpr size_t kLargeCommitOps = 10000;

Result<std::unique_ptr<Idl>> MakeIdl(common::EventLoop& loop, const std::string& option,
                                     const std::string& remote, const char* database,
                                     std::vector<TableRequest> tables) {
  Result<std::vector<std::string>> remotes = ovsdb::idl::ParseRemotes(remote);
  if (!remotes.ok()) {
    return Error("usage", "--" + option + "=" + remote + ": " + remotes.error().details());
  }
  IdlOptions o;
  // As Open vSwitch: no inactivity probe on unix sockets (a server busy
  // with a large transaction must not look dead).
  bool all_unix = true;
  for (const std::string& r : *remotes) all_unix = all_unix && r.rfind("unix:", 0) == 0;
  if (all_unix) o.probe_interval = std::chrono::milliseconds(0);
  o.remote = remote;
  o.database = database;
  o.tables = std::move(tables);
  o.max_backoff = std::chrono::milliseconds(4000);
  return Idl::Create(loop, std::move(o));
}

}  // namespace

std::string DefaultNbdDb() { return "unix:" + common::OvsRundir() + "/db.sock"; }

Nbd::Nbd(common::EventLoop& loop, const NbdOptions& options, common::Vlog& vlog,
         common::VlogModule& log)
    : loop_(loop), options_(options), vlog_(vlog), log_(log), sb_timer_(loop), nb_timer_(loop) {}

Nbd::~Nbd() { *alive_ = false; }

Result<std::unique_ptr<Nbd>> Nbd::Create(common::EventLoop& loop, const NbdOptions& options,
                                         common::Vlog& vlog, common::VlogModule& log) {
  std::unique_ptr<Nbd> nbd(new Nbd(loop, options, vlog, log));
  Result<std::unique_ptr<Idl>> nb = MakeIdl(
      loop, "ovnnb-db", options.nb_db, "OVN_Northbound",
      {{"Logical_Switch", {}, nullptr}, {"Logical_Port", {}, nullptr}, {"ACL", {}, nullptr}});
  if (!nb.ok()) return nb.error();
  Result<std::unique_ptr<Idl>> sb = MakeIdl(loop, "ovn-db", options.sb_db, "OVN",
                                            {{"Bindings", {}, nullptr}, {"Pipeline", {}, nullptr}});
  if (!sb.ok()) return sb.error();
  nbd->nb_ = std::move(nb).value();
  nbd->sb_ = std::move(sb).value();
  return nbd;
}

void Nbd::Start() {
  nb_->SetChangeHandler([this] { Schedule(); });
  sb_->SetChangeHandler([this] { Schedule(); });
  sb_->SetLock(kNbdLockName);
  nb_->Start();
  sb_->Start();
}

bool Nbd::active() const { return sb_->has_lock(); }

void Nbd::Log(bool warn, const std::string& message) {
  vlog_.Log(log_, warn ? LogLevel::kWarn : LogLevel::kInfo, message);
}

void Nbd::Schedule() {
  if (run_posted_) return;
  run_posted_ = true;
  std::shared_ptr<bool> alive = alive_;
  loop_.Post([this, alive] {
    if (*alive) Run();
  });
}

// Logs a connection problem once (and its end), in the form
// "DB: database connection failed (REASON)".
void Nbd::ReportConnection(Idl& idl, const std::string& db, std::string& reported) {
  if (idl.synced()) {
    if (!reported.empty()) Log(false, db + ": connected");
    reported.clear();
    return;
  }
  if (idl.last_error().ok()) return;
  std::string message =
      db + ": database connection failed (" + idl.last_error().error().ToString() + ")";
  if (message != reported) Log(true, message);
  reported = message;
}

SyncContext Nbd::Context() {
  return SyncContext{*nb_,
                     *sb_,
                     nb_index_,
                     sb_index_,
                     [](std::string_view match) { return expr::ValidateMatch(match); },
                     [this](bool warn, const std::string& m) { Log(warn, m); },
                     &last_key_,
                     &stats_};
}

void Nbd::Run() {
  run_posted_ = false;
  ReportConnection(*nb_, options_.nb_db, nb_reported_);
  ReportConnection(*sb_, options_.sb_db, sb_reported_);
  TakeNbChanges(*nb_, nb_index_, dirty_);
  TakeSbChanges(*sb_, sb_index_, dirty_);
  if (sb_->has_lock() != was_active_) {
    was_active_ = sb_->has_lock();
    Log(false, was_active_ ? "ovn-nbd lock acquired: this instance is now active"
                           : "ovn-nbd lock lost: this instance is now on standby");
    if (was_active_) full_ = true;
  }
  if (!was_active_) {
    dirty_ = Dirty();  // Whoever holds the lock does the work.
    return;
  }
  if (!nb_->synced() || !sb_->synced()) return;
  if (full_) {
    if (sb_in_flight_ != 0 || nb_in_flight_ != 0) return;  // Their results first.
    Rebuild(*nb_, *sb_, nb_index_, sb_index_, dirty_);
    full_ = false;
  }
  SyncContext ctx = Context();
  if (sb_in_flight_ == 0 && dirty_.sb_work()) CommitSouthbound(ctx);
  if (nb_in_flight_ == 0 && !dirty_.up.empty()) CommitNorthbound(ctx);
}

// The base timeout plus 1 ms per operation: a full build of 40k rows may
// take tens of seconds on a loaded machine before the replica shows it.
std::chrono::milliseconds Nbd::CommitTimeout(size_t n_ops) const {
  return options_.commit_timeout + std::chrono::milliseconds(n_ops);
}

void Nbd::CommitSouthbound(SyncContext& ctx) {
  Txn txn(*sb_);
  size_t n_ops = WriteSouthbound(ctx, dirty_, txn);
  if (n_ops == 0) return;
  large_commit_ = large_commit_ || n_ops >= kLargeCommitOps;
  txn.AddComment("ovn-nbd: northbound db changed");
  uint64_t id = next_commit_id_++;
  sb_in_flight_ = id;
  std::shared_ptr<bool> alive = alive_;
  txn.Commit([this, alive, id](TxnResult r) {
    if (*alive) Committed(true, id, r);
  });
  sb_timer_.Start(CommitTimeout(n_ops), [this, id] {
    Committed(true, id, TxnResult{.error = Error("timed out", "the replica never showed it")});
  });
}

void Nbd::CommitNorthbound(SyncContext& ctx) {
  Txn txn(*nb_);
  size_t n_ops = WriteNorthbound(ctx, dirty_, txn);
  if (n_ops == 0) return;
  txn.AddComment("ovn-nbd: southbound db changed");
  uint64_t id = next_commit_id_++;
  nb_in_flight_ = id;
  std::shared_ptr<bool> alive = alive_;
  txn.Commit([this, alive, id](TxnResult r) {
    if (*alive) Committed(false, id, r);
  });
  nb_timer_.Start(CommitTimeout(n_ops), [this, id] {
    Committed(false, id, TxnResult{.error = Error("timed out", "the replica never showed it")});
  });
}

void Nbd::Committed(bool southbound, uint64_t id, const TxnResult& result) {
  uint64_t& in_flight = southbound ? sb_in_flight_ : nb_in_flight_;
  if (in_flight != id) return;  // Abandoned earlier.
  in_flight = 0;
  (southbound ? sb_timer_ : nb_timer_).Cancel();
  if (large_commit_) {
    ::malloc_trim(0);  // Hand the transaction's buffers back to the system.
    large_commit_ = false;
  }
  if (!result.ok() && southbound) {
    Log(true, "southbound transaction failed (" + result.error.ToString() +
                  "); recomputing everything");
    full_ = true;
  } else if (!result.ok()) {
    // Only `up` was written: check every port's again.
    Log(result.status == ovsdb::idl::TxnStatus::kError,
        "northbound transaction failed (" + result.error.ToString() + "); checking every port");
    for (const auto& [name, port] : nb_index_.port_by_name) dirty_.up.insert(name);
  }
  Schedule();
}

std::string Nbd::StatusText() const {
  char counters[512];
  std::snprintf(counters, sizeof counters,
                "bindings: %" PRIu64 " inserted, %" PRIu64 " updated, %" PRIu64 " deleted\n"
                "pipeline: %" PRIu64 " inserted, %" PRIu64 " deleted, %" PRIu64
                " switch computations, %" PRIu64 " ACLs skipped\n"
                "up: %" PRIu64 " writes\n",
                stats_.bindings_inserted, stats_.bindings_updated, stats_.bindings_deleted,
                stats_.flows_inserted, stats_.flows_deleted, stats_.switches_computed,
                stats_.acls_skipped, stats_.up_writes);
  std::string text = std::string("Status: ") + (active() ? "active" : "standby") + "\n";
  text += std::string("northbound: ") + options_.nb_db + (nb_->synced() ? " (synced)\n" : " (not connected)\n");
  text += std::string("southbound: ") + options_.sb_db + (sb_->synced() ? " (synced)\n" : " (not connected)\n");
  return text + counters;
}

}  // namespace spate::northd
