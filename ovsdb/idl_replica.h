// The client-side replica of an OVSDB database: the rows of the chosen
// tables and columns, kept current by applying monitor updates, with
// per-table change tracking and typed accessors by column name.
//
// What
//   Replica holds one ReplicaTable per replicated table.  It applies the
//   three update formats of RFC 7047 and Open vSwitch (reference §8.4/§8.6):
//   "update" (old/new rows), "update2"/"update3" (initial, insert, modify as
//   a diff, delete).  Each table records, since the caller last called
//   TakeChanges(), which rows were inserted, modified (and which columns)
//   and deleted.  RowView gives typed getters (GetString("name"),
//   GetStringMap("external_ids"), ...) over a row.
//
// Design
//   Rows live in an unordered_map keyed by UUID, each a heap IdlRow whose
//   address stays fixed until the row is deleted.  A row's fields are
//   indexed by the schema's column index (unreplicated columns keep their
//   default).  An update2 "modify" applies the diff to the changed columns
//   only, in place; no update copies a whole row.  A diff much smaller than
//   the set or map it edits (one port added to a 10k-element set) is
//   applied element by element inside the existing vectors, so the value
//   is neither rebuilt nor reallocated (ReplicaStats counts the elements
//   written).  An "update" (RFC 7047 format) modification decodes only the
//   columns its "old" member names.  A full resync (a
//   monitor reply after reconnecting without history) is merged into the
//   existing replica: rows present before and after compare column by
//   column, rows not resent are deleted, so change tracking reports
//   exactly what differs from what the caller saw.
//   Change merging: insert+modify = insert; insert+delete = nothing;
//   modify+modify = union of columns; modify+delete = delete;
//   delete+insert = modify of every column.
//
// Thread-safety
//   None: owned and used by one thread (the Idl's EventLoop thread).
#ifndef SPATE_OVSDB_IDL_REPLICA_H
#define SPATE_OVSDB_IDL_REPLICA_H

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "ovsdb/atom.h"
#include "ovsdb/datum.h"
#include "ovsdb/json_codec.h"
#include "ovsdb/schema.h"

namespace spate::ovsdb::idl {

// What to replicate of one table.
struct TableRequest {
  std::string table;                 // Table name.
  std::vector<std::string> columns;  // Columns; empty = every column.
  Json where = nullptr;              // monitor_cond condition; null = all rows.
};

// One replicated row.
struct IdlRow {
  Uuid uuid;                  // The row's UUID.
  std::vector<Datum> fields;  // By schema column index.
};

enum class ChangeKind { kInserted, kModified, kDeleted };

// One row's change since the caller last looked.
struct RowChange {
  Uuid uuid;                   // The row.
  ChangeKind kind = ChangeKind::kModified;  // What happened.
  std::vector<int> columns;    // kModified: changed column indexes, sorted.
  std::unique_ptr<IdlRow> deleted_row;  // kDeleted: its last contents.
};

// Typed read access to one row.  Getters take a column name; an unknown
// or unreplicated column reads as its type's default (empty set, 0, "").
class RowView {
 public:
  RowView(const TableSchema* table, const IdlRow* row) : table_(table), row_(row) {}

  const Uuid& uuid() const { return row_->uuid; }
  const IdlRow& row() const { return *row_; }
  const TableSchema& table() const { return *table_; }

  // The raw value of `column` (an empty datum if there is no such column).
  const Datum& Get(std::string_view column) const;
  // First key as a string / integer / real / boolean / uuid, or the
  // default when empty or of another type.
  std::string GetString(std::string_view column) const;
  int64_t GetInteger(std::string_view column) const;
  double GetReal(std::string_view column) const;
  bool GetBool(std::string_view column) const;
  // For optional (0..1) columns: the value, or nullopt when empty.
  std::optional<std::string> GetOptionalString(std::string_view column) const;
  std::optional<int64_t> GetOptionalInteger(std::string_view column) const;
  std::optional<Uuid> GetOptionalUuid(std::string_view column) const;
  // Sets (or a map's keys) of strings, integers or UUIDs.
  std::vector<std::string> GetStrings(std::string_view column) const;
  std::vector<int64_t> GetIntegers(std::string_view column) const;
  std::vector<Uuid> GetUuids(std::string_view column) const;
  // A string->string map (e.g. external_ids).
  std::map<std::string, std::string> GetStringMap(std::string_view column) const;

 private:
  const TableSchema* table_;  // The row's table.
  const IdlRow* row_;         // The row.
};

class ReplicaTable {
 public:
  using RowMap = std::unordered_map<Uuid, std::unique_ptr<IdlRow>, UuidHash>;

  ReplicaTable(const TableSchema* schema, std::vector<int> columns, Json where);

  const TableSchema& schema() const { return *schema_; }
  const std::string& name() const { return schema_->name; }
  // Replicated column indexes (sorted).
  const std::vector<int>& columns() const { return columns_; }
  // The monitor condition (null = every row).
  const Json& where() const { return where_; }
  void set_where(Json where) { where_ = std::move(where); }

  size_t size() const { return rows_.size(); }
  const RowMap& rows() const { return rows_; }
  // The row with `uuid`, or nullptr.
  const IdlRow* Find(const Uuid& uuid) const;
  // A view of the row with `uuid`, or nullopt.
  std::optional<RowView> Get(const Uuid& uuid) const;
  // Views of every row (unordered).
  std::vector<RowView> All() const;
  // The first row whose `column` equals the one-element value `key`.
  std::optional<RowView> FindBy(std::string_view column, const Atom& key) const;

  // Changes since the previous call (or since creation); clears them.
  std::vector<RowChange> TakeChanges();
  // True if TakeChanges() would return something.
  bool has_changes() const { return !changes_.empty(); }

 private:
  friend class Replica;
  IdlRow* FindMutable(const Uuid& uuid);
  RowChange& Track(const Uuid& uuid);
  void NoteInsert(const Uuid& uuid);
  void NoteModify(const Uuid& uuid, int column);
  void NoteDelete(std::unique_ptr<IdlRow> row);

  const TableSchema* schema_;  // Owned by the Replica.
  std::vector<int> columns_;   // Replicated columns.
  Json where_;                 // Condition.
  RowMap rows_;                // The rows.
  std::vector<RowChange> changes_;  // Untaken changes, in first-seen order.
  std::unordered_map<Uuid, size_t, UuidHash> change_index_;  // uuid -> slot.
  std::unordered_set<Uuid, UuidHash> resync_seen_;  // Rows resent in resync.
};

// Work counters of a Replica (tests and benchmarks use them to show that
// small updates stay small).
struct ReplicaStats {
  uint64_t rows_inserted = 0;     // Rows created.
  uint64_t rows_deleted = 0;      // Rows removed.
  uint64_t cells_written = 0;     // Column values replaced or edited.
  uint64_t elements_changed = 0;  // Set/map elements written by those.
};

class Replica {
 public:
  // Validates `requests` against `schema` (unknown tables or columns are
  // "syntax error"s); an empty list replicates every table and column.
  [[nodiscard]] static Result<std::unique_ptr<Replica>> Create(
      DatabaseSchema schema, const std::vector<TableRequest>& requests);

  const DatabaseSchema& schema() const { return schema_; }
  // The replicated table named `name`, or nullptr.
  ReplicaTable* table(std::string_view name);
  const ReplicaTable* table(std::string_view name) const;
  const std::vector<std::unique_ptr<ReplicaTable>>& tables() const { return tables_; }

  // The <monitor-requests> object; conditions only if `with_where`.
  Json MonitorRequests(bool with_where) const;

  // Starts/ends merging a complete snapshot: rows not applied between the
  // two calls are deleted at EndResync().
  void BeginResync();
  void EndResync();
  // Applies <table-updates> (monitor) or <table-updates2> (monitor_cond,
  // update2/update3).  A malformed update is a "syntax error" and leaves
  // the rows applied before it.
  [[nodiscard]] Status ApplyUpdates(const Json& updates, bool update2);
  // Removes every row (tracking deletions).
  void Clear();
  // Bumped on every applied change.
  uint64_t change_seqno() const { return change_seqno_; }
  // Work done so far.
  const ReplicaStats& stats() const { return stats_; }

 private:
  explicit Replica(DatabaseSchema schema) : schema_(std::move(schema)) {}
  Status ApplyRow(ReplicaTable& t, const Uuid& uuid, const Json& update, bool update2);
  Status ApplyRow1(ReplicaTable& t, const Uuid& uuid, const Json& update);
  Status ApplyRow2(ReplicaTable& t, const Uuid& uuid, const Json& update);
  Status PutRow(ReplicaTable& t, const Uuid& uuid, const Json& row, const Json* changed);
  Status ModifyRow(ReplicaTable& t, IdlRow& row, const Json& diff);
  void DeleteRow(ReplicaTable& t, const Uuid& uuid);

  DatabaseSchema schema_;                              // The server's schema.
  std::vector<std::unique_ptr<ReplicaTable>> tables_;  // Replicated tables.
  bool resync_ = false;                                // Inside Begin/EndResync.
  uint64_t change_seqno_ = 0;                          // Changes applied.
  ReplicaStats stats_;                                 // Work counters.
};

}  // namespace spate::ovsdb::idl

#endif  // SPATE_OVSDB_IDL_REPLICA_H
