#include "ovsdb/database.h"

namespace spate::ovsdb {

std::unique_ptr<Row> NewDefaultRow(const TableSchema& table, const Uuid& uuid) {
  auto row = std::make_unique<Row>();
  row->uuid = uuid;
  row->fields.reserve(table.columns.size());
  for (const ColumnSchema& c : table.columns) row->fields.push_back(Datum::Default(c.type));
  row->fields[kUuidColumn] = Datum(Atom(uuid));
  return row;
}

void SetRowVersion(Row* row, const Uuid& version) {
  row->fields[kVersionColumn] = Datum(Atom(version));
}

Table::Table(const TableSchema* schema)
    : schema_(schema), indexes_(schema->indexes.size()) {}

const Row* Table::Find(const Uuid& uuid) const {
  auto it = rows_.find(uuid);
  return it == rows_.end() ? nullptr : it->second.get();
}

Row* Table::FindMutable(const Uuid& uuid) {
  auto it = rows_.find(uuid);
  return it == rows_.end() ? nullptr : it->second.get();
}

std::vector<Datum> Table::IndexKey(size_t i, const Row& row) const {
  std::vector<Datum> key;
  key.reserve(schema_->indexes[i].size());
  for (int c : schema_->indexes[i]) key.push_back(row.fields[c]);
  return key;
}

const Row* Table::FindByIndex(size_t i, const std::vector<Datum>& key) const {
  auto it = indexes_[i].find(key);
  return it == indexes_[i].end() ? nullptr : it->second;
}

void Table::Insert(std::unique_ptr<Row> row) {
  Row* r = row.get();
  rows_[r->uuid] = std::move(row);
  Reindex(r);
}

std::unique_ptr<Row> Table::Remove(const Uuid& uuid) {
  auto it = rows_.find(uuid);
  if (it == rows_.end()) return nullptr;
  std::unique_ptr<Row> row = std::move(it->second);
  rows_.erase(it);
  Unindex(*row);
  return row;
}

void Table::Unindex(const Row& row) {
  for (size_t i = 0; i < indexes_.size(); ++i) {
    auto it = indexes_[i].find(IndexKey(i, row));
    if (it != indexes_[i].end() && it->second == &row) indexes_[i].erase(it);
  }
}

void Table::Reindex(Row* row) {
  for (size_t i = 0; i < indexes_.size(); ++i) {
    indexes_[i][IndexKey(i, *row)] = row;
  }
}

Database::Database(std::shared_ptr<const DatabaseSchema> schema)
    : schema_(std::move(schema)) {
  tables_.reserve(schema_->tables.size());
  for (const TableSchema& t : schema_->tables) tables_.emplace_back(&t);
}

const Table* Database::FindTable(std::string_view name) const {
  const TableSchema* t = schema_->FindTable(name);
  return t == nullptr ? nullptr : &tables_[t->index];
}

size_t Database::RebuildDerived() {
  for (Table& t : tables_) {
    for (auto& [uuid, row] : t.rows()) {
      Row* r = t.FindMutable(uuid);
      r->n_strong_refs = 0;
      r->weak_referrers.clear();
    }
  }
  size_t dangling = 0;
  for (Table& t : tables_) {
    if (!t.schema().has_refs) continue;
    for (auto& [uuid, row] : t.rows()) {
      RowRef from{t.schema().index, uuid};
      for (const ColumnSchema& c : t.schema().columns) {
        if (!c.HasRefs()) continue;
        ForEachRef(c, row->fields[c.index], [&](int table, const Uuid& to, bool strong) {
          Row* target = tables_[table].FindMutable(to);
          if (target == nullptr) {
            dangling += strong ? 1 : 0;
          } else if (strong) {
            ++target->n_strong_refs;
          } else {
            ++target->weak_referrers[from];
          }
        });
      }
    }
  }
  return dangling;
}

size_t Database::n_rows() const {
  size_t n = 0;
  for (const Table& t : tables_) n += t.size();
  return n;
}

}  // namespace spate::ovsdb
