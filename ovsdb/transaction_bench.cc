// Transaction engine micro-benchmarks.
//
// * SingleInsert: one transact request text -> JSON parse -> execute ->
//   commit (no disk), the unit of work behind Open vSwitch's ~20 us of
//   server CPU per pipelined single-insert transaction.  SingleInsertLogged
//   adds the log record write (no fsync) to a temporary file.
// * UpdateWideRow: change one integer of a row with 64 populated columns
//   through the engine (only the changed column moves), against a naive
//   baseline in this file that copies the whole row to apply the same
//   change (what a copy-on-write row engine does).
#include <benchmark/benchmark.h>

#include <filesystem>

#include "ovsdb/file.h"
#include "ovsdb/transaction.h"

namespace spate::ovsdb {
namespace {

constexpr int kWideColumns = 64;

std::shared_ptr<const DatabaseSchema> NbSchema() {
  static auto schema = std::make_shared<DatabaseSchema>(*DatabaseSchema::FromJson(Json::parse(R"(
  {"name":"N","version":"1.0.0","tables":{"Logical_Port":{"columns":{
    "name":{"type":"string"},
    "parent_name":{"type":{"key":"string","min":0,"max":1}},
    "tag":{"type":{"key":{"type":"integer","minInteger":0,"maxInteger":4095},"min":0,"max":1}},
    "macs":{"type":{"key":"string","min":0,"max":"unlimited"}},
    "port_security":{"type":{"key":"string","min":0,"max":"unlimited"}},
    "up":{"type":{"key":"boolean","min":0,"max":1}},
    "external_ids":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}}},
    "indexes":[["name"]]}}})")));
  return schema;
}

std::string InsertText(int64_t i) {
  return R"(["N",{"op":"insert","table":"Logical_Port","row":{"name":"lp)" + std::to_string(i) +
         R"(","macs":["set",["00:00:00:00:00:01"]],"external_ids":["map",[["neutron:id","x"]]]}}])";
}

void BM_SingleInsert(benchmark::State& state) {
  Database db(NbSchema());
  int64_t i = 0;
  for (auto _ : state) {
    std::string text = InsertText(i++);
    auto params = ParseJson(text);
    TransactResult r = Transact(db, *params, {});
    benchmark::DoNotOptimize(r.changes);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SingleInsert);

void BM_SingleInsertLogged(benchmark::State& state) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("ovsdb-bench-" + std::to_string(::getpid()) + ".db")).string();
  std::filesystem::remove(path);
  (void)DatabaseFile::Create(path, *NbSchema());
  {
    auto file = DatabaseFile::Open(path);
    int64_t i = 0;
    for (auto _ : state) {
      auto params = ParseJson(InsertText(i++));
      TransactResult r = (*file)->Transact(*params, {});
      benchmark::DoNotOptimize(r.changes);
    }
  }
  std::filesystem::remove(path);
  std::filesystem::remove(LockFilePath(path));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SingleInsertLogged);

std::shared_ptr<const DatabaseSchema> WideSchema() {
  Json cols = Json::object();
  cols["counter"] = Json{{"type", "integer"}};
  for (int c = 0; c < kWideColumns; ++c) {
    cols["c" + std::to_string(c)] =
        Json{{"type", Json{{"key", "string"}, {"value", "string"}, {"min", 0}, {"max", "unlimited"}}}};
  }
  Json schema = {{"name", "W"}, {"version", "1.0.0"},
                 {"tables", {{"Wide", {{"columns", cols}}}}}};
  return std::make_shared<DatabaseSchema>(*DatabaseSchema::FromJson(schema));
}

// A database with one wide row whose map columns hold 8 pairs each.
Database WideDatabase() {
  Database db(WideSchema());
  Json row = Json::object();
  for (int c = 0; c < kWideColumns; ++c) {
    Json pairs = Json::array();
    for (int k = 0; k < 8; ++k) {
      pairs.push_back(Json::array({"key-" + std::to_string(k), "some value " + std::to_string(c)}));
    }
    row["c" + std::to_string(c)] = Json::array({"map", pairs});
  }
  Json params = Json::array({"W", Json{{"op", "insert"}, {"table", "Wide"}, {"row", row}}});
  (void)Transact(db, params, {});
  return db;
}

const std::string kUpdate =
    R"(["W",{"op":"mutate","table":"Wide","where":[],"mutations":[["counter","+=",1]]}])";

void BM_UpdateWideRow_Engine(benchmark::State& state) {
  Database db = WideDatabase();
  for (auto _ : state) {
    auto params = ParseJson(kUpdate);
    TransactResult r = Transact(db, *params, {});
    benchmark::DoNotOptimize(r.changes);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UpdateWideRow_Engine);

// Baseline: the same request, applied by copying the whole row, changing
// the column in the copy and swapping the copy in (old row kept for the
// change set, as a copy-on-write engine does).
void BM_UpdateWideRow_NaiveCopy(benchmark::State& state) {
  Database db = WideDatabase();
  Table& table = db.mutable_table(0);
  int counter = table.schema().FindColumn("counter")->index;
  for (auto _ : state) {
    auto params = ParseJson(kUpdate);
    int64_t delta = (*params)[1]["mutations"][0][2].get<int64_t>();
    for (auto& [uuid, row] : table.rows()) {
      Row* live = table.FindMutable(uuid);
      std::vector<Datum> copy = live->fields;
      copy[counter] = Datum(Atom(copy[counter].keys()[0].integer() + delta));
      std::swap(copy, live->fields);
      benchmark::DoNotOptimize(copy);
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UpdateWideRow_NaiveCopy);

}  // namespace
}  // namespace spate::ovsdb
