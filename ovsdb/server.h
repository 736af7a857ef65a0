// OvsdbServer: the JSON-RPC OVSDB server (RFC 7047 plus the Open vSwitch
// extensions that its clients use) over several databases in one process.
//
// What: serves database files opened through DatabaseFile plus the
// read-only "_Server" database (table Database: name, model "standalone",
// connected, leader, schema, cid/sid/index empty) on passive remotes
// (punix:, ptcp:, pssl:) and active ones (unix:, tcp:, ssl:, reconnecting).
// Methods: list_dbs, get_schema, transact (durable commits, "wait" re-run on
// every change of its database or at its timeout, "cancel"), echo,
// lock/steal/unlock with locked/stolen notifications, get_server_id,
// set_db_change_aware, monitor / monitor_cond / monitor_cond_change /
// monitor_cond_since (bounded history) / monitor_cancel with update,
// update2 and update3 notifications.  Errors are worded as Open vSwitch
// 3.1's ovsdb-server words them.
//
// Design: one EventLoop thread runs everything.  A commit (Commit()) first
// sends every monitor's update for it, then the caller sends the reply, so a
// client always sees its own change before its transaction's reply (a
// Session's output is one ordered buffer).  Updates are built only for
// monitors of the committed database; a server with no monitors does no
// per-commit work beyond the engine's.  Blocked transactions ("wait") are
// re-run after each commit to their database and on a timer at their
// earliest deadline.  Removing a database disconnects the clients that
// monitored it and are not "db change aware" (Open vSwitch disconnects every
// such client) and sends monitor_canceled to those that are.
//
// Group commit: database files are opened with FileOptions::group_commit.
// From the first commit of an event-loop round on, every message the
// server sends (to any client) is held; a callback posted behind the
// round's reads writes each file's buffered records with one write(2),
// fsyncs it once if any of them was durable, and then releases the held
// output in order, each client's with one direct write (Session::
// SendTextNow).  So no reply or update leaves before its record is
// written (and, if durable, fsynced), and a round of N commits from one or
// many clients costs one write and at most one fsync.  A failed write or
// fsync is logged and makes every later commit to that database fail.
//
// Thread-safety: none; create and use on the EventLoop's thread.
#ifndef SPATE_OVSDB_SERVER_H
#define SPATE_OVSDB_SERVER_H

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/event_loop.h"
#include "common/jsonrpc_session.h"
#include "common/result.h"
#include "common/stream.h"
#include "common/unixctl.h"
#include "common/vlog.h"
#include "ovsdb/batch_writer.h"
#include "ovsdb/file.h"
#include "ovsdb/monitor.h"

namespace spate::ovsdb {

struct ServerOptions {
  common::SslConfig ssl;                 // For pssl:/ssl: remotes.
  common::SessionOptions session;        // Per-connection limits and probe.
  bool sync_every_commit = false;        // fsync every commit, not only durable ones.
  CompactionPolicy compaction;           // Automatic compaction thresholds.
};

class OvsdbServer {
 public:
  // Logs through module "ovsdb_server" of `vlog`.
  OvsdbServer(common::EventLoop& loop, common::Vlog& vlog, ServerOptions options);
  ~OvsdbServer();
  OvsdbServer(const OvsdbServer&) = delete;
  OvsdbServer& operator=(const OvsdbServer&) = delete;

  // Opens the database file `path` and serves it.  Errors: the file cannot
  // be opened, or a database with its name is already served ("ovsdb
  // error", "NAME: duplicate database name").
  Status AddDatabase(const std::string& path);
  // Stops serving database `name` (not "_Server").  Error if not served.
  Status RemoveDatabase(const std::string& name);
  // Served database names, sorted, "_Server" included.
  std::vector<std::string> DatabaseNames() const;
  // Compacts database `name`, or every file database if `name` is empty.
  Status Compact(const std::string& name);

  // Listens on a passive remote (punix:, ptcp:, pssl:) or keeps connecting
  // to an active one (unix:, tcp:, ssl:).  Errors: bad name, bind failure.
  Status AddRemote(const std::string& name);
  // The bound port of the first ptcp:/pssl: listener, or 0.
  uint16_t first_tcp_port() const;

  // The "memory/show" text, e.g. "cells:12 monitors:1 sessions:2".
  std::string MemoryReport() const;
  // This process's server id (get_server_id).
  const std::string& server_id() const { return server_id_; }

  // Opaque per-connection, per-database and per-transaction state
  // (ovsdb/server_internal.h).
  struct Client;
  struct Db;
  struct PendingTxn;

 private:

  void OnAccept(std::shared_ptr<common::Session> session);
  void AttachSession(std::shared_ptr<common::Session> session);
  void OnMessage(common::Session& session, common::Message&& msg);
  void OnClose(common::Session& session);
  void Dispatch(Client& client, common::Message&& msg);

  // Every message to a client goes through these (held during a barrier).
  void Send(Client& client, const common::Message& msg);
  // head + id + tail as one message (a monitor update).
  void SendParts(Client& client, std::string_view head, std::string_view id,
                 std::string_view tail);
  void BeginBarrier();
  void FinishBarrier();
  // Writes every held client's output (FinishBarrier's last step).
  void ReleaseHeld();
  // Keeps `tree` (a finished request or reply) until FinishBarrier's
  // writes are done, then FreeRetired() frees it.
  void Retire(nlohmann::json&& tree);
  // Frees the retired trees: inline if small, else on reaper_.
  void FreeRetired();

  Db* LookupDb(Client& client, const common::Message& msg);
  void HandleTransact(Client& client, common::Message&& msg, Db& db);
  bool RunTransaction(PendingTxn& txn, Db& db);
  void Commit(Db& db, const ChangeSet& changes);
  void RetryBlocked(Db& db);
  void ArmRetryTimer();
  void OnRetryTimer();
  void HandleCancel(Client& client, const common::Message& msg);

  void HandleMonitor(Client& client, common::Message&& msg, MonitorVersion version);
  void HandleMonitorCondChange(Client& client, common::Message&& msg);
  void HandleMonitorCancel(Client& client, common::Message&& msg);
  void HandleLock(Client& client, common::Message&& msg, bool steal);
  void HandleUnlock(Client& client, common::Message&& msg);
  void DropWaiter(Client& client, const std::string& name);
  void ReleaseLocks(Client& client);

  Status OpenServerDb();
  void UpdateServerDb(const Db& db, bool add);
  void ServerDbTransact(const Json& params);
  void MaybeCompact();
  void CompactOne(const std::string& name, Db& db, int64_t now);
  void FinishCompaction(const std::string& name, CompactionJob& job, const Status& run_status);

  common::EventLoop& loop_;              // Runs everything.
  common::Vlog& vlog_;                   // Logging.
  common::VlogModule& log_;              // Module "ovsdb_server".
  ServerOptions options_;                // As given.
  std::string server_id_;                // Random UUID text.
  std::map<std::string, std::unique_ptr<Db>> dbs_;       // By name.
  std::map<common::Session*, std::unique_ptr<Client>> clients_;  // Connected.
  std::vector<std::unique_ptr<common::Listener>> listeners_;     // Passive.
  std::vector<std::unique_ptr<common::ReconnectingSession>> actives_;  // Active.
  std::map<std::string, std::deque<Client*>> locks_;    // Waiters; front owns.
  common::Timer retry_timer_;            // Earliest blocked-wait deadline.
  common::Timer compact_timer_;          // Periodic compaction check.
  bool barrier_ = false;                 // Commits await FinishBarrier().
  std::vector<Client*> holding_;         // Clients with held output.
  std::vector<Client*> releasing_;       // FinishBarrier's spare vector.
  BatchWriter writer_;                   // Writes the held output.
  std::vector<BatchWriter::Write> batch_;  // ReleaseHeld's writes...
  std::vector<Client*> batch_clients_;   // ...and whose they are.
  std::vector<nlohmann::json> retired_;  // Request/reply trees freed after the writes.
  size_t retired_items_ = 0;              // Their top-level elements.
  std::thread reaper_;                   // Frees large retired_ batches.
  std::string scratch_;                  // SendParts outside a barrier.
  std::thread compactor_;                // Background compaction, if any.
  std::shared_ptr<CompactionJob> compacting_job_;  // Its job.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // For posts.
};

// Registers ovsdb-server's control commands on `unixctl`: exit (stops
// `loop`), ovsdb-server/compact [DB], ovsdb-server/list-dbs,
// ovsdb-server/add-db FILE, ovsdb-server/remove-db DB and memory/show, with
// Open vSwitch's output and error texts.  Both must outlive `unixctl`.
void RegisterServerCommands(common::UnixctlServer& unixctl, OvsdbServer& server,
                            common::EventLoop& loop);

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_SERVER_H
