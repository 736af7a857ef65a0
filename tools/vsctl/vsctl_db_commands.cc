// ovs-vsctl's database commands: get, set, add, remove, clear, list, find,
// create, destroy (Open vSwitch 3.1's db-ctl-base semantics and wording).
#include <algorithm>

#include "tools/vsctl/vsctl_commands.h"

namespace spate::vsctl {
namespace {

using ovsdb::Atom;
using ovsdb::ColumnSchema;
using ovsdb::Datum;
using ovsdb::TableSchema;
using ovsdb::Uuid;

Error Usage(std::string details) { return Error("usage", std::move(details)); }

// The table and record named by args[0] and args[1]; nullopt row when
// missing and --if-exists was given.
struct Target {
  const TableSchema* table = nullptr;  // The table.
  std::optional<Uuid> row;             // The record, if found.
};

Result<Target> FindTarget(Context& ctx) {
  Result<const TableSchema*> table = LookupTable(ctx.view.schema(), ctx.command.args[0]);
  if (!table) return table.error();
  Target t{*table, std::nullopt};
  Result<std::optional<Uuid>> row = FindRecord(ctx.view, **table, ctx.command.args[1]);
  if (!row) return row.error();
  if (!*row && !ctx.Has("--if-exists")) {
    return Error("not found", "no row \"" + ctx.command.args[1] + "\" in table " + (*table)->name);
  }
  t.row = *row;
  return t;
}

// A column the command may change.
Result<const ColumnSchema*> WritableColumn(Context& ctx, const TableSchema& table,
                                           std::string_view name, const Uuid& row) {
  Result<const ColumnSchema*> c = LookupColumn(table, name);
  if (!c) return c;
  if ((!(*c)->mutable_ && !ctx.view.IsNew(row)) || (*c)->index <= ovsdb::kVersionColumn) {
    return Usage("cannot modify read-only column " + (*c)->name + " in table " + table.name);
  }
  return c;
}

// Binds "--id=@name" to `row`.
Status BindId(Context& ctx, const Uuid& row, bool new_row) {
  std::string id = ctx.Option("--id");
  if (id.empty() || id[0] != '@') {
    return Usage("row id \"" + id + "\" does not begin with \"@\"");
  }
  Symbol& symbol = ctx.symbols[id];
  if (symbol.created) return Usage("row id \"" + id + "\" may only be specified on one --id option");
  if (symbol.referenced && symbol.uuid != row) {
    return Usage("row id \"" + id + "\" is referenced before \"get\" binds it");
  }
  symbol.uuid = row;
  symbol.created = true;
  symbol.new_row = new_row;
  return Status::Ok();
}

// A whole column value, with Open vSwitch's element-count check.
Result<Datum> ParseWholeValue(Context& ctx, const ovsdb::Type& type, const std::string& text) {
  Result<Datum> value = ParseDatum(type, text, &ctx.symbols);
  if (!value) return value;
  if (value->size() < type.n_min || value->size() > type.n_max) {
    bool too_many = value->size() > type.n_max;
    return Error("syntax error", text + ": " + std::to_string(value->size()) +
                                     " value(s) specified but the " +
                                     (too_many ? "maximum" : "minimum") + " number is " +
                                     std::to_string(too_many ? type.n_max : type.n_min));
  }
  return value;
}

}  // namespace

Status SetColumn(Context& ctx, const TableSchema& table, const Uuid& row, std::string_view arg) {
  Result<ColumnArg> parsed = ParseColumnArg(arg, {"="}, true);
  if (!parsed) return parsed.error();
  Result<const ColumnSchema*> c = WritableColumn(ctx, table, parsed->column, row);
  if (!c) return c.error();
  const ovsdb::Type& type = (*c)->type;
  if (!parsed->has_key) {
    Result<Datum> value = ParseWholeValue(ctx, type, parsed->value);
    if (!value) return value.error();
    ctx.view.Write(table, row, (*c)->index, std::move(*value));
    return Status::Ok();
  }
  if (!type.IsMap()) return Usage("cannot specify key to set for non-map column " + (*c)->name);
  Result<Atom> key = ParseAtom(type.key, parsed->key, &ctx.symbols);
  if (!key) return key.error();
  Result<Atom> value = ParseAtom(type.value, parsed->value, &ctx.symbols);
  if (!value) return value.error();
  Datum current = ctx.view.Read(table, row, (*c)->index);
  std::vector<Atom> keys = current.keys();
  std::vector<Atom> values = current.values();
  if (ptrdiff_t i = current.Find(*key); i >= 0) {
    values[i] = std::move(*value);
  } else {
    keys.push_back(std::move(*key));
    values.push_back(std::move(*value));
  }
  Result<Datum> next = Datum::FromAtoms(type, std::move(keys), std::move(values));
  if (!next) return next.error();
  if (Status s = next->CheckSize(type); !s) return s;
  ctx.view.Write(table, row, (*c)->index, std::move(*next));
  return Status::Ok();
}

namespace {

Status CmdGet(Context& ctx) {
  Result<Target> t = FindTarget(ctx);
  if (!t) return t.error();
  if (!t->row) return Status::Ok();
  if (ctx.Has("--id")) {
    if (Status s = BindId(ctx, *t->row, false); !s) return s;
  }
  for (size_t i = 2; i < ctx.command.args.size(); i++) {
    Result<ColumnArg> arg = ParseColumnArg(ctx.command.args[i], {}, false);
    if (!arg) return arg.error();
    Result<const ColumnSchema*> c = LookupColumn(*t->table, arg->column);
    if (!c) return c.error();
    const Datum& datum = ctx.view.Read(*t->table, *t->row, (*c)->index);
    if (!arg->has_key) {
      ctx.out += datum.ToString((*c)->type) + "\n";
      continue;
    }
    if (!(*c)->type.IsMap()) return Usage("cannot specify key to get for non-map column " + (*c)->name);
    Result<Atom> key = ParseAtom((*c)->type.key, arg->key, &ctx.symbols);
    if (!key) return key.error();
    ptrdiff_t index = datum.Find(*key);
    if (index < 0) {
      if (ctx.Has("--if-exists")) continue;
      return Error("not found", "no key \"" + arg->key + "\" in " + t->table->name + " record \"" +
                                    ctx.command.args[1] + "\" column " + (*c)->name);
    }
    ctx.out += datum.values()[index].ToString() + "\n";
  }
  return Status::Ok();
}

Status CmdSet(Context& ctx) {
  Result<Target> t = FindTarget(ctx);
  if (!t) return t.error();
  if (!t->row) return Status::Ok();
  for (size_t i = 2; i < ctx.command.args.size(); i++) {
    if (Status s = SetColumn(ctx, *t->table, *t->row, ctx.command.args[i]); !s) return s;
  }
  return Status::Ok();
}

// "add"/"remove" share the size check's wording.
Status CheckEditSize(const Datum& d, const ColumnSchema& c, const TableSchema& table,
                     std::string_view op) {
  const ovsdb::Type& type = c.type;
  std::string what = type.IsMap() ? "key-value pairs" : "values";
  if (d.size() > type.n_max) {
    return Error("constraint violation",
                 "\"" + std::string(op) + "\" operation would put " + std::to_string(d.size()) +
                     " " + what + " in column " + c.name + " of table " + table.name +
                     " but the maximum number is " + std::to_string(type.n_max));
  }
  if (d.size() < type.n_min) {
    return Error("constraint violation",
                 "\"" + std::string(op) + "\" operation would put " + std::to_string(d.size()) +
                     " " + what + " in column " + c.name + " of table " + table.name +
                     " but the minimum number is " + std::to_string(type.n_min));
  }
  return Status::Ok();
}

Status CmdAddOrRemove(Context& ctx, bool add) {
  Result<Target> t = FindTarget(ctx);
  if (!t) return t.error();
  if (!t->row) return Status::Ok();
  Result<const ColumnSchema*> c = WritableColumn(ctx, *t->table, ctx.command.args[2], *t->row);
  if (!c) return c.error();
  const ovsdb::Type& type = (*c)->type;
  Datum value = ctx.view.Read(*t->table, *t->row, (*c)->index);
  for (size_t i = 3; i < ctx.command.args.size(); i++) {
    bool keys_only = false;
    Result<Datum> arg = add ? ParseDatum(type, ctx.command.args[i], &ctx.symbols)
                            : ParseKeysOrDatum(type, ctx.command.args[i], &ctx.symbols, &keys_only);
    if (!arg) return arg.error();
    if (add) {
      value.Union(*arg);
    } else if (type.IsMap() && !keys_only) {
      value.SubtractPairs(*arg);
    } else {
      value.SubtractKeys(*arg);
    }
  }
  if (Status s = CheckEditSize(value, **c, *t->table, add ? "add" : "remove"); !s) return s;
  ctx.view.Write(*t->table, *t->row, (*c)->index, std::move(value));
  return Status::Ok();
}

Status CmdAdd(Context& ctx) { return CmdAddOrRemove(ctx, true); }
Status CmdRemove(Context& ctx) { return CmdAddOrRemove(ctx, false); }

Status CmdClear(Context& ctx) {
  Result<Target> t = FindTarget(ctx);
  if (!t) return t.error();
  if (!t->row) return Status::Ok();
  for (size_t i = 2; i < ctx.command.args.size(); i++) {
    Result<const ColumnSchema*> c = WritableColumn(ctx, *t->table, ctx.command.args[i], *t->row);
    if (!c) return c.error();
    if ((*c)->type.n_min > 0) {
      return Usage("\"clear\" operation cannot be applied to column " + (*c)->name + " of table " +
                   t->table->name + ", which is not allowed to be empty");
    }
    ctx.view.Write(*t->table, *t->row, (*c)->index, Datum::Default((*c)->type));
  }
  return Status::Ok();
}

// The --columns list (default: every column but _version).
Result<std::vector<const ColumnSchema*>> OutputColumns(Context& ctx, const TableSchema& table) {
  std::vector<const ColumnSchema*> out;
  if (!ctx.Has("--columns")) {
    for (const ColumnSchema& c : table.columns) {
      if (c.index != ovsdb::kVersionColumn) out.push_back(&c);
    }
    return out;
  }
  std::string spec = ctx.Option("--columns");
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string::npos) comma = spec.size();
    Result<const ColumnSchema*> c = LookupColumn(table, spec.substr(start, comma - start));
    if (!c) return c.error();
    out.push_back(*c);
    start = comma + 1;
  }
  return out;
}

Status PrintRows(Context& ctx, const TableSchema& table, const std::vector<Uuid>& rows) {
  Result<std::vector<const ColumnSchema*>> columns = OutputColumns(ctx, table);
  if (!columns) return columns.error();
  ovsdb::OutputTable out;
  for (const ColumnSchema* c : *columns) out.headings.push_back(c->name);
  for (const Uuid& row : rows) {
    std::vector<ovsdb::OutputCell> cells;
    for (const ColumnSchema* c : *columns) {
      cells.push_back(FormatCell(ctx.view.Read(table, row, c->index), c->type, ctx.output.data));
    }
    out.rows.push_back(std::move(cells));
  }
  ctx.out += ovsdb::FormatTable(out, {.format = ctx.output.format,
                                      .headings = ctx.output.headings,
                                      .pretty = ctx.output.pretty});
  return Status::Ok();
}

Status CmdList(Context& ctx) {
  Result<const TableSchema*> table = LookupTable(ctx.view.schema(), ctx.command.args[0]);
  if (!table) return table.error();
  std::vector<Uuid> rows;
  if (ctx.command.args.size() == 1) {
    rows = ctx.view.Rows(**table);
  } else {
    for (size_t i = 1; i < ctx.command.args.size(); i++) {
      Result<std::optional<Uuid>> row = FindRecord(ctx.view, **table, ctx.command.args[i]);
      if (!row) return row.error();
      if (*row) {
        rows.push_back(**row);
      } else if (!ctx.Has("--if-exists")) {
        return Error("not found",
                     "no row \"" + ctx.command.args[i] + "\" in table " + (*table)->name);
      }
    }
  }
  return PrintRows(ctx, **table, rows);
}

// One find condition: the row's value `a` against the argument's `b`.
bool Compare(const Datum& a, const Datum& b, std::string_view op) {
  if (op == "=" || op == "{=}") return a == b;
  if (op == "!=" || op == "{!=}") return !(a == b);
  if (op == "<") return a < b;
  if (op == ">") return b < a;
  if (op == "<=") return !(b < a);
  if (op == ">=") return !(a < b);
  if (op == "{<}") return b.Includes(a) && !(a == b);
  if (op == "{>}") return a.Includes(b) && !(a == b);
  if (op == "{<=}" || op == "{in}") return b.Includes(a);
  if (op == "{not-in}") return b.Excludes(a);
  return a.Includes(b);  // "{>=}"
}

Result<bool> Matches(Context& ctx, const TableSchema& table, const Uuid& row,
                     std::string_view text) {
  Result<ColumnArg> arg = ParseColumnArg(
      text,
      {"{not-in}", "{in}", "{!=}", "{<=}", "{>=}", "{=}", "{<}", "{>}", "!=", "<=", ">=", "=", "<", ">"},
      true);
  if (!arg) return arg.error();
  Result<const ColumnSchema*> c = LookupColumn(table, arg->column);
  if (!c) return c.error();
  const Datum& have = ctx.view.Read(table, row, (*c)->index);
  if (!arg->has_key) {
    Result<Datum> want = ParseWholeValue(ctx, (*c)->type, arg->value);
    if (!want) return want.error();
    return Compare(have, *want, arg->op);
  }
  if (!(*c)->type.IsMap()) return Usage("cannot specify key to check for non-map column " + (*c)->name);
  Result<Atom> key = ParseAtom((*c)->type.key, arg->key, &ctx.symbols);
  if (!key) return key.error();
  Result<Atom> value = ParseAtom((*c)->type.value, arg->value, &ctx.symbols);
  if (!value) return value.error();
  ptrdiff_t index = have.Find(*key);
  bool set_op = arg->op[0] == '{';
  if (index < 0 && !set_op) return false;
  Datum a = index < 0 ? Datum() : Datum(have.values()[index]);
  return Compare(a, Datum(*value), arg->op);
}

Status CmdFind(Context& ctx) {
  Result<const TableSchema*> table = LookupTable(ctx.view.schema(), ctx.command.args[0]);
  if (!table) return table.error();
  std::vector<Uuid> rows;
  for (const Uuid& row : ctx.view.Rows(**table)) {
    bool all = true;
    for (size_t i = 1; i < ctx.command.args.size() && all; i++) {
      Result<bool> m = Matches(ctx, **table, row, ctx.command.args[i]);
      if (!m) return m.error();
      all = *m;
    }
    if (all) rows.push_back(row);
  }
  return PrintRows(ctx, **table, rows);
}

Status CmdCreate(Context& ctx) {
  Result<const TableSchema*> table = LookupTable(ctx.view.schema(), ctx.command.args[0]);
  if (!table) return table.error();
  Uuid uuid;
  if (ctx.Has("--id")) {
    std::string id = ctx.Option("--id");
    auto it = ctx.symbols.find(id);
    if (it != ctx.symbols.end() && !it->second.created) uuid = it->second.uuid;
  } else if (!(*table)->is_root) {
    ctx.warnings.push_back("applying \"create\" command to table " + (*table)->name +
                           " without --id option will have no effect");
  }
  uuid = ctx.view.Insert(**table, uuid);
  if (ctx.Has("--id")) {
    if (Status s = BindId(ctx, uuid, true); !s) return s;
  }
  for (size_t i = 1; i < ctx.command.args.size(); i++) {
    if (Status s = SetColumn(ctx, **table, uuid, ctx.command.args[i]); !s) return s;
  }
  ctx.out += uuid.ToString() + "\n";
  return Status::Ok();
}

Status CmdDestroy(Context& ctx) {
  Result<const TableSchema*> table = LookupTable(ctx.view.schema(), ctx.command.args[0]);
  if (!table) return table.error();
  bool all = ctx.Has("--all");
  if (all && ctx.command.args.size() > 1) {
    return Usage("--all and records argument should not be specified together");
  }
  if (!all && ctx.command.args.size() == 1) {
    // Open vSwitch only warns (and exits 0).
    ctx.warnings.push_back("either --all or records argument should be specified");
    return Status::Ok();
  }
  std::vector<Uuid> rows;
  if (all) rows = ctx.view.Rows(**table);
  for (size_t i = 1; i < ctx.command.args.size(); i++) {
    Result<std::optional<Uuid>> row = FindRecord(ctx.view, **table, ctx.command.args[i]);
    if (!row) return row.error();
    if (*row) {
      rows.push_back(**row);
    } else if (!ctx.Has("--if-exists")) {
      return Error("not found", "no row \"" + ctx.command.args[i] + "\" in table " + (*table)->name);
    }
  }
  for (const Uuid& row : rows) {
    if (ctx.view.Exists(**table, row)) ctx.view.Delete(**table, row);
  }
  return Status::Ok();
}

const CommandSpec kDatabaseCommands[] = {
    {"get", 2, -1, "--if-exists,--id=", true, "get TBL REC COL[:KEY]", "Database commands",
     CmdGet},
    {"list", 1, -1, "--if-exists,--columns=", true, "list TBL [REC]", "Database commands",
     CmdList},
    {"find", 1, -1, "--columns=", true, "find TBL CONDITION...", "Database commands", CmdFind},
    {"set", 3, -1, "--if-exists", false, "set TBL REC COL[:KEY]=VALUE", "Database commands",
     CmdSet},
    {"add", 4, -1, "--if-exists", false, "add TBL REC COL [KEY=]VALUE", "Database commands",
     CmdAdd},
    {"remove", 4, -1, "--if-exists", false, "remove TBL REC COL [KEY=]VALUE",
     "Database commands", CmdRemove},
    {"clear", 3, -1, "--if-exists", false, "clear TBL REC COL", "Database commands", CmdClear},
    {"create", 2, -1, "--id=", false, "create TBL COL[:KEY]=VALUE", "Database commands",
     CmdCreate},
    {"destroy", 1, -1, "--if-exists,--all", false, "destroy TBL REC", "Database commands",
     CmdDestroy},
};

}  // namespace

std::span<const CommandSpec> DatabaseCommands() { return kDatabaseCommands; }

}  // namespace spate::vsctl
