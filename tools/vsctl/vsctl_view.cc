// The chain's view of the database and its translation into a Txn (see
// vsctl_view.h).
#include "tools/vsctl/vsctl_view.h"

#include <algorithm>
#include <functional>

namespace spate::vsctl {

using ovsdb::Datum;
using ovsdb::TableSchema;
using ovsdb::Uuid;

std::vector<Uuid> View::Rows(const TableSchema& table) const {
  std::vector<Uuid> out;
  if (const ovsdb::idl::ReplicaTable* t = replica_.table(table.name)) {
    for (const auto& [uuid, row] : t->rows()) {
      auto it = rows_.find({table.index, uuid});
      if (it == rows_.end() || !it->second.deleted) out.push_back(uuid);
    }
  }
  for (const auto& [key, state] : rows_) {
    if (key.first == table.index && state.inserted && !state.deleted) out.push_back(key.second);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool View::Exists(const TableSchema& table, const Uuid& uuid) const {
  auto it = rows_.find({table.index, uuid});
  if (it != rows_.end()) return !it->second.deleted;
  const ovsdb::idl::ReplicaTable* t = replica_.table(table.name);
  return t && t->Find(uuid);
}

const Datum& View::ReplicaValue(const TableSchema& table, const Uuid& uuid, int column) const {
  const ovsdb::idl::ReplicaTable* t = replica_.table(table.name);
  const ovsdb::idl::IdlRow* row = t ? t->Find(uuid) : nullptr;
  if (!row || column < 0 || static_cast<size_t>(column) >= row->fields.size()) return empty_;
  return row->fields[column];
}

const Datum& View::Read(const TableSchema& table, const Uuid& uuid, int column) {
  auto it = rows_.find({table.index, uuid});
  if (it != rows_.end()) {
    if (it->second.inserted) return it->second.fields[column];
    auto w = it->second.written.find(column);
    if (w != it->second.written.end()) return w->second;
  }
  if (column == ovsdb::kUuidColumn) {
    // The replica keeps _uuid in IdlRow::uuid, not always in fields.
    return uuid_datums_.try_emplace(uuid, ovsdb::Atom(uuid)).first->second;
  }
  reads_.insert({{table.index, uuid}, column});
  return ReplicaValue(table, uuid, column);
}

const Datum& View::Read(const TableSchema& table, const Uuid& uuid, std::string_view column) {
  const ovsdb::ColumnSchema* c = table.FindColumn(column);
  if (!c) return empty_;
  return Read(table, uuid, c->index);
}

void View::Write(const TableSchema& table, const Uuid& uuid, int column, Datum value) {
  RowState& state = rows_[{table.index, uuid}];
  if (state.inserted) {
    state.fields[column] = std::move(value);
    return;
  }
  if (value == ReplicaValue(table, uuid, column)) {
    state.written.erase(column);
  } else {
    state.written[column] = std::move(value);
  }
}

void View::Write(const TableSchema& table, const Uuid& uuid, std::string_view column,
                 Datum value) {
  if (const ovsdb::ColumnSchema* c = table.FindColumn(column)) {
    Write(table, uuid, c->index, std::move(value));
  }
}

Uuid View::Insert(const TableSchema& table, Uuid uuid) {
  if (uuid.IsZero()) uuid = Uuid::Random();
  RowState& state = rows_[{table.index, uuid}];
  state.inserted = true;
  for (const ovsdb::ColumnSchema& c : table.columns) state.fields.push_back(Datum::Default(c.type));
  state.fields[ovsdb::kUuidColumn] = Datum(ovsdb::Atom(uuid));
  new_rows_.insert(uuid);
  return uuid;
}

void View::Delete(const TableSchema& table, const Uuid& uuid) {
  rows_[{table.index, uuid}].deleted = true;
}

bool View::HasChanges() const {
  for (const auto& [key, state] : rows_) {
    if (state.inserted != state.deleted || (!state.inserted && !state.written.empty())) return true;
  }
  return false;
}

namespace {

// Rewrites local UUIDs of new rows into the UUIDs the Txn gave them.
Datum Remap(Datum value, const std::map<Uuid, Uuid>& new_uuids, bool is_map) {
  bool changed = false;
  auto fix = [&](std::vector<ovsdb::Atom>& atoms) {
    for (ovsdb::Atom& a : atoms) {
      if (a.type() != ovsdb::AtomicType::kUuid) continue;
      auto it = new_uuids.find(a.uuid());
      if (it == new_uuids.end()) continue;
      a = ovsdb::Atom(it->second);
      changed = true;
    }
  };
  fix(value.mutable_keys());
  fix(value.mutable_values());
  if (changed) (void)value.Sort(is_map);
  return value;
}

}  // namespace

std::vector<View::Key> View::InsertOrder() const {
  std::map<Uuid, Key> inserted;
  for (const auto& [key, state] : rows_) {
    if (state.inserted && !state.deleted) inserted.emplace(key.second, key);
  }
  std::vector<Key> order;
  std::set<Uuid> visited;
  // Depth-first: a row's referenced new rows come before it.  `visited` is
  // marked on entry, so a reference cycle cannot recurse forever.
  std::function<void(const Key&)> visit = [&](const Key& key) {
    if (!visited.insert(key.second).second) return;
    for (const Datum& field : rows_.at(key).fields) {
      for (const auto* atoms : {&field.keys(), &field.values()}) {
        for (const ovsdb::Atom& a : *atoms) {
          if (a.type() != ovsdb::AtomicType::kUuid || a.uuid() == key.second) continue;
          auto it = inserted.find(a.uuid());
          if (it != inserted.end()) visit(it->second);
        }
      }
    }
    order.push_back(key);
  };
  for (const auto& [uuid, key] : inserted) visit(key);
  return order;
}

Result<std::map<Uuid, Uuid>> View::Build(ovsdb::idl::Txn& txn) const {
  const ovsdb::DatabaseSchema& db = schema();
  std::map<Uuid, Uuid> new_uuids;
  for (const Key& key : InsertOrder()) new_uuids[key.second] = txn.Insert(db.tables[key.first].name);
  for (const auto& [key, state] : rows_) {
    const TableSchema& table = db.tables[key.first];
    if (state.inserted && state.deleted) continue;
    if (state.deleted) {
      if (Status s = txn.Delete(table.name, key.second); !s) return s.error();
      continue;
    }
    Uuid row = state.inserted ? new_uuids[key.second] : key.second;
    std::map<int, Datum> columns = state.written;
    if (state.inserted) {
      for (size_t i = 2; i < table.columns.size(); i++) {
        if (!state.fields[i].IsDefault(table.columns[i].type)) columns[i] = state.fields[i];
      }
    }
    for (const auto& [index, value] : columns) {
      const ovsdb::ColumnSchema& c = table.columns[index];
      Status s = txn.Set(table.name, row, c.name, Remap(value, new_uuids, c.type.IsMap()));
      if (!s) return s.error();
    }
  }
  for (const auto& [row_key, column] : reads_) {
    auto it = rows_.find(row_key);
    if (it != rows_.end() && it->second.deleted) continue;
    const TableSchema& table = db.tables[row_key.first];
    if (column <= ovsdb::kVersionColumn) continue;
    if (Status s = txn.Verify(table.name, row_key.second, table.columns[column].name); !s) {
      return s.error();
    }
  }
  return new_uuids;
}

}  // namespace spate::vsctl
