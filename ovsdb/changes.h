// ChangeSet: what one committed transaction changed, for the log writer,
// monitors (update/update2/update3) and the monitor_cond_since history.
//
// Design: a ChangeSet is produced in two phases by the transaction layer.
// While *pending* (before Apply, phase kPending) it holds the new data: the
// complete new row for inserts and the new values of the changed columns
// for modifications; the log writer formats its record from this.  Apply
// then moves the new values into the database and swaps the previous values
// back into the ChangeSet (phase kApplied): for modifications `values` then
// hold the OLD values of the changed columns and `current` points at the
// row in the database; for deletions `row` owns the removed row.  Nothing is
// copied: the transaction's values are moved in and the old ones moved out.
//
// Lifetime: `current` pointers are valid until the next transaction is
// committed on the same Database.  Consumers that need the data later (the
// monitor_cond_since history) convert it to JSON first.
//
// Thread-safety: a value; read it on the Database's thread.
#ifndef SPATE_OVSDB_CHANGES_H
#define SPATE_OVSDB_CHANGES_H

#include <memory>
#include <string>
#include <vector>

#include "ovsdb/database.h"

namespace spate::ovsdb {

enum class ChangeKind { kInsert, kModify, kDelete };

struct RowChange {
  int table = 0;            // Table index.
  Uuid uuid;                // Row UUID.
  ChangeKind kind = ChangeKind::kInsert;  // What happened to the row.
  // Pending insert: the new row (moved into the table by Apply).
  // Applied delete: the removed row.  Otherwise null.
  std::unique_ptr<Row> row;
  // Pending delete/modify: the committed row.  Applied insert/modify: the row
  // now in the database.  Applied delete: null.
  const Row* current = nullptr;
  std::vector<int> columns;   // Modify: changed column indexes, ascending.
  std::vector<Datum> values;  // Modify: new values (pending), old (applied).

  // The row after the commit (applied insert/modify); null for deletes.
  const Row* new_row() const { return kind == ChangeKind::kDelete ? nullptr : current; }
  // Applied phase: the value column `c` had before the commit.
  const Datum& OldValue(int c) const;
};

struct ChangeSet {
  enum class Phase { kPending, kApplied };
  Phase phase = Phase::kPending;  // See the file comment.
  Uuid txn_id;                    // Random id of this commit (monitor_cond_since).
  int64_t date_ms = 0;            // Commit time, ms since the epoch.
  std::string comment;            // "comment" ops joined by "\n".
  bool durable = false;           // A commit op asked for durability.
  std::vector<RowChange> rows;    // Grouped by table, ascending table index.

  bool empty() const { return rows.empty(); }
};

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_CHANGES_H
