// ovn-nbd: the daemon that keeps the southbound OVN database equal to what
// the OVN_Northbound database implies (reference §4).
//
// What
//   Nbd holds two Idl replicas: all of Logical_Switch, Logical_Port and ACL
//   from OVN_Northbound, and Bindings and Pipeline from the southbound
//   database "OVN".  Whenever either changes it writes, in one southbound
//   transaction, the Bindings rows (§4.2) and Pipeline rows (§4.4) that the
//   change affects, and in one northbound transaction the Logical_Port.up
//   values that Bindings.chassis implies (§4.3).  Transactions with no
//   operations are never sent, so a restart on a consistent database
//   writes nothing.
//
// Design
//   Incremental: the replicas' change tracking feeds NbIndex/SbIndex
//   (nbd_index.h), which mark only the switches, bindings and ports a
//   change affects; nbd_sync.h writes just those.  A full recompute
//   (Rebuild) happens when this process becomes the active writer (first
//   sync, or after taking the lock over), and after a southbound
//   transaction fails; after a failed northbound (`up`) transaction every
//   port's `up` is checked again.  Updates carry a Verify of the row, so a
//   row deleted under a commit makes it fail at once.
//   Availability: the southbound Idl asks for the OVSDB lock "ovn_northd";
//   only its holder writes (every southbound transaction asserts the
//   lock).  A second ovn-nbd waits on the lock and takes over, with a full
//   recompute, when the holder's connection goes away.
//   Rounds: one round of transactions per database is in flight at a
//   time; changes that arrive meanwhile accumulate in the dirty sets and
//   go in the next round.  A round is one transaction today (a full build
//   cut into transactions of 4k or 16k operations at switch boundaries,
//   sent back to back, did not finish sooner with our ovsdb-server on this
//   2-core machine, and gave up atomicity).  If a transaction of a round
//   fails, everything is recomputed once the round is over.  A round
//   whose result the replica never shows (a row deleted under it) is
//   abandoned after NbdOptions::commit_timeout (plus 1 ms per operation)
//   and followed by a full recompute.
//   Memory: after a large round (or full recompute) the freed request,
//   reply and update text would stay in glibc's heap; ovn-nbd calls
//   malloc_trim() then, and its indexes take each update's changes while
//   the update is still in memory, so their entries do not pin the freed
//   update's pages.
//   Work is scheduled by posting one Run() to the loop per burst of
//   updates, so a batch of notifications is handled in one pass.
//
// Thread-safety
//   None: everything runs on the EventLoop's thread.
#ifndef SPATE_NORTHD_NBD_H
#define SPATE_NORTHD_NBD_H

#include <chrono>
#include <memory>
#include <string>

#include "common/event_loop.h"
#include "common/result.h"
#include "common/vlog.h"
#include "northd/nbd_index.h"
#include "northd/nbd_sync.h"
#include "ovsdb/idl.h"

namespace spate::northd {

// The lock that makes one ovn-nbd the active writer.
inline constexpr const char* kNbdLockName = "ovn_northd";

// How ovn-nbd connects.
struct NbdOptions {
  std::string nb_db;  // --ovnnb-db: OVN_Northbound remote(s).
  std::string sb_db;  // --ovn-db / --ovnsb-db: southbound remote(s).
  std::chrono::milliseconds commit_timeout{10000};  // Abandon a commit after this
                                                    // plus 1 ms per operation.
};

// "unix:$OVS_RUNDIR/db.sock" (OVS_RUNDIR defaulting to /var/run/openvswitch),
// the default of both --ovnnb-db and --ovn-db.
std::string DefaultNbdDb();

class Nbd {
 public:
  // Validates the remotes (errors: ParseRemotes's, naming the option).
  // Logs through `log` of `vlog`.  Call Start() next.
  [[nodiscard]] static Result<std::unique_ptr<Nbd>> Create(common::EventLoop& loop,
                                                           const NbdOptions& options,
                                                           common::Vlog& vlog,
                                                           common::VlogModule& log);
  ~Nbd();
  Nbd(const Nbd&) = delete;
  Nbd& operator=(const Nbd&) = delete;

  // Connects both databases and asks for the lock.
  void Start();

  // True while this process holds the lock (and so writes).
  bool active() const;
  // Counters since start.
  const SyncStats& stats() const { return stats_; }
  // A few lines for the control socket's "status": role, connections,
  // counters.
  std::string StatusText() const;

 private:
  Nbd(common::EventLoop& loop, const NbdOptions& options, common::Vlog& vlog,
      common::VlogModule& log);
  void Schedule();
  void Run();
  void ReportConnection(ovsdb::idl::Idl& idl, const std::string& db, std::string& reported);
  std::chrono::milliseconds CommitTimeout(size_t n_ops) const;
  // The transactions sent to one database together (see "Rounds" above).
  struct Round {
    uint64_t id = 0;         // 0: no round in flight.
    size_t pending = 0;      // Transactions not finished yet.
    size_t n_txns = 0;       // Transactions sent.
    size_t n_ops = 0;        // Their operations.
    Status failure;          // The first failure, if any.
    ovsdb::idl::TxnStatus failure_status = ovsdb::idl::TxnStatus::kSuccess;  // Its status.
    std::chrono::steady_clock::time_point started;  // Building began.
    std::chrono::steady_clock::time_point sent;     // Last transaction sent.
    std::chrono::steady_clock::time_point replied;  // Last reply.
  };
  void CommitSouthbound(SyncContext& ctx);
  void CommitNorthbound(SyncContext& ctx);
  void BeginRound(bool southbound);
  void Commit(bool southbound, ovsdb::idl::Txn& txn, size_t n_ops, const char* comment);
  void EndRound(bool southbound);
  void Committed(bool southbound, uint64_t round, const ovsdb::idl::TxnResult& result);
  void RoundDone(bool southbound);
  void LogLargeRound(bool southbound, const Round& round);
  void TrimLater();
  SyncContext Context();
  void Log(bool warn, const std::string& message);

  common::EventLoop& loop_;                  // Runs everything.
  NbdOptions options_;                       // As given.
  common::Vlog& vlog_;                       // Logging.
  common::VlogModule& log_;                  // Our module.
  std::unique_ptr<ovsdb::idl::Idl> nb_;      // OVN_Northbound replica.
  std::unique_ptr<ovsdb::idl::Idl> sb_;      // Southbound replica (holds the lock).
  NbIndex nb_index_;                         // Over nb_.
  SbIndex sb_index_;                         // Over sb_.
  Dirty dirty_;                              // What to recompute.
  SyncStats stats_;                          // Counters.
  int64_t last_key_ = 0;                     // Tunnel-key counter.
  bool run_posted_ = false;                  // A Run() is queued.
  bool was_active_ = false;                  // Held the lock at the last Run().
  bool full_ = true;                         // Rebuild at the next active Run().
  uint64_t next_round_id_ = 1;               // Round ids.
  Round sb_round_;                           // Southbound round in flight.
  Round nb_round_;                           // Northbound round in flight.
  common::Timer sb_timer_;                   // Southbound round timeout.
  common::Timer nb_timer_;                   // Northbound round timeout.
  std::string nb_reported_;                  // Last connection problem logged.
  std::string sb_reported_;                  // Same for the southbound side.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // For late callbacks.
};

}  // namespace spate::northd

#endif  // SPATE_NORTHD_NBD_H
