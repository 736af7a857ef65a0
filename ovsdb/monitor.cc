// Monitors: request parsing, initial contents, updates, history.
#include "ovsdb/monitor.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "ovsdb/json_codec.h"

namespace spate::ovsdb {
namespace {

Error SyntaxError(std::string details) { return Error("syntax error", std::move(details)); }

// Reads select.{initial,insert,delete,modify} into kSelect* bits.
Status ParseSelect(const TableSchema& ts, const Json& select, uint8_t* bits) {
  if (!select.is_object()) {
    return SyntaxError("Parsing table " + ts.name + " select failed: Object expected.");
  }
  const std::pair<const char*, uint8_t> flags[] = {{"initial", kSelectInitial},
                                                   {"insert", kSelectInsert},
                                                   {"delete", kSelectDelete},
                                                   {"modify", kSelectModify}};
  for (const auto& [name, bit] : flags) {
    auto it = select.find(name);
    if (it == select.end()) continue;
    if (!it->is_boolean()) {
      return SyntaxError("Parsing table " + ts.name + " select failed: Type mismatch for member '" +
                         name + "'.");
    }
    *bits = it->get<bool>() ? (*bits | bit) : (*bits & ~bit);
  }
  return Status::Ok();
}

// Adds the columns of one request (all but _uuid if it names none) to
// `mt` with select flags `bits`.  A column already monitored is an error.
Status AddColumns(const TableSchema& ts, const Json& request, uint8_t bits, MonitoredTable* mt) {
  auto add = [&](const ColumnSchema& c) -> Status {
    if (std::find(mt->columns.begin(), mt->columns.end(), c.index) != mt->columns.end()) {
      return SyntaxError("column " + c.name + " mentioned more than once");
    }
    mt->columns.push_back(c.index);
    mt->selects.push_back(bits);
    return Status::Ok();
  };
  auto it = request.find("columns");
  if (it == request.end()) {
    for (const ColumnSchema& c : ts.columns) {
      if (c.index == kUuidColumn) continue;
      if (Status s = add(c); !s.ok()) return s;
    }
    return Status::Ok();
  }
  if (!it->is_array()) return SyntaxError("array expected");
  // Column by column, as Open vSwitch checks them.
  for (const Json& name : *it) {
    if (!name.is_string()) return SyntaxError("array of column names expected");
    const ColumnSchema* c = ts.FindColumn(name.get<std::string>());
    if (c == nullptr) return SyntaxError(name.get<std::string>() + " is not a valid column name");
    if (Status s = add(*c); !s.ok()) return s;
  }
  return Status::Ok();
}

// Parses one <monitor-request> object into `mt` (merging with earlier ones).
Status ParseRequest(const TableSchema& ts, const Json& request, MonitorVersion version,
                    MonitoredTable* mt) {
  if (!request.is_object()) return SyntaxError("monitor-request must be object");
  uint8_t bits = kSelectInitial | kSelectInsert | kSelectDelete | kSelectModify;
  if (auto it = request.find("select"); it != request.end()) {
    if (Status s = ParseSelect(ts, *it, &bits); !s.ok()) return s;
  }
  if (Status s = AddColumns(ts, request, bits, mt); !s.ok()) return s;
  std::optional<Condition> where;
  if (auto it = request.find("where"); it != request.end() && version != MonitorVersion::kV1) {
    Result<Condition> cond = Condition::FromJson(ts, *it, nullptr);
    if (!cond.ok()) return cond.error();
    where = std::move(cond).value();
  }
  mt->initial = mt->initial || (bits & kSelectInitial) != 0;
  mt->insert = mt->insert || (bits & kSelectInsert) != 0;
  mt->remove = mt->remove || (bits & kSelectDelete) != 0;
  mt->modify = mt->modify || (bits & kSelectModify) != 0;
  // A request without "where" monitors every row (Normalize drops the rest).
  mt->conditions.push_back(where ? std::move(*where) : Condition{});
  return Status::Ok();
}

// Sorts the columns (keeping each one's flags) and simplifies conditions.
void Normalize(MonitoredTable* mt) {
  std::vector<std::pair<int, uint8_t>> cols;
  for (size_t i = 0; i < mt->columns.size(); ++i) cols.emplace_back(mt->columns[i], mt->selects[i]);
  std::sort(cols.begin(), cols.end());
  for (size_t i = 0; i < cols.size(); ++i) {
    mt->columns[i] = cols[i].first;
    mt->selects[i] = cols[i].second;
  }
  // An empty condition (no clauses) is true: it subsumes every other one.
  for (const Condition& c : mt->conditions) {
    if (c.clauses.empty()) {
      mt->conditions.clear();
      break;
    }
  }
}

// Parses {table: request-or-array} into `out`.
Status ParseTables(const Database& db, const Json& requests, MonitorVersion version,
                   std::vector<MonitoredTable>* out) {
  if (!requests.is_object()) return SyntaxError("monitor-requests must be object");
  for (auto it = requests.begin(); it != requests.end(); ++it) {
    const Table* table = db.FindTable(it.key());
    if (table == nullptr) return SyntaxError("no table named " + it.key());
    const TableSchema& ts = table->schema();
    MonitoredTable mt;
    mt.table = ts.index;
    mt.initial = mt.insert = mt.remove = mt.modify = false;  // Unions below.
    if (it->is_array()) {
      for (const Json& r : *it) {
        if (Status s = ParseRequest(ts, r, version, &mt); !s.ok()) return s;
      }
    } else if (Status s = ParseRequest(ts, *it, version, &mt); !s.ok()) {
      return s;
    }
    Normalize(&mt);
    out->push_back(std::move(mt));
  }
  std::sort(out->begin(), out->end(),
            [](const MonitoredTable& a, const MonitoredTable& b) { return a.table < b.table; });
  return Status::Ok();
}

}  // namespace

const Datum& RowDelta::Old(int c) const {
  if (kind == ChangeKind::kDelete) return old_values[c];
  auto it = std::lower_bound(columns->begin(), columns->end(), c);
  if (it != columns->end() && *it == c) return old_values[it - columns->begin()];
  return new_fields[c];
}

bool RowDelta::Changed(int c) const {
  return kind == ChangeKind::kModify && std::binary_search(columns->begin(), columns->end(), c);
}

RowDelta DeltaFromChange(const RowChange& change) {
  RowDelta d;
  d.table = change.table;
  d.uuid = change.uuid;
  d.kind = change.kind;
  if (change.kind == ChangeKind::kDelete) {
    d.old_values = change.row->fields.data();
  } else {
    d.new_fields = change.current->fields.data();
    d.old_values = change.values.data();
    d.columns = &change.columns;
  }
  return d;
}

RowDelta HistoryTxn::Row::Delta() const {
  RowDelta d;
  d.table = table;
  d.uuid = uuid;
  d.kind = kind;
  d.new_fields = new_fields.data();
  d.old_values = old_values.data();
  d.columns = &columns;
  return d;
}

void TxnHistory::Record(const ChangeSet& changes) {
  if (!enabled_) return;
  HistoryTxn txn;
  txn.txn_id = changes.txn_id;
  txn.rows.reserve(changes.rows.size());
  for (const RowChange& rc : changes.rows) {
    HistoryTxn::Row row;
    row.table = rc.table;
    row.uuid = rc.uuid;
    row.kind = rc.kind;
    if (rc.kind == ChangeKind::kDelete) {
      row.old_values = rc.row->fields;
    } else {
      row.new_fields = rc.current->fields;
      row.columns = rc.columns;
      row.old_values = rc.values;
    }
    txn.rows.push_back(std::move(row));
  }
  txns_.push_back(std::move(txn));
  if (txns_.size() > max_txns_) txns_.pop_front();
}

namespace {

// Folds `next` (a later change of the same row) into `acc`.  Returns false
// if the row's changes cancel out (inserted, then deleted).
bool Compose(HistoryTxn::Row* acc, const HistoryTxn::Row& next) {
  if (next.kind == ChangeKind::kDelete) {
    if (acc->kind == ChangeKind::kInsert) return false;
    if (acc->kind == ChangeKind::kModify) {
      // The original row: the deleted row with the first old values back.
      std::vector<Datum> original = next.old_values;
      for (size_t i = 0; i < acc->columns.size(); ++i) {
        original[acc->columns[i]] = acc->old_values[i];
      }
      acc->old_values = std::move(original);
      acc->columns.clear();
      acc->new_fields.clear();
    }
    acc->kind = ChangeKind::kDelete;
    return true;
  }
  if (acc->kind == ChangeKind::kDelete) {  // Deleted, then inserted again.
    std::vector<Datum> old = std::move(acc->old_values);
    acc->kind = ChangeKind::kModify;
    acc->new_fields = next.new_fields;
    acc->columns.clear();
    acc->old_values.clear();
    for (size_t c = 0; c < old.size(); ++c) {
      acc->columns.push_back(static_cast<int>(c));
      acc->old_values.push_back(std::move(old[c]));
    }
    return true;
  }
  if (acc->kind == ChangeKind::kModify) {
    for (size_t i = 0; i < next.columns.size(); ++i) {
      int c = next.columns[i];
      auto it = std::lower_bound(acc->columns.begin(), acc->columns.end(), c);
      if (it != acc->columns.end() && *it == c) continue;  // Keep the first old value.
      size_t pos = it - acc->columns.begin();
      acc->columns.insert(it, c);
      acc->old_values.insert(acc->old_values.begin() + pos, next.old_values[i]);
    }
  }
  acc->new_fields = next.new_fields;
  return true;
}

}  // namespace

std::optional<std::vector<HistoryTxn::Row>> TxnHistory::Since(const Uuid& txn_id) const {
  if (txn_id.IsZero()) return std::nullopt;
  auto start = std::find_if(txns_.begin(), txns_.end(),
                            [&](const HistoryTxn& t) { return t.txn_id == txn_id; });
  if (start == txns_.end()) return std::nullopt;
  std::vector<HistoryTxn::Row> rows;
  std::map<std::pair<int, Uuid>, size_t> where;
  std::vector<bool> dead;
  for (auto it = std::next(start); it != txns_.end(); ++it) {
    for (const HistoryTxn::Row& r : it->rows) {
      auto [pos, fresh] = where.try_emplace({r.table, r.uuid}, rows.size());
      if (fresh || dead[pos->second]) {
        pos->second = rows.size();
        rows.push_back(r);
        dead.push_back(false);
      } else if (!Compose(&rows[pos->second], r)) {
        dead[pos->second] = true;
      }
    }
  }
  std::vector<HistoryTxn::Row> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!dead[i]) out.push_back(std::move(rows[i]));
  }
  return out;
}

bool MonitoredTable::Matches(const TableSchema& schema, const RowView& view) const {
  if (conditions.empty()) return true;
  for (const Condition& c : conditions) {
    if (c.Evaluate(schema, view)) return true;
  }
  return false;
}

Result<std::unique_ptr<Monitor>> Monitor::Parse(const Database& db, const Json& requests,
                                                MonitorVersion version) {
  std::unique_ptr<Monitor> m(new Monitor(version));
  if (Status s = ParseTables(db, requests, version, &m->tables_); !s.ok()) return s.error();
  return m;
}

Json Monitor::RowJson(const TableSchema& schema, const MonitoredTable& mt, const Datum* fields,
                      bool omit_defaults, uint8_t kind) const {
  Json row = Json::object();
  for (size_t i = 0; i < mt.columns.size(); ++i) {
    if ((mt.selects[i] & kind) == 0) continue;
    int c = mt.columns[i];
    const ColumnSchema& col = schema.columns[c];
    if (omit_defaults && fields[c].IsDefault(col.type)) continue;
    row[col.name] = fields[c].ToJson(col.type);
  }
  return row;
}

Json Monitor::Initial(const Database& db) const {
  Json updates = Json::object();
  const char* kind = version_ == MonitorVersion::kV1 ? "new" : "initial";
  bool v2 = version_ != MonitorVersion::kV1;
  for (const MonitoredTable& mt : tables_) {
    if (!mt.initial) continue;
    const Table& table = db.table(mt.table);
    const TableSchema& schema = table.schema();
    Json rows = Json::object();
    for (const auto& [uuid, row] : table.rows()) {
      const Row* r = row.get();
      if (!mt.Matches(schema, [r](int c) -> const Datum& { return r->fields[c]; })) continue;
      rows[uuid.ToString()] =
          Json{{kind, RowJson(schema, mt, r->fields.data(), v2, kSelectInitial)}};
    }
    if (!rows.empty()) updates[schema.name] = std::move(rows);
  }
  return updates;
}

std::optional<ChangeKind> Monitor::VisibleKind(const TableSchema& schema,
                                               const MonitoredTable& mt,
                                               const RowDelta& d) const {
  ChangeKind kind = d.kind;
  if (!mt.conditions.empty()) {
    bool old_ok = kind != ChangeKind::kInsert &&
                  mt.Matches(schema, [&d](int c) -> const Datum& { return d.Old(c); });
    bool new_ok = kind != ChangeKind::kDelete &&
                  mt.Matches(schema, [&d](int c) -> const Datum& { return d.new_fields[c]; });
    if (!old_ok && !new_ok) return std::nullopt;
    if (kind == ChangeKind::kModify && !old_ok) kind = ChangeKind::kInsert;
    if (kind == ChangeKind::kModify && !new_ok) kind = ChangeKind::kDelete;
  }
  if ((kind == ChangeKind::kInsert && !mt.insert) || (kind == ChangeKind::kDelete && !mt.remove) ||
      (kind == ChangeKind::kModify && !mt.modify)) {
    return std::nullopt;
  }
  return kind;
}

void Monitor::AddRowUpdate(const Database& db, const MonitoredTable& mt, const RowDelta& d,
                           Json* table_updates) const {
  const TableSchema& schema = db.table(d.table).schema();
  std::optional<ChangeKind> visible = VisibleKind(schema, mt, d);
  if (!visible) return;
  ChangeKind kind = *visible;
  bool v1 = version_ == MonitorVersion::kV1;
  Json update;
  if (kind == ChangeKind::kModify) {
    // Sent if any monitored column changed, with the changed columns
    // whose own flags select modifications (OVS may so send an empty one).
    bool any = false;
    Json old_or_diff = Json::object();
    for (size_t i = 0; i < mt.columns.size(); ++i) {
      int c = mt.columns[i];
      if (!d.Changed(c)) continue;
      any = true;
      if ((mt.selects[i] & kSelectModify) == 0) continue;
      const ColumnSchema& col = schema.columns[c];
      // update2 sends the new value of a column of at most one element
      // and the diff of a larger set or map, as Open vSwitch does.
      old_or_diff[col.name] = v1 || !col.type.IsComposite()
                                  ? (v1 ? d.Old(c) : d.new_fields[c]).ToJson(col.type)
                                  : Datum::Diff(d.Old(c), d.new_fields[c]).ToJson(col.type);
    }
    if (!any) return;  // No monitored column changed.
    update = v1 ? Json{{"old", std::move(old_or_diff)},
                       {"new", RowJson(schema, mt, d.new_fields, false, kSelectModify)}}
                : Json{{"modify", std::move(old_or_diff)}};
  } else if (kind == ChangeKind::kInsert) {
    // A row moved into the condition by a modification is sent whole.
    update = Json{{v1 ? "new" : "insert", RowJson(schema, mt, d.new_fields, !v1, kSelectInsert)}};
  } else if (v1) {
    Json old = Json::object();
    for (size_t i = 0; i < mt.columns.size(); ++i) {
      if ((mt.selects[i] & kSelectDelete) == 0) continue;
      const ColumnSchema& col = schema.columns[mt.columns[i]];
      old[col.name] = d.Old(mt.columns[i]).ToJson(col.type);
    }
    update = Json{{"old", std::move(old)}};
  } else {
    update = Json{{"delete", nullptr}};
  }
  (*table_updates)[schema.name][d.uuid.ToString()] = std::move(update);
}

Json Monitor::Updates(const Database& db, const std::vector<RowDelta>& deltas) const {
  Json updates = Json::object();
  for (const RowDelta& d : deltas) {
    auto mt = std::lower_bound(tables_.begin(), tables_.end(), d.table,
                               [](const MonitoredTable& m, int t) { return m.table < t; });
    if (mt == tables_.end() || mt->table != d.table) continue;
    AddRowUpdate(db, *mt, d, &updates);
  }
  return updates;
}

namespace {

// Indexes into mt.columns in column-name order (nlohmann's member order).
std::vector<size_t> NameOrder(const TableSchema& schema, const MonitoredTable& mt) {
  std::vector<size_t> order(mt.columns.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return schema.columns[mt.columns[a]].name < schema.columns[mt.columns[b]].name;
  });
  return order;
}

// Appends `"name":` to `out`.
void AppendKey(std::string& out, std::string_view name) {
  AppendJsonString(out, name);
  out += ':';
}

// Appends RowJson's object: the columns whose select flags include `kind`,
// valued by value(c), defaults left out if `omit_defaults`.
template <typename ValueFn>
void AppendRowText(const TableSchema& schema, const MonitoredTable& mt,
                   const std::vector<size_t>& order, bool omit_defaults, uint8_t kind,
                   ValueFn&& value, std::string& out) {
  out += '{';
  bool first = true;
  for (size_t i : order) {
    if ((mt.selects[i] & kind) == 0) continue;
    const ColumnSchema& col = schema.columns[mt.columns[i]];
    const Datum& v = value(mt.columns[i]);
    if (omit_defaults && v.IsDefault(col.type)) continue;
    if (!first) out += ',';
    first = false;
    AppendKey(out, col.name);
    v.AppendJson(col.type, out);
  }
  out += '}';
}

}  // namespace

bool Monitor::AppendRowUpdate(const TableSchema& schema, const MonitoredTable& mt,
                              const std::vector<size_t>& order, const RowDelta& d,
                              std::string& out) const {
  std::optional<ChangeKind> visible = VisibleKind(schema, mt, d);
  if (!visible) return false;
  bool v1 = version_ == MonitorVersion::kV1;
  auto new_value = [&d](int c) -> const Datum& { return d.new_fields[c]; };
  auto old_value = [&d](int c) -> const Datum& { return d.Old(c); };
  switch (*visible) {
    case ChangeKind::kModify: {
      bool any = std::any_of(mt.columns.begin(), mt.columns.end(),
                             [&d](int c) { return d.Changed(c); });
      if (!any) return false;  // No monitored column changed.
      if (v1) {
        out += "{\"new\":";
        AppendRowText(schema, mt, order, false, kSelectModify, new_value, out);
        out += ",\"old\":{";
      } else {
        out += "{\"modify\":{";
      }
      bool first = true;
      for (size_t i : order) {
        int c = mt.columns[i];
        if (!d.Changed(c) || (mt.selects[i] & kSelectModify) == 0) continue;
        const ColumnSchema& col = schema.columns[c];
        if (!first) out += ',';
        first = false;
        AppendKey(out, col.name);
        if (v1 || !col.type.IsComposite()) {
          (v1 ? d.Old(c) : d.new_fields[c]).AppendJson(col.type, out);
        } else {
          Datum::Diff(d.Old(c), d.new_fields[c]).AppendJson(col.type, out);
        }
      }
      out += "}}";
      return true;
    }
    case ChangeKind::kInsert:
      out += v1 ? "{\"new\":" : "{\"insert\":";
      AppendRowText(schema, mt, order, !v1, kSelectInsert, new_value, out);
      out += '}';
      return true;
    case ChangeKind::kDelete:
      if (!v1) {
        out += "{\"delete\":null}";
        return true;
      }
      out += "{\"old\":";
      AppendRowText(schema, mt, order, false, kSelectDelete, old_value, out);
      out += '}';
      return true;
  }
  return false;
}

bool Monitor::AppendUpdates(const Database& db, const std::vector<RowDelta>& deltas,
                            std::string& out) const {
  std::vector<std::vector<const RowDelta*>> by_table(tables_.size());
  for (const RowDelta& d : deltas) {
    auto mt = std::lower_bound(tables_.begin(), tables_.end(), d.table,
                               [](const MonitoredTable& m, int t) { return m.table < t; });
    if (mt != tables_.end() && mt->table == d.table) by_table[mt - tables_.begin()].push_back(&d);
  }
  std::vector<size_t> table_order;
  for (size_t i = 0; i < tables_.size(); ++i) {
    if (!by_table[i].empty()) table_order.push_back(i);
  }
  auto name = [&](size_t i) -> const std::string& { return db.table(tables_[i].table).schema().name; };
  std::sort(table_order.begin(), table_order.end(),
            [&](size_t a, size_t b) { return name(a) < name(b); });
  size_t start = out.size();
  out += '{';
  bool any_table = false;
  for (size_t ti : table_order) {
    const MonitoredTable& mt = tables_[ti];
    const TableSchema& schema = db.table(mt.table).schema();
    std::vector<const RowDelta*>& rows = by_table[ti];
    std::sort(rows.begin(), rows.end(),
              [](const RowDelta* a, const RowDelta* b) { return a->uuid < b->uuid; });
    std::vector<size_t> order = NameOrder(schema, mt);
    size_t table_mark = out.size();
    if (any_table) out += ',';
    AppendKey(out, schema.name);
    out += '{';
    bool any_row = false;
    for (const RowDelta* d : rows) {
      size_t mark = out.size();
      if (any_row) out += ',';
      out += '"';
      out += d->uuid.ToString();
      out += "\":";
      if (!AppendRowUpdate(schema, mt, order, *d, out)) {
        out.resize(mark);
        continue;
      }
      any_row = true;
    }
    if (!any_row) {
      out.resize(table_mark);
      continue;
    }
    out += '}';
    any_table = true;
  }
  if (!any_table) {
    out.resize(start);
    return false;
  }
  out += '}';
  return true;
}

Result<Json> Monitor::ChangeConditions(const Database& db, const Json& changes) {
  if (!changes.is_object()) return SyntaxError("monitor-cond-change-requests must be object");
  std::vector<std::pair<size_t, std::vector<Condition>>> next;
  for (auto it = changes.begin(); it != changes.end(); ++it) {
    const Table* table = db.FindTable(it.key());
    if (table == nullptr) return SyntaxError("no table named " + it.key());
    auto mt = std::find_if(tables_.begin(), tables_.end(), [&](const MonitoredTable& m) {
      return m.table == table->schema().index;
    });
    if (mt == tables_.end()) return SyntaxError("unknown table " + it.key() + " in monitor");
    if (!it->is_array()) return SyntaxError("monitor-cond-change-request must be array");
    std::vector<Condition> conds;
    for (const Json& r : *it) {
      auto where = r.is_object() ? r.find("where") : r.end();
      if (!r.is_object() || where == r.end()) {
        conds.clear();  // No "where": every row.
        break;
      }
      Result<Condition> c = Condition::FromJson(table->schema(), *where, nullptr);
      if (!c.ok()) return c.error();
      if (c->clauses.empty()) {
        conds.clear();
        break;
      }
      conds.push_back(std::move(c).value());
    }
    next.emplace_back(mt - tables_.begin(), std::move(conds));
  }
  Json updates = Json::object();
  for (auto& [index, conds] : next) {
    MonitoredTable& mt = tables_[index];
    MonitoredTable after = mt;
    after.conditions = std::move(conds);
    const Table& table = db.table(mt.table);
    const TableSchema& schema = table.schema();
    for (const auto& [uuid, row] : table.rows()) {
      const Row* r = row.get();
      RowView view = [r](int c) -> const Datum& { return r->fields[c]; };
      bool was = mt.Matches(schema, view);
      bool is = after.Matches(schema, view);
      if (was == is) continue;
      updates[schema.name][uuid.ToString()] =
          is ? Json{{"insert", RowJson(schema, mt, r->fields.data(), true, kSelectInsert)}}
             : Json{{"delete", nullptr}};
    }
    mt.conditions = std::move(after.conditions);
  }
  return updates;
}

}  // namespace spate::ovsdb
