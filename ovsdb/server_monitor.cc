// OvsdbServer: monitors (monitor, monitor_cond, monitor_cond_since,
// monitor_cond_change, monitor_cancel), commit fan-out, and _Server.
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>

#include "ovsdb/json_codec.h"
#include "ovsdb/server.h"
#include "ovsdb/server_internal.h"

namespace spate::ovsdb {

using common::Message;
using common::Session;

namespace {

// Open vSwitch 3.1's _Server schema, byte for byte (its cksum included).
constexpr const char* kServerSchema = R"({"cksum":"3009684573 744","name":"_Server",
"tables":{"Database":{"columns":{"cid":{"type":{"key":"uuid","min":0}},
"connected":{"type":"boolean"},"index":{"type":{"key":"integer","min":0}},
"leader":{"type":"boolean"},"model":{"type":{"key":{"enum":["set",
["clustered","relay","standalone"]],"type":"string"}}},"name":{"type":"string"},
"schema":{"type":{"key":"string","min":0}},"sid":{"type":{"key":"uuid","min":0}}}}},
"version":"1.2.0"})";

const char* NotificationName(MonitorVersion v) {
  switch (v) {
    case MonitorVersion::kV1: return "update";
    case MonitorVersion::kV2: return "update2";
    case MonitorVersion::kV3: return "update3";
  }
  return "update";
}

// The notification's text up to its first parameter (the monitor id).
std::string_view NotificationHead(MonitorVersion v) {
  switch (v) {
    case MonitorVersion::kV1: return R"({"id":null,"method":"update","params":[)";
    case MonitorVersion::kV2: return R"({"id":null,"method":"update2","params":[)";
    case MonitorVersion::kV3: return R"({"id":null,"method":"update3","params":[)";
  }
  return R"({"id":null,"method":"update","params":[)";
}

// Builds `share`'s text for one commit (see SharedUpdate::tail).
void BuildTail(SharedUpdate& share, const Monitor& monitor, const Database& database,
               const std::vector<RowDelta>& deltas, const Uuid& txn_id) {
  share.tail.clear();
  share.tail += ',';
  if (monitor.version() == MonitorVersion::kV3) {
    share.tail += '"';
    share.tail += txn_id.ToString();
    share.tail += "\",";
  }
  if (!monitor.AppendUpdates(database, deltas, share.tail)) {
    share.tail.clear();
    return;
  }
  share.tail += "]}";
}

}  // namespace

ClientMonitor::~ClientMonitor() {
  if (db == nullptr) return;
  auto& v = db->monitors;
  v.erase(std::remove(v.begin(), v.end(), this), v.end());
  if (share && !share->key.empty() && share.use_count() == 1) db->shares.erase(share->key);
}

void OvsdbServer::Commit(Db& db, const ChangeSet& changes) {
  db.last_txn = changes.txn_id;
  db.history.Record(changes);
  if (db.monitors.empty()) return;
  uint64_t seq = ++db.commit_seq;
  std::vector<RowDelta> deltas;
  deltas.reserve(changes.rows.size());
  for (const RowChange& rc : changes.rows) deltas.push_back(DeltaFromChange(rc));
  const Database& database = db.database();
  // Per client only the monitor id is spliced between the version's head
  // and the shared tail; no JSON work and no lookup per client.
  for (ClientMonitor* cm : db.monitors) {
    SharedUpdate& share = *cm->share;
    if (share.commit_seq != seq) {
      share.commit_seq = seq;
      BuildTail(share, *cm->monitor, database, deltas, changes.txn_id);
    }
    if (share.tail.empty()) continue;
    SendParts(*cm->client, NotificationHead(cm->monitor->version()), cm->id_text, share.tail);
  }
}

namespace {

// Joins the monitor with its share (created on first use of its key).
void AttachShare(OvsdbServer::Db& db, ClientMonitor& cm, std::string key) {
  std::weak_ptr<SharedUpdate>& slot = db.shares[key];
  cm.share = slot.lock();
  if (!cm.share) {
    cm.share = std::make_shared<SharedUpdate>();
    cm.share->key = std::move(key);
    cm.share->commit_seq = db.commit_seq;  // No update built yet.
    slot = cm.share;
  }
}

}  // namespace

void OvsdbServer::HandleMonitor(Client& client, Message&& msg, MonitorVersion version) {
  Db* db = LookupDb(client, msg);
  if (db == nullptr) return;
  size_t want = version == MonitorVersion::kV3 ? 4 : 3;
  if (msg.params.size() != want) {
    Send(client, Message::ErrorReply(SyntaxErrorJson(msg.params, "invalid parameters"), msg.id));
    return;
  }
  std::string key = DumpJson(msg.params[1]);
  if (client.monitors.count(key) != 0) {
    Send(client, Message::ErrorReply(SyntaxErrorJson(msg.params[1], "duplicate monitor ID"), msg.id));
    return;
  }
  std::optional<Uuid> since;
  if (version == MonitorVersion::kV3) {
    if (msg.params[3].is_string()) since = Uuid::Parse(msg.params[3].get<std::string>());
    if (!since) {
      Send(client, Message::ErrorReply(SyntaxErrorJson(msg.params[3], "last-txn-id must be a UUID"),
                                 msg.id));
      return;
    }
  }
  Result<std::unique_ptr<Monitor>> monitor =
      Monitor::Parse(db->database(), msg.params[2], version);
  if (!monitor.ok()) {
    Json err = ErrorObject(monitor.error());
    err["syntax"] = DumpJson(msg.params[2]);
    Send(client, Message::ErrorReply(std::move(err), msg.id));
    return;
  }
  Json result;
  if (version == MonitorVersion::kV3) {
    db->history.Enable();
    std::optional<std::vector<HistoryTxn::Row>> missed = db->history.Since(*since);
    if (missed) {
      std::vector<RowDelta> deltas;
      for (const HistoryTxn::Row& r : *missed) deltas.push_back(r.Delta());
      result = Json::array({true, db->last_txn.ToString(), (*monitor)->Updates(db->database(), deltas)});
    } else {
      result = Json::array({false, db->last_txn.ToString(), (*monitor)->Initial(db->database())});
    }
  } else {
    result = (*monitor)->Initial(db->database());
  }
  auto cm = std::make_unique<ClientMonitor>();
  cm->id = msg.params[1];
  common::AppendJson(cm->id_text, cm->id);
  AttachShare(*db, *cm, std::to_string(static_cast<int>(version)) + DumpJson(msg.params[2]));
  cm->db = db;
  cm->session = client.session;
  cm->client = &client;
  cm->monitor = std::move(monitor).value();
  db->monitors.push_back(cm.get());
  client.monitors[key] = std::move(cm);
  Send(client, Message::Reply(std::move(result), msg.id));
}

void OvsdbServer::HandleMonitorCondChange(Client& client, Message&& msg) {
  if (msg.params.size() != 3) {
    Send(client, Message::ErrorReply(SyntaxErrorJson(msg.params, "invalid parameters"), msg.id));
    return;
  }
  auto it = client.monitors.find(DumpJson(msg.params[0]));
  if (it == client.monitors.end() || it->second->monitor->version() == MonitorVersion::kV1) {
    Send(client, Message::ErrorReply(SyntaxErrorJson(msg.params[0], "unknown monitor session"), msg.id));
    return;
  }
  std::string new_key = DumpJson(msg.params[1]);
  if (new_key != it->first && client.monitors.count(new_key) != 0) {
    Send(client, Message::ErrorReply(SyntaxErrorJson(msg.params[1], "duplicate monitor ID"), msg.id));
    return;
  }
  ClientMonitor& cm = *it->second;
  // Its conditions now differ from its request's: stop sharing updates.
  if (!cm.share->key.empty()) {
    if (cm.share.use_count() == 1) cm.db->shares.erase(cm.share->key);
    cm.share = std::make_shared<SharedUpdate>();
    cm.share->commit_seq = cm.db->commit_seq;
  }
  Result<Json> updates = cm.monitor->ChangeConditions(cm.db->database(), msg.params[2]);
  if (!updates.ok()) {
    Send(client, Message::ErrorReply(ErrorObject(updates.error()), msg.id));
    return;
  }
  if (new_key != it->first) {
    std::unique_ptr<ClientMonitor> moved = std::move(it->second);
    client.monitors.erase(it);
    moved->id = msg.params[1];
    moved->id_text.clear();
    common::AppendJson(moved->id_text, moved->id);
    client.monitors[new_key] = std::move(moved);
  }
  ClientMonitor& now = *client.monitors[new_key];
  if (!updates->empty()) {
    MonitorVersion v = now.monitor->version();
    Json params = Json::array({now.id});
    if (v == MonitorVersion::kV3) params.push_back(now.db->last_txn.ToString());
    params.push_back(std::move(updates).value());
    Send(client, Message::Notification(NotificationName(v), std::move(params)));
  }
  Send(client, Message::Reply(Json::object(), msg.id));
}

void OvsdbServer::HandleMonitorCancel(Client& client, Message&& msg) {
  if (msg.params.size() != 1) {
    Send(client, Message::ErrorReply(SyntaxErrorJson(msg.params, "invalid parameters"), msg.id));
    return;
  }
  auto it = client.monitors.find(DumpJson(msg.params[0]));
  if (it == client.monitors.end()) {
    Send(client, Message::ErrorReply("unknown monitor", msg.id));
    return;
  }
  client.monitors.erase(it);
  Send(client, Message::Reply(Json::object(), msg.id));
}

// ------------------------------------------------------------ _Server

Status OvsdbServer::OpenServerDb() {
  Result<Json> json = ParseJson(kServerSchema);
  if (!json.ok()) return json.error();
  Result<DatabaseSchema> schema = DatabaseSchema::FromJson(*json);
  if (!schema.ok()) return schema.error();
  auto db = std::make_unique<Db>();
  db->name = kServerDbName;
  db->mem = std::make_unique<Database>(std::make_shared<const DatabaseSchema>(std::move(schema).value()));
  Db& ref = *db;
  dbs_[kServerDbName] = std::move(db);
  UpdateServerDb(ref, true);
  return Status::Ok();
}

void OvsdbServer::UpdateServerDb(const Db& db, bool add) {
  Json op;
  if (add) {
    op = Json{{"op", "insert"},
              {"table", "Database"},
              {"row",
               {{"name", db.name},
                {"model", "standalone"},
                {"connected", true},
                {"leader", true},
                {"schema", DumpJson(db.database().schema().ToJson())}}}};
  } else {
    op = Json{{"op", "delete"},
              {"table", "Database"},
              {"where", Json::array({Json::array({"name", "==", db.name})})}};
  }
  ServerDbTransact(Json::array({kServerDbName, std::move(op)}));
}

void OvsdbServer::ServerDbTransact(const Json& params) {
  auto it = dbs_.find(kServerDbName);
  if (it == dbs_.end()) return;
  TransactOptions opts;
  opts.now_ms = WallClockMs();
  opts.start_ms = opts.now_ms;
  TransactResult r = Transact(*it->second->mem, params, opts);
  if (!r.changes) return;
  Commit(*it->second, *r.changes);
  // A "wait" on _Server (e.g. ovsdb-client wait DB added) is re-run now.
  RetryBlocked(*it->second);
}

}  // namespace spate::ovsdb
