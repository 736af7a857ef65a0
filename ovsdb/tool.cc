#include "ovsdb/tool.h"

#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>

#include "ovsdb/file.h"

namespace spate::ovsdb {
namespace {

constexpr const char* kUsage =
    "ovsdb-tool: Open vSwitch database management utility\n"
    "usage: ovsdb-tool [OPTIONS] COMMAND [ARG...]\n"
    "  create [DB [SCHEMA]]    create DB with the given SCHEMA\n"
    "  compact [DB [DST]]      compact DB in-place (or to DST)\n"
    "  convert [DB [SCHEMA [DST]]]   convert DB to SCHEMA (to DST)\n"
    "  needs-conversion [DB [SCHEMA]] does DB need conversion to SCHEMA?\n"
    "  db-name [DB]            report name of schema used by DB\n"
    "  db-version [DB]         report version of schema used by DB\n"
    "  db-cksum [DB]           report checksum of schema used by DB\n"
    "  schema-name [SCHEMA]    report SCHEMA's name\n"
    "  schema-version [SCHEMA] report SCHEMA's schema version\n"
    "  schema-cksum [SCHEMA]   report SCHEMA's checksum\n"
    "  query [DB] TRNS         execute read-only transaction on DB\n"
    "  transact [DB] TRNS      execute read/write transaction on DB\n"
    "  [-m]... show-log [DB]   print DB's log entries\n"
    "The default DB is $OVS_DBDIR/conf.db (OVS_DBDIR defaults to /etc/openvswitch).\n"
    "The default SCHEMA is $OVS_PKGDATADIR/vswitch.ovsschema "
    "(OVS_PKGDATADIR defaults to /usr/share/openvswitch).\n"
    "\nOther options:\n"
    "  -m, --more                  increase show-log verbosity\n"
    "  -h, --help                  display this help message\n"
    "  -V, --version               display version information\n";

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string DefaultDb() { return EnvOr("OVS_DBDIR", "/etc/openvswitch") + "/conf.db"; }
std::string DefaultSchema() {
  return EnvOr("OVS_PKGDATADIR", "/usr/share/openvswitch") + "/vswitch.ovsschema";
}

struct Ctx {
  std::vector<std::string> args;  // Command arguments (after the command).
  int more = 0;                   // -m count.
  std::ostream& out;              // Standard output.
  std::ostream& err;              // Standard error.

  int Fail(const std::string& msg) {
    err << "ovsdb-tool: " << msg << "\n";
    return 1;
  }
  std::string Arg(size_t i, const std::string& fallback) const {
    return i < args.size() ? args[i] : fallback;
  }
};

int FailError(Ctx& c, const spate::Error& e) { return c.Fail(e.ToString()); }

Result<DatabaseSchema> ReadDbSchema(const std::string& path) {
  auto log = ReadLog(path);
  if (!log) return log.error();
  if (log->records.empty()) return Error("I/O error", path + ": not an OVSDB database file");
  return DatabaseSchema::FromJson(log->records[0].json);
}

int CmdCreate(Ctx& c) {
  auto schema = DatabaseSchema::FromFile(c.Arg(1, DefaultSchema()));
  if (!schema) return FailError(c, schema.error());
  if (Status s = DatabaseFile::Create(c.Arg(0, DefaultDb()), *schema); !s) {
    return FailError(c, s.error());
  }
  return 0;
}

int CmdDbInfo(Ctx& c, const std::function<std::string(const DatabaseSchema&)>& field) {
  auto schema = ReadDbSchema(c.Arg(0, DefaultDb()));
  if (!schema) return FailError(c, schema.error());
  c.out << field(*schema) << "\n";
  return 0;
}

int CmdSchemaInfo(Ctx& c, const std::function<std::string(const DatabaseSchema&)>& field) {
  auto schema = DatabaseSchema::FromFile(c.Arg(0, DefaultSchema()));
  if (!schema) return FailError(c, schema.error());
  c.out << field(*schema) << "\n";
  return 0;
}

int CmdTransact(Ctx& c, bool read_only) {
  if (c.args.empty() || c.args.size() > 2) {
    return c.Fail(std::string("'") + (read_only ? "query" : "transact") +
                  "' command requires 1 or 2 arguments");
  }
  std::string db_path = c.args.size() == 2 ? c.args[0] : DefaultDb();
  auto params = ParseJson(c.args.back());
  if (!params) return c.Fail(params.error().details());
  FileOptions options;
  options.read_only = read_only;
  auto file = DatabaseFile::Open(db_path, options);
  if (!file) return FailError(c, file.error());
  if (!(*file)->recovery_message().empty()) c.err << "ovsdb-tool: " << (*file)->recovery_message() << "\n";
  TransactOptions topts;
  TransactResult r;
  if (read_only) {
    // Execute against the in-memory copy only; nothing reaches the file.
    topts.now_ms = WallClockMs();
    topts.start_ms = topts.now_ms;
    r = Transact((*file)->db(), *params, topts);
  } else {
    r = (*file)->Transact(*params, topts);
  }
  c.out << DumpJson(r.reply) << "\n";
  return 0;
}

int CmdCompact(Ctx& c) {
  std::string db = c.Arg(0, DefaultDb());
  if (c.args.size() >= 2) {
    FileOptions ro;
    ro.read_only = true;
    auto file = DatabaseFile::Open(db, ro);
    if (!file) return FailError(c, file.error());
    std::vector<Json> records = {(*file)->db().schema().ToJson(),
                                 SnapshotRecord((*file)->db(), WallClockMs(), "")};
    if (Status s = WriteLogAtomically(c.args[1], records); !s) return FailError(c, s.error());
    return 0;
  }
  auto file = DatabaseFile::Open(db);
  if (!file) return FailError(c, file.error());
  if (Status s = (*file)->Compact(WallClockMs()); !s) return FailError(c, s.error());
  return 0;
}

// Copies every row of `from` into a snapshot record for `schema`, keeping
// columns that still exist (values that no longer fit are an error).
Result<Json> ConvertRows(const Database& from, const DatabaseSchema& schema) {
  Json rec = Json::object();
  for (size_t i = 0; i < from.n_tables(); ++i) {
    const Table& table = from.table(static_cast<int>(i));
    const TableSchema* nt = schema.FindTable(table.schema().name);
    if (nt == nullptr || table.size() == 0) continue;
    Json rows = Json::object();
    for (auto& [uuid, row] : table.rows()) {
      Json r = Json::object();
      for (size_t c = 2; c < table.schema().columns.size(); ++c) {
        const ColumnSchema& oc = table.schema().columns[c];
        const ColumnSchema* nc = nt->FindColumn(oc.name);
        if (nc == nullptr || nc->ephemeral) continue;
        Json v = row->fields[c].ToJson(oc.type);
        auto parsed = Datum::FromJson(nc->type, v, nullptr);
        if (!parsed || !parsed->CheckConstraints(nc->type)) {
          return Error("constraint violation", "table " + nt->name + " column " + nc->name +
                                                   ": value " + DumpJson(v) +
                                                   " does not fit the new schema");
        }
        if (!parsed->IsDefault(nc->type)) r[nc->name] = std::move(v);
      }
      rows[uuid.ToString()] = std::move(r);
    }
    rec[nt->name] = std::move(rows);
  }
  rec["_date"] = WallClockMs();
  rec["_comment"] = "converted by ovsdb-tool";
  return rec;
}

int CmdConvert(Ctx& c) {
  if (c.args.size() < 2) return c.Fail("'convert' command requires at least 2 arguments");
  auto schema = DatabaseSchema::FromFile(c.args[1]);
  if (!schema) return FailError(c, schema.error());
  FileOptions ro;
  ro.read_only = true;
  auto file = DatabaseFile::Open(c.args[0], ro);
  if (!file) return FailError(c, file.error());
  auto rec = ConvertRows((*file)->db(), *schema);
  if (!rec) return FailError(c, rec.error());
  std::string target = c.Arg(2, c.args[0]);
  file->reset();
  if (Status s = WriteLogAtomically(target, {schema->ToJson(), *rec}); !s) {
    return FailError(c, s.error());
  }
  // Reload to check the result satisfies the new schema's references.
  FileOptions check;
  check.read_only = true;
  auto reopened = DatabaseFile::Open(target, check);
  if (!reopened) return FailError(c, reopened.error());
  return 0;
}

int CmdNeedsConversion(Ctx& c) {
  auto db = ReadDbSchema(c.Arg(0, DefaultDb()));
  if (!db) return FailError(c, db.error());
  auto schema = DatabaseSchema::FromFile(c.Arg(1, DefaultSchema()));
  if (!schema) return FailError(c, schema.error());
  c.out << (*db == *schema ? "no" : "yes") << "\n";
  return 0;
}

int Dispatch(const std::string& cmd, Ctx& c) {
  using Field = std::function<std::string(const DatabaseSchema&)>;
  Field name = [](const DatabaseSchema& s) { return s.name; };
  Field version = [](const DatabaseSchema& s) { return s.version; };
  Field cksum = [](const DatabaseSchema& s) { return s.cksum; };
  if (cmd == "create") return CmdCreate(c);
  if (cmd == "compact") return CmdCompact(c);
  if (cmd == "convert") return CmdConvert(c);
  if (cmd == "needs-conversion") return CmdNeedsConversion(c);
  if (cmd == "db-name") return CmdDbInfo(c, name);
  if (cmd == "db-version") return CmdDbInfo(c, version);
  if (cmd == "db-cksum") return CmdDbInfo(c, cksum);
  if (cmd == "schema-name") return CmdSchemaInfo(c, name);
  if (cmd == "schema-version") return CmdSchemaInfo(c, version);
  if (cmd == "schema-cksum") return CmdSchemaInfo(c, cksum);
  if (cmd == "query") return CmdTransact(c, true);
  if (cmd == "transact") return CmdTransact(c, false);
  if (cmd == "show-log") {
    return ShowLog(c.Arg(0, DefaultDb()), c.more, c.out, c.err) ? 0 : 1;
  }
  return c.Fail("unknown command '" + cmd + "'; use --help for help");
}

}  // namespace

int RunTool(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Ctx c{{}, 0, out, err};
  std::vector<std::string> positional;
  bool options_done = false;
  for (const std::string& a : args) {
    if (options_done || a.empty() || a[0] != '-' || a == "-") {
      positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
    } else if (a == "-h" || a == "--help") {
      out << kUsage;
      return 0;
    } else if (a == "-V" || a == "--version") {
      out << "ovsdb-tool (Spate) 0.1.0\n";
      return 0;
    } else if (a == "--more") {
      ++c.more;
    } else if (a.size() > 1 && a[1] == 'm' && a.find_first_not_of('m', 1) == std::string::npos) {
      c.more += static_cast<int>(a.size() - 1);
    } else {
      return c.Fail("unrecognized option '" + a + "' (use --help for help)");
    }
  }
  if (positional.empty()) return c.Fail("missing command name; use --help for help");
  c.args.assign(positional.begin() + 1, positional.end());
  static const std::map<std::string, size_t> kMaxArgs = {
      {"create", 2}, {"compact", 2}, {"convert", 3}, {"needs-conversion", 2},
      {"db-name", 1}, {"db-version", 1}, {"db-cksum", 1}, {"schema-name", 1},
      {"schema-version", 1}, {"schema-cksum", 1}, {"query", 2}, {"transact", 2},
      {"show-log", 1}};
  auto it = kMaxArgs.find(positional[0]);
  if (it != kMaxArgs.end() && c.args.size() > it->second) {
    return c.Fail("'" + positional[0] + "' command takes at most " +
                  std::to_string(it->second) + " arguments");
  }
  return Dispatch(positional[0], c);
}

}  // namespace spate::ovsdb
