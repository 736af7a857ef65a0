// Private to server.cc and server_monitor.cc: the per-client, per-database
// and per-pending-transaction state of OvsdbServer.
//
// Thread-safety: none; the server's EventLoop thread only.
#ifndef SPATE_OVSDB_SERVER_INTERNAL_H
#define SPATE_OVSDB_SERVER_INTERNAL_H

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ovsdb/monitor.h"
#include "ovsdb/server.h"

namespace spate::ovsdb {

inline constexpr const char* kServerDbName = "_Server";

// {"error": "syntax error", "details": details, "syntax": <json text>}.
Json SyntaxErrorJson(const Json& syntax, const std::string& details);

// The encoded update of one commit, shared by every monitor created with
// the same method and request text (they get equal updates), so a commit
// builds and serializes it once however many clients share it.
struct SharedUpdate {
  std::string key;        // Version + request text; "" = not shareable
                          // (conditions changed since the request).
  uint64_t commit_seq = 0;  // Db::commit_seq that `tail` was built for.
  std::string tail;       // ",[txn-id,]<updates>]}" after the monitor id,
                          // or "" when the commit has nothing for it.
};

// One monitor of one client.
struct ClientMonitor {
  Json id;                           // The client's monitor id.
  std::string id_text;               // `id` serialized (spliced per client).
  common::Session* session = nullptr;  // The client's connection.
  OvsdbServer::Client* client = nullptr;  // Its owner (sends go through it).
  std::shared_ptr<SharedUpdate> share;  // Encoded once per commit (above).
  OvsdbServer::Db* db = nullptr;     // Monitored database.
  std::unique_ptr<Monitor> monitor;  // What is monitored.

  ClientMonitor() = default;
  ClientMonitor(const ClientMonitor&) = delete;
  ClientMonitor& operator=(const ClientMonitor&) = delete;
  // Unregisters from db->monitors and, if it was the last user of its
  // share, from db->shares.
  ~ClientMonitor();
};

struct OvsdbServer::Client {
  common::Session* session = nullptr;        // The connection.
  std::shared_ptr<common::Session> owned;    // Accepted sessions: our reference.
  common::ReconnectingSession* active = nullptr;  // Active remotes: the owner.
  std::map<std::string, std::unique_ptr<ClientMonitor>> monitors;  // By id text.
  std::set<std::string> locks;               // Locks held or waited for.
  bool change_aware = false;                 // set_db_change_aware(true).
  bool holding = false;                      // Output held for a group fsync.
  std::string held;                          // Held messages' JSON texts.
};

struct OvsdbServer::PendingTxn {
  Client* client = nullptr;  // Who asked.
  Json id;                   // Request id.
  Json params;               // transact params.
  int64_t start_ms = 0;      // Arrival time (wait timeouts).
  int64_t deadline_ms = -1;  // Blocked: re-run by then; -1 = answered.
};

struct OvsdbServer::Db {
  std::string name;                     // Database name.
  std::unique_ptr<DatabaseFile> file;   // File databases.
  std::unique_ptr<Database> mem;        // _Server.
  TxnHistory history;                   // For monitor_cond_since.
  Uuid last_txn;                        // Last commit's txn_id (zero: none).
  std::vector<ClientMonitor*> monitors;  // Every client's monitors of it.
  std::map<std::string, std::weak_ptr<SharedUpdate>> shares;  // By key.
  uint64_t commit_seq = 0;              // Commits that reached Commit().
  std::vector<std::unique_ptr<PendingTxn>> blocked;  // Waiting "wait"s.

  Database& database() { return file ? file->db() : *mem; }
  const Database& database() const { return file ? file->db() : *mem; }
};

// Refuses every commit: clients may read _Server but not write it.
class ReadOnlySink : public CommitSink {
 public:
  Status Write(const Database& db, const ChangeSet&) override {
    return Error("not allowed", "write operation not allowed in reserved database " + db.name());
  }
};

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_SERVER_INTERNAL_H
