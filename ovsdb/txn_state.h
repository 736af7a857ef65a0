// Internal to the transaction layer: the per-transaction overlay of rows.
//
// A TxnRow records what a transaction did to one row: for an insert the
// complete new Row; for a modification only the columns written (sorted
// by column index) on top of the committed Row; a deletion flag.  TxnState
// holds the overlay per table and the named-UUID symbol table.
//
// Thread-safety: none (one transaction, one thread).
#ifndef SPATE_OVSDB_TXN_STATE_H
#define SPATE_OVSDB_TXN_STATE_H

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ovsdb/changes.h"
#include "ovsdb/database.h"

namespace spate::ovsdb {

struct TxnRow {
  int table = 0;                  // Table index.
  Uuid uuid;                      // Row UUID.
  Row* old = nullptr;             // Committed row, or null if inserted.
  std::unique_ptr<Row> fresh;     // Inserted row (full), or null.
  std::vector<std::pair<int, Datum>> written;  // Modified columns, sorted.
  bool deleted = false;           // Deleted by this transaction.

  // The value of column `c` as seen inside the transaction.
  const Datum& Get(int c) const;
  // A writable value for column `c` (copies the committed value once).
  Datum* Mutable(int c);
  bool inserted() const { return old == nullptr; }
  // True if column `c` was written (always true for inserted rows).
  bool Wrote(int c) const;
};

struct Symbol {
  Uuid uuid;             // UUID bound to the name.
  bool created = false;  // An insert with this uuid-name has run.
};

class TxnState {
 public:
  explicit TxnState(Database* db);

  Database& db() { return *db_; }
  const DatabaseSchema& schema() const { return db_->schema(); }
  // The overlay entry for a row, or null.
  TxnRow* Find(int table, const Uuid& uuid);
  // The overlay entry for committed row `row`, created on first use.
  TxnRow* Touch(int table, Row* row);
  // Adds an inserted row; returns its entry.
  TxnRow* AddInsert(int table, std::unique_ptr<Row> row);
  // True if a row exists after the transaction (as things stand now).
  bool Exists(int table, const Uuid& uuid);
  // All entries of one table / of all tables.
  std::unordered_map<Uuid, TxnRow, UuidHash>& rows(int table) { return rows_[table]; }
  // Calls fn(TxnRow&) for every entry, table by table.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (auto& t : rows_) {
      for (auto& [uuid, r] : t) fn(r);
    }
  }

  std::map<std::string, Symbol>& symbols() { return symbols_; }
  // Resolves a named-uuid, creating an unbound symbol for unknown names.
  Uuid Resolve(const std::string& name);

  std::string comment;    // Joined "comment" ops.
  bool durable = false;   // A commit op asked for durability.

 private:
  Database* db_;  // Not owned.
  std::vector<std::unordered_map<Uuid, TxnRow, UuidHash>> rows_;  // Per table.
  std::map<std::string, Symbol> symbols_;  // uuid-name -> symbol.
};

// Commit phase (commit.cc): checks integrity and, on success, builds the
// pending ChangeSet.  Errors are the extra element of the reply.
Result<std::unique_ptr<ChangeSet>> Precommit(TxnState* txn);
// Applies a pending ChangeSet to the database, maintaining reference
// counts, weak referrers and indexes.
void ApplyChanges(Database& db, ChangeSet* changes);

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_TXN_STATE_H
