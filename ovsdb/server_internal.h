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

// One monitor of one client.
struct ClientMonitor {
  Json id;                           // The client's monitor id.
  common::Session* session = nullptr;  // The client's connection.
  OvsdbServer::Client* client = nullptr;  // Its owner (sends go through it).
  std::string request_key;           // Version + request text: equal keys
                                     // get equal updates (encoded once).
  OvsdbServer::Db* db = nullptr;     // Monitored database.
  std::unique_ptr<Monitor> monitor;  // What is monitored.

  ClientMonitor() = default;
  ClientMonitor(const ClientMonitor&) = delete;
  ClientMonitor& operator=(const ClientMonitor&) = delete;
  // Unregisters from db->monitors.
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
