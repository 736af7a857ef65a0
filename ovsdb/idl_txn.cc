#include "ovsdb/idl_txn.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "ovsdb/condition.h"

namespace spate::ovsdb::idl {

enum OpKind { kWait, kInsert, kUpdate, kMutate, kDelete };

// One mutation of a mutate operation.
struct Mutation {
  int column = 0;       // Column index.
  std::string mutator;  // "insert", "delete", ...
  Datum value;          // The argument.
  Type type;            // How to encode `value`.
};

struct Txn::Op {
  OpKind kind = kUpdate;                         // Operation.
  std::string table;                             // Table name.
  Uuid row;                                      // Row (or a new row's UUID).
  std::vector<std::pair<int, Datum>> columns;    // Insert/update values; wait: expected.
  std::vector<Mutation> mutations;               // Mutate.
  uint32_t insert_n = 0;                         // Insert: n of its uuid-name "rowN".
};

// The value an arithmetic mutation must leave in a column (see Guards()).
struct Guard {
  std::string table;  // Table name.
  Uuid row;           // Row.
  int column = 0;     // Column index.
  Datum before;       // The replica's value when the transaction was sent.
  Datum expected;     // `before` with the transaction's mutations applied.
};

// Which operation of a transaction holds a (row, kind, table).
struct OpKey {
  Uuid row;           // Row.
  int kind = 0;       // OpKind.
  std::string table;  // Table name.
  bool operator==(const OpKey&) const = default;
};

struct OpKeyHash {
  size_t operator()(const OpKey& k) const {
    return UuidHash()(k.row) + static_cast<size_t>(k.kind);
  }
};

struct Txn::State {
  std::vector<Op> ops;                                         // In order.
  std::unordered_map<OpKey, size_t, OpKeyHash> op_index;       // -> index in ops.
  uint32_t n_inserts = 0;                                      // Insert operations.
  std::vector<std::string> comments;                           // Comment ops.
  Status error;                                                // First build error.
  std::optional<TxnResult> replied;                            // Reply parsed.
  bool done = false;                                           // Callback ran.
  std::string request;                                         // transact params sent (JSON text).
  size_t ops_begin = 0;                                        // Offset of the first op's comma.
  std::vector<std::pair<OpKind, Uuid>> sent;                   // Kinds and rows of `request`.
  std::chrono::steady_clock::time_point sent_at;               // Last (re)send.
  std::vector<Guard> guards;                                   // Arithmetic mutations.
  std::set<Uuid> collected;                                    // Inserted rows the server
                                                               // garbage-collects (Collected()).
  std::map<std::pair<Uuid, int>, size_t> last;                 // LastWriters().
  int resends = 0;                                             // Outcome resolutions.
};

namespace {

// True if `st` inserts `row` into `table` (while it is being built).
bool Inserts(const Txn::State& st, std::string_view table, const Uuid& row) {
  return st.op_index.count(OpKey{row, kInsert, std::string(table)}) > 0;
}

// New-row UUID -> real UUID, or nullptr when every inserted row got the
// UUID this client chose (always, with a server that honours "uuid").
using RealMap = const std::map<Uuid, Uuid>*;

RealMap Remapping(const std::map<Uuid, Uuid>& real) {
  for (const auto& [new_uuid, uuid] : real) {
    if (new_uuid != uuid) return &real;
  }
  return nullptr;
}

// `d` with new rows' UUIDs replaced by the real ones.
Datum Resolve(const Datum& d, const std::map<Uuid, Uuid>& real) {
  Datum out = d;
  bool changed = false;
  auto fix = [&](std::vector<Atom>& atoms) {
    for (Atom& a : atoms) {
      if (a.type() != AtomicType::kUuid) continue;
      auto it = real.find(a.uuid());
      if (it != real.end()) {
        a = Atom(it->second);
        changed = true;
      }
    }
  };
  fix(out.mutable_keys());
  fix(out.mutable_values());
  if (changed) (void)out.Sort(d.is_map());
  return out;
}

// True if `field` equals `d` once `d`'s new-row UUIDs are resolved.
bool EqualResolved(const Datum& field, const Datum& d, RealMap real) {
  return real == nullptr ? field == d : field == Resolve(d, *real);
}

Type ElementsType(const Type& column, bool keys_only) {
  Type t = column;
  if (keys_only) t.has_value = false;
  t.n_min = 0;
  t.n_max = kUnlimited;
  return t;
}

enum class Expect { kAbsent, kPresent, kNotPair };

// Whether `field` shows the net effect of the "insert"/"delete" mutations
// of `column` in `op`, taken in order: a key deleted and then inserted
// (SetMapEntry) must carry the inserted value; a key only inserted must be
// present (a map "insert" never overwrites); a deleted key must be absent.
// Arithmetic mutators are not checked here (see Guard).  Nothing is copied
// but the mutation arguments.
bool MutationsSeen(const Datum& field, const Txn::Op& op, int column,
                   const std::map<Uuid, Uuid>& real) {
  std::map<Atom, std::pair<Expect, std::optional<Atom>>> expect;
  for (const Mutation& m : op.mutations) {
    bool insert = m.mutator == "insert";
    if (m.column != column || (!insert && m.mutator != "delete")) continue;
    Datum v = Resolve(m.value, real);
    for (size_t i = 0; i < v.size(); ++i) {
      const Atom& k = v.keys()[i];
      std::optional<Atom> value;
      if (v.is_map()) value = v.values()[i];
      auto it = expect.find(k);
      if (insert) {
        if (it == expect.end()) {
          expect.emplace(k, std::make_pair(Expect::kPresent, std::nullopt));
        } else if (it->second.first == Expect::kAbsent) {
          it->second = {Expect::kPresent, value};
        }
      } else if (!value || (it != expect.end() && it->second.first == Expect::kPresent &&
                            it->second.second == value)) {
        expect[k] = {Expect::kAbsent, std::nullopt};
      } else if (it == expect.end() || it->second.first != Expect::kAbsent) {
        expect[k] = {Expect::kNotPair, value};
      }
    }
  }
  for (const auto& [k, e] : expect) {
    ptrdiff_t i = field.Find(k);
    bool has_value = i >= 0 && e.second && field.is_map();
    switch (e.first) {
      case Expect::kAbsent:
        if (i >= 0) return false;
        break;
      case Expect::kPresent:
        if (i < 0 || (has_value && !(field.values()[i] == *e.second))) return false;
        break;
      case Expect::kNotPair:
        if (has_value && field.values()[i] == *e.second) return false;
        break;
    }
  }
  return true;
}

// Whether `op` (not deleted by this transaction) stores a strong reference
// to `target` in one of its values.
bool StronglyRefers(const Txn::Op& op, const TableSchema& ts, const Uuid& target) {
  auto holds = [&](const ColumnSchema& c, const Datum& d) {
    bool keys = c.key_ref_table >= 0 && c.type.key.ref_type == RefType::kStrong;
    bool values = c.value_ref_table >= 0 && c.type.value.ref_type == RefType::kStrong;
    Atom a(target);
    return (keys && d.Find(a) >= 0) ||
           (values && std::find(d.values().begin(), d.values().end(), a) != d.values().end());
  };
  for (const auto& [c, value] : op.columns) {
    if (op.kind != kWait && holds(ts.columns[c], value)) return true;
  }
  for (const Mutation& m : op.mutations) {
    if (m.mutator == "insert" && holds(ts.columns[m.column], m.value)) return true;
  }
  return false;
}

// The rows this transaction inserts that the server will garbage-collect
// at commit: rows of non-root tables that nothing in the transaction
// references strongly (nothing else can: their UUIDs are new), or that are
// referenced only by other such rows or by rows it deletes.  They never
// appear in the replica, so the "seen" check must not wait for them.
std::set<Uuid> Collected(Idl& idl, const Txn::State& st) {
  std::set<Uuid> collected;
  if (idl.replica() == nullptr) return collected;
  const DatabaseSchema& schema = idl.replica()->schema();
  std::set<Uuid> deleted;
  for (const Txn::Op& op : st.ops) {
    if (op.kind == kDelete) deleted.insert(op.row);
    if (op.kind != kInsert) continue;
    const TableSchema* ts = schema.FindTable(op.table);
    if (ts != nullptr && !ts->is_root) collected.insert(op.row);
  }
  for (bool changed = !collected.empty(); changed;) {  // Until no row is found referenced.
    changed = false;
    for (auto it = collected.begin(); it != collected.end();) {
      bool kept = std::any_of(st.ops.begin(), st.ops.end(), [&](const Txn::Op& op) {
        const TableSchema* ts = schema.FindTable(op.table);
        return !collected.count(op.row) && !deleted.count(op.row) && ts != nullptr &&
               StronglyRefers(op, *ts, *it);
      });
      it = kept ? collected.erase(it) : std::next(it);
      changed = changed || kept;
    }
  }
  return collected;
}

// The server applies inserts first, then the rest in order.
size_t Rank(const Txn::State& st, size_t i) {
  return (st.ops[i].kind == kInsert ? 0 : st.ops.size()) + i;
}

// For a column both written (insert/update) and mutated in one row, the
// rank of the operation the server applies last: the only one whose
// effect the replica can show.  Only rows with both kinds of operation
// have entries.
std::map<std::pair<Uuid, int>, size_t> LastWriters(const Txn::State& st) {
  std::map<std::pair<Uuid, int>, size_t> last;
  for (size_t i = 0; i < st.ops.size(); ++i) {
    const Txn::Op& op = st.ops[i];
    if (op.kind != kMutate) continue;
    for (int kind : {kInsert, kUpdate}) {
      auto w = st.op_index.find(OpKey{op.row, kind, op.table});
      if (w == st.op_index.end()) continue;
      auto note = [&](size_t j, int c) {
        size_t& l = last[{op.row, c}];
        l = std::max(l, Rank(st, j));
      };
      for (const auto& [c, value] : st.ops[w->second].columns) note(w->second, c);
      for (const Mutation& m : op.mutations) note(i, m.column);
    }
  }
  return last;
}

// Whether the replica row `row` shows operation `i` (insert/update/mutate).
bool OpSeen(const ReplicaTable& t, const IdlRow& row, const Txn::State& st, size_t i,
            RealMap real) {
  static const std::map<Uuid, Uuid> kIdentity;
  const Txn::Op& op = st.ops[i];
  auto checked_here = [&](int c) {
    if (!std::binary_search(t.columns().begin(), t.columns().end(), c)) return false;
    auto l = st.last.find({op.row, c});
    return l == st.last.end() || l->second == Rank(st, i);
  };
  for (const auto& [c, value] : op.columns) {
    if (checked_here(c) && !EqualResolved(row.fields[c], value, real)) return false;
  }
  if (op.mutations.empty()) return true;
  std::set<int> mutated;
  for (const Mutation& m : op.mutations) mutated.insert(m.column);
  for (int c : mutated) {
    if (checked_here(c) && !MutationsSeen(row.fields[c], op, c, real ? *real : kIdentity)) {
      return false;
    }
  }
  return true;
}

// True if the replica shows the effects of the transaction: inserted rows
// present (except those the server garbage-collects), deleted rows gone,
// written columns equal, set/map mutations visible and, with `guards`,
// arithmetic results as expected.  With `guards`, also false if nothing
// at all could be checked (every table unreplicated or filtered): absence
// of evidence is not a commit.
bool Seen(Idl& idl, const Txn::State& st, const std::map<Uuid, Uuid>& real, bool guards) {
  size_t checked = 0;
  RealMap remap = Remapping(real);
  for (size_t i = 0; i < st.ops.size(); ++i) {
    const Txn::Op& op = st.ops[i];
    const ReplicaTable* t = idl.table(op.table);
    if (t == nullptr || !t->where().is_null() || op.kind == kWait) continue;
    if (!st.collected.empty() && st.collected.count(op.row)) continue;
    ++checked;
    auto it = remap ? remap->find(op.row) : real.end();
    const IdlRow* row = t->Find(it == real.end() ? op.row : it->second);
    if (op.kind == kDelete) {
      if (row != nullptr) return false;
      continue;
    }
    if (row == nullptr || !OpSeen(*t, *row, st, i, remap)) return false;
  }
  if (!guards) return true;
  for (const Guard& g : st.guards) {
    const ReplicaTable* t = idl.table(g.table);
    const IdlRow* row = t ? t->Find(g.row) : nullptr;
    if (row == nullptr || !(row->fields[g.column] == g.expected)) return false;
  }
  return checked > 0;
}

// ---- JSON text of the request ----------------------------------------------
// Written straight into one string: a full build's 40k operations would
// otherwise become a Json tree, be copied, serialised and freed.

void AppendUuid(std::string& out, const Uuid& u) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[36];
  int pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) buf[pos++] = '-';
    uint64_t word = i < 16 ? u.hi : u.lo;
    buf[pos++] = kHex[(word >> (60 - 4 * (i % 16))) & 0xf];
  }
  out.append(buf, sizeof buf);
}

void AppendAtom(std::string& out, const Atom& a) {
  switch (a.type()) {
    case AtomicType::kInteger: {
      char buf[24];
      auto end = std::to_chars(buf, buf + sizeof buf, a.integer()).ptr;
      out.append(buf, end);
      return;
    }
    case AtomicType::kReal: out += DumpJson(a.real()); return;
    case AtomicType::kBoolean: out += a.boolean() ? "true" : "false"; return;
    case AtomicType::kString: AppendJsonString(out, a.string()); return;
    case AtomicType::kUuid:
      // New rows are referred to by their client-chosen UUID, never by
      // "named-uuid": a named-uuid used before the insert that names it
      // would be given another UUID by Open vSwitch's server.
      out += "[\"uuid\",\"";
      AppendUuid(out, a.uuid());
      out += "\"]";
      return;
  }
}

// Datum::ToJson(type), as text.
void AppendDatum(std::string& out, const Datum& d, const Type& type) {
  if (!type.IsMap() && d.size() == 1) return AppendAtom(out, d.keys()[0]);
  out += type.IsMap() ? "[\"map\",[" : "[\"set\",[";
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0) out += ',';
    if (type.IsMap()) out += '[';
    AppendAtom(out, d.keys()[i]);
    if (type.IsMap()) {
      out += ',';
      AppendAtom(out, d.values()[i]);
      out += ']';
    }
  }
  out += "]]";
}

// ,"where":[["_uuid","==",["uuid","U"]]]
void AppendWhere(std::string& out, const Uuid& row) {
  out += ",\"where\":[[\"_uuid\",\"==\",[\"uuid\",\"";
  AppendUuid(out, row);
  out += "\"]]]";
}

// {"col":value,...} for the (column, value) pairs of `columns`.
void AppendRow(std::string& out, const std::vector<std::pair<int, Datum>>& columns,
               const TableSchema& ts) {
  out += '{';
  for (size_t i = 0; i < columns.size(); ++i) {
    const ColumnSchema& c = ts.columns[columns[i].first];
    if (i > 0) out += ',';
    AppendJsonString(out, c.name);
    out += ':';
    AppendDatum(out, columns[i].second, c.type);
  }
  out += '}';
}

// {"op":"wait",...}: the rows of `columns` still hold these values.
void AppendWait(std::string& out, const std::string& table, const Uuid& row,
                const std::vector<std::pair<int, Datum>>& columns, const TableSchema& ts) {
  out += "{\"op\":\"wait\",\"table\":";
  AppendJsonString(out, table);
  out += ",\"timeout\":0,\"until\":\"==\"";
  AppendWhere(out, row);
  out += ",\"columns\":[";
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, ts.columns[columns[i].first].name);
  }
  out += "],\"rows\":[";
  AppendRow(out, columns, ts);
  out += "]}";
}

void AppendOp(std::string& out, const Txn::Op& op, const TableSchema& ts) {
  if (op.kind == kWait) return AppendWait(out, op.table, op.row, op.columns, ts);
  static constexpr const char* kNames[] = {"wait", "insert", "update", "mutate", "delete"};
  out += "{\"op\":\"";
  out += kNames[op.kind];
  out += "\",\"table\":";
  AppendJsonString(out, op.table);
  if (op.kind == kInsert) {
    // The client chooses the UUID (Open vSwitch's "uuid" member), so an
    // insert can be recognised, and never repeated, after a lost reply.
    out += ",\"uuid\":\"";
    AppendUuid(out, op.row);
    out += "\",\"uuid-name\":\"row" + std::to_string(op.insert_n) + '"';
  } else {
    AppendWhere(out, op.row);
  }
  if (op.kind == kInsert || op.kind == kUpdate) {
    out += ",\"row\":";
    AppendRow(out, op.columns, ts);
  } else if (op.kind == kMutate) {
    out += ",\"mutations\":[";
    for (size_t i = 0; i < op.mutations.size(); ++i) {
      const Mutation& m = op.mutations[i];
      out += i > 0 ? ",[" : "[";
      AppendJsonString(out, ts.columns[m.column].name);
      out += ',';
      AppendJsonString(out, m.mutator);
      out += ',';
      AppendDatum(out, m.value, m.type);
      out += ']';
    }
    out += ']';
  }
  out += '}';
}

// Fills `result` from the transact reply; `ops` are the operations sent,
// in order, as (kind, new row's UUID).
void ReadReply(const Json& reply, const std::vector<std::pair<OpKind, Uuid>>& ops,
               TxnResult* result) {
  if (!reply.is_array()) {
    result->error = Error("syntax error", "transact reply is not an array");
    return;
  }
  for (size_t i = 0; i < reply.size(); ++i) {
    const Json& r = reply[i];
    if (!r.is_object()) continue;
    auto e = r.find("error");
    if (e != r.end() && e->is_string()) {
      std::string details = r.value("details", std::string());
      bool conflict = i < ops.size() && ops[i].first == kWait && *e == "timed out";
      result->status = conflict ? TxnStatus::kTryAgain : TxnStatus::kError;
      result->error = conflict ? Error("try again", "a verified column changed")
                               : Error(e->get<std::string>(), details);
      return;
    }
    auto u = r.find("uuid");
    if (i < ops.size() && ops[i].first == kInsert && u != r.end() && u->is_array() &&
        u->size() == 2 && (*u)[1].is_string()) {
      if (auto real = Uuid::Parse((*u)[1].get<std::string>())) result->inserted[ops[i].second] = *real;
    }
  }
  result->status = TxnStatus::kSuccess;
}

// ReadReply(), keeping the reply in `result` (moved, not copied).
void ParseReply(Json reply, const std::vector<std::pair<OpKind, Uuid>>& ops, TxnResult* result) {
  ReadReply(reply, ops, result);
  result->reply = std::move(reply);
}

}  // namespace

std::string_view TxnStatusName(TxnStatus status) {
  switch (status) {
    case TxnStatus::kSuccess: return "success";
    case TxnStatus::kTryAgain: return "try again";
    case TxnStatus::kError: break;
  }
  return "error";
}

Uuid TxnResult::Real(const Uuid& uuid) const {
  auto it = inserted.find(uuid);
  return it == inserted.end() ? uuid : it->second;
}

Txn::Txn(Idl& idl) : idl_(idl), state_(std::make_unique<State>()) {}
Txn::~Txn() = default;

Txn::Op& Txn::OpFor(int kind, std::string_view table, const Uuid& row) {
  OpKey key{row, kInsert, std::string(table)};
  if (kind == kUpdate) {
    // Columns written on a row inserted here go into its insert.
    auto insert = state_->op_index.find(key);
    if (insert != state_->op_index.end()) return state_->ops[insert->second];
  }
  key.kind = kind;
  auto [it, fresh] = state_->op_index.try_emplace(std::move(key), state_->ops.size());
  if (!fresh) return state_->ops[it->second];
  Op& op = state_->ops.emplace_back();
  op.kind = static_cast<OpKind>(kind);
  op.table = std::string(table);
  op.row = row;
  if (kind == kInsert) op.insert_n = ++state_->n_inserts;
  return op;
}

Status Txn::Record(std::string_view table, const Uuid& row, std::string_view column,
                   const ColumnSchema** out_column) {
  Status s;
  Replica* replica = idl_.replica();
  const TableSchema* ts = replica ? replica->schema().FindTable(table) : nullptr;
  if (replica == nullptr) {
    s = Error("not connected", "the database schema is not known yet");
  } else if (ts == nullptr) {
    s = Error("syntax error", "no table named " + std::string(table));
  } else if (row.IsZero()) {
    s = Error("syntax error", "zero row UUID");
  } else if (out_column != nullptr) {
    *out_column = ts->FindColumn(column);
    if (*out_column == nullptr || (*out_column)->index <= kVersionColumn) {
      s = Error("syntax error", "table " + ts->name + " has no writable column " + std::string(column));
    }
  }
  if (!s.ok() && state_->error.ok()) state_->error = s;
  return s;
}

Uuid Txn::Insert(std::string_view table) {
  Uuid row = Uuid::Random();
  if (!Record(table, row, "", nullptr).ok()) return row;
  OpFor(kInsert, table, row);
  return row;
}

Status Txn::Set(std::string_view table, const Uuid& row, std::string_view column, Datum value) {
  const ColumnSchema* c = nullptr;
  Status s = Record(table, row, column, &c);
  if (s.ok()) s = value.CheckSize(c->type);
  if (s.ok()) s = value.CheckConstraints(c->type);
  if (!s.ok()) {
    if (state_->error.ok()) state_->error = s;
    return s;
  }
  Op& op = OpFor(kUpdate, table, row);
  for (auto& [idx, v] : op.columns) {
    if (idx == c->index) {
      v = std::move(value);
      return Status::Ok();
    }
  }
  op.columns.emplace_back(c->index, std::move(value));
  return Status::Ok();
}

Status Txn::SetString(std::string_view table, const Uuid& row, std::string_view column,
                      std::string value) {
  return Set(table, row, column, Datum(Atom(std::move(value))));
}

Status Txn::SetInteger(std::string_view table, const Uuid& row, std::string_view column,
                       int64_t value) {
  return Set(table, row, column, Datum(Atom(value)));
}

Status Txn::SetBool(std::string_view table, const Uuid& row, std::string_view column,
                    bool value) {
  return Set(table, row, column, Datum(Atom(value)));
}

Status Txn::Delete(std::string_view table, const Uuid& row) {
  Status s = Record(table, row, "", nullptr);
  if (s.ok()) OpFor(kDelete, table, row);
  return s;
}

Status Txn::Verify(std::string_view table, const Uuid& row, std::string_view column) {
  const ColumnSchema* c = nullptr;
  Status s = Record(table, row, column, &c);
  if (!s.ok() || Inserts(*state_, table, row)) return s;  // New rows need no check.
  const ReplicaTable* t = idl_.table(table);
  const IdlRow* r = t ? t->Find(row) : nullptr;
  bool replicated = t && std::binary_search(t->columns().begin(), t->columns().end(), c->index);
  if (r == nullptr || !replicated) {
    s = Error("syntax error", "row " + row.ToString() + " or column " + std::string(column) +
                                  " is not in the replica of " + std::string(table));
    if (state_->error.ok()) state_->error = s;
    return s;
  }
  Op& op = OpFor(kWait, table, row);
  for (const auto& [idx, v] : op.columns) {
    if (idx == c->index) return Status::Ok();
  }
  op.columns.emplace_back(c->index, r->fields[c->index]);
  return Status::Ok();
}

Status Txn::Mutate(std::string_view table, const Uuid& row, std::string_view column,
                   std::string mutator, Datum value) {
  const ColumnSchema* c = nullptr;
  Status s = Record(table, row, column, &c);
  if (!s.ok()) return s;
  bool keys_only = c->type.IsMap() && mutator == "delete" && !value.is_map();
  Type type = ElementsType(c->type, keys_only);
  if (mutator == "insert" || mutator == "delete") {
    s = value.CheckConstraints(type);
  }
  if (!s.ok()) {
    if (state_->error.ok()) state_->error = s;
    return s;
  }
  OpFor(kMutate, table, row).mutations.push_back({c->index, std::move(mutator), std::move(value), type});
  return Status::Ok();
}

Status Txn::InsertToSet(std::string_view table, const Uuid& row, std::string_view column,
                        Atom a) {
  return Mutate(table, row, column, "insert", Datum(std::move(a)));
}

Status Txn::RemoveFromSet(std::string_view table, const Uuid& row, std::string_view column,
                          Atom a) {
  return Mutate(table, row, column, "delete", Datum(std::move(a)));
}

Status Txn::SetMapEntry(std::string_view table, const Uuid& row, std::string_view column,
                        Atom key, Atom value) {
  Status s = RemoveMapKey(table, row, column, key);
  if (!s.ok()) return s;
  const TableSchema* ts = idl_.replica()->schema().FindTable(table);  // Checked above.
  const ColumnSchema* c = ts->FindColumn(column);
  Type type = c->type;
  Result<Datum> pair = Datum::FromAtoms(type, {std::move(key)}, {std::move(value)});
  if (!pair.ok()) return pair.error();
  return Mutate(table, row, column, "insert", std::move(pair).value());
}

Status Txn::RemoveMapKey(std::string_view table, const Uuid& row, std::string_view column,
                         Atom key) {
  return Mutate(table, row, column, "delete", Datum(std::move(key)));
}

void Txn::AddComment(std::string comment) { state_->comments.push_back(std::move(comment)); }

namespace {

std::optional<Mutator> MutatorOf(const std::string& name) {
  static const std::map<std::string, Mutator, std::less<>> kMutators = {
      {"+=", Mutator::kAdd}, {"-=", Mutator::kSub}, {"*=", Mutator::kMul},
      {"/=", Mutator::kDiv}, {"%=", Mutator::kMod}, {"insert", Mutator::kInsert},
      {"delete", Mutator::kDelete}};
  auto it = kMutators.find(name);
  if (it == kMutators.end()) return std::nullopt;
  return it->second;
}

// For every column of an existing row that `op` changes with an arithmetic
// mutator ("+=", ...), the replica's current value and the value the
// mutations produce from it.  An arithmetic mutation is the only kind that
// is not idempotent, so it is the only one a resend must guard.
void AddGuards(Idl& idl, const Txn::Op& op, std::vector<Guard>* guards) {
  const ReplicaTable* t = idl.table(op.table);
  const IdlRow* row = t ? t->Find(op.row) : nullptr;
  if (row == nullptr) return;
  std::set<int> arithmetic;
  for (const Mutation& m : op.mutations) {
    if (m.mutator != "insert" && m.mutator != "delete") arithmetic.insert(m.column);
  }
  for (int c : arithmetic) {
    if (!std::binary_search(t->columns().begin(), t->columns().end(), c)) continue;
    Guard g{op.table, op.row, c, row->fields[c], row->fields[c]};
    bool ok = true;
    for (const Mutation& m : op.mutations) {
      std::optional<Mutator> mut = MutatorOf(m.mutator);
      if (m.column != c || !mut) continue;
      ovsdb::Mutation om{*mut, c, m.value, m.mutator};
      ok = ok && om.Apply(t->schema().columns[c], &g.expected).ok();
    }
    if (ok) guards->push_back(std::move(g));
  }
}

// The same transaction again, behind its guards (each a "wait" that holds
// only while its column still has its old value): used when the
// connection dropped before the reply (see Resolve()).
std::string ResendRequest(const Txn::State& st, const DatabaseSchema& schema,
                          std::vector<std::pair<OpKind, Uuid>>* sent) {
  std::string params(st.request, 0, st.ops_begin);
  for (const Guard& g : st.guards) {
    params += ',';
    AppendWait(params, g.table, g.row, {{g.column, g.before}}, *schema.FindTable(g.table));
    sent->emplace_back(kWait, g.row);
  }
  params.append(st.request, st.ops_begin);
  sent->insert(sent->end(), st.sent.begin(), st.sent.end());
  return params;
}

using Done = std::function<void(TxnResult)>;

// Reports the result kept in st->replied once the replica shows the
// transaction's effects.
void FinishWhenSeen(Idl* idl, std::shared_ptr<Txn::State> st, Done done) {
  idl->AddChangeWaiter([idl, st, done]() {
    if (!idl->synced() || !Seen(*idl, *st, st->replied->inserted, false)) return false;
    TxnResult result = std::move(*st->replied);
    result.replica_seen = true;
    st->done = true;
    done(std::move(result));
    return true;
  });
}

void Resolve(Idl* idl, std::shared_ptr<Txn::State> st, Done done);

// Handles the reply to the transaction or to a resend of it.
void OnReply(Idl* idl, std::shared_ptr<Txn::State> st, Done done,
             const std::vector<std::pair<OpKind, Uuid>>& sent, Result<Json> r) {
  if (!r.ok() && r.error().tag() == "connection lost") return Resolve(idl, st, done);
  TxnResult result;
  if (!r.ok()) {
    result.error = r.error();
  } else {
    ParseReply(std::move(r).value(), sent, &result);
  }
  if (st->resends > 0) result.recovery = TxnRecovery::kResent;
  if (!result.ok() && st->resends > 0) {
    // The resend failed: either the first attempt committed (its inserted
    // UUIDs now exist, its guarded columns moved) or the world changed.
    bool duplicate = result.error.tag() == "duplicate uuid";
    if (duplicate || Seen(*idl, *st, {}, true)) {
      result = TxnResult();
      result.status = TxnStatus::kSuccess;
      result.recovery = TxnRecovery::kFoundCommitted;
      for (const Txn::Op& op : st->ops) {
        if (op.kind == kInsert) result.inserted[op.row] = op.row;
      }
    }
  }
  result.sent_at = st->sent_at;
  result.replied_at = std::chrono::steady_clock::now();
  // Answered: nothing will be resent, so the request text can go.
  std::string().swap(st->request);
  if (!result.ok()) {
    st->replied = result;
    st->done = true;
    return done(std::move(result));
  }
  st->replied = std::move(result);
  FinishWhenSeen(idl, st, std::move(done));
}

// The connection dropped after the transaction was handed to it: whether
// it committed is unknown.  Once the Idl is synced again (on any server),
// resend it unchanged behind guards: its inserts carry client-chosen UUIDs
// ("duplicate uuid" if the first attempt committed) and its arithmetic
// mutations wait for the values they started from.  Idempotent operations
// (update, set/map insert and delete, row delete) are harmless to repeat.
void Resolve(Idl* idl, std::shared_ptr<Txn::State> st, Done done) {
  idl->AddChangeWaiter([idl, st, done]() {
    if (!idl->synced() || idl->replica() == nullptr) return false;
    ++st->resends;
    auto sent = std::make_shared<std::vector<std::pair<OpKind, Uuid>>>();
    std::string params = ResendRequest(*st, idl->replica()->schema(), sent.get());
    st->sent_at = std::chrono::steady_clock::now();
    bool ok = idl->RequestText("transact", params, [idl, st, done, sent](Result<Json> r) {
      OnReply(idl, st, done, *sent, std::move(r));
    });
    if (!ok) Resolve(idl, st, done);
    return true;
  });
}

// Writes st.request (the transact params, as JSON text), st.sent and
// st.guards from st.ops.
void WriteRequest(Idl& idl, Txn::State& st) {
  const DatabaseSchema& schema = idl.replica()->schema();
  std::string& out = st.request;
  out.reserve(256 + st.ops.size() * 200);
  out += '[';
  AppendJsonString(out, schema.name);
  st.ops_begin = out.size();
  st.sent.reserve(st.ops.size());
  // Waits first: they must see the old values.  Then inserts, so that an
  // update, mutate or delete of a new row finds it whatever order the
  // caller built the transaction in.
  for (OpKind pass : {kWait, kInsert, kUpdate}) {
    for (const Txn::Op& op : st.ops) {
      OpKind group = op.kind == kWait || op.kind == kInsert ? op.kind : kUpdate;
      if (group != pass) continue;
      out += ',';
      AppendOp(out, op, *schema.FindTable(op.table));
      st.sent.emplace_back(op.kind, op.row);
      if (op.kind == kMutate && !Inserts(st, op.table, op.row)) AddGuards(idl, op, &st.guards);
    }
  }
  for (const std::string& c : st.comments) {
    out += ",{\"op\":\"comment\",\"comment\":";
    AppendJsonString(out, c);
    out += '}';
  }
  if (!idl.lock_name().empty()) {
    out += ",{\"op\":\"assert\",\"lock\":";
    AppendJsonString(out, idl.lock_name());
    out += '}';
  }
  out += ']';
}

}  // namespace

std::shared_ptr<Txn::State> Txn::Send(std::function<void(TxnResult)> done) {
  std::shared_ptr<State> st(std::move(state_));
  state_ = std::make_unique<State>();
  common::EventLoop& loop = idl_.loop();
  auto finish_later = [&loop, st, done](TxnStatus status, Error error) {
    TxnResult r;
    r.status = status;
    r.error = std::move(error);
    st->replied = r;
    loop.Post([st, done, r] {
      st->done = true;
      done(r);
    });
  };
  if (!st->error.ok()) {
    finish_later(TxnStatus::kError, st->error.error());
    return st;
  }
  if (idl_.replica() == nullptr) {
    finish_later(TxnStatus::kTryAgain, Error("not connected"));
    return st;
  }
  WriteRequest(idl_, *st);
  st->collected = Collected(idl_, *st);
  st->last = LastWriters(*st);
  decltype(st->op_index)().swap(st->op_index);  // Building is over.
  Idl* idl = &idl_;
  st->sent_at = std::chrono::steady_clock::now();
  bool sent_ok = idl_.RequestText("transact", st->request, [idl, st, done](Result<Json> r) {
    OnReply(idl, st, done, st->sent, std::move(r));
  });
  if (!sent_ok) finish_later(TxnStatus::kTryAgain, Error("not connected"));
  return st;
}

void Txn::Commit(std::function<void(TxnResult)> done) { Send(std::move(done)); }

TxnResult Txn::CommitBlock(std::chrono::milliseconds timeout) {
  auto out = std::make_shared<std::optional<TxnResult>>();
  std::shared_ptr<State> st = Send([out](TxnResult r) { *out = std::move(r); });
  idl_.RunUntil([&] { return out->has_value(); }, timeout);
  if (out->has_value()) return std::move(**out);
  if (st->replied.has_value()) return *st->replied;  // Replica not caught up.
  TxnResult r;
  r.error = Error("timed out", "no reply to the transaction");
  return r;
}

}  // namespace spate::ovsdb::idl
