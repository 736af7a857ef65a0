#include "ovsdb/idl.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace spate::ovsdb::idl {

namespace {

using common::Message;
using common::MessageType;

constexpr const char* kServerMonitorId = "idl-server";
constexpr const char* kDbMonitorId = "idl-db";
// How many of the last transaction ids received are remembered (to tell a
// server that is behind us from one whose history no longer has our id).
constexpr size_t kRecentTxnIds = 64;

// An error reply's error value as an Error.
Error ErrorFromReply(const Json& error) {
  if (error.is_object()) {
    std::string tag = error.value("error", std::string("unknown error"));
    std::string details;
    auto d = error.find("details");
    if (d != error.end()) details = d->is_string() ? d->get<std::string>() : d->dump();
    return Error(tag, details);
  }
  return Error(error.is_string() ? error.get<std::string>() : error.dump());
}

bool IsConnectionLost(const Result<Json>& r) {
  return !r.ok() && r.error().tag() == "connection lost";
}

}  // namespace

Result<std::vector<std::string>> ParseRemotes(std::string_view db) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= db.size()) {
    size_t comma = db.find(',', pos);
    if (comma == std::string_view::npos) comma = db.size();
    std::string_view item = db.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      Result<common::StreamAddress> a = common::ParseStreamAddress(item);
      if (!a.ok()) return a.error();
      if (a->passive) {
        return Error("usage", std::string(item) + ": a passive remote cannot be used here");
      }
      out.push_back(a->ToString());
    }
    pos = comma + 1;
  }
  if (out.empty()) return Error("usage", "no database remote given");
  return out;
}

std::string_view MonitorMethodName(MonitorMethod method) {
  switch (method) {
    case MonitorMethod::kMonitorCondSince: return "monitor_cond_since";
    case MonitorMethod::kMonitorCond: return "monitor_cond";
    case MonitorMethod::kMonitor: return "monitor";
    case MonitorMethod::kNone: break;
  }
  return "none";
}

Result<std::unique_ptr<Idl>> Idl::Create(common::EventLoop& loop, IdlOptions options) {
  if (!IsValidId(options.database)) {
    return Error("usage", "invalid database name \"" + options.database + "\"");
  }
  Result<std::vector<std::string>> remotes = ParseRemotes(options.remote);
  if (!remotes.ok()) return remotes.error();
  return std::unique_ptr<Idl>(new Idl(loop, std::move(options), std::move(remotes).value()));
}

Idl::Idl(common::EventLoop& loop, IdlOptions options, std::vector<std::string> remotes)
    : loop_(loop), options_(std::move(options)), retry_timer_(loop) {
  common::ReconnectingSession::Options ro;
  ro.remotes = std::move(remotes);
  ro.ssl = options_.ssl;
  ro.session.probe_interval = options_.probe_interval;
  ro.min_backoff = options_.min_backoff;
  ro.max_backoff = options_.max_backoff;
  common::ReconnectingSession::Callbacks cb;
  cb.on_connected = [this](common::Session& s) { OnConnected(s); };
  cb.on_message = [this](common::Session& s, Message&& m) { OnMessage(s, std::move(m)); };
  cb.on_disconnected = [this](const Status& reason) { OnDisconnected(reason); };
  rpc_ = std::make_unique<common::ReconnectingSession>(loop_, std::move(ro), std::move(cb));
}

Idl::~Idl() {
  rpc_.reset();  // No callbacks after this.
}

void Idl::Start() { rpc_->Start(); }

ReplicaTable* Idl::table(std::string_view name) {
  return replica_ ? replica_->table(name) : nullptr;
}

void Idl::AddChangeWaiter(std::function<bool()> waiter) {
  if (!waiter()) waiters_.push_back(std::move(waiter));
}

void Idl::Changed() {
  ++seqno_;
  if (!waiters_.empty()) {
    std::vector<std::function<bool()>> waiters;
    waiters.swap(waiters_);
    for (auto& w : waiters) {
      if (!w()) waiters_.push_back(std::move(w));
    }
  }
  if (on_change_) on_change_();
}

bool Idl::RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  return loop_.RunUntil(done, timeout);
}

bool Idl::WaitSynced(std::chrono::milliseconds timeout) {
  return RunUntil([this] { return synced_; }, timeout);
}

bool Idl::Request(std::string method, Json params, ReplyHandler done) {
  if (!connected_) return false;
  int64_t id = next_id_++;
  pending_.emplace(id, std::move(done));
  rpc_->Send(Message::Request(std::move(method), std::move(params), id));
  return true;
}

bool Idl::RequestText(std::string_view method, std::string_view params,
                      ReplyHandler done) {
  common::Session* session = connected_ ? rpc_->session() : nullptr;
  if (session == nullptr) return false;
  int64_t id = next_id_++;
  pending_.emplace(id, std::move(done));
  std::string text = "{\"id\":" + std::to_string(id) + ",\"method\":";
  AppendJsonString(text, method);
  text.reserve(text.size() + params.size() + 12);
  text += ",\"params\":";
  text += params;
  text += '}';
  session->SendText(text);
  return true;
}

// Drops the current connection and, after min_backoff, connects to the
// next remote (a skipped server must not be retried in a tight loop).
void Idl::Fail(const Error& error, std::chrono::milliseconds delay) {
  if (connected_) {
    ++generation_;  // Ignore whatever the old connection still sends.
    Disconnected(Status(error));
  }
  last_error_ = error;
  if (delay.count() < 0) delay = options_.min_backoff;
  retry_timer_.Start(delay, [this] { rpc_->ForceReconnect(); });
}

// A clustered server at Raft `index` answered monitor_cond_since without
// our last transaction, its own last one being older than ours: a server
// that has not applied its predecessor's last entries yet.  Until
// catch_up_timeout has passed since the first such answer, servers are
// skipped until one is past `index` (the same server, once it commits an
// entry of its own term), with exponential backoff from min_backoff to
// max_backoff; returns true and drops the connection if so.  After the
// timeout, returns false and the server's full snapshot is taken.
bool Idl::WaitForCatchUp(int64_t index) {
  auto now = std::chrono::steady_clock::now();
  if (stale_refusals_ == 0) catch_up_deadline_ = now + options_.catch_up_timeout;
  if (now >= catch_up_deadline_) return false;
  catch_up_index_ = std::max(catch_up_index_, index + 1);
  int shift = std::min(stale_refusals_, 16);
  auto delay = std::min(options_.max_backoff, options_.min_backoff * (int64_t{1} << shift));
  ++stale_refusals_;
  ++stats_.skipped_servers;
  Fail(Error("server behind", "the server does not know transaction " +
                                  last_txn_id_.ToString() + " yet"),
       delay);
  return true;
}

void Idl::SetLastTxnId(const Uuid& id) {
  last_txn_id_ = id;
  if (id.IsZero()) {
    recent_txn_ids_.clear();
    return;
  }
  if (recent_txn_ids_.size() == kRecentTxnIds) recent_txn_ids_.pop_front();
  recent_txn_ids_.push_back(id);
}

bool Idl::Received(const Uuid& id) const {
  return std::find(recent_txn_ids_.begin(), recent_txn_ids_.end(), id) != recent_txn_ids_.end();
}

// ---- connection life cycle ----------------------------------------------

void Idl::OnConnected(common::Session& session) {
  // As in Open vSwitch, unix sockets are not probed: a peer that dies
  // closes them, and a busy server building a large snapshot must not be
  // taken for a dead one.
  if (session.name().rfind("unix", 0) == 0) {
    session.SetProbeInterval(std::chrono::milliseconds(0));
  }
  connected_ = true;
  ++generation_;
  ++stats_.connects;
  uint64_t gen = generation_;
  Request("get_schema", Json::array({"_Server"}), [this, gen](Result<Json> r) {
    if (gen == generation_ && !IsConnectionLost(r)) AfterServerSchema(std::move(r));
  });
}

void Idl::OnDisconnected(const Status& reason) {
  retry_timer_.Cancel();  // The session reconnects by itself.
  Disconnected(reason);
}

void Idl::Disconnected(const Status& reason) {
  connected_ = false;
  synced_ = false;
  has_lock_ = false;
  lock_answered_ = false;
  if (!reason.ok()) last_error_ = reason;
  std::map<int64_t, ReplyHandler> pending;
  pending.swap(pending_);
  for (auto& [id, done] : pending) done(Error("connection lost"));
  Changed();
}

void Idl::OnMessage(common::Session&, Message&& message) {
  switch (message.type) {
    case MessageType::kReply:
    case MessageType::kError: {
      if (!message.id.is_number_integer()) return;
      auto it = pending_.find(message.id.get<int64_t>());
      if (it == pending_.end()) return;
      ReplyHandler done = std::move(it->second);
      pending_.erase(it);
      if (message.type == MessageType::kReply) {
        done(std::move(message.result));
      } else {
        done(ErrorFromReply(message.error));
      }
      return;
    }
    case MessageType::kNotification:
      OnNotification(message);
      return;
    case MessageType::kRequest:
      return;  // Echo is answered by the Session; nothing else is expected.
  }
}

void Idl::OnNotification(const Message& m) {
  if (!connected_) return;  // A connection being dropped.
  const Json& p = m.params;
  auto is_db = [&](const Json& id) { return id == kDbMonitorId; };
  Status s;
  if (m.method == "update" && p.size() == 2 && is_db(p[0]) && replica_) {
    s = replica_->ApplyUpdates(p[1], false);
  } else if (m.method == "update2" && p.size() == 2 && is_db(p[0]) && replica_) {
    s = replica_->ApplyUpdates(p[1], true);
  } else if (m.method == "update3" && p.size() == 3 && is_db(p[0]) && replica_) {
    s = replica_->ApplyUpdates(p[2], true);
    std::optional<Uuid> txn = p[1].is_string() ? Uuid::Parse(p[1].get<std::string>()) : std::nullopt;
    if (txn) SetLastTxnId(*txn);
  } else if (m.method == "update2" && p.size() == 2 && p[0] == kServerMonitorId && server_) {
    s = server_->ApplyUpdates(p[1], true);
    if (s.ok() && !ServerAcceptable()) {
      ++stats_.skipped_servers;
      Fail(Error("server unusable", "the server left the cluster or the leader role"));
      return;
    }
  } else if (m.method == "locked" || m.method == "stolen") {
    if (p.size() == 1 && p[0] == lock_name_) {
      has_lock_ = m.method == "locked";
      lock_answered_ = true;
    }
  } else if (m.method == "monitor_canceled") {
    Fail(Error("monitor canceled", "the server replaced the database"));
    return;
  } else {
    return;
  }
  if (!s.ok()) {
    Fail(s.error());
    return;
  }
  Changed();
}

// ---- the connection sequence ----------------------------------------------

void Idl::AfterServerSchema(Result<Json> reply) {
  has_server_db_ = false;
  server_.reset();
  if (!reply.ok()) {  // No _Server (an old or minimal server): go on.
    RequestSchema();
    return;
  }
  Result<DatabaseSchema> schema = DatabaseSchema::FromJson(*reply);
  const TableSchema* db_table = schema.ok() ? schema->FindTable("Database") : nullptr;
  if (db_table == nullptr) {
    RequestSchema();
    return;
  }
  TableRequest req{"Database", {}, Json::array({Json::array({"name", "==", options_.database})})};
  for (const char* c : {"name", "model", "connected", "leader", "index"}) {
    if (db_table->FindColumn(c) != nullptr) req.columns.push_back(c);
  }
  Result<std::unique_ptr<Replica>> server = Replica::Create(std::move(schema).value(), {req});
  if (!server.ok()) {
    RequestSchema();
    return;
  }
  server_ = std::move(server).value();
  uint64_t gen = generation_;
  Json params = Json::array({"_Server", kServerMonitorId, server_->MonitorRequests(true)});
  Request("monitor_cond", std::move(params), [this, gen](Result<Json> r) {
    if (gen == generation_ && !IsConnectionLost(r)) AfterServerMonitor(std::move(r));
  });
}

void Idl::AfterServerMonitor(Result<Json> reply) {
  if (!reply.ok()) {
    server_.reset();
    RequestSchema();
    return;
  }
  Status s = server_->ApplyUpdates(*reply, true);
  if (!s.ok()) {
    Fail(s.error());
    return;
  }
  has_server_db_ = true;
  if (!ServerAcceptable()) {
    ++stats_.skipped_servers;
    Error e("server unusable", "database " + options_.database +
                                   " is missing, not connected to its cluster, or not the leader");
    // Waiting for a server to catch up: back off as WaitForCatchUp does.
    int shift = std::min(stale_refusals_, 16);
    auto delay = stale_refusals_ == 0
                     ? options_.min_backoff
                     : std::min(options_.max_backoff, options_.min_backoff * (int64_t{1} << shift));
    Fail(e, delay);
    return;
  }
  Request("set_db_change_aware", Json::array({true}), [](Result<Json>) {});
  RequestSchema();
}

bool Idl::Clustered() const {
  if (!server_ || !has_server_db_) return false;
  auto row = server_->table("Database")->FindBy("name", Atom(options_.database));
  return row && row->GetString("model") == "clustered";
}

int64_t Idl::ServerIndex() const {
  auto row = server_->table("Database")->FindBy("name", Atom(options_.database));
  return row ? row->GetInteger("index") : 0;
}

bool Idl::ServerAcceptable() {
  const ReplicaTable* t = server_->table("Database");
  auto row = t->FindBy("name", Atom(options_.database));
  if (!row) return false;
  if (row->GetString("model") != "clustered") return true;
  if (!row->GetBool("connected")) return false;
  if (options_.leader_only && !row->GetBool("leader")) return false;
  // A server that has not applied everything we already saw (a new leader
  // still committing its predecessor's last entries) would answer
  // monitor_cond_since with a full snapshot, and could hide a commit: come
  // back once it has caught up.
  int64_t index = row->GetInteger("index");
  if (index < min_index_) return false;
  // A server that did not know our last transaction must have applied
  // more entries before it is asked again (bounded by catch_up_timeout).
  if (stale_refusals_ > 0 && index < catch_up_index_ &&
      std::chrono::steady_clock::now() < catch_up_deadline_) {
    return false;
  }
  min_index_ = index;
  return true;
}

void Idl::RequestSchema() {
  uint64_t gen = generation_;
  Request("get_schema", Json::array({options_.database}), [this, gen](Result<Json> r) {
    if (gen == generation_ && !IsConnectionLost(r)) AfterSchema(std::move(r));
  });
}

void Idl::AfterSchema(Result<Json> reply) {
  if (!reply.ok()) {
    Fail(reply.error());
    return;
  }
  Result<DatabaseSchema> schema = DatabaseSchema::FromJson(*reply);
  if (!schema.ok()) {
    Fail(schema.error());
    return;
  }
  if (!replica_ || !(replica_->schema() == *schema)) {
    std::vector<TableRequest> requests = options_.tables;
    if (replica_) {  // Keep conditions changed since Create.
      for (TableRequest& r : requests) {
        if (const ReplicaTable* t = replica_->table(r.table)) r.where = t->where();
      }
    }
    Result<std::unique_ptr<Replica>> replica = Replica::Create(std::move(schema).value(), requests);
    if (!replica.ok()) {
      Fail(replica.error());
      return;
    }
    replica_ = std::move(replica).value();
    SetLastTxnId(Uuid{});
  }
  SendMonitor(MonitorMethod::kMonitorCondSince);
}

void Idl::SendMonitor(MonitorMethod method) {
  Json params = Json::array({options_.database, kDbMonitorId,
                             replica_->MonitorRequests(method != MonitorMethod::kMonitor)});
  const char* name = "monitor";
  if (method == MonitorMethod::kMonitorCondSince) {
    params.push_back(last_txn_id_.ToString());
    name = "monitor_cond_since";
  } else if (method == MonitorMethod::kMonitorCond) {
    name = "monitor_cond";
  }
  uint64_t gen = generation_;
  Request(name, std::move(params), [this, gen, method](Result<Json> r) {
    if (gen == generation_ && !IsConnectionLost(r)) AfterMonitor(method, std::move(r));
  });
}

void Idl::AfterMonitor(MonitorMethod method, Result<Json> reply) {
  if (!reply.ok()) {
    if (method == MonitorMethod::kMonitorCondSince) return SendMonitor(MonitorMethod::kMonitorCond);
    if (method == MonitorMethod::kMonitorCond) return SendMonitor(MonitorMethod::kMonitor);
    return Fail(reply.error());
  }
  const Json& r = *reply;
  if (method == MonitorMethod::kMonitorCondSince) {
    if (!r.is_array() || r.size() != 3 || !r[0].is_boolean() || !r[1].is_string()) {
      return Fail(Error("syntax error", "bad monitor_cond_since reply"));
    }
    bool found = r[0].get<bool>();
    std::optional<Uuid> server_last = Uuid::Parse(r[1].get<std::string>());
    if (!found && !last_txn_id_.IsZero()) {
      // A Raft server whose own last transaction is one we received
      // before our last one is behind us: wait (bounded) for it to catch
      // up rather than resync.  Any other "not found" means the server
      // has moved past our id and dropped it from its history: waiting
      // cannot bring it back, so the snapshot is taken at once.
      bool behind = server_last && Received(*server_last);
      if (behind && Clustered() && WaitForCatchUp(ServerIndex())) return;
      ++stats_.history_misses;
    }
    stale_refusals_ = 0;
    catch_up_index_ = 0;
    ApplyInitial(r[2], true, !found);
    if (server_last) SetLastTxnId(*server_last);
  } else {
    ApplyInitial(r, method == MonitorMethod::kMonitorCond, true);
    SetLastTxnId(Uuid{});
  }
  if (!connected_) return;  // ApplyInitial failed and dropped the connection.
  stats_.method = method;
  ++stats_.syncs;
  synced_ = true;
  if (!lock_name_.empty()) SendLock("lock");
  Changed();
}

void Idl::ApplyInitial(const Json& updates, bool update2, bool full) {
  if (full) {
    ++stats_.full_syncs;
    replica_->BeginResync();
  }
  Status s = replica_->ApplyUpdates(updates, update2);
  if (full) replica_->EndResync();
  if (!s.ok()) Fail(s.error());  // Clears connected_.
}

Status Idl::SetCondition(std::string_view table, Json where) {
  ReplicaTable* t = replica_ ? replica_->table(table) : nullptr;
  if (t == nullptr) return Error("usage", "table " + std::string(table) + " is not replicated");
  if (synced_ && stats_.method == MonitorMethod::kMonitor) {
    return Error("not supported", "the server does not support conditional monitoring");
  }
  t->set_where(where);
  for (TableRequest& r : options_.tables) {
    if (r.table == table) r.where = where;
  }
  if (synced_) {
    Json change = {{t->name(), Json::array({{{"where", where}}})}};
    Json params = Json::array({kDbMonitorId, kDbMonitorId, std::move(change)});
    Request("monitor_cond_change", std::move(params), [this](Result<Json> r) {
      if (!r.ok() && !IsConnectionLost(r)) Fail(r.error());
    });
  }
  return Status::Ok();
}

// ---- locks ---------------------------------------------------------------

void Idl::SendLock(const char* method) {
  std::string name = lock_name_;
  Request(method, Json::array({name}), [this, name](Result<Json> r) {
    if (!r.ok() || name != lock_name_) return;
    auto locked = r->find("locked");
    if (locked != r->end() && locked->is_boolean()) {
      has_lock_ = locked->get<bool>();
      lock_answered_ = true;
      Changed();
    }
  });
}

void Idl::ResetMinIndex() { min_index_ = 0; }

void Idl::SetLock(std::string name) {
  if (name == lock_name_) return;
  if (!lock_name_.empty() && connected_) {
    Request("unlock", Json::array({lock_name_}), [](Result<Json>) {});
  }
  lock_name_ = std::move(name);
  has_lock_ = false;
  lock_answered_ = false;
  if (!lock_name_.empty() && synced_) SendLock("lock");
}

void Idl::StealLock() {
  if (lock_name_.empty() || !connected_) return;
  // A session that already waits for the lock must withdraw before it may
  // steal it ("duplicate lock" otherwise).
  if (lock_answered_ && !has_lock_) Request("unlock", Json::array({lock_name_}), [](Result<Json>) {});
  SendLock("steal");
}

}  // namespace spate::ovsdb::idl
