// Commit-time checks and in-place application (see transaction.h).
#include <algorithm>
#include <unordered_map>

#include "ovsdb/txn_state.h"

namespace spate::ovsdb {
namespace {

struct RowRefHash {
  size_t operator()(const RowRef& r) const { return UuidHash()(r.uuid) * 31 + r.table; }
};
using RefDelta = std::unordered_map<RowRef, int64_t, RowRefHash>;

bool Live(const TxnRow& r) { return !(r.inserted() && r.deleted); }

// Adds sign * (strong references held in the columns of `r` selected by
// `all_columns` or written) to `delta`.
void CountRefs(const TableSchema& t, const TxnRow& r, bool use_old, bool all_columns,
               int sign, RefDelta* delta) {
  for (const ColumnSchema& c : t.columns) {
    if (!c.HasStrongRefs() || (!all_columns && !r.Wrote(c.index))) continue;
    const Datum& v = use_old ? r.old->fields[c.index] : r.Get(c.index);
    ForEachRef(c, v, [&](int table, const Uuid& to, bool strong) {
      if (strong) (*delta)[RowRef{table, to}] += sign;
    });
  }
}

int64_t FinalRefs(TxnState* txn, const RefDelta& delta, int table, const Uuid& uuid) {
  const Row* row = txn->db().table(table).Find(uuid);
  auto it = delta.find(RowRef{table, uuid});
  return (row ? row->n_strong_refs : 0) + (it == delta.end() ? 0 : it->second);
}

Status CheckNewRefs(TxnState* txn) {
  Status status;
  txn->ForEach([&](TxnRow& r) {
    if (!status || r.deleted) return;
    const TableSchema& t = txn->schema().tables[r.table];
    for (const ColumnSchema& c : t.columns) {
      if (!c.HasStrongRefs() || !r.Wrote(c.index) || !status) continue;
      ForEachRef(c, r.Get(c.index), [&](int table, const Uuid& to, bool strong) {
        if (!strong || !status || txn->Exists(table, to)) return;
        status = Error("referential integrity violation",
                       "Table " + t.name + " column " + c.name + " row " +
                           r.uuid.ToString() + " references nonexistent row " +
                           to.ToString() + " in table " +
                           txn->schema().tables[table].name + ".");
      });
    }
  });
  return status;
}

// Deletes unreferenced non-root rows touched by the transaction, cascading.
void CollectGarbage(TxnState* txn, RefDelta* delta) {
  std::vector<RowRef> work;
  txn->ForEach([&](TxnRow& r) {
    if (!r.deleted && !txn->schema().tables[r.table].is_root) work.push_back({r.table, r.uuid});
  });
  for (auto& [ref, d] : *delta) {
    if (d < 0 && !txn->schema().tables[ref.table].is_root) work.push_back(ref);
  }
  while (!work.empty()) {
    RowRef ref = work.back();
    work.pop_back();
    if (!txn->Exists(ref.table, ref.uuid)) continue;
    if (FinalRefs(txn, *delta, ref.table, ref.uuid) > 0) continue;
    TxnRow* r = txn->Find(ref.table, ref.uuid);
    if (r == nullptr) r = txn->Touch(ref.table, txn->db().mutable_table(ref.table).FindMutable(ref.uuid));
    const TableSchema& t = txn->schema().tables[ref.table];
    // Its references now: before the delete they counted (current - old);
    // after it they count (-old), so subtract the current values.
    for (const ColumnSchema& c : t.columns) {
      if (!c.HasStrongRefs()) continue;
      ForEachRef(c, r->Get(c.index), [&](int table, const Uuid& to, bool strong) {
        if (!strong) return;
        (*delta)[RowRef{table, to}] -= 1;
        if (!txn->schema().tables[table].is_root) work.push_back({table, to});
      });
    }
    r->deleted = true;
  }
}

Status CheckDeletedRefs(TxnState* txn, const RefDelta& delta) {
  Status status;
  txn->ForEach([&](TxnRow& r) {
    if (!status || !r.deleted || r.inserted()) return;
    int64_t n = FinalRefs(txn, delta, r.table, r.uuid);
    if (n > 0) {
      status = Error("referential integrity violation",
                     "cannot delete " + txn->schema().tables[r.table].name + " row " +
                         r.uuid.ToString() + " because of " + std::to_string(n) +
                         " remaining reference(s)");
    }
  });
  return status;
}

Status CheckMaxRows(TxnState* txn) {
  for (const TableSchema& t : txn->schema().tables) {
    if (t.max_rows == kUnlimited) continue;
    int64_t n = static_cast<int64_t>(txn->db().table(t.index).size());
    for (auto& [uuid, r] : txn->rows(t.index)) {
      if (r.inserted() && !r.deleted) ++n;
      if (!r.inserted() && r.deleted) --n;
    }
    if (n > static_cast<int64_t>(t.max_rows)) {
      return Error("constraint violation",
                   "transaction causes \"" + t.name + "\" table to contain " +
                       std::to_string(n) + " rows, greater than the schema-defined limit of " +
                       std::to_string(t.max_rows) + " row(s)");
    }
  }
  return Status::Ok();
}

// Removes weak references to rows that will not exist from the weak
// columns of `r` (all of them, or only written ones) and checks n_min.
Status PruneWeak(TxnState* txn, TxnRow* r, bool all_columns) {
  const TableSchema& t = txn->schema().tables[r->table];
  for (const ColumnSchema& c : t.columns) {
    if (!c.HasWeakRefs() || (!all_columns && !r->Wrote(c.index))) continue;
    bool zero = false;
    auto dead = [&](int table, const Atom& a) {
      if (txn->Exists(table, a.uuid())) return false;
      zero |= a.uuid().IsZero();
      return true;
    };
    bool weak_key = c.key_ref_table >= 0 && c.type.key.ref_type == RefType::kWeak;
    bool weak_value = c.value_ref_table >= 0 && c.type.value.ref_type == RefType::kWeak;
    const Datum& now = r->Get(c.index);
    bool any = false;
    for (size_t i = 0; i < now.size() && !any; ++i) {
      any = (weak_key && !txn->Exists(c.key_ref_table, now.keys()[i].uuid())) ||
            (weak_value && !txn->Exists(c.value_ref_table, now.values()[i].uuid()));
    }
    if (!any) continue;
    size_t n = r->Mutable(c.index)->RemoveIf([&](const Atom& k, const Atom* v) {
      return (weak_key && dead(c.key_ref_table, k)) ||
             (weak_value && v != nullptr && dead(c.value_ref_table, *v));
    });
    if (r->Get(c.index).size() >= c.type.n_min) continue;
    std::string where = "column \"" + c.name + "\" in \"" + t.name + "\" row " +
                        r->uuid.ToString() +
                        (r->inserted() ? " (inserted within this transaction)" : "");
    if (zero) {
      return Error("constraint violation",
                   "Weak reference " + where.substr(0, 0) + "column \"" + c.name +
                       "\" in \"" + t.name + "\" row " + r->uuid.ToString() +
                       (r->inserted() ? " (inserted within this transaction)" : "") +
                       " contained all-zeros UUID (probably as the default value for "
                       "this column) but deleting this value caused a constraint "
                       "volation because this column is not allowed to be empty.");
    }
    return Error("constraint violation",
                 "Deletion of " + std::to_string(n) +
                     " weak reference(s) to deleted (or never-existing) rows from " + where +
                     " caused this column to become empty, but constraints on this "
                     "column disallow an empty column.");
  }
  return Status::Ok();
}

Status AssessWeakRefs(TxnState* txn) {
  std::vector<RowRef> referrers;
  txn->ForEach([&](TxnRow& r) {
    if (!r.deleted || r.inserted()) return;
    for (auto& [from, n] : r.old->weak_referrers) referrers.push_back(from);
  });
  for (const RowRef& ref : referrers) {
    if (!txn->Exists(ref.table, ref.uuid)) continue;
    if (!txn->Find(ref.table, ref.uuid)) {
      txn->Touch(ref.table, txn->db().mutable_table(ref.table).FindMutable(ref.uuid));
    }
  }
  Status status;
  txn->ForEach([&](TxnRow& r) {
    if (!status || r.deleted) return;
    status = PruneWeak(txn, &r, /*all_columns=*/true);
  });
  return status;
}

std::string IndexValues(const std::vector<Datum>& key, const TableSchema& t,
                        const std::vector<int>& cols) {
  std::string s;
  for (size_t i = 0; i < key.size(); ++i) {
    if (i) s += ", ";
    s += key[i].ToString(t.columns[cols[i]].type);
  }
  return s;
}

std::string DescribeRow(const TxnRow* r, const Uuid& uuid, const Table& table, size_t idx) {
  std::string s = "with UUID " + uuid.ToString() + ", ";
  if (r == nullptr) {
    return s + "existed in the database before this transaction and was not modified "
               "by the transaction.";
  }
  if (r->inserted()) return s + "was inserted by this transaction.";
  return s + "had the following index values before the transaction: " +
         IndexValues(table.IndexKey(idx, *r->old), table.schema(),
                     table.schema().indexes[idx]) + ".";
}

Status CheckIndexes(TxnState* txn) {
  for (const TableSchema& t : txn->schema().tables) {
    const Table& table = txn->db().table(t.index);
    for (size_t i = 0; i < t.indexes.size(); ++i) {
      std::map<std::vector<Datum>, const TxnRow*> seen;
      for (auto& [uuid, r] : txn->rows(t.index)) {
        if (r.deleted) continue;
        std::vector<Datum> key;
        for (int c : t.indexes[i]) key.push_back(r.Get(c));
        const TxnRow* other = nullptr;
        Uuid other_uuid;
        auto [it, added] = seen.emplace(key, &r);
        if (!added) {
          other = it->second;
          other_uuid = other->uuid;
        } else if (const Row* existing = table.FindByIndex(i, key);
                   existing != nullptr && txn->Find(t.index, existing->uuid) == nullptr) {
          other_uuid = existing->uuid;
        } else {
          continue;
        }
        std::string cols;
        for (size_t k = 0; k < t.indexes[i].size(); ++k) {
          cols += (k ? ", \"" : "\"") + t.columns[t.indexes[i][k]].name + "\"";
        }
        return Error("constraint violation",
                     "Transaction causes multiple rows in \"" + t.name +
                         "\" table to have identical values (" +
                         IndexValues(key, t, t.indexes[i]) + ") for index on column" +
                         (t.indexes[i].size() > 1 ? "s " : " ") + cols + ".  First row, " +
                         DescribeRow(&r, r.uuid, table, i) + "  Second row, " +
                         DescribeRow(other, other_uuid, table, i));
      }
    }
  }
  return Status::Ok();
}

// Builds the pending ChangeSet, dropping writes that changed nothing.
std::unique_ptr<ChangeSet> BuildChanges(TxnState* txn) {
  auto cs = std::make_unique<ChangeSet>();
  cs->txn_id = Uuid::Random();
  for (size_t t = 0; t < txn->schema().tables.size(); ++t) {
    for (auto& [uuid, r] : txn->rows(static_cast<int>(t))) {
      if (!Live(r)) continue;
      RowChange ch;
      ch.table = r.table;
      ch.uuid = r.uuid;
      if (r.deleted) {
        ch.kind = ChangeKind::kDelete;
        ch.current = r.old;
      } else if (r.inserted()) {
        ch.kind = ChangeKind::kInsert;
        SetRowVersion(r.fresh.get(), Uuid::Random());
        ch.row = std::move(r.fresh);
      } else {
        ch.kind = ChangeKind::kModify;
        ch.current = r.old;
        for (auto& [c, v] : r.written) {
          if (v == r.old->fields[c]) continue;
          ch.columns.push_back(c);
          ch.values.push_back(std::move(v));
        }
        if (ch.columns.empty()) continue;
      }
      cs->rows.push_back(std::move(ch));
    }
  }
  return cs;
}

// Adjusts reference bookkeeping for the references held by `values` of
// columns `cols` of row `from` (sign +1 adds, -1 removes).
void AdjustRefs(Database& db, RowRef from, const TableSchema& t,
                const std::vector<int>& cols, const std::vector<const Datum*>& values,
                int sign) {
  for (size_t i = 0; i < cols.size(); ++i) {
    const ColumnSchema& c = t.columns[cols[i]];
    if (!c.HasRefs()) continue;
    ForEachRef(c, *values[i], [&](int table, const Uuid& to, bool strong) {
      Row* target = db.mutable_table(table).FindMutable(to);
      if (target == nullptr) return;
      if (strong) {
        target->n_strong_refs += sign;
      } else if (sign > 0) {
        ++target->weak_referrers[from];
      } else if (auto it = target->weak_referrers.find(from);
                 it != target->weak_referrers.end() && --it->second == 0) {
        target->weak_referrers.erase(it);
      }
    });
  }
}

// The (columns, values) whose references a change removes or adds.
void RefColumns(const RowChange& ch, const Row* row, bool old_side, std::vector<int>* cols,
                std::vector<const Datum*>* vals, const TableSchema& t) {
  cols->clear();
  vals->clear();
  if (!t.has_refs) return;
  if (ch.kind == ChangeKind::kModify) {
    for (size_t i = 0; i < ch.columns.size(); ++i) {
      cols->push_back(ch.columns[i]);
      vals->push_back(old_side ? &row->fields[ch.columns[i]] : &ch.values[i]);
    }
    return;
  }
  for (const ColumnSchema& c : t.columns) {
    if (!c.HasRefs()) continue;
    cols->push_back(c.index);
    vals->push_back(&row->fields[c.index]);
  }
}

}  // namespace

Result<std::unique_ptr<ChangeSet>> Precommit(TxnState* txn) {
  RefDelta delta;
  txn->ForEach([&](TxnRow& r) {
    if (!Live(r)) return;
    const TableSchema& t = txn->schema().tables[r.table];
    if (!t.has_refs) return;
    if (!r.inserted()) CountRefs(t, r, /*use_old=*/true, r.deleted, -1, &delta);
    if (!r.deleted) CountRefs(t, r, /*use_old=*/false, r.inserted(), +1, &delta);
  });
  if (Status s = CheckNewRefs(txn); !s) return s.error();
  CollectGarbage(txn, &delta);
  if (Status s = CheckDeletedRefs(txn, delta); !s) return s.error();
  if (Status s = CheckMaxRows(txn); !s) return s.error();
  if (Status s = AssessWeakRefs(txn); !s) return s.error();
  if (Status s = CheckIndexes(txn); !s) return s.error();
  return BuildChanges(txn);
}

void ApplyChanges(Database& db, ChangeSet* cs) {
  std::vector<int> cols;
  std::vector<const Datum*> vals;
  // 1. Drop the references held by old values while every target exists.
  for (RowChange& ch : cs->rows) {
    if (ch.kind == ChangeKind::kInsert) continue;
    const TableSchema& t = db.schema().tables[ch.table];
    RefColumns(ch, ch.current, true, &cols, &vals, t);
    AdjustRefs(db, {ch.table, ch.uuid}, t, cols, vals, -1);
  }
  // 2. Move values in and out.
  for (RowChange& ch : cs->rows) {
    Table& table = db.mutable_table(ch.table);
    if (ch.kind == ChangeKind::kInsert) {
      Row* row = ch.row.get();
      table.Insert(std::move(ch.row));
      ch.current = row;
    } else if (ch.kind == ChangeKind::kDelete) {
      ch.row = table.Remove(ch.uuid);
      ch.current = nullptr;
    } else {
      Row* row = table.FindMutable(ch.uuid);
      table.Unindex(*row);
      for (size_t i = 0; i < ch.columns.size(); ++i) {
        std::swap(row->fields[ch.columns[i]], ch.values[i]);
      }
      SetRowVersion(row, Uuid::Random());
      table.Reindex(row);
      ch.current = row;
    }
  }
  // 3. Add the references held by new values.
  for (RowChange& ch : cs->rows) {
    if (ch.kind == ChangeKind::kDelete) continue;
    const TableSchema& t = db.schema().tables[ch.table];
    if (ch.kind == ChangeKind::kModify) {
      cols = ch.columns;
      vals.clear();
      for (int c : cols) vals.push_back(&ch.current->fields[c]);
      if (!t.has_refs) continue;
    } else {
      RefColumns(ch, ch.current, false, &cols, &vals, t);
    }
    AdjustRefs(db, {ch.table, ch.uuid}, t, cols, vals, +1);
  }
  cs->phase = ChangeSet::Phase::kApplied;
}

const Datum& RowChange::OldValue(int c) const {
  if (kind == ChangeKind::kDelete) return row->fields[c];
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == c) return values[i];
  }
  return current->fields[c];
}

void ApplyUnchecked(Database& db, ChangeSet* cs) {
  for (RowChange& ch : cs->rows) {
    Table& table = db.mutable_table(ch.table);
    if (ch.kind == ChangeKind::kInsert) {
      if (table.Find(ch.uuid)) table.Remove(ch.uuid);
      Row* row = ch.row.get();
      table.Insert(std::move(ch.row));
      ch.current = row;
    } else if (ch.kind == ChangeKind::kDelete) {
      ch.row = table.Remove(ch.uuid);
    } else if (Row* row = table.FindMutable(ch.uuid)) {
      table.Unindex(*row);
      for (size_t i = 0; i < ch.columns.size(); ++i) {
        std::swap(row->fields[ch.columns[i]], ch.values[i]);
      }
      table.Reindex(row);
      ch.current = row;
    }
  }
  cs->phase = ChangeSet::Phase::kApplied;
}

}  // namespace spate::ovsdb
