// Idl: an OVSDB client that keeps a Replica of one database current over a
// reconnecting JSON-RPC connection, with locks and a request channel for
// transactions (ovsdb/idl_txn.h).
//
// What
//   Remotes are Open vSwitch --db strings: "unix:PATH", "tcp:IP[:PORT]",
//   "ssl:IP[:PORT]" or a comma-separated list of them (ParseRemotes).
//   On every connection the Idl runs the sequence of reference §8.6:
//     1. get_schema "_Server"; if the server has it, monitor_cond on
//        _Server.Database (name == our database).  A server whose row says
//        model "clustered" and connected false is skipped (reconnect to the
//        next remote), as is a non-leader when leader_only is set, and a
//        server whose Raft "index" is below the highest one this Idl has
//        seen (it has not yet applied changes we already have: a fresh
//        leader still committing its predecessor's entries).  A server
//        without _Server is used as is.
//     2. set_db_change_aware true (when _Server exists).
//     3. get_schema of the database.
//     4. monitor_cond_since with the last transaction id seen (all zeros the
//        first time), so a reconnect fetches only what was missed; on an
//        error reply, monitor_cond; then plain monitor.
//   Updates ("update", "update2", "update3") are applied to the Replica;
//   "update3" and the monitor_cond_since reply advance last_txn_id().  A
//   reply that is a full snapshot is merged into the existing replica
//   (Replica::BeginResync), so change tracking stays exact across
//   reconnects.  Later _Server updates are re-checked: a server that
//   leaves the cluster (or the leader role, with leader_only) is dropped.
//   A Raft server that answers monitor_cond_since without our last
//   transaction while its own last transaction id is one we received
//   earlier (it is behind us) is left, and servers are skipped (with
//   backoff) until one has applied more entries, for at most
//   catch_up_timeout; then the full snapshot is accepted.  Any other "not
//   found" is answered by taking the snapshot at once: Open vSwitch keeps
//   a transaction history only as large (in atoms) as the database itself
//   (idl.md, "Why monitor_cond_since can miss"), so a server that moved
//   past our id may have dropped it, and waiting cannot bring it back.
//   "monitor_canceled" (database replaced) forces a reconnect.
//
// Design
//   Single EventLoop, no threads.  ReconnectingSession (common/) gives
//   backoff, remote rotation and the inactivity probe.  Requests carry
//   integer ids; each has a callback, failed with "connection lost" when
//   the connection drops.  A generation counter discards replies from an
//   older connection.
//
// Thread-safety
//   Everything on the EventLoop's thread.  Blocking helpers (RunUntil,
//   Txn::CommitBlock) run the loop and must not be called from inside one
//   of its callbacks.
#ifndef SPATE_OVSDB_IDL_H
#define SPATE_OVSDB_IDL_H

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_loop.h"
#include "common/jsonrpc_session.h"
#include "common/result.h"
#include "common/stream.h"
#include "ovsdb/idl_replica.h"

namespace spate::ovsdb::idl {

// Splits and validates an Open vSwitch --db string ("unix:a,tcp:1.2.3.4").
// Errors ("usage"): an empty list or a bad element (ParseStreamAddress's
// wording).  Relative unix paths resolve against $OVS_RUNDIR.
[[nodiscard]] Result<std::vector<std::string>> ParseRemotes(std::string_view db);

// Which monitor method the last (re)synchronisation used.
enum class MonitorMethod { kNone, kMonitorCondSince, kMonitorCond, kMonitor };

// "monitor_cond_since", "monitor_cond", "monitor", "none".
std::string_view MonitorMethodName(MonitorMethod method);

struct IdlOptions {
  std::string remote;                // --db string (see ParseRemotes).
  std::string database;              // Database name, e.g. "OVN_Northbound".
  std::vector<TableRequest> tables;  // What to replicate; empty = all.
  bool leader_only = false;          // Skip cluster followers.
  common::SslConfig ssl;             // For ssl: remotes.
  std::chrono::milliseconds probe_interval{5000};  // tcp:/ssl: inactivity probe;
                                                   // 0 = off; unix: never.
  std::chrono::milliseconds min_backoff{1000};     // First reconnect delay.
  std::chrono::milliseconds max_backoff{8000};     // Reconnect delay cap.
  std::chrono::milliseconds catch_up_timeout{3000};  // How long to wait for a
                                                   // Raft server behind us to
                                                   // learn our last txn before
                                                   // a full resync.
};

// Counters, for tests and ovs-appctl-style status.
struct IdlStats {
  uint64_t connects = 0;       // Connections established.
  uint64_t syncs = 0;          // Monitor replies applied.
  uint64_t full_syncs = 0;     // Of those, complete snapshots.
  uint64_t history_misses = 0;  // Of those, monitor_cond_since answers that
                               // did not know our last transaction id.
  uint64_t skipped_servers = 0;  // Servers refused by the _Server check.
  MonitorMethod method = MonitorMethod::kNone;  // Last sync's method.
};

class Idl {
 public:
  // Called with a reply's "result" or an error: the error reply's
  // {"error":..., "details":...} as Error(tag, details), or
  // Error("connection lost") if the connection dropped first.
  using ReplyHandler = std::function<void(Result<Json>)>;

  // Validates the options (remotes, database name).  Call Start() next.
  [[nodiscard]] static Result<std::unique_ptr<Idl>> Create(common::EventLoop& loop,
                                                           IdlOptions options);
  // Closes the connection; pending reply handlers and Txn callbacks are
  // dropped without being called.
  ~Idl();
  Idl(const Idl&) = delete;
  Idl& operator=(const Idl&) = delete;

  // Starts connecting.  Call once.
  void Start();
  common::EventLoop& loop() { return loop_; }

  // True once the replica reflects the current connection's monitor (the
  // initial snapshot or catch-up has been applied).  False while
  // reconnecting: the replica then holds the last known contents.
  bool synced() const { return synced_; }
  // The replica, or nullptr before the first schema arrived.
  Replica* replica() { return replica_.get(); }
  // Shortcut for replica()->table(name); nullptr if not replicated yet.
  ReplicaTable* table(std::string_view name);
  // The last transaction id (update3 / monitor_cond_since), or zero.
  const Uuid& last_txn_id() const { return last_txn_id_; }
  // Bumped whenever the replica changes or synced() changes.
  uint64_t seqno() const { return seqno_; }
  const IdlStats& stats() const { return stats_; }
  // Why the last connection or sync failed (Ok if none did).
  const Status& last_error() const { return last_error_; }
  // Called (on the loop) after every batch of updates and sync change.
  void SetChangeHandler(std::function<void()> handler) { on_change_ = std::move(handler); }
  // Calls `waiter` now and after every later change until it returns true
  // (then drops it).  Used for "wait until the replica has seen it".
  void AddChangeWaiter(std::function<bool()> waiter);

  // Changes the condition of a replicated table (monitor_cond_change when
  // connected; used on the next connection anyway).  Errors: the table is
  // not replicated, or the server only supports plain monitor.
  [[nodiscard]] Status SetCondition(std::string_view table, Json where);

  // Sends a request on the current connection; `done` runs on the loop.
  // Returns false (and never calls `done`) if not connected.
  bool Request(std::string method, Json params, ReplyHandler done);
  // Request() with `params` already serialised: the compact JSON text of
  // the params array (Txn writes large transactions as text, without a
  // Json tree).  The text is not checked.
  bool RequestText(std::string_view method, std::string_view params, ReplyHandler done);

  // Locks (RFC 7047 §4.1.8-10).  SetLock(name) asks for `name` now and on
  // every reconnect ("" releases it); StealLock() takes it from its owner.
  void SetLock(std::string name);
  void StealLock();
  // Forgets the highest Raft index seen, so that a cluster restored from a
  // backup (whose index went back) is accepted again.
  void ResetMinIndex();
  const std::string& lock_name() const { return lock_name_; }
  // True while the server says we own the lock.
  bool has_lock() const { return has_lock_; }
  // True if the lock was requested and someone else holds it (or stole it).
  bool lock_contended() const { return !lock_name_.empty() && !has_lock_ && lock_answered_; }

  // Runs the loop until `done()` or `timeout`; returns done().
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);
  // Runs until synced() (or timeout).
  bool WaitSynced(std::chrono::milliseconds timeout);

 private:
  Idl(common::EventLoop& loop, IdlOptions options, std::vector<std::string> remotes);
  void OnConnected(common::Session& session);
  void OnDisconnected(const Status& reason);
  void Disconnected(const Status& reason);
  void OnMessage(common::Session& session, common::Message&& message);
  void OnNotification(const common::Message& message);
  void Fail(const Error& error, std::chrono::milliseconds delay = std::chrono::milliseconds(-1));
  bool WaitForCatchUp(int64_t index);
  void SetLastTxnId(const Uuid& id);
  bool Received(const Uuid& id) const;
  int64_t ServerIndex() const;
  void Changed();
  void AfterServerSchema(Result<Json> reply);
  void AfterServerMonitor(Result<Json> reply);
  bool ServerAcceptable();
  bool Clustered() const;
  void RequestSchema();
  void AfterSchema(Result<Json> reply);
  void SendMonitor(MonitorMethod method);
  void AfterMonitor(MonitorMethod method, Result<Json> reply);
  void ApplyInitial(const Json& updates, bool update2, bool full);
  void SendLock(const char* method);

  common::EventLoop& loop_;                            // Runs everything.
  IdlOptions options_;                                 // As given.
  std::unique_ptr<common::ReconnectingSession> rpc_;   // The connection.
  common::Timer retry_timer_;                          // Delayed reconnect.
  std::unique_ptr<Replica> replica_;                   // The database replica.
  std::unique_ptr<Replica> server_;                    // _Server.Database rows.
  std::map<int64_t, ReplyHandler> pending_;            // id -> reply handler.
  int64_t next_id_ = 1;                                // Next request id.
  uint64_t generation_ = 0;                            // Bumped per connection.
  bool connected_ = false;                             // Session is up.
  bool synced_ = false;                                // Monitor applied.
  bool has_server_db_ = false;                         // _Server monitored.
  Uuid last_txn_id_;                                   // For monitor_cond_since.
  std::deque<Uuid> recent_txn_ids_;                    // Last ids received, oldest first.
  uint64_t seqno_ = 0;                                 // Change counter.
  IdlStats stats_;                                     // Counters.
  Status last_error_;                                  // Last failure.
  std::function<void()> on_change_;                    // Upcall.
  std::vector<std::function<bool()>> waiters_;         // AddChangeWaiter.
  std::string lock_name_;                              // Requested lock.
  bool has_lock_ = false;                              // We own it.
  bool lock_answered_ = false;                         // Server replied.
  int64_t min_index_ = 0;                              // Highest Raft index seen.
  int stale_refusals_ = 0;                             // Servers behind us, in a row.
  int64_t catch_up_index_ = 0;                         // Index a server must pass.
  std::chrono::steady_clock::time_point catch_up_deadline_;  // End of the wait.
};

}  // namespace spate::ovsdb::idl

#endif  // SPATE_OVSDB_IDL_H
