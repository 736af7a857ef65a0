// Monitors: the server side of OVSDB's "monitor", "monitor_cond" and
// "monitor_cond_since" (RFC 7047 §4.1.5 and Open vSwitch's extensions).
//
// What: parsing of a <monitor-requests> object against a database schema
// with Open vSwitch's error wording; the initial contents (table-updates or
// table-updates2); the update for one committed transaction; condition
// changes (monitor_cond_change); and a bounded transaction history from
// which a reconnecting monitor_cond_since client gets only what it missed.
//
// Design: every change reaches a monitor as a RowDelta, a borrowed view of
// one row's change (new full row, old values of the changed columns, or the
// old full row for deletions).  A live ChangeSet and a history entry both
// produce RowDeltas, so one code path formats "update" (v1: "old"/"new"),
// "update2"/"update3" (v2: "initial"/"insert"/"modify"/"delete", defaults
// omitted, modify as Datum::Diff).  With conditions, a modification that
// moves a row into (out of) the condition is reported as an insert
// (delete), as Open vSwitch does.  The history is recorded only once some
// client has used monitor_cond_since on the database, so servers without
// such clients pay nothing for it.
//
// Thread-safety: none; everything runs on the thread owning the Database.
#ifndef SPATE_OVSDB_MONITOR_H
#define SPATE_OVSDB_MONITOR_H

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "ovsdb/changes.h"
#include "ovsdb/condition.h"
#include "ovsdb/database.h"

namespace spate::ovsdb {

// Which method created a monitor (and so which notification it gets).
enum class MonitorVersion { kV1, kV2, kV3 };  // update, update2, update3.

// A borrowed view of one row's change.
struct RowDelta {
  int table = 0;                 // Table index.
  Uuid uuid;                     // Row UUID.
  ChangeKind kind = ChangeKind::kInsert;  // What happened.
  const Datum* new_fields = nullptr;      // Insert/modify: the full new row.
  const Datum* old_values = nullptr;      // Modify: parallel to columns;
                                          // delete: the full old row.
  const std::vector<int>* columns = nullptr;  // Modify: changed, ascending.

  // The value column `c` had before the change (insert: unused).
  const Datum& Old(int c) const;
  // True if a modification changed column `c`.
  bool Changed(int c) const;
};

// The RowDelta of an applied RowChange.
RowDelta DeltaFromChange(const RowChange& change);

// One committed transaction kept for monitor_cond_since (owned copies).
struct HistoryTxn {
  struct Row {
    int table = 0;                       // Table index.
    Uuid uuid;                           // Row UUID.
    ChangeKind kind = ChangeKind::kInsert;  // What happened.
    std::vector<Datum> new_fields;       // Insert/modify: full new row.
    std::vector<int> columns;            // Modify: changed columns.
    std::vector<Datum> old_values;       // Modify: parallel to columns;
                                         // delete: the full old row.
    RowDelta Delta() const;
  };
  Uuid txn_id;            // ChangeSet::txn_id.
  std::vector<Row> rows;  // In ChangeSet order.
};

// A bounded list of recent transactions of one database.
class TxnHistory {
 public:
  explicit TxnHistory(size_t max_txns = 100) : max_txns_(max_txns) {}

  // Starts recording (the first monitor_cond_since on the database).
  void Enable() { enabled_ = true; }
  bool enabled() const { return enabled_; }
  // Records an applied ChangeSet (no-op unless enabled).
  void Record(const ChangeSet& changes);
  // The net change of every transaction after `txn_id`, composed per row,
  // or nullopt if `txn_id` is not in the history.
  std::optional<std::vector<HistoryTxn::Row>> Since(const Uuid& txn_id) const;
  // Transactions held.
  size_t size() const { return txns_.size(); }

 private:
  size_t max_txns_;             // Oldest entries beyond this are dropped.
  bool enabled_ = false;        // Recording.
  std::deque<HistoryTxn> txns_;  // Oldest first.
};

// Bits of a <monitor-select>, kept per column.
inline constexpr uint8_t kSelectInitial = 1;  // select.initial.
inline constexpr uint8_t kSelectInsert = 2;   // select.insert.
inline constexpr uint8_t kSelectDelete = 4;   // select.delete.
inline constexpr uint8_t kSelectModify = 8;   // select.modify.

// What one monitor watches in one table.  Several <monitor-request>s for
// one table are merged as Open vSwitch merges them: their columns must be
// disjoint ("column C mentioned more than once"), each column keeps the
// select flags of the request that named it, the table's flags are their
// union, and a row change is sent when the table's flags select its kind,
// carrying only the columns whose own flags select it.
struct MonitoredTable {
  int table = 0;              // Table index.
  std::vector<int> columns;   // Monitored columns, ascending.
  std::vector<uint8_t> selects;  // Parallel to columns: kSelect* bits.
  bool initial = true;        // Union of the requests' select.initial.
  bool insert = true;         // ... select.insert.
  bool remove = true;         // ... select.delete.
  bool modify = true;         // ... select.modify.
  // Row filter: a row is monitored if any condition holds; empty = all.
  std::vector<Condition> conditions;

  // True if the row with column values `view` passes the conditions.
  bool Matches(const TableSchema& schema, const RowView& view) const;
};

class Monitor {
 public:
  // Parses <monitor-requests> (params[2]) for `db`.  Errors as Open
  // vSwitch words them: ("syntax error", "no table named T"), ("syntax
  // error", "C is not a valid column name"), ...
  static Result<std::unique_ptr<Monitor>> Parse(const Database& db, const Json& requests,
                                                MonitorVersion version);

  MonitorVersion version() const { return version_; }
  // The initial contents: table-updates (v1) or table-updates2 (v2/v3).
  Json Initial(const Database& db) const;
  // The table-updates for `deltas`; an empty object if nothing is visible.
  Json Updates(const Database& db, const std::vector<RowDelta>& deltas) const;
  // Appends DumpJson(Updates(db, deltas)) to `out`, byte for byte, written
  // straight from the deltas without a Json tree; appends nothing and
  // returns false when nothing is visible (Updates would be empty).
  // `deltas` name each row at most once.
  bool AppendUpdates(const Database& db, const std::vector<RowDelta>& deltas,
                     std::string& out) const;
  // Replaces the conditions (monitor_cond_change's params[2]) and returns
  // the table-updates2 that brings the client from the old row set to the
  // new one (inserts and deletes).  Errors as Parse.
  Result<Json> ChangeConditions(const Database& db, const Json& changes);

 private:
  explicit Monitor(MonitorVersion version) : version_(version) {}
  void AddRowUpdate(const Database& db, const MonitoredTable& mt, const RowDelta& d,
                    Json* table_updates) const;
  // How `d` shows to `mt` (conditions and select flags applied), or
  // nullopt if it is not sent.
  std::optional<ChangeKind> VisibleKind(const TableSchema& schema, const MonitoredTable& mt,
                                        const RowDelta& d) const;
  // Appends the row-update text of `d` (AddRowUpdate's value); `order`
  // lists mt.columns' indexes in column-name order.  False (nothing
  // appended) if it is not sent.
  bool AppendRowUpdate(const TableSchema& schema, const MonitoredTable& mt,
                       const std::vector<size_t>& order, const RowDelta& d,
                       std::string& out) const;
  // The columns of `mt` whose select flags include `kind` (kSelect*).
  Json RowJson(const TableSchema& schema, const MonitoredTable& mt, const Datum* fields,
               bool omit_defaults, uint8_t kind) const;

  MonitorVersion version_;              // Notification format.
  std::vector<MonitoredTable> tables_;  // Ascending table index.
};

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_MONITOR_H
