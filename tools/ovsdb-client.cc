// ovsdb-client: command-line client for OVSDB servers (a subset of Open
// vSwitch's commands; formatting is ovsdb/client_format.h).
//
// Commands: list-dbs, get-schema, get-schema-version, get-schema-cksum,
// list-tables, list-columns, transact, query, dump, monitor (one table or
// ALL), monitor-cond, lock, steal, unlock, wait.  Options: -f
// table|list|csv|json|html, --no-headings, --pretty, --timestamp, SSL keys.
// SERVER is optional (default unix:$OVS_RUNDIR/db.sock); DATABASE is
// optional where Open vSwitch allows it: Open_vSwitch if the server has it,
// else the server's only database other than _Server.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/daemon.h"
#include "common/jsonrpc_client.h"
#include "common/vlog.h"
#include "ovsdb/client_format.h"
#include "ovsdb/json_codec.h"
#include "ovsdb/schema.h"

namespace {

using spate::Error;
using spate::Result;
using spate::Status;
using spate::ovsdb::Json;
using namespace spate::common;
namespace ov = spate::ovsdb;

constexpr const char* kProgram = "ovsdb-client";
enum Codes {
  kFormat = 'f',
  kPrivateKey = 'p',
  kCertificate = 'c',
  kCaCert = 'C',
  kNoHeadings = 256,
  kPretty,
  kTimestamp,
};

const ProgramOption kOptions[] = {
    {"format", 'f', ArgKind::kRequired, kFormat},
    {"no-headings", 0, ArgKind::kNone, kNoHeadings},
    {"pretty", 0, ArgKind::kNone, kPretty},
    {"timestamp", 0, ArgKind::kNone, kTimestamp},
    {"private-key", 'p', ArgKind::kRequired, kPrivateKey},
    {"certificate", 'c', ArgKind::kRequired, kCertificate},
    {"ca-cert", 'C', ArgKind::kRequired, kCaCert},
};

constexpr const char* kUsage =
    "ovsdb-client: Open vSwitch database JSON-RPC client\n"
    "usage: ovsdb-client [OPTIONS] COMMAND [ARG...]\n"
    "\nValid commands are:\n"
    "  list-dbs [SERVER]\n"
    "  get-schema [SERVER] [DATABASE]\n"
    "  get-schema-version [SERVER] [DATABASE]\n"
    "  get-schema-cksum [SERVER] [DATABASE]\n"
    "  list-tables [SERVER] [DATABASE]\n"
    "  list-columns [SERVER] [DATABASE] [TABLE]\n"
    "  transact [SERVER] TRANSACTION\n"
    "  query [SERVER] TRANSACTION\n"
    "  dump [SERVER] [DATABASE [TABLE [COLUMN]...]]\n"
    "  monitor [SERVER] [DATABASE] TABLE [COLUMN,...]...\n"
    "  monitor [SERVER] [DATABASE] ALL\n"
    "  monitor-cond [SERVER] [DATABASE] CONDITION TABLE [COLUMN,...]...\n"
    "  lock [SERVER] LOCK\n"
    "  steal [SERVER] LOCK\n"
    "  unlock [SERVER] LOCK\n"
    "  wait [SERVER] DATABASE STATE\n"
    "    STATE is \"added\", \"connected\" or \"removed\"\n"
    "\nThe default SERVER is unix:$OVS_RUNDIR/db.sock; the default DATABASE\n"
    "is Open_vSwitch, or the server's only database.\n"
    "\nOutput formatting options:\n"
    "  -f, --format=FORMAT         set output formatting to FORMAT\n"
    "                              (\"table\", \"html\", \"csv\", \"list\" or \"json\")\n"
    "  --no-headings               omit table heading row\n"
    "  --pretty                    pretty-print JSON in output\n"
    "  --timestamp                 timestamp \"monitor\" output\n"
    "\nPKI configuration (required to use SSL):\n"
    "  -p, --private-key=FILE  file with private key\n"
    "  -c, --certificate=FILE  file with certificate for private key\n"
    "  -C, --ca-cert=FILE      file with peer CA certificate\n";

struct Context {
  SslConfig ssl;                    // For ssl: servers.
  ov::FormatOptions format;         // Table output (and --pretty).
  bool timestamp = false;           // --timestamp: stamp each monitor table.
  std::string server;               // SERVER, as given or the default.
  std::unique_ptr<BlockingClient> client;  // Connected server.
};

bool IsStreamName(const std::string& s) {
  return s.rfind("unix:", 0) == 0 || s.rfind("tcp:", 0) == 0 || s.rfind("ssl:", 0) == 0;
}

[[noreturn]] void Fail(const std::string& message) { FatalError(kProgram, message); }

Json Call(Context& ctx, const std::string& method, Json params) {
  Result<Message> reply = ctx.client->Transact(method, std::move(params));
  if (!reply.ok()) Fail(reply.error().details());
  if (reply->type == MessageType::kError) Fail(method + ": " + ov::DumpJson(reply->error));
  return std::move(reply->result);
}

ov::DatabaseSchema FetchSchema(Context& ctx, const std::string& db) {
  Result<ov::DatabaseSchema> schema = ov::DatabaseSchema::FromJson(Call(ctx, "get_schema", {db}));
  if (!schema.ok()) Fail(schema.error().ToString());
  return std::move(schema).value();
}

// Takes the database argument if it names a database on the server;
// otherwise the default: Open_vSwitch if served, else the only database
// other than _Server (none or several is a fatal error, as Open vSwitch).
std::string TakeDatabase(Context& ctx, std::vector<std::string>& args) {
  Json dbs = Call(ctx, "list_dbs", Json::array());
  if (!dbs.is_array()) Fail("list_dbs: unexpected reply " + ov::DumpJson(dbs));
  if (!args.empty() && std::find(dbs.begin(), dbs.end(), Json(args[0])) != dbs.end()) {
    std::string db = args[0];
    args.erase(args.begin());
    return db;
  }
  if (std::find(dbs.begin(), dbs.end(), Json("Open_vSwitch")) != dbs.end()) return "Open_vSwitch";
  std::vector<std::string> others;
  for (const Json& db : dbs) {
    if (db.is_string() && db != "_Server") others.push_back(db.get<std::string>());
  }
  if (others.size() != 1) Fail("could not find a default database, please specify a database name");
  return others[0];
}

// JSON printed as a command's result (--pretty aware).
void PrintJson(const Context& ctx, const Json& json) {
  std::string text = ctx.format.pretty ? ov::PrettyJson(json) : ov::DumpJson(json);
  std::printf("%s\n", text.c_str());
}

void PrintTable(const Context& ctx, const ov::OutputTable& table) {
  std::fputs(ov::FormatTable(table, ctx.format).c_str(), stdout);
}

void Dump(Context& ctx, std::vector<std::string>& args) {
  std::string db = TakeDatabase(ctx, args);
  ov::DatabaseSchema schema = FetchSchema(ctx, db);
  std::vector<const ov::TableSchema*> tables;
  std::vector<std::string> columns;
  if (!args.empty()) {
    const ov::TableSchema* t = schema.FindTable(args[0]);
    if (t == nullptr) Fail("No table \"" + args[0] + "\" found.");
    tables.push_back(t);
    columns.assign(args.begin() + 1, args.end());
  } else {
    for (const ov::TableSchema& t : schema.tables) tables.push_back(&t);
  }
  Json params = Json::array({db});
  for (const ov::TableSchema* t : tables) {
    params.push_back({{"op", "select"}, {"table", t->name}, {"where", Json::array()}});
  }
  Json result = Call(ctx, "transact", std::move(params));
  for (size_t i = 0; i < tables.size(); ++i) {
    if (!result.is_array() || i >= result.size() || !result[i].contains("rows")) {
      Fail("transaction returned error: " + ov::DumpJson(result));
    }
    Result<ov::OutputTable> table = ov::DumpTable(*tables[i], result[i]["rows"], columns);
    if (!table.ok()) Fail(table.error().details());
    if (i > 0 && ov::SeparatesTables(ctx.format.format)) std::fputs("\n", stdout);
    PrintTable(ctx, *table);
  }
}

void ListColumns(Context& ctx, std::vector<std::string>& args) {
  ov::DatabaseSchema schema = FetchSchema(ctx, TakeDatabase(ctx, args));
  ov::OutputTable out;
  bool one = !args.empty();
  out.headings = one ? std::vector<std::string>{"Column", "Type"}
                     : std::vector<std::string>{"Table", "Column", "Type"};
  for (const ov::TableSchema& t : schema.tables) {
    if (one && t.name != args[0]) continue;
    for (const ov::ColumnSchema& c : t.columns) {
      Json type = c.type.ToJson();
      std::vector<ov::OutputCell> row;
      if (!one) row.push_back({t.name, t.name});
      row.push_back({c.name, c.name});
      row.push_back({ov::DumpJson(type), type});
      out.rows.push_back(std::move(row));
    }
  }
  PrintTable(ctx, out);
}

// One table of a monitor and the columns printed for it.
struct MonitoredTable {
  const ov::TableSchema* table;      // Schema of the table.
  std::vector<std::string> columns;  // Requested columns, in print order.
};

// The columns Open vSwitch monitors by default: every column but _uuid,
// by name, with _version last.
std::vector<std::string> DefaultMonitorColumns(const ov::TableSchema& table) {
  std::vector<std::string> columns;
  for (const ov::ColumnSchema& c : table.columns) {
    if (c.index != ov::kUuidColumn && c.index != ov::kVersionColumn) columns.push_back(c.name);
  }
  std::sort(columns.begin(), columns.end());
  columns.push_back("_version");
  return columns;
}

// TABLE [COLUMN[,COLUMN]...]... as one monitored table.
MonitoredTable ParseMonitoredTable(const ov::DatabaseSchema& schema,
                                   const std::vector<std::string>& args) {
  const ov::TableSchema* table = schema.FindTable(args[0]);
  if (table == nullptr) Fail("No table \"" + args[0] + "\" found.");
  std::vector<std::string> columns;
  for (size_t i = 1; i < args.size(); ++i) {
    size_t start = 0;
    while (start <= args[i].size()) {
      size_t comma = std::min(args[i].find(',', start), args[i].size());
      std::string name = args[i].substr(start, comma - start);
      if (table->FindColumn(name) == nullptr) {
        Fail("Table \"" + table->name + "\" has no column \"" + name + "\".");
      }
      columns.push_back(name);
      start = comma + 1;
    }
  }
  if (columns.empty()) columns = DefaultMonitorColumns(*table);
  return {table, std::move(columns)};
}

// Prints one update (initial contents or a notification) of the monitored
// tables, in their order.
class MonitorPrinter {
 public:
  MonitorPrinter(const Context& ctx, std::vector<MonitoredTable> tables, bool all, bool update2)
      : ctx_(ctx), tables_(std::move(tables)), all_(all), update2_(update2) {}

  // Prints each monitored table present in `updates`; fatal on bad input.
  void Print(const Json& updates, bool initial) {
    for (const MonitoredTable& mt : tables_) {
      auto it = updates.is_object() ? updates.find(mt.table->name) : updates.end();
      if (it == updates.end()) continue;
      Result<ov::OutputTable> out =
          update2_ ? ov::MonitorUpdate2Table(*mt.table, mt.columns, *it)
                   : ov::MonitorUpdateTable(*mt.table, mt.columns, *it, initial);
      if (!out.ok()) Fail(out.error().details());
      if (all_) out->caption = mt.table->name;
      if (ctx_.timestamp) out->timestamp = ov::TimestampNow();
      if (!first_ && ov::SeparatesTables(ctx_.format.format)) std::fputs("\n", stdout);
      first_ = false;
      PrintTable(ctx_, *out);
    }
    std::fflush(stdout);
  }

  // The request object for "monitor" or (with `where`) "monitor_cond".
  Json Request(const Json* where) const {
    Json request = Json::object();
    for (const MonitoredTable& mt : tables_) {
      Json r = {{"columns", mt.columns}};
      if (where != nullptr) r["where"] = *where;
      request[mt.table->name] = where != nullptr ? Json::array({r}) : r;
    }
    return request;
  }

 private:
  const Context& ctx_;                   // Output options.
  std::vector<MonitoredTable> tables_;   // What to print, in order.
  bool all_;                             // ALL: caption each table.
  bool update2_;                         // Updates are <table-update2>s.
  bool first_ = true;                    // Nothing printed yet.
};

// monitor [SERVER] [DATABASE] (TABLE [COLUMN[,COLUMN]...]... | ALL) and
// monitor-cond [SERVER] [DATABASE] CONDITION TABLE [COLUMN[,COLUMN]...]...:
// prints the initial contents, then each update, until the connection
// closes.  With ALL each table's block carries the table's name as caption.
void Monitor(Context& ctx, std::vector<std::string>& args, bool cond) {
  std::string db = TakeDatabase(ctx, args);
  Json where;
  if (cond) {
    if (args.empty()) Fail("monitor-cond requires a CONDITION argument");
    Result<Json> parsed = ov::ParseJson(args[0]);
    if (!parsed.ok()) Fail(parsed.error().details());
    if (!parsed->is_array()) Fail("CONDITION must be a JSON array");
    where = std::move(parsed).value();
    args.erase(args.begin());
  }
  if (args.empty()) Fail("monitor requires a TABLE argument");
  ov::DatabaseSchema schema = FetchSchema(ctx, db);
  bool all = !cond && args[0] == "ALL";
  if (all && args.size() > 1) Fail("ALL must be the only argument");
  std::vector<MonitoredTable> tables;
  if (all) {
    for (const ov::TableSchema& t : schema.tables) tables.push_back({&t, DefaultMonitorColumns(t)});
  } else {
    tables.push_back(ParseMonitoredTable(schema, args));
  }
  MonitorPrinter printer(ctx, std::move(tables), all, cond);
  Json initial = Call(ctx, cond ? "monitor_cond" : "monitor",
                      {db, nullptr, printer.Request(cond ? &where : nullptr)});
  printer.Print(initial, true);
  const char* notification = cond ? "update2" : "update";
  while (true) {
    Result<Message> m = ctx.client->Receive();
    if (!m.ok()) return;
    if (m->method == notification && m->params.size() == 2) printer.Print(m->params[1], false);
  }
}

// lock|steal|unlock [SERVER] LOCK: sends the request, prints the reply
// (not for unlock), then prints each "locked"/"stolen" notification as its
// method name and its params, until the connection closes.
void LockCommand(Context& ctx, const std::string& command, const std::vector<std::string>& args) {
  if (args.size() != 1) Fail("invalid syntax for '" + command + "' (use --help for help)");
  Json reply = Call(ctx, command, {args[0]});
  if (command != "unlock") PrintJson(ctx, reply);
  std::fflush(stdout);
  while (true) {
    Result<Message> m = ctx.client->Receive();
    if (!m.ok()) return;
    if (m->type == MessageType::kNotification && (m->method == "locked" || m->method == "stolen")) {
      std::printf("%s\n", m->method.c_str());
      PrintJson(ctx, m->params);
      std::fflush(stdout);
    }
  }
}

// wait [SERVER] DATABASE STATE: blocks until DATABASE is "added" to the
// server, "connected" (e.g. to its cluster) or "removed", by a "wait"
// operation on _Server's Database table (which the server holds until it
// succeeds); prints nothing.
void WaitCommand(Context& ctx, const std::vector<std::string>& args) {
  if (args.size() != 2) Fail("invalid syntax for 'wait' (use --help for help)");
  const std::string& db = args[0];
  const std::string& state = args[1];
  Json op = {{"op", "wait"}, {"table", "Database"}, {"where", {{"name", "==", db}}}};
  if (state == "added") {
    op.update({{"columns", {"name"}}, {"rows", Json::array()}, {"until", "!="}});
  } else if (state == "connected") {
    op.update({{"columns", {"connected"}}, {"rows", {{{"connected", true}}}}, {"until", "=="}});
  } else if (state == "removed") {
    op.update({{"columns", {"name"}}, {"rows", Json::array()}, {"until", "=="}});
  } else {
    Fail(state + ": unknown state");
  }
  // The server may drop the session when databases come and go: then
  // reconnect and wait again, as Open vSwitch does.
  while (true) {
    if (ctx.client == nullptr) {
      Result<std::unique_ptr<BlockingClient>> client =
          BlockingClient::Connect(ctx.server, ctx.ssl, std::chrono::seconds(30));
      if (!client.ok()) Fail(client.error().details());
      ctx.client = std::move(client).value();
    }
    Result<Message> aware = ctx.client->Transact("set_db_change_aware", {true});
    Result<Message> reply =
        aware.ok() ? ctx.client->Transact("transact", {"_Server", op}) : aware;
    if (!reply.ok()) {
      ctx.client.reset();
      continue;
    }
    if (reply->type == MessageType::kError) Fail("transact: " + ov::DumpJson(reply->error));
    const Json& result = reply->result;
    if (result.is_array() && !result.empty() && result[0].is_object() &&
        !result[0].contains("error")) {
      return;
    }
  }
}

void RunCommand(Context& ctx, const std::string& command, std::vector<std::string>& args) {
  if (command == "list-dbs") {
    Json dbs = Call(ctx, "list_dbs", Json::array());
    if (!dbs.is_array()) Fail("list_dbs: unexpected reply " + ov::DumpJson(dbs));
    std::vector<std::string> names;
    for (const Json& db : dbs) {
      if (db.is_string()) names.push_back(db.get<std::string>());
    }
    std::sort(names.begin(), names.end());  // As Open vSwitch prints them.
    for (const std::string& name : names) std::printf("%s\n", name.c_str());
  } else if (command == "get-schema") {
    PrintJson(ctx, Call(ctx, "get_schema", {TakeDatabase(ctx, args)}));
  } else if (command == "get-schema-version") {
    std::printf("%s\n", FetchSchema(ctx, TakeDatabase(ctx, args)).version.c_str());
  } else if (command == "get-schema-cksum") {
    std::printf("%s\n", FetchSchema(ctx, TakeDatabase(ctx, args)).cksum.c_str());
  } else if (command == "list-tables") {
    ov::OutputTable out;
    out.headings = {"Table"};
    for (const ov::TableSchema& t : FetchSchema(ctx, TakeDatabase(ctx, args)).tables) {
      out.rows.push_back({{t.name, t.name}});
    }
    PrintTable(ctx, out);
  } else if (command == "list-columns") {
    ListColumns(ctx, args);
  } else if (command == "transact" || command == "query") {
    if (args.size() != 1) Fail(command + " requires exactly one TRANSACTION argument");
    Result<Json> txn = ov::ParseJson(args[0]);
    if (!txn.ok()) Fail(txn.error().details());
    if (command == "query" && txn->is_array()) txn->push_back({{"op", "abort"}});
    Json result = Call(ctx, "transact", std::move(txn).value());
    if (command == "query" && result.is_array() && !result.empty()) result.erase(result.size() - 1);
    PrintJson(ctx, result);
  } else if (command == "dump") {
    Dump(ctx, args);
  } else if (command == "wait") {
    WaitCommand(ctx, args);
  } else if (command == "lock" || command == "steal" || command == "unlock") {
    LockCommand(ctx, command, args);
  } else if (command == "monitor" || command == "monitor-cond") {
    Monitor(ctx, args, command == "monitor-cond");
  } else {
    Fail("unknown command '" + command + "'; use --help for help");
  }
}

}  // namespace

int main(int argc, char** argv) {
  Vlog vlog(kProgram);
  Context ctx;
  ProgramInfo info{kProgram, kUsage, false};
  CommandLine cl = ParseCommandLineOrExit(
      info, vlog, argc, argv, kOptions, [&](int code, const char* arg) -> Status {
        switch (code) {
          case kFormat: {
            Result<ov::TableFormat> f = ov::ParseTableFormat(arg);
            if (!f.ok()) return f.error();
            ctx.format.format = *f;
            break;
          }
          case kNoHeadings: ctx.format.headings = false; break;
          case kPretty: ctx.format.pretty = true; break;
          case kTimestamp: ctx.timestamp = true; break;
          case kPrivateKey: ctx.ssl.private_key = arg; break;
          case kCertificate: ctx.ssl.certificate = arg; break;
          case kCaCert: ctx.ssl.ca_cert = arg; break;
          default: break;
        }
        return Status::Ok();
      });
  if (cl.args.empty()) Fail("missing command name; use --help for help");
  std::string command = cl.args[0];
  static const char* const kCommands[] = {"list-dbs", "get-schema", "get-schema-version",
                                          "get-schema-cksum", "list-tables", "list-columns",
                                          "transact", "query", "dump", "monitor",
                                          "monitor-cond", "lock", "steal", "unlock", "wait"};
  if (std::find(std::begin(kCommands), std::end(kCommands), command) == std::end(kCommands)) {
    Fail("unknown command '" + command + "'; use --help for help");
  }
  std::vector<std::string> args(cl.args.begin() + 1, cl.args.end());
  std::string& server = ctx.server;
  server = "unix:" + OvsRundir() + "/db.sock";
  if (!args.empty() && IsStreamName(args[0])) {
    server = args[0];
    args.erase(args.begin());
  }
  Result<std::unique_ptr<BlockingClient>> client =
      BlockingClient::Connect(server, ctx.ssl, std::chrono::seconds(30));
  if (!client.ok()) Fail(client.error().details());
  ctx.client = std::move(client).value();
  RunCommand(ctx, command, args);
  return 0;
}
