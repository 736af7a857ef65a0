#include "ovsdb/idl_txn.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

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

struct Txn::State {
  std::vector<Op> ops;                                      // In order.
  std::map<std::tuple<int, std::string, Uuid>, size_t> op_index;  // (kind, table, row) -> op.
  std::map<Uuid, std::string> names;                        // Placeholder -> uuid-name.
  std::vector<std::string> comments;                        // Comment ops.
  Status error;                                             // First build error.
  std::optional<TxnResult> replied;                         // Reply parsed.
  bool done = false;                                        // Callback ran.
};

namespace {

// Replaces ["uuid", placeholder] by ["named-uuid", name] throughout `j`.
void NameUuids(Json& j, const std::map<Uuid, std::string>& names) {
  if (!j.is_array()) return;
  if (j.size() == 2 && j[0] == "uuid" && j[1].is_string()) {
    std::optional<Uuid> u = Uuid::Parse(j[1].get<std::string>());
    auto it = u ? names.find(*u) : names.end();
    if (it != names.end()) j = Json::array({"named-uuid", it->second});
    return;
  }
  for (Json& e : j) NameUuids(e, names);
}

Json Encode(const Datum& d, const Type& type, const std::map<Uuid, std::string>& names) {
  Json j = d.ToJson(type);
  NameUuids(j, names);
  return j;
}

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

Json UuidWhere(const Uuid& row, const std::map<Uuid, std::string>& names) {
  Json value = Json::array({"uuid", row.ToString()});
  NameUuids(value, names);
  return Json::array({Json::array({"_uuid", "==", std::move(value)})});
}

Type ElementsType(const Type& column, bool keys_only) {
  Type t = column;
  if (keys_only) t.has_value = false;
  t.n_min = 0;
  t.n_max = kUnlimited;
  return t;
}

bool MutationSeen(const Datum& field, const Mutation& m, const std::map<Uuid, Uuid>& real) {
  Datum v = Resolve(m.value, real);
  if (m.mutator == "insert") return field.Includes(v);
  if (m.mutator != "delete") return true;  // Arithmetic: not checked.
  if (!v.is_map() && field.is_map()) {
    for (const Atom& k : v.keys()) {
      if (field.Find(k) >= 0) return false;
    }
    return true;
  }
  return field.Excludes(v);
}

// True if the replica shows the effects of `ops`.
bool Seen(Idl& idl, const std::vector<Txn::Op>& ops, const std::map<Uuid, Uuid>& real) {
  for (const Txn::Op& op : ops) {
    const ReplicaTable* t = idl.table(op.table);
    if (t == nullptr || !t->where().is_null() || op.kind == kWait) continue;
    auto it = real.find(op.row);
    const IdlRow* row = t->Find(it == real.end() ? op.row : it->second);
    if (op.kind == kDelete) {
      if (row != nullptr) return false;
      continue;
    }
    if (row == nullptr) return false;
    auto replicated = [&](int c) {
      return std::binary_search(t->columns().begin(), t->columns().end(), c);
    };
    for (const auto& [c, value] : op.columns) {
      if (replicated(c) && !(row->fields[c] == Resolve(value, real))) return false;
    }
    for (const Mutation& m : op.mutations) {
      if (replicated(m.column) && !MutationSeen(row->fields[m.column], m, real)) return false;
    }
  }
  return true;
}

Json OpJson(const Txn::Op& op, const TableSchema& ts, const std::map<Uuid, std::string>& names) {
  Json j = {{"table", op.table}};
  Json row = Json::object();
  for (const auto& [c, value] : op.columns) {
    row[ts.columns[c].name] = Encode(value, ts.columns[c].type, names);
  }
  switch (op.kind) {
    case kWait:
      j.update({{"op", "wait"}, {"timeout", 0}, {"until", "=="},
                {"where", UuidWhere(op.row, names)}, {"rows", Json::array({row})}});
      j["columns"] = Json::array();
      for (const auto& [name, v] : row.items()) j["columns"].push_back(name);
      break;
    case kInsert:
      j.update({{"op", "insert"}, {"row", row}, {"uuid-name", names.at(op.row)}});
      break;
    case kUpdate:
      j.update({{"op", "update"}, {"row", row}, {"where", UuidWhere(op.row, names)}});
      break;
    case kMutate: {
      Json muts = Json::array();
      for (const Mutation& m : op.mutations) {
        muts.push_back(Json::array(
            {ts.columns[m.column].name, m.mutator, Encode(m.value, m.type, names)}));
      }
      j.update({{"op", "mutate"}, {"mutations", muts}, {"where", UuidWhere(op.row, names)}});
      break;
    }
    case kDelete:
      j.update({{"op", "delete"}, {"where", UuidWhere(op.row, names)}});
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
  Uuid placeholder = Uuid::Random();
  if (!Record(table, placeholder, "", nullptr).ok()) return placeholder;
  state_->names.emplace(placeholder, "row" + std::to_string(state_->names.size() + 1));
  OpFor(kInsert, table, placeholder);
  return placeholder;
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
  Json params = Json::array({schema.name});
  std::vector<std::pair<OpKind, Uuid>> sent;
  for (int pass = 0; pass < 2; ++pass) {  // Waits first: they must see the old values.
    for (const Op& op : st->ops) {
      if ((op.kind == kWait) != (pass == 0)) continue;
      params.push_back(OpJson(op, *schema.FindTable(op.table), st->names));
      sent.emplace_back(op.kind, op.row);
    }
  }
  for (const std::string& c : st->comments) params.push_back({{"op", "comment"}, {"comment", c}});
  if (!idl_.lock_name().empty()) params.push_back({{"op", "assert"}, {"lock", idl_.lock_name()}});
  Idl* idl = &idl_;
  bool sent_ok = idl_.Request("transact", std::move(params), [idl, st, done, sent](Result<Json> r) {
    TxnResult result;
    if (!r.ok()) {
      bool lost = r.error().tag() == "connection lost";
      result.status = lost ? TxnStatus::kTryAgain : TxnStatus::kError;
      result.error = r.error();
    } else {
      ParseReply(*r, sent, &result);
    }
    st->replied = result;
    if (!result.ok()) {
      st->done = true;
      return done(std::move(result));
    }
    idl->AddChangeWaiter([idl, st, done, result]() mutable {
      if (!idl->synced() || !Seen(*idl, st->ops, result.inserted)) return false;
      result.replica_seen = true;
      st->done = true;
      done(std::move(result));
      return true;
    });
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
