// ovsdb-client: command-line client for OVSDB servers (a subset of Open
// vSwitch's commands; formatting is ovsdb/client_format.h).
//
// Commands: list-dbs, get-schema, get-schema-version, get-schema-cksum,
// list-tables, list-columns, transact, query, dump, monitor (one table).  SERVER is optional
// (default unix:$OVS_RUNDIR/db.sock); DATABASE is optional where Open
// vSwitch allows it (default Open_vSwitch).
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
enum Codes { kFormat = 'f', kPrivateKey = 'p', kCertificate = 'c', kCaCert = 'C', kNoHeadings = 256 };

const ProgramOption kOptions[] = {
    {"format", 'f', ArgKind::kRequired, kFormat},
    {"no-headings", 0, ArgKind::kNone, kNoHeadings},
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
    "\nThe default SERVER is unix:$OVS_RUNDIR/db.sock; the default DATABASE\n"
    "is Open_vSwitch.\n"
    "\nOutput formatting options:\n"
    "  -f, --format=FORMAT         set output formatting to FORMAT\n"
    "                              (\"table\", \"csv\", \"list\" or \"json\")\n"
    "  --no-headings               omit table heading row\n"
    "\nPKI configuration (required to use SSL):\n"
    "  -p, --private-key=FILE  file with private key\n"
    "  -c, --certificate=FILE  file with certificate for private key\n"
    "  -C, --ca-cert=FILE      file with peer CA certificate\n";

struct Context {
  SslConfig ssl;                    // For ssl: servers.
  ov::FormatOptions format;         // Table output.
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

// Takes the database argument if it names a database on the server.
std::string TakeDatabase(Context& ctx, std::vector<std::string>& args) {
  if (!args.empty()) {
    Json dbs = Call(ctx, "list_dbs", Json::array());
    if (std::find(dbs.begin(), dbs.end(), Json(args[0])) != dbs.end()) {
      std::string db = args[0];
      args.erase(args.begin());
      return db;
    }
  }
  return "Open_vSwitch";
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
    if (i > 0 && ctx.format.format != ov::TableFormat::kJson) std::fputs("\n", stdout);
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

// monitor [SERVER] [DATABASE] TABLE [COLUMN[,COLUMN]...]...: prints the
// initial contents, then each update, until the connection closes.
void Monitor(Context& ctx, std::vector<std::string>& args) {
  std::string db = TakeDatabase(ctx, args);
  if (args.empty()) Fail("monitor requires a TABLE argument");
  ov::DatabaseSchema schema = FetchSchema(ctx, db);
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
  if (columns.empty()) {
    for (const ov::ColumnSchema& c : table->columns) {
      if (c.index != ov::kUuidColumn && c.index != ov::kVersionColumn) columns.push_back(c.name);
    }
  }
  Json request = {{table->name, {{"columns", columns}}}};
  Json initial = Call(ctx, "monitor", {db, nullptr, request});
  bool first = true;
  auto print = [&](const Json& updates, bool is_initial) {
    auto it = updates.is_object() ? updates.find(table->name) : updates.end();
    if (it == updates.end()) return;
    Result<ov::OutputTable> out = ov::MonitorUpdateTable(*table, columns, *it, is_initial);
    if (!out.ok()) Fail(out.error().details());
    if (!first && ctx.format.format != ov::TableFormat::kJson) std::fputs("\n", stdout);
    first = false;
    PrintTable(ctx, *out);
    std::fflush(stdout);
  };
  print(initial, true);
  while (true) {
    Result<Message> m = ctx.client->Receive();
    if (!m.ok()) return;
    if (m->method == "update" && m->params.size() == 2) print(m->params[1], false);
  }
}

void RunCommand(Context& ctx, const std::string& command, std::vector<std::string>& args) {
  if (command == "list-dbs") {
    for (const Json& db : Call(ctx, "list_dbs", Json::array())) std::printf("%s\n", db.get<std::string>().c_str());
  } else if (command == "get-schema") {
    std::printf("%s\n", ov::DumpJson(Call(ctx, "get_schema", {TakeDatabase(ctx, args)})).c_str());
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
    std::printf("%s\n", ov::DumpJson(result).c_str());
  } else if (command == "dump") {
    Dump(ctx, args);
  } else if (command == "monitor") {
    Monitor(ctx, args);
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
                                          "transact", "query", "dump", "monitor"};
  if (std::find(std::begin(kCommands), std::end(kCommands), command) == std::end(kCommands)) {
    Fail("unknown command '" + command + "'; use --help for help");
  }
  std::vector<std::string> args(cl.args.begin() + 1, cl.args.end());
  std::string server = "unix:" + OvsRundir() + "/db.sock";
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
