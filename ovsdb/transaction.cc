#include "ovsdb/transaction.h"

#include <algorithm>

#include "ovsdb/condition.h"
#include "ovsdb/txn_state.h"

namespace spate::ovsdb {

// ---- TxnRow / TxnState -------------------------------------------------

const Datum& TxnRow::Get(int c) const {
  if (fresh) return fresh->fields[c];
  auto it = std::lower_bound(written.begin(), written.end(), c,
                             [](const auto& p, int col) { return p.first < col; });
  if (it != written.end() && it->first == c) return it->second;
  return old->fields[c];
}

Datum* TxnRow::Mutable(int c) {
  if (fresh) return &fresh->fields[c];
  auto it = std::lower_bound(written.begin(), written.end(), c,
                             [](const auto& p, int col) { return p.first < col; });
  if (it == written.end() || it->first != c) {
    it = written.insert(it, {c, old->fields[c]});
  }
  return &it->second;
}

bool TxnRow::Wrote(int c) const {
  if (fresh) return true;
  return std::any_of(written.begin(), written.end(),
                     [c](const auto& p) { return p.first == c; });
}

TxnState::TxnState(Database* db) : db_(db), rows_(db->n_tables()) {}

TxnRow* TxnState::Find(int table, const Uuid& uuid) {
  auto it = rows_[table].find(uuid);
  return it == rows_[table].end() ? nullptr : &it->second;
}

TxnRow* TxnState::Touch(int table, Row* row) {
  auto [it, added] = rows_[table].try_emplace(row->uuid);
  if (added) {
    it->second.table = table;
    it->second.uuid = row->uuid;
    it->second.old = row;
  }
  return &it->second;
}

TxnRow* TxnState::AddInsert(int table, std::unique_ptr<Row> row) {
  Uuid uuid = row->uuid;
  TxnRow& r = rows_[table][uuid];
  r.table = table;
  r.uuid = uuid;
  r.fresh = std::move(row);
  return &r;
}

bool TxnState::Exists(int table, const Uuid& uuid) {
  if (TxnRow* r = Find(table, uuid)) return !r->deleted;
  return db_->table(table).Find(uuid) != nullptr;
}

Uuid TxnState::Resolve(const std::string& name) {
  auto [it, added] = symbols_.try_emplace(name);
  if (added) it->second.uuid = Uuid::Random();
  return it->second.uuid;
}

namespace {

// ---- Operation parsing helpers ----------------------------------------

enum class Kind { kAny, kString, kId, kArray, kObject, kInteger, kBoolean };

bool Matches(const Json& j, Kind k) {
  switch (k) {
    case Kind::kAny: return true;
    case Kind::kString: return j.is_string();
    case Kind::kId: return j.is_string() && IsValidId(j.get<std::string>());
    case Kind::kArray: return j.is_array();
    case Kind::kObject: return j.is_object();
    case Kind::kInteger: return j.is_number_integer();
    case Kind::kBoolean: return j.is_boolean();
  }
  return false;
}

// Tracks which members of an operation object were used, as Open vSwitch's
// ovsdb_parser does, so that stray members are reported.
class OpParser {
 public:
  explicit OpParser(const Json& op) : op_(op) {}
  Result<const Json*> Get(const char* name, Kind kind, bool required) {
    used_.push_back(name);
    auto it = op_.find(name);
    if (it == op_.end()) {
      if (!required) return static_cast<const Json*>(nullptr);
      return Error("syntax error", std::string("Required '") + name + "' member is missing.");
    }
    if (!Matches(*it, kind)) {
      return Error("syntax error", std::string("Type mismatch for member '") + name + "'.");
    }
    return &*it;
  }
  Status Finish() const {
    for (auto it = op_.begin(); it != op_.end(); ++it) {
      if (std::find(used_.begin(), used_.end(), it.key()) == used_.end()) {
        return Error("syntax error",
                     "Member '" + it.key() + "' is present but not allowed here.");
      }
    }
    return Status::Ok();
  }

 private:
  const Json& op_;                 // The operation object.
  std::vector<std::string> used_;  // Members looked up so far.
};

struct OpContext;
Error ParseFailure(const Error& e, OpContext& ctx);

struct OpContext {
  TxnState* txn;                 // The transaction.
  const TransactOptions* opts;   // Caller options.
  NamedUuids names;              // Resolver bound to txn.
  size_t index = 0;              // Operation index.
  size_t n_ops = 0;              // Number of operations.
  int64_t wait_deadline_ms = std::numeric_limits<int64_t>::max();  // Blocked waits.
  bool blocked = false;          // A wait could not be satisfied yet.
  const Json* op = nullptr;      // The operation being executed.
  const Json* syntax = nullptr;  // JSON to quote in "syntax", if any.
};

// An error with Open vSwitch's parser prefix; the operation is quoted in
// the error object's "syntax" member, as Open vSwitch does.
Error ParseFailure(const Error& e, OpContext& ctx) {
  ctx.syntax = ctx.op;
  return Error(e.tag(), "Parsing ovsdb operation " + std::to_string(ctx.index + 1) + " of " +
                            std::to_string(ctx.n_ops) + " failed: " + e.details());
}

// Result of one operation: a JSON result or an error.
using OpResult = Result<Json>;

Result<const TableSchema*> ParseTable(OpParser& p, OpContext& ctx) {
  auto name = p.Get("table", Kind::kId, true);
  if (!name) return ParseFailure(name.error(), ctx);
  const TableSchema* t = ctx.txn->schema().FindTable((*name)->get<std::string>());
  if (t == nullptr) {
    return ParseFailure(Error("syntax error", "No table named " +
                                                  (*name)->get<std::string>() + "."), ctx);
  }
  return t;
}

// Calls fn(TxnRow* or null, Row* committed-or-null, RowView) for each row
// of `table` matching `cond` as seen inside the transaction.
template <typename Fn>
void ForEachMatch(OpContext& ctx, const TableSchema& table, const Condition& cond, Fn&& fn) {
  TxnState& txn = *ctx.txn;
  Table& t = txn.db().mutable_table(table.index);
  auto visit = [&](TxnRow* tr, Row* row) {
    if (tr != nullptr && tr->deleted) return;
    RowView view = tr ? RowView([tr](int c) -> const Datum& { return tr->Get(c); })
                      : RowView([row](int c) -> const Datum& { return row->fields[c]; });
    if (cond.Evaluate(table, view)) fn(tr, row, view);
  };
  if (const Uuid* u = cond.UuidLookup()) {
    TxnRow* tr = txn.Find(table.index, *u);
    Row* row = t.FindMutable(*u);
    if (tr != nullptr || row != nullptr) visit(tr, row);
    return;
  }
  std::vector<std::pair<TxnRow*, Row*>> matches;
  for (auto& [uuid, row] : t.rows()) {
    matches.emplace_back(txn.Find(table.index, uuid), row.get());
  }
  for (auto& [uuid, tr] : txn.rows(table.index)) {
    if (tr.inserted()) matches.emplace_back(&tr, nullptr);
  }
  for (auto& [tr, row] : matches) visit(tr, row);
}

Result<Condition> ParseWhere(OpParser& p, OpContext& ctx, const TableSchema& t) {
  auto where = p.Get("where", Kind::kArray, true);
  if (!where) return ParseFailure(where.error(), ctx);
  return Condition::FromJson(t, **where, &ctx.names);
}

// Parses a <row> into (column, value) pairs.  `for_update` rejects
// immutable columns; inserts skip _uuid/_version.
Result<std::vector<std::pair<int, Datum>>> ParseRow(OpContext& ctx, const TableSchema& t,
                                                    const Json& row, bool for_update,
                                                    const Json& op) {
  if (!row.is_object()) return Error("syntax error", "row must be a JSON object");
  std::vector<std::pair<int, Datum>> out;
  for (auto it = row.begin(); it != row.end(); ++it) {
    const ColumnSchema* c = t.FindColumn(it.key());
    if (c == nullptr) {
      return Error("unknown column", "No column " + it.key() + " in table " + t.name + ".");
    }
    if (for_update && !c->mutable_) {
      return Error("constraint violation",
                   "Cannot update immutable column " + c->name + " in table " + t.name + ".");
    }
    auto value = Datum::FromJson(c->type, it.value(), &ctx.names);
    if (!value) return value.error();
    if (c->index == kUuidColumn || c->index == kVersionColumn) continue;
    if (Status s = value->CheckConstraints(c->type); !s) return s.error();
    out.emplace_back(c->index, std::move(*value));
  }
  return out;
}

Result<Uuid> InsertUuid(OpParser& p, OpContext& ctx) {
  auto uuid_name = p.Get("uuid-name", Kind::kId, false);
  if (!uuid_name) return ParseFailure(uuid_name.error(), ctx);
  auto explicit_uuid = p.Get("uuid", Kind::kString, false);
  if (!explicit_uuid) return ParseFailure(explicit_uuid.error(), ctx);
  Uuid uuid = Uuid::Random();
  if (*explicit_uuid) {
    auto u = Uuid::Parse((*explicit_uuid)->get<std::string>());
    if (!u) return Error("syntax error", "bad uuid");
    uuid = *u;
  }
  if (*uuid_name) {
    std::string name = (*uuid_name)->get<std::string>();
    auto& symbols = ctx.txn->symbols();
    auto it = symbols.find(name);
    if (it != symbols.end() && it->second.created) {
      return Error("duplicate uuid-name",
                   "This \"uuid-name\" appeared on an earlier \"insert\" operation.");
    }
    if (it == symbols.end()) {
      it = symbols.emplace(name, Symbol{uuid, false}).first;
    } else if (*explicit_uuid) {
      it->second.uuid = uuid;
    }
    it->second.created = true;
    uuid = it->second.uuid;
  }
  return uuid;
}

OpResult DoInsert(OpParser& p, OpContext& ctx, const Json& op) {
  auto t = ParseTable(p, ctx);
  if (!t) return t.error();
  auto row_json = p.Get("row", Kind::kObject, false);
  if (!row_json) return ParseFailure(row_json.error(), ctx);
  auto uuid = InsertUuid(p, ctx);
  if (!uuid) return uuid.error();
  if (Status s = p.Finish(); !s) return ParseFailure(s.error(), ctx);
  const TableSchema& ts = **t;
  // Only a client-chosen "uuid" can collide: random (v4) ones are not
  // looked up (a cache miss per insert on a large table), as in OVS.
  bool chosen = op.contains("uuid");
  if (chosen && (ctx.txn->Find(ts.index, *uuid) || ctx.txn->db().table(ts.index).Find(*uuid))) {
    return Error("duplicate uuid",
                 "This UUID would duplicate a UUID already present within the table "
                 "or deleted within the same transaction.");
  }
  std::unique_ptr<Row> row = NewDefaultRow(ts, *uuid);
  if (*row_json) {
    auto values = ParseRow(ctx, ts, **row_json, false, op);
    if (!values) return values.error();
    for (auto& [c, v] : *values) row->fields[c] = std::move(v);
  }
  for (const ColumnSchema& c : ts.columns) {
    if (Status s = row->fields[c.index].CheckConstraints(c.type); !s) return s.error();
  }
  ctx.txn->AddInsert(ts.index, std::move(row));
  return Json{{"uuid", Json::array({"uuid", uuid->ToString()})}};
}

Result<std::vector<int>> ParseColumns(const Json* json, const TableSchema& t) {
  std::vector<int> cols;
  if (json == nullptr) {
    for (const ColumnSchema& c : t.columns) cols.push_back(c.index);
    return cols;
  }
  for (const Json& j : *json) {
    const ColumnSchema* c = j.is_string() ? t.FindColumn(j.get<std::string>()) : nullptr;
    if (c == nullptr) {
      return Error("syntax error", (j.is_string() ? j.get<std::string>() : DumpJson(j)) +
                                       " is not a valid column name");
    }
    if (std::find(cols.begin(), cols.end(), c->index) != cols.end()) {
      return Error("syntax error", c->name + " is specified more than once");
    }
    cols.push_back(c->index);
  }
  return cols;
}

OpResult DoSelect(OpParser& p, OpContext& ctx, const Json&) {
  auto t = ParseTable(p, ctx);
  if (!t) return t.error();
  auto cond = ParseWhere(p, ctx, **t);
  if (!cond) return cond.error();
  auto cols_json = p.Get("columns", Kind::kArray, false);
  if (!cols_json) return ParseFailure(cols_json.error(), ctx);
  if (Status s = p.Finish(); !s) return ParseFailure(s.error(), ctx);
  auto cols = ParseColumns(*cols_json, **t);
  if (!cols) return cols.error();
  Json rows = Json::array();
  ForEachMatch(ctx, **t, *cond, [&](TxnRow*, Row*, const RowView& view) {
    Json row = Json::object();
    for (int c : *cols) row[(*t)->columns[c].name] = view(c).ToJson((*t)->columns[c].type);
    rows.push_back(std::move(row));
  });
  return Json{{"rows", std::move(rows)}};
}

OpResult DoUpdate(OpParser& p, OpContext& ctx, const Json& op) {
  auto t = ParseTable(p, ctx);
  if (!t) return t.error();
  auto cond = ParseWhere(p, ctx, **t);
  if (!cond) return cond.error();
  auto row_json = p.Get("row", Kind::kObject, true);
  if (!row_json) return ParseFailure(row_json.error(), ctx);
  if (Status s = p.Finish(); !s) return ParseFailure(s.error(), ctx);
  auto values = ParseRow(ctx, **t, **row_json, true, op);
  if (!values) return values.error();
  int64_t count = 0;
  ForEachMatch(ctx, **t, *cond, [&](TxnRow* tr, Row* row, const RowView&) {
    if (tr == nullptr) tr = ctx.txn->Touch((*t)->index, row);
    for (auto& [c, v] : *values) *tr->Mutable(c) = v;
    ++count;
  });
  return Json{{"count", count}};
}

OpResult DoMutate(OpParser& p, OpContext& ctx, const Json&) {
  auto t = ParseTable(p, ctx);
  if (!t) return t.error();
  auto cond = ParseWhere(p, ctx, **t);
  if (!cond) return cond.error();
  auto muts_json = p.Get("mutations", Kind::kArray, true);
  if (!muts_json) return ParseFailure(muts_json.error(), ctx);
  if (Status s = p.Finish(); !s) return ParseFailure(s.error(), ctx);
  std::vector<Mutation> muts;
  for (const Json& j : **muts_json) {
    auto m = Mutation::FromJson(**t, j, &ctx.names);
    if (!m) return m.error();
    muts.push_back(std::move(*m));
  }
  std::vector<std::pair<TxnRow*, Row*>> targets;
  ForEachMatch(ctx, **t, *cond, [&](TxnRow* tr, Row* row, const RowView&) {
    targets.emplace_back(tr, row);
  });
  for (auto [tr, row] : targets) {
    if (tr == nullptr) tr = ctx.txn->Touch((*t)->index, row);
    for (const Mutation& m : muts) {
      if (Status s = m.Apply((*t)->columns[m.column], tr->Mutable(m.column)); !s) {
        return s.error();
      }
    }
  }
  return Json{{"count", static_cast<int64_t>(targets.size())}};
}

OpResult DoDelete(OpParser& p, OpContext& ctx, const Json&) {
  auto t = ParseTable(p, ctx);
  if (!t) return t.error();
  auto cond = ParseWhere(p, ctx, **t);
  if (!cond) return cond.error();
  if (Status s = p.Finish(); !s) return ParseFailure(s.error(), ctx);
  int64_t count = 0;
  ForEachMatch(ctx, **t, *cond, [&](TxnRow* tr, Row* row, const RowView&) {
    if (tr == nullptr) tr = ctx.txn->Touch((*t)->index, row);
    tr->deleted = true;
    ++count;
  });
  return Json{{"count", count}};
}

// Projects the rows matching the wait's "where" onto its "columns" and
// compares them, as a multiset, with its "rows".  Sets *satisfied.
Status EvaluateWait(OpContext& ctx, const TableSchema& t, const Json& op, bool* satisfied) {
  auto cond = Condition::FromJson(t, op["where"], &ctx.names);
  if (!cond) return cond.error();
  const Json& until = op["until"];
  if (until != "==" && until != "!=") {
    return Error("syntax error", "\"until\" must be \"==\" or \"!=\"");
  }
  if (!op["rows"].is_array()) return Error("syntax error", "Type mismatch for member 'rows'.");
  if (!op.contains("columns")) {
    // Open vSwitch accepts a wait without "columns" and then projects onto
    // no column at all: the only "rows" that equal the table is [] (its
    // ovs-vsctl sends such a wait when there is no Open_vSwitch row).
    for (const Json& r : op["rows"]) {
      if (!r.is_object()) return Error("syntax error", "row must be a JSON object");
    }
    *satisfied = op["rows"].empty() == (until == "==");
    return Status::Ok();
  }
  if (!op["columns"].is_array()) return Error("syntax error", "Type mismatch for member 'columns'.");
  auto cols = ParseColumns(&op["columns"], t);
  if (!cols) return cols.error();
  std::vector<std::vector<Datum>> expected;
  for (const Json& r : op["rows"]) {
    if (!r.is_object()) return Error("syntax error", "row must be a JSON object");
    std::vector<Datum> tuple;
    for (int c : *cols) {
      const ColumnSchema& col = t.columns[c];
      if (!r.contains(col.name)) {
        return Error("syntax error", "row does not contain column " + col.name);
      }
      auto v = Datum::FromJson(col.type, r[col.name], &ctx.names);
      if (!v) return v.error();
      tuple.push_back(std::move(*v));
    }
    if (r.size() != cols->size()) {
      return Error("syntax error", "row contains columns not listed in \"columns\"");
    }
    expected.push_back(std::move(tuple));
  }
  std::vector<std::vector<Datum>> actual;
  ForEachMatch(ctx, t, *cond, [&](TxnRow*, Row*, const RowView& view) {
    std::vector<Datum> tuple;
    for (int c : *cols) tuple.push_back(view(c));
    actual.push_back(std::move(tuple));
  });
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  *satisfied = (expected == actual) == (until == "==");
  return Status::Ok();
}

OpResult DoWait(OpParser& p, OpContext& ctx, const Json& op) {
  auto timeout = p.Get("timeout", Kind::kInteger, false);
  if (!timeout) return ParseFailure(timeout.error(), ctx);
  auto t = ParseTable(p, ctx);
  if (!t) return t.error();
  for (const char* m : {"where", "columns", "until", "rows"}) {
    auto member = p.Get(m, Kind::kAny, std::string_view(m) != "columns");
    if (!member) return ParseFailure(member.error(), ctx);
  }
  if (Status s = p.Finish(); !s) return ParseFailure(s.error(), ctx);
  int64_t timeout_ms = *timeout ? (*timeout)->get<int64_t>()
                                : std::numeric_limits<int64_t>::max();
  if (timeout_ms < 0) return Error("syntax error", "timeout must be nonnegative");
  int64_t deadline = timeout_ms == std::numeric_limits<int64_t>::max()
                         ? timeout_ms
                         : ctx.opts->start_ms + timeout_ms;
  int64_t left = deadline == std::numeric_limits<int64_t>::max()
                     ? deadline
                     : deadline - ctx.opts->now_ms;
  bool satisfied = false;
  if (Status s = EvaluateWait(ctx, **t, op, &satisfied); !s) return s.error();
  if (satisfied) return Json::object();
  if (left <= 0) return Error("timed out", "\"where\" clause test failed");
  if (!ctx.opts->can_block) return Error("not supported", "triggers not supported");
  ctx.blocked = true;
  ctx.wait_deadline_ms = std::min(ctx.wait_deadline_ms, deadline);
  return Json::object();
}

OpResult DoCommit(OpParser& p, OpContext& ctx, const Json&) {
  auto durable = p.Get("durable", Kind::kBoolean, true);
  if (!durable) return ParseFailure(durable.error(), ctx);
  if (Status s = p.Finish(); !s) return ParseFailure(s.error(), ctx);
  if ((*durable)->get<bool>()) ctx.txn->durable = true;
  return Json::object();
}

OpResult DoAbort(OpParser& p, OpContext& ctx, const Json&) {
  if (Status s = p.Finish(); !s) return ParseFailure(s.error(), ctx);
  return Error("aborted", "aborted by request");
}

OpResult DoComment(OpParser& p, OpContext& ctx, const Json&) {
  auto comment = p.Get("comment", Kind::kString, true);
  if (!comment) return ParseFailure(comment.error(), ctx);
  if (Status s = p.Finish(); !s) return ParseFailure(s.error(), ctx);
  if (!ctx.txn->comment.empty()) ctx.txn->comment += "\n";
  ctx.txn->comment += (*comment)->get<std::string>();
  return Json::object();
}

OpResult DoAssert(OpParser& p, OpContext& ctx, const Json&) {
  auto lock = p.Get("lock", Kind::kId, true);
  if (!lock) return ParseFailure(lock.error(), ctx);
  if (Status s = p.Finish(); !s) return ParseFailure(s.error(), ctx);
  std::string name = (*lock)->get<std::string>();
  if (!ctx.opts->lock_owned || !ctx.opts->lock_owned(name)) {
    return Error("not owner", "Asserted lock " + name + " not held.");
  }
  return Json::object();
}

OpResult ExecuteOp(OpContext& ctx, const Json& op) {
  if (!op.is_object()) {
    return ParseFailure(Error("syntax error", "Operation must be a JSON object."), ctx);
  }
  OpParser p(op);
  auto name = p.Get("op", Kind::kString, true);
  if (!name) return ParseFailure(name.error(), ctx);
  using Handler = OpResult (*)(OpParser&, OpContext&, const Json&);
  static const std::pair<const char*, Handler> kOps[] = {
      {"insert", DoInsert}, {"select", DoSelect},   {"update", DoUpdate},
      {"mutate", DoMutate}, {"delete", DoDelete},   {"wait", DoWait},
      {"commit", DoCommit}, {"abort", DoAbort},     {"comment", DoComment},
      {"assert", DoAssert}};
  const std::string& n = (*name)->get_ref<const std::string&>();
  for (auto& [op_name, handler] : kOps) {
    if (n == op_name) return handler(p, ctx, op);
  }
  return ParseFailure(Error("syntax error", "No operation \"" + n + "\""), ctx);
}

Json SyntaxObject(const std::string& details, const Json& syntax) {
  return Json{{"error", "syntax error"}, {"details", details}, {"syntax", DumpJson(syntax)}};
}

// Runs the operations of `params` in order; after a failure the remaining
// slots are null.  Stops early (ctx.blocked) at a wait that must block.
Json RunOps(OpContext& ctx, const Json& params, bool* failed) {
  Json reply = Json::array();
  for (size_t i = 1; i < params.size(); ++i) {
    ctx.index = i - 1;
    if (*failed) {
      reply.push_back(nullptr);
      continue;
    }
    ctx.op = &params[i];
    ctx.syntax = nullptr;
    OpResult r = ExecuteOp(ctx, params[i]);
    if (ctx.blocked) break;
    if (r.ok()) {
      reply.push_back(std::move(*r));
    } else {
      Json error = ErrorObject(r.error());
      if (ctx.syntax != nullptr) error["syntax"] = DumpJson(*ctx.syntax);
      reply.push_back(std::move(error));
      *failed = true;
    }
  }
  return reply;
}

// Checks, persists and applies the transaction; a failure appends the
// extra error element to `reply`.
void Commit(Database& db, TxnState& txn, const TransactOptions& options,
            TransactResult* result, Json* reply) {
  auto pending = Precommit(&txn);
  if (!pending) {
    reply->push_back(ErrorObject(pending.error()));
    return;
  }
  if ((*pending)->empty()) return;
  ChangeSet& cs = **pending;
  cs.date_ms = options.now_ms;
  cs.comment = txn.comment;
  cs.durable = txn.durable;
  Status written = options.sink ? options.sink->Write(db, cs) : Status::Ok();
  if (!written) {
    reply->push_back(ErrorObject(written.error()));
    return;
  }
  ApplyChanges(db, &cs);
  result->changes = std::move(*pending);
}

}  // namespace

TransactResult Transact(Database& db, const Json& params, const TransactOptions& options) {
  TransactResult result;
  if (!params.is_array()) {
    result.reply = SyntaxObject("array expected", params);
    return result;
  }
  if (params.empty() || !params[0].is_string()) {
    result.reply = SyntaxObject("database name expected as first parameter", params);
    return result;
  }
  if (params[0].get_ref<const std::string&>() != db.name()) {
    result.reply = ErrorObject(Error("unknown database", params[0].get<std::string>()));
    return result;
  }
  TxnState txn(&db);
  OpContext ctx{&txn, &options, {}};
  ctx.names = [&txn](const std::string& name) -> std::optional<Uuid> {
    return txn.Resolve(name);
  };
  ctx.n_ops = params.size() - 1;
  bool failed = false;
  Json reply = RunOps(ctx, params, &failed);
  if (ctx.blocked) {
    result.blocked = true;
    result.retry_deadline_ms = ctx.wait_deadline_ms;
    return result;
  }
  result.durable = txn.durable;
  if (!failed) Commit(db, txn, options, &result, &reply);
  result.reply = std::move(reply);
  return result;
}

}  // namespace spate::ovsdb
