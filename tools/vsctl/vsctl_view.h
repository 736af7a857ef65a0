// View: the database as one ovs-vsctl command chain sees it — the Idl's
// replica with the chain's own inserts, deletes and writes on top — and
// the step that turns those changes into one idl::Txn.
//
// What
//   Every command reads and writes through the View, so a later command in
//   a "--" chain sees what an earlier one did (add-br br0 -- add-port br0
//   p1), as Open vSwitch's IDL shows a transaction's own writes.  New rows
//   get a local UUID (usable inside values and symbols, even before the row
//   is created: "add bridge br0 ports @p -- --id=@p create port ...");
//   Build() inserts them into the Txn and rewrites every reference to a
//   local UUID into the UUID the Txn gave it.  Writes are whole-column
//   ("update"); a write equal to the current value is dropped, so a chain
//   that changes nothing commits nothing (Open vSwitch's "unchanged").
//   Every column read on an existing row is verified at commit
//   (Txn::Verify), so a concurrent change makes the commit "try again".
//
// Thread-safety
//   None; one View per command-chain run.
#ifndef SPATE_TOOLS_VSCTL_VSCTL_VIEW_H
#define SPATE_TOOLS_VSCTL_VSCTL_VIEW_H

#include <map>
#include <set>
#include <vector>

#include "common/result.h"
#include "ovsdb/idl.h"
#include "ovsdb/idl_txn.h"

namespace spate::vsctl {

class View {
 public:
  // `replica` must outlive the View.
  explicit View(ovsdb::idl::Replica& replica) : replica_(replica) {}

  const ovsdb::DatabaseSchema& schema() const { return replica_.schema(); }
  // Live rows of `table` (replica rows not deleted, plus inserted rows),
  // in UUID order.
  std::vector<ovsdb::Uuid> Rows(const ovsdb::TableSchema& table) const;
  // True if `uuid` is a live row of `table`.
  bool Exists(const ovsdb::TableSchema& table, const ovsdb::Uuid& uuid) const;
  // The current value of column `column` (an index) of a live row.
  const ovsdb::Datum& Read(const ovsdb::TableSchema& table, const ovsdb::Uuid& uuid, int column);
  // Read by column name (the column must exist).
  const ovsdb::Datum& Read(const ovsdb::TableSchema& table, const ovsdb::Uuid& uuid,
                           std::string_view column);
  // Replaces the value of `column` of a live row.
  void Write(const ovsdb::TableSchema& table, const ovsdb::Uuid& uuid, int column,
             ovsdb::Datum value);
  void Write(const ovsdb::TableSchema& table, const ovsdb::Uuid& uuid, std::string_view column,
             ovsdb::Datum value);
  // A new row of `table` with default values; `uuid` is its local UUID
  // (random when zero).  Returns the local UUID.
  ovsdb::Uuid Insert(const ovsdb::TableSchema& table, ovsdb::Uuid uuid = {});
  // Deletes a live row.
  void Delete(const ovsdb::TableSchema& table, const ovsdb::Uuid& uuid);
  // True if the chain inserted `uuid`.
  bool IsNew(const ovsdb::Uuid& uuid) const { return new_rows_.count(uuid) > 0; }
  // True if Build() would send something other than verifications.
  bool HasChanges() const;

  // Records the changes in `txn`.  Returns local UUID -> new-row UUID for
  // the inserted rows.  Errors: the Txn's value checks.
  [[nodiscard]] Result<std::map<ovsdb::Uuid, ovsdb::Uuid>> Build(ovsdb::idl::Txn& txn) const;

 private:
  // What the chain did to one row.
  struct RowState {
    bool inserted = false;                 // Created by the chain.
    bool deleted = false;                  // Deleted by the chain.
    std::map<int, ovsdb::Datum> written;   // Column index -> new value.
    std::vector<ovsdb::Datum> fields;      // Inserted rows: every column.
  };
  using Key = std::pair<int, ovsdb::Uuid>;  // (table index, row).

  // Inserted rows in an order where every row comes after the new rows
  // its values reference: Txn sends each insert with its final UUID and
  // references as named-uuid, and Open vSwitch's ovsdb-server resolves a
  // named-uuid used before its insert to a different UUID.
  std::vector<Key> InsertOrder() const;
  const ovsdb::Datum& ReplicaValue(const ovsdb::TableSchema& table, const ovsdb::Uuid& uuid,
                                   int column) const;

  ovsdb::idl::Replica& replica_;          // The synced replica.
  std::map<Key, RowState> rows_;          // Touched rows.
  std::set<ovsdb::Uuid> new_rows_;        // Local UUIDs of inserted rows.
  std::set<std::pair<Key, int>> reads_;   // Columns read on existing rows.
  ovsdb::Datum empty_;                    // Returned for missing values.
  std::map<ovsdb::Uuid, ovsdb::Datum> uuid_datums_;  // _uuid values handed out by Read.
};

}  // namespace spate::vsctl

#endif  // SPATE_TOOLS_VSCTL_VSCTL_VIEW_H
