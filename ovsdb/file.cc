#include "ovsdb/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>

namespace spate::ovsdb {
namespace {

// fcntl locks belong to the process, so two opens inside one process would
// not exclude each other; this set covers that case.  It is the one piece
// of process-wide state here, guarded by its mutex.
std::mutex& LockedPathsMutex() {
  static std::mutex m;
  return m;
}
std::set<std::string>& LockedPaths() {
  static std::set<std::string> paths;
  return paths;
}

Error Bad(const std::string& what) { return Error("syntax error", what); }

Status ApplyRowJson(const TableSchema& t, const Json& row, bool is_diff, const Row* old,
                    RowChange* ch) {
  if (!row.is_object()) return Bad("row in table " + t.name + " is not an object");
  for (auto it = row.begin(); it != row.end(); ++it) {
    const ColumnSchema* c = t.FindColumn(it.key());
    if (c == nullptr) return Bad("No column " + it.key() + " in table " + t.name + ".");
    if (c->index == kUuidColumn || c->index == kVersionColumn) continue;
    Type type = c->type;
    bool diff = is_diff && old != nullptr && type.IsComposite();
    if (diff) {
      type.n_min = 0;
      type.n_max = kUnlimited;
    }
    auto v = Datum::FromJson(type, it.value(), nullptr);
    if (!v) return Bad("table " + t.name + " column " + c->name + ": " + v.error().details());
    if (diff) {
      Datum merged = old->fields[c->index];
      merged.ApplyDiff(*v);
      *v = std::move(merged);
    }
    if (ch->kind == ChangeKind::kInsert) {
      ch->row->fields[c->index] = std::move(*v);
    } else {
      ch->columns.push_back(c->index);
      ch->values.push_back(std::move(*v));
    }
  }
  return Status::Ok();
}

}  // namespace

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string LockFilePath(const std::string& db_path) {
  size_t slash = db_path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : db_path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? db_path : db_path.substr(slash + 1);
  return dir + "." + base + ".~lock~";
}

Result<std::unique_ptr<ChangeSet>> ChangeSetFromRecord(const Database& db, const Json& record) {
  auto cs = std::make_unique<ChangeSet>();
  bool is_diff = record.contains("_is_diff") && record["_is_diff"] == true;
  if (record.contains("_date") && record["_date"].is_number()) {
    cs->date_ms = record["_date"].get<int64_t>();
  }
  if (record.contains("_comment") && record["_comment"].is_string()) {
    cs->comment = record["_comment"].get<std::string>();
  }
  for (auto it = record.begin(); it != record.end(); ++it) {
    if (!it.key().empty() && it.key()[0] == '_') continue;
    const TableSchema* t = db.schema().FindTable(it.key());
    if (t == nullptr) return Bad("No table named " + it.key() + ".");
    if (!it.value().is_object()) return Bad("table " + it.key() + " is not an object");
    for (auto r = it.value().begin(); r != it.value().end(); ++r) {
      auto uuid = Uuid::Parse(r.key());
      if (!uuid) return Bad("\"" + r.key() + "\" is not a valid UUID");
      RowChange ch;
      ch.table = t->index;
      ch.uuid = *uuid;
      const Row* old = db.table(t->index).Find(*uuid);
      if (r.value().is_null()) {
        ch.kind = ChangeKind::kDelete;
      } else if (old == nullptr) {
        ch.kind = ChangeKind::kInsert;
        ch.row = NewDefaultRow(*t, *uuid);
        SetRowVersion(ch.row.get(), Uuid::Random());
      } else {
        ch.kind = ChangeKind::kModify;
      }
      if (!r.value().is_null()) {
        if (Status s = ApplyRowJson(*t, r.value(), is_diff, old, &ch); !s) return s.error();
      }
      cs->rows.push_back(std::move(ch));
    }
  }
  return cs;
}

Json RecordFromChangeSet(const Database& db, const ChangeSet& cs) {
  Json rec = Json::object();
  for (const RowChange& ch : cs.rows) {
    const TableSchema& t = db.schema().tables[ch.table];
    Json& table = rec[t.name];
    if (ch.kind == ChangeKind::kDelete) {
      table[ch.uuid.ToString()] = nullptr;
      continue;
    }
    Json row = Json::object();
    if (ch.kind == ChangeKind::kInsert) {
      for (size_t c = 2; c < t.columns.size(); ++c) {
        const ColumnSchema& col = t.columns[c];
        if (col.ephemeral || ch.row->fields[c].IsDefault(col.type)) continue;
        row[col.name] = ch.row->fields[c].ToJson(col.type);
      }
    } else {
      // Sets and maps are written as diffs ("_is_diff", as Open vSwitch 3.x
      // writes them), so adding one element to a large set stays small.
      for (size_t i = 0; i < ch.columns.size(); ++i) {
        const ColumnSchema& col = t.columns[ch.columns[i]];
        if (col.ephemeral) continue;
        if (!col.type.IsComposite()) {
          row[col.name] = ch.values[i].ToJson(col.type);
        } else {
          Type relaxed = col.type;
          relaxed.n_min = 0;
          relaxed.n_max = kUnlimited;
          row[col.name] = Datum::Diff(ch.current->fields[ch.columns[i]], ch.values[i])
                              .ToJson(relaxed);
        }
      }
      if (row.empty()) continue;  // Only ephemeral columns changed.
    }
    table[ch.uuid.ToString()] = std::move(row);
  }
  if (rec.empty()) return rec;
  rec["_is_diff"] = true;
  rec["_date"] = cs.date_ms;
  if (!cs.comment.empty()) rec["_comment"] = cs.comment;
  return rec;
}

namespace {

// Writes `"name":` (the JSON key) to `out`.
void AppendKey(std::string& out, std::string_view name) {
  AppendJsonString(out, name);
  out += ':';
}

// Appends the record's object for one non-delete row change: its columns
// in name order, as RecordFromChangeSet builds them.  False (nothing
// written) if no column is left (only ephemeral columns changed).
bool AppendRowText(const TableSchema& t, const RowChange& ch, std::vector<int>* scratch,
                   std::string& out) {
  std::vector<int>& order = *scratch;  // Indexes into columns / ch.columns.
  order.clear();
  bool insert = ch.kind == ChangeKind::kInsert;
  size_t n = insert ? t.columns.size() : ch.columns.size();
  for (size_t i = insert ? 2 : 0; i < n; ++i) {
    int c = insert ? static_cast<int>(i) : ch.columns[i];
    const ColumnSchema& col = t.columns[c];
    if (col.ephemeral || (insert && ch.row->fields[c].IsDefault(col.type))) continue;
    order.push_back(static_cast<int>(i));
  }
  if (order.empty() && !insert) return false;
  auto name = [&](int i) -> const std::string& {
    return t.columns[insert ? i : ch.columns[i]].name;
  };
  std::sort(order.begin(), order.end(), [&](int a, int b) { return name(a) < name(b); });
  out += '{';
  for (size_t k = 0; k < order.size(); ++k) {
    if (k) out += ',';
    int i = order[k];
    const ColumnSchema& col = t.columns[insert ? i : ch.columns[i]];
    AppendKey(out, col.name);
    if (insert) {
      ch.row->fields[i].AppendJson(col.type, out);
    } else if (!col.type.IsComposite()) {
      ch.values[i].AppendJson(col.type, out);
    } else {
      Type relaxed = col.type;
      relaxed.n_min = 0;
      relaxed.n_max = kUnlimited;
      Datum::Diff(ch.current->fields[ch.columns[i]], ch.values[i]).AppendJson(relaxed, out);
    }
  }
  out += '}';
  return true;
}

// Appends one table's object: its changed rows in UUID (= text) order.
void AppendTableText(const TableSchema& t, std::vector<const RowChange*>& rows,
                     std::string& out) {
  std::sort(rows.begin(), rows.end(),
            [](const RowChange* a, const RowChange* b) { return a->uuid < b->uuid; });
  std::vector<int> scratch;
  out += '{';
  bool first = true;
  for (const RowChange* ch : rows) {
    size_t mark = out.size();
    if (!first) out += ',';
    out += '"';
    out += ch->uuid.ToString();
    out += "\":";
    if (ch->kind == ChangeKind::kDelete) {
      out += "null";
    } else if (!AppendRowText(t, *ch, &scratch, out)) {
      out.resize(mark);
      continue;
    }
    first = false;
  }
  out += '}';
}

}  // namespace

std::string RecordTextFromChangeSet(const Database& db, const ChangeSet& cs) {
  if (cs.rows.empty()) return {};
  const auto& tables = db.schema().tables;
  std::vector<std::vector<const RowChange*>> by_table(tables.size());
  for (const RowChange& ch : cs.rows) by_table[ch.table].push_back(&ch);
  // Members in nlohmann's (byte-wise) key order: tables and the "_" keys.
  constexpr int kComment = -1, kDate = -2, kIsDiff = -3;
  std::vector<std::pair<std::string_view, int>> keys;
  for (size_t i = 0; i < tables.size(); ++i) {
    if (!by_table[i].empty()) keys.emplace_back(tables[i].name, static_cast<int>(i));
  }
  if (!cs.comment.empty()) keys.emplace_back("_comment", kComment);
  keys.emplace_back("_date", kDate);
  keys.emplace_back("_is_diff", kIsDiff);
  std::sort(keys.begin(), keys.end());
  std::string out;
  out.reserve(cs.rows.size() * 256);
  out += '{';
  for (size_t k = 0; k < keys.size(); ++k) {
    if (k) out += ',';
    AppendKey(out, keys[k].first);
    switch (int which = keys[k].second) {
      case kComment: AppendJsonString(out, cs.comment); break;
      case kDate: out += std::to_string(cs.date_ms); break;
      case kIsDiff: out += "true"; break;
      default: AppendTableText(tables[which], by_table[which], out); break;
    }
  }
  out += '}';
  return out;
}

Json SnapshotRecord(const Database& db, int64_t now_ms, const std::string& comment) {
  Json rec = Json::object();
  for (size_t i = 0; i < db.n_tables(); ++i) {
    const Table& table = db.table(static_cast<int>(i));
    if (table.size() == 0) continue;
    const TableSchema& t = table.schema();
    Json rows = Json::object();
    for (auto& [uuid, row] : table.rows()) {
      Json r = Json::object();
      for (size_t c = 2; c < t.columns.size(); ++c) {
        const ColumnSchema& col = t.columns[c];
        if (col.ephemeral || row->fields[c].IsDefault(col.type)) continue;
        r[col.name] = row->fields[c].ToJson(col.type);
      }
      rows[uuid.ToString()] = std::move(r);
    }
    rec[t.name] = std::move(rows);
  }
  rec["_date"] = now_ms;
  if (!comment.empty()) rec["_comment"] = comment;
  return rec;
}

DatabaseFile::~DatabaseFile() {
  // Best effort: nothing is left to report a failure to.
  if (!pending_.empty() || sync_pending_) (void)Flush();
  writer_.Close();
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    std::lock_guard<std::mutex> guard(LockedPathsMutex());
    LockedPaths().erase(lock_path_);
  }
}

Status DatabaseFile::Create(const std::string& path, const DatabaseSchema& schema) {
  LogWriter w;
  if (Status s = w.Open(path, /*create=*/true, 0); !s) return s;
  return w.Append(schema.ToJson(), /*sync=*/true);
}

Status DatabaseFile::AcquireLock() {
  lock_path_ = LockFilePath(path_);
  char real[PATH_MAX];
  std::string key = ::realpath(path_.c_str(), real) ? LockFilePath(real) : lock_path_;
  {
    std::lock_guard<std::mutex> guard(LockedPathsMutex());
    if (!LockedPaths().insert(key).second) {
      return Error("I/O error", path_ + ": database is already open for writing in this process");
    }
  }
  lock_fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  struct flock fl;
  std::memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (lock_fd_ < 0 || ::fcntl(lock_fd_, F_SETLK, &fl) != 0) {
    std::string why = std::strerror(errno);
    std::lock_guard<std::mutex> guard(LockedPathsMutex());
    LockedPaths().erase(key);
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
    return Error("I/O error", lock_path_ + ": cannot lock database (" + why +
                                  "); is another process using it?");
  }
  lock_path_ = key;
  return Status::Ok();
}

Status DatabaseFile::LoadRecords(const LogContents& log) {
  if (log.records.empty()) {
    return Error("I/O error", path_ + ": not an OVSDB database file (" +
                                  (log.tail_error.empty() ? "empty" : log.tail_error) + ")");
  }
  auto schema = DatabaseSchema::FromJson(log.records[0].json);
  if (!schema) return Error("syntax error", path_ + ": bad schema: " + schema.error().details());
  db_ = std::make_unique<Database>(std::make_shared<DatabaseSchema>(std::move(*schema)));
  for (size_t i = 1; i < log.records.size(); ++i) {
    auto cs = ChangeSetFromRecord(*db_, log.records[i].json);
    if (!cs) {
      return Error("syntax error", path_ + ": record " + std::to_string(i) + ": " +
                                       cs.error().details());
    }
    ApplyUnchecked(*db_, cs->get());
  }
  db_->RebuildDerived();
  n_transactions_ = log.records.size() - 1;
  return Status::Ok();
}

Result<std::unique_ptr<DatabaseFile>> DatabaseFile::Open(const std::string& path,
                                                         const FileOptions& options) {
  std::unique_ptr<DatabaseFile> f(new DatabaseFile());
  f->path_ = path;
  f->options_ = options;
  f->last_compact_ms_ = WallClockMs();
  if (!options.read_only) {
    // A missing file is reported as such, not as a lock failure next to it.
    if (::access(path.c_str(), F_OK) != 0) {
      return Error("I/O error", path + ": open failed (" + std::strerror(errno) + ")");
    }
    if (Status s = f->AcquireLock(); !s) return s.error();
  }
  auto log = ReadLog(path);
  if (!log) return log.error();
  if (Status s = f->LoadRecords(*log); !s) return s.error();
  if (!log->tail_error.empty()) {
    f->bytes_dropped_ = log->file_bytes - log->good_bytes;
    f->recovery_ = path + ": " + log->tail_error + "; " + std::to_string(f->bytes_dropped_) +
                   " bytes " + (options.read_only ? "ignored" : "truncated") +
                   ", " + std::to_string(log->records.size() - 1) +
                   " transactions before it loaded";
  }
  if (!options.read_only) {
    if (Status s = f->writer_.Open(path, false, log->good_bytes); !s) return s.error();
  }
  return f;
}

Status DatabaseFile::Write(const Database& db, const ChangeSet& changes) {
  if (options_.read_only) return Error("I/O error", path_ + ": database is read-only");
  if (!failed_) return failed_;
  std::string body = RecordTextFromChangeSet(db, changes);
  if (body.empty()) return Status::Ok();
  bool sync = changes.durable || options_.sync_every_commit;
  std::string text = FormatRecordText(body);
  if (compacting()) {
    since_snapshot_ += text;
    ++n_since_snapshot_;
  }
  if (options_.group_commit) {
    pending_ += text;
    sync_pending_ = sync_pending_ || sync;
  } else if (Status s = writer_.AppendRaw(text, sync); !s) {
    return s;
  }
  ++n_transactions_;
  return Status::Ok();
}

Status DatabaseFile::Flush(bool force_sync) {
  if (!failed_) return failed_;
  Status s;
  if (!pending_.empty()) s = writer_.AppendRaw(pending_, false);
  if (s && (sync_pending_ || force_sync)) s = writer_.Sync();
  pending_.clear();
  sync_pending_ = false;
  if (!s) failed_ = s;
  return s;
}

TransactResult DatabaseFile::Transact(const Json& params, TransactOptions options) {
  options.sink = this;
  if (options.now_ms == 0) options.now_ms = WallClockMs();
  if (options.start_ms == 0) options.start_ms = options.now_ms;
  return spate::ovsdb::Transact(*db_, params, options);
}

Status DatabaseFile::Compact(int64_t now_ms) {
  if (options_.read_only) return Error("I/O error", path_ + ": database is read-only");
  std::vector<Json> records = {db_->schema().ToJson(),
                               SnapshotRecord(*db_, now_ms, "compacting database online")};
  // A background compaction still running is superseded by this one.
  job_id_ = 0;
  since_snapshot_.clear();
  n_since_snapshot_ = 0;
  if (Status s = WriteLogAtomically(path_, records); !s) {
    last_failure_ms_ = now_ms;
    return s;
  }
  if (Status s = writer_.Open(path_, false, UINT64_MAX); !s) return s;
  // Buffered records are in the snapshot (it was taken from memory).
  pending_.clear();
  sync_pending_ = false;
  failed_ = Status::Ok();
  n_transactions_ = 0;
  last_compact_ms_ = now_ms;
  last_failure_ms_ = -1;
  return Status::Ok();
}

Status CompactionJob::Run() {
  std::string bytes = FormatRecord(schema_) + FormatRecord(snapshot_);
  schema_ = Json();
  snapshot_ = Json();
  return WriteLogFile(tmp_path_, bytes);
}

void CompactionJob::Discard() { ::unlink(tmp_path_.c_str()); }

Result<std::shared_ptr<CompactionJob>> DatabaseFile::StartCompaction(int64_t now_ms) {
  if (options_.read_only) return Error("I/O error", path_ + ": database is read-only");
  if (compacting()) return Error("ovsdb error", path_ + ": compaction already in progress");
  static std::atomic<uint64_t> next_id{1};  // Process-wide, so ids never repeat.
  auto job = std::make_shared<CompactionJob>();
  job->id_ = next_id.fetch_add(1);
  job->tmp_path_ = path_ + ".bg.tmp";
  job->schema_ = db_->schema().ToJson();
  job->snapshot_ = SnapshotRecord(*db_, now_ms, "compacting database online");
  job_id_ = job->id_;
  since_snapshot_.clear();
  n_since_snapshot_ = 0;
  return job;
}

Status DatabaseFile::FinishCompaction(CompactionJob& job, const Status& run_status,
                                      int64_t now_ms) {
  if (job.id_ != job_id_) {  // Superseded by a synchronous Compact().
    job.Discard();
    return Status::Ok();
  }
  job_id_ = 0;
  std::string tail;
  tail.swap(since_snapshot_);
  uint64_t n_tail = n_since_snapshot_;
  n_since_snapshot_ = 0;
  Status s = run_status;
  if (s) s = ReplaceLogFile(job.tmp_path_, tail, path_);
  if (!s) {
    job.Discard();
    last_failure_ms_ = now_ms;
    return s;
  }
  if (Status o = writer_.Open(path_, false, UINT64_MAX); !o) {
    failed_ = o;
    return o;
  }
  // Buffered records are in the tail, now written and fsynced.
  pending_.clear();
  sync_pending_ = false;
  failed_ = Status::Ok();
  n_transactions_ = n_tail;
  last_compact_ms_ = now_ms;
  last_failure_ms_ = -1;
  return Status::Ok();
}

bool DatabaseFile::ShouldCompact(int64_t now_ms, const CompactionPolicy& policy) const {
  if (options_.read_only || compacting()) return false;
  if (last_failure_ms_ >= 0 && now_ms - last_failure_ms_ < policy.retry_ms) return false;
  return now_ms - last_compact_ms_ >= policy.min_interval_ms &&
         n_transactions_ >= policy.min_transactions && writer_.size() >= policy.min_bytes;
}

}  // namespace spate::ovsdb
