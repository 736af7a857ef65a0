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

// A round this big (a full build, or the `up` writes that follow it) is
// followed by malloc_trim() (see TrimLater()).
constexpr size_t kLargeCommitOps = 4096;


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
  // The indexes take the replicas' changes at once, while the update
  // being applied is still in memory: their entries then sit beside the
  // new rows rather than scattered through the freed update, which keeps
  // the heap trimmable after a large change (see TrimLater()).
  nb_->SetChangeHandler([this] {
    TakeNbChanges(*nb_, nb_index_, dirty_);
    Schedule();
  });
  sb_->SetChangeHandler([this] {
    TakeSbChanges(*sb_, sb_index_, dirty_);
    Schedule();
  });
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
    if (sb_round_.id != 0 || nb_round_.id != 0) return;  // Their results first.
    Rebuild(*nb_, *sb_, nb_index_, sb_index_, dirty_);
    TrimLater();  // The monitor replies just applied are garbage now.
    full_ = false;
  }
  SyncContext ctx = Context();
  if (sb_round_.id == 0 && dirty_.sb_work()) CommitSouthbound(ctx);
  if (nb_round_.id == 0 && !dirty_.up.empty()) CommitNorthbound(ctx);
}

// The base timeout plus 1 ms per operation: a full build of 40k rows may
// take tens of seconds on a loaded machine before the replica shows it.
std::chrono::milliseconds Nbd::CommitTimeout(size_t n_ops) const {
  return options_.commit_timeout + std::chrono::milliseconds(n_ops);
}

void Nbd::CommitSouthbound(SyncContext& ctx) {
  BeginRound(true);
  Txn txn(*sb_);
  size_t n_ops = WriteSouthbound(ctx, dirty_, txn);
  if (n_ops > 0) Commit(true, txn, n_ops, "ovn-nbd: northbound db changed");
  EndRound(true);
}

void Nbd::CommitNorthbound(SyncContext& ctx) {
  BeginRound(false);
  Txn txn(*nb_);
  size_t n_ops = WriteNorthbound(ctx, dirty_, txn);
  if (n_ops > 0) Commit(false, txn, n_ops, "ovn-nbd: southbound db changed");
  EndRound(false);
}

void Nbd::BeginRound(bool southbound) {
  Round& round = southbound ? sb_round_ : nb_round_;
  round = Round();
  round.id = next_round_id_++;
  round.started = std::chrono::steady_clock::now();
}

void Nbd::Commit(bool southbound, Txn& txn, size_t n_ops, const char* comment) {
  Round& round = southbound ? sb_round_ : nb_round_;
  txn.AddComment(comment);
  ++round.pending;
  ++round.n_txns;
  round.n_ops += n_ops;
  std::shared_ptr<bool> alive = alive_;
  txn.Commit([this, alive, southbound, id = round.id](TxnResult r) {
    if (*alive) Committed(southbound, id, r);
  });
  round.sent = std::chrono::steady_clock::now();
}

// Every transaction of the round is sent: start its timeout.
void Nbd::EndRound(bool southbound) {
  Round& round = southbound ? sb_round_ : nb_round_;
  if (round.n_txns == 0) {
    round.id = 0;  // Nothing to write.
    return;
  }
  (southbound ? sb_timer_ : nb_timer_).Start(CommitTimeout(round.n_ops), [this, southbound] {
    Round& r = southbound ? sb_round_ : nb_round_;
    if (r.failure.ok()) {
      r.failure = Error("timed out", "the replica never showed it");
      r.failure_status = ovsdb::idl::TxnStatus::kError;
    }
    RoundDone(southbound);  // Late results are ignored (their round id is gone).
  });
  // Building it left garbage (flow computations, name lookups) while the
  // daemon may now wait a while for the server.
  if (round.n_ops >= kLargeCommitOps) TrimLater();
}

void Nbd::Committed(bool southbound, uint64_t id, const TxnResult& result) {
  Round& round = southbound ? sb_round_ : nb_round_;
  if (round.id != id) return;  // Abandoned earlier.
  if (result.replied_at > round.replied) round.replied = result.replied_at;
  if (!result.ok() && round.failure.ok()) {
    round.failure = result.error;
    round.failure_status = result.status;
  }
  if (--round.pending == 0) RoundDone(southbound);
}

// After a large change (a full build's commit, a full recompute), glibc
// keeps the freed request, reply and parsed updates: hand the free pages
// back once the message being handled now is freed too, by posting the
// trim behind it.
void Nbd::TrimLater() {
  std::shared_ptr<bool> alive = alive_;
  loop_.Post([alive] {
    if (*alive) ::malloc_trim(0);
  });
}

// For a large round: how long it took to build and send, for the server
// to answer the last transaction, and for the replica to show them.
void Nbd::LogLargeRound(bool southbound, const Round& round) {
  using std::chrono::duration;
  auto ms = [](auto d) { return duration<double, std::milli>(d).count(); };
  auto now = std::chrono::steady_clock::now();
  bool replied = round.replied.time_since_epoch().count() != 0;
  char text[256];
  std::snprintf(text, sizeof text,
                "%s: %zu operations in %zu transaction(s): built and sent in %.0f ms, "
                "last reply after %.0f ms, all in the replica %.0f ms later (%s)",
                southbound ? "southbound" : "northbound", round.n_ops, round.n_txns,
                ms(round.sent - round.started), replied ? ms(round.replied - round.sent) : -1.0,
                replied ? ms(now - round.replied) : -1.0, round.failure.ok() ? "ok" : "failed");
  Log(false, text);
}

void Nbd::RoundDone(bool southbound) {
  Round& round = southbound ? sb_round_ : nb_round_;
  (southbound ? sb_timer_ : nb_timer_).Cancel();
  if (round.n_ops >= kLargeCommitOps) {
    LogLargeRound(southbound, round);
    TrimLater();
  }
  Status failure = round.failure;
  bool warn = round.failure_status == ovsdb::idl::TxnStatus::kError;
  round = Round();
  if (!failure.ok() && southbound) {
    Log(true, "southbound transaction failed (" + failure.error().ToString() +
                  "); recomputing everything");
    full_ = true;
  } else if (!failure.ok()) {
    // Only `up` was written: check every port's again.
    Log(warn,
        "northbound transaction failed (" + failure.error().ToString() + "); checking every port");
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
