// OvsdbServer: databases, sessions, dispatch, transactions and locks.
// Monitors and the _Server database are in server_monitor.cc.
#include "ovsdb/server.h"

#include <algorithm>
#include <utility>

#include "ovsdb/json_codec.h"
#include "ovsdb/server_internal.h"

namespace spate::ovsdb {

using common::Message;
using common::Session;

namespace {

constexpr std::chrono::milliseconds kTcpProbe{5000};     // As Open vSwitch.
constexpr std::chrono::milliseconds kCompactCheck{60000};  // Policy check period.
// Databases with fewer rows are compacted on the loop thread (a few ms);
// larger ones write their snapshot on a thread (CompactionJob).
constexpr size_t kInlineCompactionRows = 5000;
// A client's held-output buffer keeps up to this capacity between rounds.
constexpr size_t kKeptHeldBytes = 64 * 1024;
// Retired trees with at least this many top-level elements (operations
// and their results) are freed on the reaper thread.
constexpr size_t kReapedItems = 4096;

}  // namespace

Json SyntaxErrorJson(const Json& syntax, const std::string& details) {
  return Json{{"error", "syntax error"}, {"details", details}, {"syntax", DumpJson(syntax)}};
}

OvsdbServer::OvsdbServer(common::EventLoop& loop, common::Vlog& vlog, ServerOptions options)
    : loop_(loop),
      vlog_(vlog),
      log_(vlog.Module("ovsdb_server")),
      options_(std::move(options)),
      server_id_(Uuid::Random().ToString()),
      retry_timer_(loop),
      compact_timer_(loop) {
  Status s = OpenServerDb();  // Built from a constant schema: cannot fail.
  if (!s.ok()) vlog_.Log(log_, common::LogLevel::kErr, s.error().details());
  compact_timer_.Start(kCompactCheck, [this]() { MaybeCompact(); });
}

OvsdbServer::~OvsdbServer() {
  if (compactor_.joinable()) {
    compactor_.join();  // Its post is then dropped, so drop its file too.
    if (compacting_job_) compacting_job_->Discard();
  }
  if (barrier_) FinishBarrier();  // Durable commits reach the disk.
  if (reaper_.joinable()) reaper_.join();
  retry_timer_.Cancel();
  compact_timer_.Cancel();
  actives_.clear();
  listeners_.clear();
  for (auto& [session, client] : clients_) {
    if (client->owned) client->owned->Close();
  }
  clients_.clear();
}

Status OvsdbServer::AddDatabase(const std::string& path) {
  FileOptions fo;
  fo.sync_every_commit = options_.sync_every_commit;
  fo.group_commit = true;  // FinishBarrier() writes and fsyncs.
  Result<std::unique_ptr<DatabaseFile>> file = DatabaseFile::Open(path, fo);
  if (!file.ok()) return file.error();
  if (!(*file)->recovery_message().empty()) {
    vlog_.Log(log_, common::LogLevel::kWarn, path + ": " + (*file)->recovery_message());
  }
  std::string name = (*file)->db().name();
  if (dbs_.count(name) != 0) {
    return Error("ovsdb error", name + ": duplicate database name");
  }
  auto db = std::make_unique<Db>();
  db->name = name;
  db->file = std::move(file).value();
  Db& ref = *db;
  dbs_[name] = std::move(db);
  UpdateServerDb(ref, true);
  return Status::Ok();
}

Status OvsdbServer::RemoveDatabase(const std::string& name) {
  auto it = dbs_.find(name);
  if (it == dbs_.end() || name == kServerDbName) return Error("ovsdb error", "Failed to find the database.");
  Db& db = *it->second;
  if (db.file && db.file->flush_pending()) {
    if (Status s = db.file->Flush(); !s.ok()) {
      vlog_.Log(log_, common::LogLevel::kErr, name + ": " + s.error().details());
    }
  }
  // As Open vSwitch: change-aware clients get monitor_canceled for each of
  // their monitors of it; every other client is disconnected, whether or
  // not it used this database.
  std::vector<Session*> to_close;
  for (auto& [session, client] : clients_) {
    if (!client->change_aware) to_close.push_back(session);
    for (auto m = client->monitors.begin(); m != client->monitors.end();) {
      if (m->second->db != &db) {
        ++m;
        continue;
      }
      if (client->change_aware) {
        Send(*client, Message::Notification("monitor_canceled", Json::array({m->second->id})));
      }
      m = client->monitors.erase(m);  // Before `db` goes away.
    }
  }
  for (auto& txn : db.blocked) {
    Send(*txn->client, Message::ErrorReply("canceled", txn->id));
  }
  UpdateServerDb(db, false);
  dbs_.erase(it);
  for (Session* s : to_close) s->Close();
  return Status::Ok();
}

std::vector<std::string> OvsdbServer::DatabaseNames() const {
  std::vector<std::string> names;
  for (const auto& [name, db] : dbs_) names.push_back(name);
  return names;
}

Status OvsdbServer::Compact(const std::string& name) {
  int64_t now = WallClockMs();
  for (auto& [n, db] : dbs_) {
    if (!db->file || (!name.empty() && n != name)) continue;
    if (Status s = db->file->Compact(now); !s.ok()) {
      db->file->NoteCompactionFailure(now);
      return s;
    }
    vlog_.Log(log_, common::LogLevel::kInfo, n + ": compacted database");
    if (!name.empty()) return Status::Ok();
  }
  if (!name.empty()) return Error("ovsdb error", "no database by that name");
  return Status::Ok();
}

void OvsdbServer::MaybeCompact() {
  int64_t now = WallClockMs();
  for (auto& [name, db] : dbs_) {
    if (db->file && db->file->ShouldCompact(now, options_.compaction)) CompactOne(name, *db, now);
  }
  compact_timer_.Start(kCompactCheck, [this]() { MaybeCompact(); });
}

void OvsdbServer::CompactOne(const std::string& name, Db& db, int64_t now) {
  size_t rows = 0;
  const Database& d = db.database();
  for (size_t t = 0; t < d.n_tables(); ++t) rows += d.table(static_cast<int>(t)).size();
  if (rows < kInlineCompactionRows) {  // A few ms: not worth a thread.
    uint64_t before = db.file->file_bytes();
    if (Status s = db.file->Compact(now); !s.ok()) {
      db.file->NoteCompactionFailure(now);
      vlog_.Log(log_, common::LogLevel::kWarn, name + ": compaction failed: " + s.error().details());
      return;
    }
    vlog_.Log(log_, common::LogLevel::kInfo,
              name + ": compacted database from " + std::to_string(before) + " to " +
                  std::to_string(db.file->file_bytes()) + " bytes");
    return;
  }
  if (compactor_.joinable()) return;  // One background compaction at a time.
  Result<std::shared_ptr<CompactionJob>> job = db.file->StartCompaction(now);
  if (!job.ok()) {
    db.file->NoteCompactionFailure(now);
    vlog_.Log(log_, common::LogLevel::kWarn, name + ": compaction failed: " + job.error().details());
    return;
  }
  // The snapshot is taken; formatting and writing it run on a thread while
  // clients keep committing (their records are kept for the new file).
  common::EventLoop* loop = &loop_;
  compacting_job_ = *job;
  compactor_ = std::thread([this, loop, name, j = std::move(job).value(),
                            alive = std::weak_ptr<bool>(alive_)]() {
    Status s = j->Run();
    loop->Post([this, name, j, s, alive]() {
      if (alive.lock()) FinishCompaction(name, *j, s);
    });
  });
}

void OvsdbServer::FinishCompaction(const std::string& name, CompactionJob& job,
                                   const Status& run_status) {
  compactor_.join();  // It posted this and is returning.
  compacting_job_.reset();
  auto it = dbs_.find(name);
  if (it == dbs_.end() || !it->second->file) {  // Removed meanwhile.
    job.Discard();
    return;
  }
  DatabaseFile& file = *it->second->file;
  uint64_t before = file.file_bytes();
  int64_t now = WallClockMs();
  if (Status s = file.FinishCompaction(job, run_status, now); !s.ok()) {
    vlog_.Log(log_, common::LogLevel::kWarn, name + ": compaction failed: " + s.error().details());
    return;
  }
  vlog_.Log(log_, common::LogLevel::kInfo,
            name + ": compacted database from " + std::to_string(before) + " to " +
                std::to_string(file.file_bytes()) + " bytes");
}

Status OvsdbServer::AddRemote(const std::string& name) {
  if (name.rfind("punix:", 0) == 0 || name.rfind("ptcp:", 0) == 0 ||
      name.rfind("pssl:", 0) == 0) {
    common::SessionOptions so = options_.session;
    if (name.rfind("punix:", 0) != 0 && so.probe_interval.count() == 0) so.probe_interval = kTcpProbe;
    Result<std::unique_ptr<common::Listener>> l = common::Listener::Create(
        loop_, name, options_.ssl, so,
        [this](std::shared_ptr<Session> s) { OnAccept(std::move(s)); });
    if (!l.ok()) return l.error();
    vlog_.Log(log_, common::LogLevel::kInfo, (*l)->name() + ": listening");
    listeners_.push_back(std::move(l).value());
    return Status::Ok();
  }
  common::ReconnectingSession::Options ro;
  ro.remotes = {name};
  ro.ssl = options_.ssl;
  ro.session = options_.session;
  common::ReconnectingSession::Callbacks cb;
  auto slot = std::make_shared<common::ReconnectingSession*>(nullptr);  // Set below.
  cb.on_connected = [this, slot](Session& s) {
    auto client = std::make_unique<Client>();
    client->session = &s;
    client->active = *slot;
    clients_[&s] = std::move(client);
  };
  cb.on_message = [this](Session& s, Message&& m) { OnMessage(s, std::move(m)); };
  cb.on_disconnected = [this, slot](const Status&) {
    // The session that ended is the one registered for this remote.
    for (auto it = clients_.begin(); it != clients_.end(); ++it) {
      if (it->second->active == *slot) {
        OnClose(*it->first);
        break;
      }
    }
  };
  auto rs = std::make_unique<common::ReconnectingSession>(loop_, std::move(ro), std::move(cb));
  *slot = rs.get();
  rs->Start();
  actives_.push_back(std::move(rs));
  return Status::Ok();
}

uint16_t OvsdbServer::first_tcp_port() const {
  for (const auto& l : listeners_) {
    if (l->port() != 0) return l->port();
  }
  return 0;
}

std::string OvsdbServer::MemoryReport() const {
  size_t cells = 0;
  size_t monitors = 0;
  for (const auto& [name, db] : dbs_) {
    const Database& d = db->database();
    for (size_t t = 0; t < d.n_tables(); ++t) {
      cells += d.table(static_cast<int>(t)).size() * d.table(static_cast<int>(t)).schema().columns.size();
    }
  }
  for (const auto& [s, c] : clients_) monitors += c->monitors.size();
  return "cells:" + std::to_string(cells) + " monitors:" + std::to_string(monitors) +
         " sessions:" + std::to_string(clients_.size());
}

// ------------------------------------------------------------ output

void OvsdbServer::Send(Client& client, const Message& msg) {
  if (!barrier_) {
    client.session->Send(msg);
    return;
  }
  if (!client.holding) {
    client.holding = true;
    holding_.push_back(&client);
  }
  msg.AppendTo(client.held);
}

void OvsdbServer::SendParts(Client& client, std::string_view head, std::string_view id,
                            std::string_view tail) {
  if (!barrier_) {
    scratch_.assign(head);
    scratch_.append(id);
    scratch_.append(tail);
    client.session->SendText(scratch_);
    return;
  }
  if (!client.holding) {
    client.holding = true;
    holding_.push_back(&client);
  }
  client.held.append(head);
  client.held.append(id);
  client.held.append(tail);
}

void OvsdbServer::BeginBarrier() {
  if (barrier_) return;
  barrier_ = true;
  // Posted behind the reads already queued in this round, so every commit
  // they carry shares the one fsync.
  loop_.Post([this, alive = std::weak_ptr<bool>(alive_)]() {
    if (alive.lock()) FinishBarrier();
  });
}

void OvsdbServer::FinishBarrier() {
  int64_t now = WallClockMs();
  for (auto& [name, db] : dbs_) {
    if (!db->file || !db->file->flush_pending()) continue;
    if (Status s = db->file->Flush(); !s.ok()) {
      vlog_.Log(log_, common::LogLevel::kErr, name + ": " + s.error().details());
    }
    // The policy is checked after each round of commits (a few compares),
    // so a busy database is compacted as soon as it qualifies.
    if (db->file->ShouldCompact(now, options_.compaction)) CompactOne(name, *db, now);
  }
  barrier_ = false;
  ReleaseHeld();
  FreeRetired();
}

void OvsdbServer::ReleaseHeld() {
  // Each idle client's held text goes out from its own buffer in one
  // batch (one io_uring submission for all of them where the kernel has
  // it); a client that already has output queued gets it behind that.
  releasing_.swap(holding_);
  batch_.clear();
  batch_clients_.clear();
  for (Client* c : releasing_) {
    c->holding = false;
    int fd = c->session->BatchSocket();
    if (fd < 0) {
      c->session->SendTextNow(c->held);
      continue;
    }
    batch_.push_back(BatchWriter::Write{fd, c->held, 0});
    batch_clients_.push_back(c);
  }
  writer_.WriteAll(batch_);
  for (size_t i = 0; i < batch_.size(); ++i) {
    batch_clients_[i]->session->FinishBatchWrite(batch_[i].text, batch_[i].result);
  }
  // Buffers keep their capacity for the next round unless large.
  for (Client* c : releasing_) {
    c->held.clear();
    if (c->held.capacity() > kKeptHeldBytes) std::string().swap(c->held);
  }
  releasing_.clear();
}

void OvsdbServer::Retire(nlohmann::json&& tree) {
  retired_items_ += tree.size();
  retired_.push_back(std::move(tree));
}

void OvsdbServer::FreeRetired() {
  if (retired_items_ < kReapedItems) {
    retired_.clear();
  } else {
    // Plain data with no other owner: freed beside the loop, one batch at
    // a time, so the next round's replies are not delayed by it.
    if (reaper_.joinable()) reaper_.join();
    reaper_ = std::thread([trees = std::move(retired_)]() mutable { trees.clear(); });
    retired_ = {};
  }
  retired_items_ = 0;
}

// ------------------------------------------------------------ sessions

void OvsdbServer::OnAccept(std::shared_ptr<Session> session) {
  auto client = std::make_unique<Client>();
  client->session = session.get();
  client->owned = session;
  Session* key = session.get();
  clients_[key] = std::move(client);
  session->Start([this](Session& s, Message&& m) { OnMessage(s, std::move(m)); },
                 [this](Session& s, const Status& why) {
                   if (!why.ok()) {
                     vlog_.Log(log_, common::LogLevel::kInfo, s.name() + ": " + why.error().details());
                   }
                   OnClose(s);
                 });
}

void OvsdbServer::OnMessage(Session& session, Message&& msg) {
  auto it = clients_.find(&session);
  if (it == clients_.end()) return;
  Dispatch(*it->second, std::move(msg));
}

void OvsdbServer::OnClose(Session& session) {
  auto it = clients_.find(&session);
  if (it == clients_.end()) return;
  Client& client = *it->second;
  for (auto& [name, db] : dbs_) {
    auto& b = db->blocked;
    b.erase(std::remove_if(b.begin(), b.end(), [&](const auto& t) { return t->client == &client; }),
            b.end());
  }
  client.monitors.clear();
  ReleaseLocks(client);
  if (client.holding) {
    holding_.erase(std::remove(holding_.begin(), holding_.end(), &client), holding_.end());
  }
  clients_.erase(it);  // Drops our reference; pending I/O holds its own.
}

void OvsdbServer::Dispatch(Client& client, Message&& msg) {
  const std::string& m = msg.method;
  if (msg.type == common::MessageType::kNotification) {
    if (m == "cancel") HandleCancel(client, msg);
    return;  // Other notifications (and replies) need no answer.
  }
  if (msg.type != common::MessageType::kRequest) return;
  if (m == "transact") {
    if (Db* db = LookupDb(client, msg)) HandleTransact(client, std::move(msg), *db);
  } else if (m == "monitor_cond" || m == "monitor" || m == "monitor_cond_since") {
    HandleMonitor(client, std::move(msg),
                  m == "monitor" ? MonitorVersion::kV1
                  : m == "monitor_cond" ? MonitorVersion::kV2 : MonitorVersion::kV3);
  } else if (m == "monitor_cond_change") {
    HandleMonitorCondChange(client, std::move(msg));
  } else if (m == "monitor_cancel") {
    HandleMonitorCancel(client, std::move(msg));
  } else if (m == "get_schema") {
    if (Db* db = LookupDb(client, msg)) {
      Send(client, Message::Reply(db->database().schema().ToJson(), msg.id));
    }
  } else if (m == "list_dbs") {
    Send(client, Message::Reply(DatabaseNames(), msg.id));
  } else if (m == "lock" || m == "steal") {
    HandleLock(client, std::move(msg), m == "steal");
  } else if (m == "unlock") {
    HandleUnlock(client, std::move(msg));
  } else if (m == "get_server_id") {
    Send(client, Message::Reply(server_id_, msg.id));
  } else if (m == "set_db_change_aware") {
    if (msg.params.size() != 1 || !msg.params[0].is_boolean()) {
      Send(client, Message::ErrorReply(
          SyntaxErrorJson(msg.params, "set_db_change_aware: true or false parameter expected"),
          msg.id));
      return;
    }
    client.change_aware = msg.params[0].get<bool>();
    Send(client, Message::Reply(Json::object(), msg.id));
  } else {
    Send(client, Message::ErrorReply("unknown method", msg.id));
  }
}

OvsdbServer::Db* OvsdbServer::LookupDb(Client& client, const Message& msg) {
  if (msg.params.empty() || !msg.params[0].is_string()) {
    Send(client, Message::ErrorReply(
        SyntaxErrorJson(msg.params, msg.method + " request params must begin with <db-name>"),
        msg.id));
    return nullptr;
  }
  const std::string& name = msg.params[0].get_ref<const std::string&>();
  auto it = dbs_.find(name);
  if (it == dbs_.end()) {
    Json err{{"error", "unknown database"},
             {"details", msg.method + " request specifies unknown database " + name},
             {"syntax", DumpJson(msg.params)}};
    Send(client, Message::ErrorReply(std::move(err), msg.id));
    return nullptr;
  }
  return it->second.get();
}

// ------------------------------------------------------------ transactions

void OvsdbServer::HandleTransact(Client& client, Message&& msg, Db& db) {
  auto txn = std::make_unique<PendingTxn>();
  txn->client = &client;
  txn->id = std::move(msg.id);
  txn->params = std::move(msg.params);
  txn->start_ms = WallClockMs();
  bool committed = RunTransaction(*txn, db);
  if (txn->deadline_ms >= 0) {  // Blocked on a wait.
    db.blocked.push_back(std::move(txn));
    ArmRetryTimer();
    return;
  }
  // Freeing a large request tree costs as much as parsing it: during a
  // barrier it is done after the updates and the reply were written.
  if (barrier_) Retire(std::move(txn->params));
  if (committed) RetryBlocked(db);
}

bool OvsdbServer::RunTransaction(PendingTxn& txn, Db& db) {
  TransactOptions opts;
  Client* client = txn.client;
  opts.lock_owned = [this, client](const std::string& name) {
    auto it = locks_.find(name);
    return it != locks_.end() && !it->second.empty() && it->second.front() == client;
  };
  opts.can_block = true;
  opts.now_ms = WallClockMs();
  opts.start_ms = txn.start_ms;
  TransactResult r;
  if (db.file) {
    r = db.file->Transact(txn.params, std::move(opts));
  } else {
    ReadOnlySink sink;
    opts.sink = &sink;
    r = Transact(*db.mem, txn.params, opts);
  }
  if (r.blocked) {
    txn.deadline_ms = r.retry_deadline_ms;
    return false;
  }
  txn.deadline_ms = -1;
  if (db.file && db.file->flush_pending()) BeginBarrier();
  if (r.changes) Commit(db, *r.changes);  // Updates go out before the reply.
  Message reply = Message::Reply(std::move(r.reply), txn.id);
  Send(*txn.client, reply);
  if (barrier_) Retire(std::move(reply.result));  // As the request.
  return r.changes != nullptr;
}

void OvsdbServer::RetryBlocked(Db& db) {
  bool again = true;
  while (again && !db.blocked.empty()) {
    again = false;
    for (size_t i = 0; i < db.blocked.size();) {
      PendingTxn& txn = *db.blocked[i];
      bool committed = RunTransaction(txn, db);
      if (txn.deadline_ms < 0) {
        db.blocked.erase(db.blocked.begin() + static_cast<std::ptrdiff_t>(i));
        again = again || committed;
      } else {
        ++i;
      }
    }
  }
  ArmRetryTimer();
}

void OvsdbServer::ArmRetryTimer() {
  int64_t earliest = std::numeric_limits<int64_t>::max();
  for (const auto& [name, db] : dbs_) {
    for (const auto& t : db->blocked) earliest = std::min(earliest, t->deadline_ms);
  }
  if (earliest == std::numeric_limits<int64_t>::max()) {
    retry_timer_.Cancel();
    return;
  }
  int64_t delay = std::max<int64_t>(0, earliest - WallClockMs());
  retry_timer_.Start(std::chrono::milliseconds(delay), [this]() { OnRetryTimer(); });
}

void OvsdbServer::OnRetryTimer() {
  for (auto& [name, db] : dbs_) {
    if (!db->blocked.empty()) RetryBlocked(*db);
  }
  ArmRetryTimer();
}

void OvsdbServer::HandleCancel(Client& client, const Message& msg) {
  if (msg.params.size() != 1) return;
  for (auto& [name, db] : dbs_) {
    auto& b = db->blocked;
    for (auto it = b.begin(); it != b.end(); ++it) {
      if ((*it)->client == &client && (*it)->id == msg.params[0]) {
        Send(client, Message::ErrorReply("canceled", (*it)->id));
        b.erase(it);
        ArmRetryTimer();
        return;
      }
    }
  }
}

// ------------------------------------------------------------ locks

void OvsdbServer::HandleLock(Client& client, Message&& msg, bool steal) {
  const std::string method = steal ? "steal" : "lock";
  if (msg.params.size() != 1 || !msg.params[0].is_string() ||
      !IsValidId(msg.params[0].get_ref<const std::string&>())) {
    Send(client, Message::ErrorReply(SyntaxErrorJson(msg.params, method + " request params must be <id>"),
                               msg.id));
    return;
  }
  const std::string name = msg.params[0].get<std::string>();
  if (client.locks.count(name) != 0) {
    Send(client, Message::ErrorReply(
        SyntaxErrorJson(msg.params, "must issue \"unlock\" before new \"" + method + "\""), msg.id));
    return;
  }
  client.locks.insert(name);
  std::deque<Client*>& waiters = locks_[name];
  if (steal) {
    if (!waiters.empty()) {
      Send(*waiters.front(), Message::Notification("stolen", Json::array({name})));
    }
    waiters.push_front(&client);
  } else {
    waiters.push_back(&client);
  }
  bool owner = waiters.front() == &client;
  Send(client, Message::Reply(Json{{"locked", owner}}, msg.id));
}

void OvsdbServer::HandleUnlock(Client& client, Message&& msg) {
  if (msg.params.size() != 1 || !msg.params[0].is_string()) {
    Send(client, Message::ErrorReply(SyntaxErrorJson(msg.params, "unlock request params must be <id>"),
                               msg.id));
    return;
  }
  const std::string name = msg.params[0].get<std::string>();
  if (client.locks.erase(name) == 0) {
    Send(client, Message::ErrorReply(
        SyntaxErrorJson(msg.params, "unlock: \"unlock\" without \"lock\" or \"steal\""), msg.id));
    return;
  }
  DropWaiter(client, name);
  Send(client, Message::Reply(Json::object(), msg.id));
}

void OvsdbServer::DropWaiter(Client& client, const std::string& name) {
  auto it = locks_.find(name);
  if (it == locks_.end()) return;
  std::deque<Client*>& waiters = it->second;
  bool was_owner = !waiters.empty() && waiters.front() == &client;
  waiters.erase(std::remove(waiters.begin(), waiters.end(), &client), waiters.end());
  if (waiters.empty()) {
    locks_.erase(it);
  } else if (was_owner) {
    Send(*waiters.front(), Message::Notification("locked", Json::array({name})));
  }
}

void OvsdbServer::ReleaseLocks(Client& client) {
  for (const std::string& name : client.locks) DropWaiter(client, name);
  client.locks.clear();
}

}  // namespace spate::ovsdb
