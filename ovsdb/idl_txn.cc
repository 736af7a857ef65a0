#include "ovsdb/idl_txn.h"

#include <algorithm>
#include <optional>
#include <set>
#include <tuple>
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
  Uuid row;                                      // Row (or placeholder).
  std::vector<std::pair<int, Datum>> columns;    // Insert/update values; wait: expected.
  std::vector<Mutation> mutations;               // Mutate.
};

// The value an arithmetic mutation must leave in a column (see Guards()).
struct Guard {
  std::string table;  // Table name.
  Uuid row;           // Row.
  int column = 0;     // Column index.
  Datum before;       // The replica's value when the transaction was sent.
  Datum expected;     // `before` with the transaction's mutations applied.
};

struct Txn::State {
  std::vector<Op> ops;                                      // In order.
  std::map<std::tuple<int, std::string, Uuid>, size_t> op_index;  // (kind, table, row) -> op.
  std::map<Uuid, std::string> names;                        // Placeholder -> uuid-name.
  std::vector<std::string> comments;                        // Comment ops.
  Status error;                                             // First build error.
  std::optional<TxnResult> replied;                         // Reply parsed.
  bool done = false;                                        // Callback ran.
  Json request;                                             // transact params sent.
  std::vector<std::pair<OpKind, Uuid>> sent;                // Kinds and rows of `request`.
  std::vector<Guard> guards;                                // Arithmetic mutations.
  int resends = 0;                                          // Outcome resolutions.
};

namespace {

// New rows are referred to by their client-chosen UUID, ["uuid", u], never
// by "named-uuid": a named-uuid used before the insert that names it would
// be given another UUID by Open vSwitch's server.
Json Encode(const Datum& d, const Type& type) { return d.ToJson(type); }

// `d` with placeholder UUIDs replaced by the real ones.
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

Json UuidWhere(const Uuid& row) {
  return Json::array({Json::array({"_uuid", "==", Json::array({"uuid", row.ToString()})})});
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
    const TableSchema* ts = schema.FindTable(op.table);
    if (op.kind == kInsert && ts != nullptr && !ts->is_root) collected.insert(op.row);
  }
  for (bool changed = true; changed;) {  // Until no row is found referenced.
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

// True if the replica shows the effects of the transaction: inserted rows
// present (except those the server garbage-collects), deleted rows gone,
// written columns equal, set/map mutations visible and, with `guards`, arithmetic results as expected.  With
// `guards`, also false if nothing at all could be checked (every table
// unreplicated or filtered): absence of evidence is not a commit.
bool Seen(Idl& idl, const Txn::State& st, const std::map<Uuid, Uuid>& real, bool guards) {
  size_t checked = 0;
  std::set<Uuid> collected = Collected(idl, st);
  // A column both written and mutated is checked at the operation the
  // server applies last (inserts go first, then the rest in order).
  auto rank = [&](size_t i) { return (st.ops[i].kind == kInsert ? 0 : st.ops.size()) + i; };
  std::map<std::pair<Uuid, int>, size_t> last;
  for (size_t i = 0; i < st.ops.size(); ++i) {
    const Txn::Op& op = st.ops[i];
    if (op.kind == kWait) continue;
    auto note = [&](int c) {
      size_t& l = last[{op.row, c}];
      l = std::max(l, rank(i));
    };
    for (const auto& [c, value] : op.columns) note(c);
    for (const Mutation& m : op.mutations) note(m.column);
  }
  for (size_t i = 0; i < st.ops.size(); ++i) {
    const Txn::Op& op = st.ops[i];
    const ReplicaTable* t = idl.table(op.table);
    if (t == nullptr || !t->where().is_null() || op.kind == kWait) continue;
    if (collected.count(op.row)) continue;
    ++checked;
    auto it = real.find(op.row);
    const IdlRow* row = t->Find(it == real.end() ? op.row : it->second);
    if (op.kind == kDelete) {
      if (row != nullptr) return false;
      continue;
    }
    if (row == nullptr) return false;
    auto replicated = [&](int c) {
      return std::binary_search(t->columns().begin(), t->columns().end(), c) &&
             last[{op.row, c}] == rank(i);
    };
    for (const auto& [c, value] : op.columns) {
      if (replicated(c) && !(row->fields[c] == Resolve(value, real))) return false;
    }
    std::set<int> mutated;
    for (const Mutation& m : op.mutations) mutated.insert(m.column);
    for (int c : mutated) {
      if (replicated(c) && !MutationsSeen(row->fields[c], op, c, real)) return false;
    }
  }
  if (!guards) return true;
  for (const Guard& g : st.guards) {
    const ReplicaTable* t = idl.table(g.table);
    const IdlRow* row = t ? t->Find(g.row) : nullptr;
    if (row == nullptr || !(row->fields[g.column] == g.expected)) return false;
  }
  return checked > 0;
}

Json OpJson(const Txn::Op& op, const TableSchema& ts, const std::map<Uuid, std::string>& names) {
  Json j = {{"table", op.table}};
  Json row = Json::object();
  for (const auto& [c, value] : op.columns) {
    row[ts.columns[c].name] = Encode(value, ts.columns[c].type);
  }
  switch (op.kind) {
    case kWait:
      j.update({{"op", "wait"}, {"timeout", 0}, {"until", "=="},
                {"where", UuidWhere(op.row)}, {"rows", Json::array({row})}});
      j["columns"] = Json::array();
      for (const auto& [name, v] : row.items()) j["columns"].push_back(name);
      break;
    case kInsert:
      // The client chooses the UUID (Open vSwitch's "uuid" member), so an
      // insert can be recognised, and never repeated, after a lost reply.
      j.update({{"op", "insert"}, {"row", row}, {"uuid-name", names.at(op.row)},
                {"uuid", op.row.ToString()}});
      break;
    case kUpdate:
      j.update({{"op", "update"}, {"row", row}, {"where", UuidWhere(op.row)}});
      break;
    case kMutate: {
      Json muts = Json::array();
      for (const Mutation& m : op.mutations) {
        muts.push_back(Json::array(
            {ts.columns[m.column].name, m.mutator, Encode(m.value, m.type)}));
      }
      j.update({{"op", "mutate"}, {"mutations", muts}, {"where", UuidWhere(op.row)}});
      break;
    }
    case kDelete:
      j.update({{"op", "delete"}, {"where", UuidWhere(op.row)}});
      break;
  }
  return j;
}

// Fills `result` from the transact reply; `ops` are the operations sent,
// in order, as (kind, placeholder row).
void ParseReply(const Json& reply, const std::vector<std::pair<OpKind, Uuid>>& ops,
                TxnResult* result) {
  result->reply = reply;
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
  // Columns written on a row inserted here go into its insert.
  if (kind == kUpdate && state_->names.count(row)) kind = kInsert;
  auto key = std::make_tuple(kind, std::string(table), row);
  auto it = state_->op_index.find(key);
  if (it != state_->op_index.end()) return state_->ops[it->second];
  state_->op_index.emplace(key, state_->ops.size());
  Op& op = state_->ops.emplace_back();
  op.kind = static_cast<OpKind>(kind);
  op.table = std::string(table);
  op.row = row;
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
  state_->names.emplace(row, "row" + std::to_string(state_->names.size() + 1));
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
  if (!s.ok() || state_->names.count(row)) return s;  // New rows need no check.
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

// The "wait" that holds only while `g`'s column still has its old value.
Json GuardJson(const Guard& g, const TableSchema& ts) {
  const ColumnSchema& c = ts.columns[g.column];
  return {{"op", "wait"}, {"table", g.table}, {"timeout", 0}, {"until", "=="},
          {"where", UuidWhere(g.row)}, {"columns", Json::array({c.name})},
          {"rows", Json::array({{{c.name, g.before.ToJson(c.type)}}})}};
}

// The same transaction again, behind its guards: used when the connection
// dropped before the reply (see Resolve()).
Json ResendRequest(const Txn::State& st, const DatabaseSchema& schema,
                   std::vector<std::pair<OpKind, Uuid>>* sent) {
  Json params = Json::array({st.request[0]});
  for (const Guard& g : st.guards) {
    params.push_back(GuardJson(g, *schema.FindTable(g.table)));
    sent->emplace_back(kWait, g.row);
  }
  for (size_t i = 1; i < st.request.size(); ++i) params.push_back(st.request[i]);
  sent->insert(sent->end(), st.sent.begin(), st.sent.end());
  return params;
}

using Done = std::function<void(TxnResult)>;

// Reports `result` once the replica shows the transaction's effects.
void FinishWhenSeen(Idl* idl, std::shared_ptr<Txn::State> st, Done done, TxnResult result) {
  st->replied = result;
  idl->AddChangeWaiter([idl, st, done, result]() mutable {
    if (!idl->synced() || !Seen(*idl, *st, result.inserted, false)) return false;
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
    ParseReply(*r, sent, &result);
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
      for (const auto& [placeholder, name] : st->names) result.inserted[placeholder] = placeholder;
    }
  }
  if (!result.ok()) {
    st->replied = result;
    st->done = true;
    return done(std::move(result));
  }
  FinishWhenSeen(idl, st, std::move(done), std::move(result));
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
    Json params = ResendRequest(*st, idl->replica()->schema(), sent.get());
    bool ok = idl->Request("transact", std::move(params), [idl, st, done, sent](Result<Json> r) {
      OnReply(idl, st, done, *sent, std::move(r));
    });
    if (!ok) Resolve(idl, st, done);
    return true;
  });
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
  const DatabaseSchema& schema = idl_.replica()->schema();
  st->request = Json::array({schema.name});
  // Waits first: they must see the old values.  Then inserts, so that an
  // update, mutate or delete of a new row finds it whatever order the
  // caller built the transaction in.
  for (OpKind pass : {kWait, kInsert, kUpdate}) {
    for (const Op& op : st->ops) {
      OpKind group = op.kind == kWait || op.kind == kInsert ? op.kind : kUpdate;
      if (group != pass) continue;
      st->request.push_back(OpJson(op, *schema.FindTable(op.table), st->names));
      st->sent.emplace_back(op.kind, op.row);
      if (op.kind == kMutate && !st->names.count(op.row)) AddGuards(idl_, op, &st->guards);
    }
  }
  for (const std::string& c : st->comments) {
    st->request.push_back({{"op", "comment"}, {"comment", c}});
  }
  if (!idl_.lock_name().empty()) {
    st->request.push_back({{"op", "assert"}, {"lock", idl_.lock_name()}});
  }
  Idl* idl = &idl_;
  bool sent_ok = idl_.Request("transact", st->request, [idl, st, done](Result<Json> r) {
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
