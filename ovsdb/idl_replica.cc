#include "ovsdb/idl_replica.h"

#include <algorithm>

namespace spate::ovsdb::idl {

namespace {

const Datum& EmptyDatum() {
  static const Datum* empty = new Datum();
  return *empty;
}

Error Syntax(std::string details) { return Error("syntax error", std::move(details)); }

// The type a diff is parsed with: any number of elements.
Type DiffType(const Type& type) {
  Type t = type;
  t.n_min = 0;
  t.n_max = kUnlimited;
  return t;
}

// A diff this much smaller than the value it applies to is applied by
// editing the value's element vectors in place (binary search, then one
// insert or erase per element) instead of rebuilding them.
constexpr size_t kInPlaceDiffRatio = 8;

// Applies an update2 diff to `field` in place; returns the number of
// elements changed.  Large diffs (relative to the value) rebuild it once.
size_t ApplyDiffInPlace(Datum& field, const Datum& diff) {
  if (diff.size() * kInPlaceDiffRatio > field.size()) {
    field.ApplyDiff(diff);
    return diff.size();
  }
  std::vector<Atom>& keys = field.mutable_keys();
  std::vector<Atom>& values = field.mutable_values();
  bool map = field.is_map() && diff.is_map();
  // Removals and value changes first, then additions, so that a diff that
  // removes as much as it adds never grows the vectors.
  std::vector<bool> added(diff.size(), false);
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t j = 0; j < diff.size(); ++j) {
      if (pass == 1 && !added[j]) continue;
      const Atom& k = diff.keys()[j];
      auto it = std::lower_bound(keys.begin(), keys.end(), k);
      auto i = it - keys.begin();
      bool present = it != keys.end() && *it == k;
      if (pass == 1) {
        keys.insert(it, k);
        if (map) values.insert(values.begin() + i, diff.values()[j]);
      } else if (present && map && !(values[i] == diff.values()[j])) {
        values[i] = diff.values()[j];  // A map key's new value.
      } else if (present) {
        keys.erase(it);
        if (map) values.erase(values.begin() + i);
      } else {
        added[j] = true;
      }
    }
  }
  return diff.size();
}

// Whether an update2 value for a column of at most one element must be
// read as a symmetric difference rather than as the new value.  Open
// vSwitch always sends the new value; a server that sends the symmetric
// difference instead is recognised by a value no new value can be: two
// elements (old and new), or the unchanged current value (a column whose
// value did not change is never sent), which as a difference clears it.
bool SymmetricDiff(const Datum& field, const Datum& diff) {
  return diff.size() > 1 || (!diff.empty() && diff == field);
}

}  // namespace

// ---- RowView -------------------------------------------------------------

const Datum& RowView::Get(std::string_view column) const {
  const ColumnSchema* c = table_->FindColumn(column);
  if (c == nullptr || static_cast<size_t>(c->index) >= row_->fields.size()) {
    return EmptyDatum();
  }
  return row_->fields[c->index];
}

std::string RowView::GetString(std::string_view column) const {
  return GetOptionalString(column).value_or("");
}

int64_t RowView::GetInteger(std::string_view column) const {
  return GetOptionalInteger(column).value_or(0);
}

double RowView::GetReal(std::string_view column) const {
  const Datum& d = Get(column);
  if (d.empty() || d.keys()[0].type() != AtomicType::kReal) return 0.0;
  return d.keys()[0].real();
}

bool RowView::GetBool(std::string_view column) const {
  const Datum& d = Get(column);
  if (d.empty() || d.keys()[0].type() != AtomicType::kBoolean) return false;
  return d.keys()[0].boolean();
}

std::optional<std::string> RowView::GetOptionalString(std::string_view column) const {
  const Datum& d = Get(column);
  if (d.empty() || d.keys()[0].type() != AtomicType::kString) return std::nullopt;
  return d.keys()[0].string();
}

std::optional<int64_t> RowView::GetOptionalInteger(std::string_view column) const {
  const Datum& d = Get(column);
  if (d.empty() || d.keys()[0].type() != AtomicType::kInteger) return std::nullopt;
  return d.keys()[0].integer();
}

std::optional<Uuid> RowView::GetOptionalUuid(std::string_view column) const {
  const Datum& d = Get(column);
  if (d.empty() || d.keys()[0].type() != AtomicType::kUuid) return std::nullopt;
  return d.keys()[0].uuid();
}

std::vector<std::string> RowView::GetStrings(std::string_view column) const {
  std::vector<std::string> out;
  for (const Atom& a : Get(column).keys()) {
    if (a.type() == AtomicType::kString) out.push_back(a.string());
  }
  return out;
}

std::vector<int64_t> RowView::GetIntegers(std::string_view column) const {
  std::vector<int64_t> out;
  for (const Atom& a : Get(column).keys()) {
    if (a.type() == AtomicType::kInteger) out.push_back(a.integer());
  }
  return out;
}

std::vector<Uuid> RowView::GetUuids(std::string_view column) const {
  std::vector<Uuid> out;
  for (const Atom& a : Get(column).keys()) {
    if (a.type() == AtomicType::kUuid) out.push_back(a.uuid());
  }
  return out;
}

std::map<std::string, std::string> RowView::GetStringMap(std::string_view column) const {
  std::map<std::string, std::string> out;
  const Datum& d = Get(column);
  for (size_t i = 0; i < d.values().size(); ++i) {
    const Atom& k = d.keys()[i];
    const Atom& v = d.values()[i];
    if (k.type() == AtomicType::kString && v.type() == AtomicType::kString) {
      out.emplace(k.string(), v.string());
    }
  }
  return out;
}

// ---- ReplicaTable --------------------------------------------------------

ReplicaTable::ReplicaTable(const TableSchema* schema, std::vector<int> columns, Json where)
    : schema_(schema), columns_(std::move(columns)), where_(std::move(where)) {}

const IdlRow* ReplicaTable::Find(const Uuid& uuid) const {
  auto it = rows_.find(uuid);
  return it == rows_.end() ? nullptr : it->second.get();
}

IdlRow* ReplicaTable::FindMutable(const Uuid& uuid) {
  auto it = rows_.find(uuid);
  return it == rows_.end() ? nullptr : it->second.get();
}

std::optional<RowView> ReplicaTable::Get(const Uuid& uuid) const {
  const IdlRow* row = Find(uuid);
  if (row == nullptr) return std::nullopt;
  return RowView(schema_, row);
}

std::vector<RowView> ReplicaTable::All() const {
  std::vector<RowView> out;
  out.reserve(rows_.size());
  for (const auto& [uuid, row] : rows_) out.emplace_back(schema_, row.get());
  return out;
}

std::optional<RowView> ReplicaTable::FindBy(std::string_view column, const Atom& key) const {
  const ColumnSchema* c = schema_->FindColumn(column);
  if (c == nullptr) return std::nullopt;
  for (const auto& [uuid, row] : rows_) {
    const Datum& d = row->fields[c->index];
    if (d.size() == 1 && d.keys()[0] == key) return RowView(schema_, row.get());
  }
  return std::nullopt;
}

std::vector<RowChange> ReplicaTable::TakeChanges() {
  std::vector<RowChange> out;
  out.reserve(changes_.size());
  for (RowChange& c : changes_) {
    // Slots cancelled by insert+delete carry a zero uuid.
    if (!c.uuid.IsZero()) out.push_back(std::move(c));
  }
  changes_.clear();
  change_index_.clear();
  return out;
}

RowChange& ReplicaTable::Track(const Uuid& uuid) {
  auto [it, fresh] = change_index_.emplace(uuid, changes_.size());
  if (fresh) {
    changes_.emplace_back();
    changes_.back().uuid = uuid;
  }
  return changes_[it->second];
}

void ReplicaTable::NoteInsert(const Uuid& uuid) {
  bool fresh = change_index_.find(uuid) == change_index_.end();
  RowChange& c = Track(uuid);
  if (fresh) {
    c.kind = ChangeKind::kInserted;
    return;
  }
  // Deleted and inserted again since the caller looked: every column may
  // differ.
  c.kind = ChangeKind::kModified;
  c.deleted_row.reset();
  c.columns = columns_;
}

void ReplicaTable::NoteModify(const Uuid& uuid, int column) {
  bool fresh = change_index_.find(uuid) == change_index_.end();
  RowChange& c = Track(uuid);
  if (fresh) c.kind = ChangeKind::kModified;
  if (c.kind != ChangeKind::kModified) return;
  auto pos = std::lower_bound(c.columns.begin(), c.columns.end(), column);
  if (pos == c.columns.end() || *pos != column) c.columns.insert(pos, column);
}

void ReplicaTable::NoteDelete(std::unique_ptr<IdlRow> row) {
  auto it = change_index_.find(row->uuid);
  if (it != change_index_.end() && changes_[it->second].kind == ChangeKind::kInserted) {
    // Inserted and deleted since the caller looked: nothing to report.
    changes_[it->second].uuid = Uuid{};
    changes_[it->second].kind = ChangeKind::kDeleted;
    change_index_.erase(it);
    return;
  }
  RowChange& c = Track(row->uuid);
  c.kind = ChangeKind::kDeleted;
  c.columns.clear();
  c.deleted_row = std::move(row);
}

// ---- Replica -------------------------------------------------------------

Result<std::unique_ptr<Replica>> Replica::Create(DatabaseSchema schema,
                                                 const std::vector<TableRequest>& requests) {
  std::unique_ptr<Replica> r(new Replica(std::move(schema)));
  std::vector<TableRequest> all;
  if (requests.empty()) {
    for (const TableSchema& t : r->schema_.tables) all.push_back({t.name, {}, nullptr});
  }
  for (const TableRequest& req : requests.empty() ? all : requests) {
    const TableSchema* t = r->schema_.FindTable(req.table);
    if (t == nullptr) return Syntax("no table named " + req.table);
    if (r->table(req.table) != nullptr) return Syntax("table " + req.table + " requested twice");
    std::vector<int> cols;
    for (const std::string& name : req.columns) {
      const ColumnSchema* c = t->FindColumn(name);
      if (c == nullptr) return Syntax("table " + req.table + " has no column " + name);
      if (c->index > kVersionColumn) cols.push_back(c->index);
    }
    if (req.columns.empty()) {
      for (const ColumnSchema& c : t->columns) {
        if (c.index > kVersionColumn) cols.push_back(c.index);
      }
    }
    std::sort(cols.begin(), cols.end());
    cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
    r->tables_.push_back(std::make_unique<ReplicaTable>(t, std::move(cols), req.where));
  }
  return r;
}

ReplicaTable* Replica::table(std::string_view name) {
  for (auto& t : tables_) {
    if (t->name() == name) return t.get();
  }
  return nullptr;
}

const ReplicaTable* Replica::table(std::string_view name) const {
  return const_cast<Replica*>(this)->table(name);
}

Json Replica::MonitorRequests(bool with_where) const {
  Json requests = Json::object();
  for (const auto& t : tables_) {
    Json cols = Json::array();
    for (int c : t->columns()) cols.push_back(t->schema().columns[c].name);
    Json req = {{"columns", std::move(cols)}};
    if (with_where && !t->where().is_null()) req["where"] = t->where();
    requests[t->name()] = Json::array({std::move(req)});
  }
  return requests;
}

void Replica::BeginResync() {
  resync_ = true;
  for (auto& t : tables_) t->resync_seen_.clear();
}

void Replica::EndResync() {
  resync_ = false;
  for (auto& t : tables_) {
    std::vector<Uuid> gone;
    for (const auto& [uuid, row] : t->rows_) {
      if (!t->resync_seen_.count(uuid)) gone.push_back(uuid);
    }
    for (const Uuid& u : gone) DeleteRow(*t, u);
    t->resync_seen_.clear();
  }
}

void Replica::Clear() {
  for (auto& t : tables_) {
    std::vector<Uuid> all;
    for (const auto& [uuid, row] : t->rows_) all.push_back(uuid);
    for (const Uuid& u : all) DeleteRow(*t, u);
  }
}

Status Replica::ApplyUpdates(const Json& updates, bool update2) {
  if (!updates.is_object()) return Syntax("table updates must be an object");
  for (const auto& [tname, rows] : updates.items()) {
    ReplicaTable* t = table(tname);
    if (t == nullptr) return Syntax("update for unknown table " + tname);
    if (!rows.is_object()) return Syntax("table update for " + tname + " must be an object");
    for (const auto& [uuid_text, row_update] : rows.items()) {
      std::optional<Uuid> uuid = Uuid::Parse(uuid_text);
      if (!uuid) return Syntax("bad row UUID \"" + uuid_text + "\"");
      if (!row_update.is_object()) return Syntax("row update must be an object");
      Status s = ApplyRow(*t, *uuid, row_update, update2);
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

Status Replica::ApplyRow(ReplicaTable& t, const Uuid& uuid, const Json& update, bool update2) {
  if (resync_) t.resync_seen_.insert(uuid);
  return update2 ? ApplyRow2(t, uuid, update) : ApplyRow1(t, uuid, update);
}

Status Replica::ApplyRow1(ReplicaTable& t, const Uuid& uuid, const Json& update) {
  auto nw = update.find("new");
  if (nw == update.end() || nw->is_null()) {
    DeleteRow(t, uuid);
    return Status::Ok();
  }
  // A modification's "old" names the changed columns: only they are
  // decoded ("new" repeats every column).
  auto old = update.find("old");
  bool modify = old != update.end() && old->is_object() && t.Find(uuid) != nullptr;
  return PutRow(t, uuid, *nw, modify ? &*old : nullptr);
}

Status Replica::ApplyRow2(ReplicaTable& t, const Uuid& uuid, const Json& update) {
  if (update.size() != 1) return Syntax("row update2 must have exactly one member");
  const std::string& op = update.begin().key();
  const Json& body = update.begin().value();
  if (op == "initial" || op == "insert") return PutRow(t, uuid, body, nullptr);
  if (op == "delete") {
    DeleteRow(t, uuid);
    return Status::Ok();
  }
  if (op == "modify") {
    IdlRow* row = t.FindMutable(uuid);
    if (row == nullptr) return Syntax("modify of unknown row " + uuid.ToString());
    return ModifyRow(t, *row, body);
  }
  return Syntax("unknown row update2 operation " + op);
}

// Inserts a row, or (resync, "update" format) overwrites the given columns
// that differ; with `changed`, only the columns it names.
Status Replica::PutRow(ReplicaTable& t, const Uuid& uuid, const Json& row_json,
                       const Json* changed) {
  if (!row_json.is_object()) return Syntax("row must be an object");
  const TableSchema& ts = t.schema();
  IdlRow* row = t.FindMutable(uuid);
  bool fresh = row == nullptr;
  std::unique_ptr<IdlRow> created;
  if (fresh) {
    created = std::make_unique<IdlRow>();
    created->uuid = uuid;
    created->fields.reserve(ts.columns.size());
    for (const ColumnSchema& c : ts.columns) created->fields.push_back(Datum::Default(c.type));
    created->fields[kUuidColumn] = Datum(Atom(uuid));
    row = created.get();
  }
  for (const auto& [name, value] : row_json.items()) {
    if (changed != nullptr && !changed->contains(name)) continue;
    const ColumnSchema* c = ts.FindColumn(name);
    if (c == nullptr) return Syntax("table " + ts.name + " has no column " + name);
    Result<Datum> d = Datum::FromJson(c->type, value, nullptr);
    if (!d.ok()) return d.error();
    if (row->fields[c->index] == *d) continue;
    stats_.elements_changed += d->size();
    ++stats_.cells_written;
    row->fields[c->index] = std::move(d).value();
    if (!fresh && c->index > kVersionColumn) t.NoteModify(uuid, c->index);
  }
  if (fresh) {
    t.rows_.emplace(uuid, std::move(created));
    t.NoteInsert(uuid);
    ++stats_.rows_inserted;
  }
  ++change_seqno_;
  return Status::Ok();
}

Status Replica::ModifyRow(ReplicaTable& t, IdlRow& row, const Json& diff) {
  if (!diff.is_object()) return Syntax("modify must be an object");
  const TableSchema& ts = t.schema();
  for (const auto& [name, value] : diff.items()) {
    const ColumnSchema* c = ts.FindColumn(name);
    if (c == nullptr) return Syntax("table " + ts.name + " has no column " + name);
    Result<Datum> d = Datum::FromJson(DiffType(c->type), value, nullptr);
    if (!d.ok()) return d.error();
    Datum& field = row.fields[c->index];
    if (c->type.n_max == 1 && !SymmetricDiff(field, *d)) {
      // Open vSwitch's update2 for a column of at most one element (a
      // scalar, an optional value, a one-pair map) carries the new value,
      // not a difference: ["set",[]] clears it.
      Status s = d->CheckSize(c->type);
      if (!s.ok()) return Syntax("bad new value for column " + name + ": " + s.error().ToString());
      stats_.elements_changed += std::max<size_t>(1, d->size());
      field = std::move(d).value();
    } else {
      stats_.elements_changed += ApplyDiffInPlace(field, *d);
      if (c->type.n_max == 1 && field.size() > 1) {
        return Syntax("diff leaves column " + name + " with " + std::to_string(field.size()) +
                      " elements");
      }
    }
    ++stats_.cells_written;
    if (c->index > kVersionColumn) t.NoteModify(row.uuid, c->index);
  }
  ++change_seqno_;
  return Status::Ok();
}

void Replica::DeleteRow(ReplicaTable& t, const Uuid& uuid) {
  auto it = t.rows_.find(uuid);
  if (it == t.rows_.end()) return;
  std::unique_ptr<IdlRow> row = std::move(it->second);
  t.rows_.erase(it);
  t.NoteDelete(std::move(row));
  ++stats_.rows_deleted;
  ++change_seqno_;
}

}  // namespace spate::ovsdb::idl
