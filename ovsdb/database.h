// Database: tables of rows in memory, with unique indexes and the reference
// bookkeeping that transactions need at commit.
//
// What: Row (its fields, indexed like TableSchema::columns, the number of
// committed strong references pointing at it, and who weakly references
// it), Table (rows by UUID plus one ordered map per unique index) and
// Database (a schema and its tables).
//
// Design: rows live behind unique_ptr so their addresses are stable; a
// commit changes only the fields a transaction changed, in place (swapping
// Datums), so a small update to a wide row costs O(changed columns), not
// O(columns).  Indexes map the tuple of index-column values to the row.
// Reference counts and weak referrer lists are maintained by the
// transaction layer (transaction.h) and can be rebuilt from scratch after a
// file load (RebuildDerived).
//
// Thread-safety: none.  One thread owns a Database; readers (monitors,
// dumps) run on that thread between transactions.
#ifndef SPATE_OVSDB_DATABASE_H
#define SPATE_OVSDB_DATABASE_H

#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "ovsdb/datum.h"
#include "ovsdb/schema.h"

namespace spate::ovsdb {

// A row's address: table index and UUID.
struct RowRef {
  int table = 0;  // Index into DatabaseSchema::tables.
  Uuid uuid;      // Row UUID.
  auto operator<=>(const RowRef&) const = default;
};

struct Row {
  Uuid uuid;                   // Same as fields[kUuidColumn].
  std::vector<Datum> fields;   // One per column of the table schema.
  uint32_t n_strong_refs = 0;  // Committed strong references to this row.
  std::map<RowRef, uint32_t> weak_referrers;  // Rows weakly referencing it.

  const Datum& operator[](int column) const { return fields[column]; }
  const Uuid& version() const { return fields[kVersionColumn].keys()[0].uuid(); }
};

// Creates a row of `table` with every column at its default value.
std::unique_ptr<Row> NewDefaultRow(const TableSchema& table, const Uuid& uuid);
// Sets _version to `version`.
void SetRowVersion(Row* row, const Uuid& version);

class Table {
 public:
  explicit Table(const TableSchema* schema);

  const TableSchema& schema() const { return *schema_; }
  size_t size() const { return rows_.size(); }
  // The row with `uuid`, or nullptr.
  const Row* Find(const Uuid& uuid) const;
  Row* FindMutable(const Uuid& uuid);
  // All rows (unordered).
  const std::unordered_map<Uuid, std::unique_ptr<Row>, UuidHash>& rows() const {
    return rows_;
  }

  // The tuple of values of index `i` for `row`.
  std::vector<Datum> IndexKey(size_t i, const Row& row) const;
  // The row holding `key` in index `i`, or nullptr.
  const Row* FindByIndex(size_t i, const std::vector<Datum>& key) const;

  // Low-level mutation, used by commits and loading; these keep the
  // indexes but not reference counts.  Insert takes ownership.
  void Insert(std::unique_ptr<Row> row);
  std::unique_ptr<Row> Remove(const Uuid& uuid);
  // Removes `row` from the indexes / adds it back (around a field change).
  void Unindex(const Row& row);
  void Reindex(Row* row);

 private:
  const TableSchema* schema_;  // Owned by the Database's schema.
  std::unordered_map<Uuid, std::unique_ptr<Row>, UuidHash> rows_;  // By UUID.
  std::vector<std::map<std::vector<Datum>, Row*>> indexes_;  // Per index.
};

class Database {
 public:
  explicit Database(std::shared_ptr<const DatabaseSchema> schema);

  const DatabaseSchema& schema() const { return *schema_; }
  std::shared_ptr<const DatabaseSchema> shared_schema() const { return schema_; }
  const std::string& name() const { return schema_->name; }
  size_t n_tables() const { return tables_.size(); }
  const Table& table(int i) const { return tables_[i]; }
  Table& mutable_table(int i) { return tables_[i]; }
  // The table named `name`, or nullptr.
  const Table* FindTable(std::string_view name) const;

  // Recomputes strong reference counts and weak referrer lists from the
  // rows (after loading a file).  Returns the number of dangling strong
  // references found (0 for a consistent database).
  size_t RebuildDerived();
  // Total number of rows in all tables.
  size_t n_rows() const;

 private:
  std::shared_ptr<const DatabaseSchema> schema_;  // Immutable schema.
  std::vector<Table> tables_;                     // Parallel to schema tables.
};

// Calls fn(target_table, target_uuid, is_strong) for every reference held in
// column `col` of `value`.
template <typename Fn>
void ForEachRef(const ColumnSchema& col, const Datum& value, Fn&& fn) {
  if (col.key_ref_table >= 0) {
    bool strong = col.type.key.ref_type == RefType::kStrong;
    for (const Atom& a : value.keys()) fn(col.key_ref_table, a.uuid(), strong);
  }
  if (col.value_ref_table >= 0) {
    bool strong = col.type.value.ref_type == RefType::kStrong;
    for (const Atom& a : value.values()) fn(col.value_ref_table, a.uuid(), strong);
  }
}

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_DATABASE_H
