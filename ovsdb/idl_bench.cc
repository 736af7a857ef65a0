// Micro-benchmarks of the replica (no server): initial sync of N rows from
// a monitor_cond reply, and applying small update2 "modify"s, each against
// a baseline in the same binary.
//   BM_InitialSync        ApplyUpdates on a fresh Replica (decode + insert)
//   BM_DecodeOnly         baseline: only Datum::FromJson of every value
//   BM_SmallUpdate        one-column modify of one row of a wide table
//   BM_SmallUpdateCopyRow baseline: the same, but copying the whole row
//                         before applying (what the replica avoids)
//   BM_LargeSetOneElement one element added to / removed from a 10k-element
//                         set by an update2 diff (edited in place)
//   BM_LargeSetRebuild    baseline: the same diff applied by rebuilding the
//                         set (Datum::ApplyDiff, what the replica did before)
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "ovsdb/idl_replica.h"

namespace spate::ovsdb::idl {
namespace {

const DatabaseSchema& Schema() {
  static const DatabaseSchema* schema = [] {
    auto s = DatabaseSchema::FromFile(std::string(SPATE_SOURCE_ROOT) +
                                      "/ovsdb/schemas/ovn-nb.ovsschema");
    if (!s.ok()) std::abort();
    return new DatabaseSchema(std::move(s).value());
  }();
  return *schema;
}

Uuid NthUuid(int i) { return Uuid{0x1234, static_cast<uint64_t>(i) + 1}; }

// A monitor_cond reply with `n` Logical_Port rows of a realistic width.
Json InitialUpdates(int n) {
  Json rows = Json::object();
  for (int i = 0; i < n; ++i) {
    Json macs = Json::array({"set", Json::array({"00:00:00:00:00:01 10.0.0.1", "mac-" +
                                                                                   std::to_string(i)})});
    Json ids = Json::array({"map", Json::array({Json::array({"owner", "bench"}),
                                                Json::array({"index", std::to_string(i)})})});
    rows[NthUuid(i).ToString()] = {
        {"initial",
         {{"name", "lp" + std::to_string(i)}, {"lswitch", Json::array({"uuid", NthUuid(0).ToString()})},
          {"macs", macs}, {"port_security", macs}, {"external_ids", ids}, {"tag", i % 4000}}}};
  }
  return {{"Logical_Port", rows}};
}

std::unique_ptr<Replica> NewReplica() {
  auto r = Replica::Create(Schema(), {{"Logical_Port", {}, nullptr}});
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

void BM_InitialSync(benchmark::State& state) {
  Json updates = InitialUpdates(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto replica = NewReplica();
    if (!replica->ApplyUpdates(updates, true).ok()) std::abort();
    benchmark::DoNotOptimize(replica->table("Logical_Port")->size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_InitialSync)->Arg(1000)->Arg(10000);

void BM_DecodeOnly(benchmark::State& state) {
  Json updates = InitialUpdates(static_cast<int>(state.range(0)));
  const TableSchema& ts = *Schema().FindTable("Logical_Port");
  for (auto _ : state) {
    for (const auto& [uuid, update] : updates["Logical_Port"].items()) {
      for (const auto& [col, value] : update["initial"].items()) {
        auto d = Datum::FromJson(ts.FindColumn(col)->type, value, nullptr);
        benchmark::DoNotOptimize(d.ok());
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DecodeOnly)->Arg(1000)->Arg(10000);

// Updates of the "tag" column of successive rows, pre-built.
std::vector<Json> SmallUpdates(int n_rows, int count) {
  std::vector<Json> out;
  for (int i = 0; i < count; ++i) {
    Json modify = {{"modify", {{"tag", Json::array({"set", Json::array({i % 4000, 4001})})}}}};
    out.push_back({{"Logical_Port", {{NthUuid(i % n_rows).ToString(), modify}}}});
  }
  return out;
}

void BM_SmallUpdate(benchmark::State& state) {
  const int n = 10000;
  auto replica = NewReplica();
  if (!replica->ApplyUpdates(InitialUpdates(n), true).ok()) std::abort();
  std::vector<Json> updates = SmallUpdates(n, 1024);
  size_t i = 0;
  for (auto _ : state) {
    if (!replica->ApplyUpdates(updates[i++ % updates.size()], true).ok()) std::abort();
    if (i % 4096 == 0) (void)replica->table("Logical_Port")->TakeChanges();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SmallUpdate);

void BM_SmallUpdateCopyRow(benchmark::State& state) {
  const int n = 10000;
  auto replica = NewReplica();
  if (!replica->ApplyUpdates(InitialUpdates(n), true).ok()) std::abort();
  std::vector<Json> updates = SmallUpdates(n, 1024);
  const ReplicaTable& t = *replica->table("Logical_Port");
  size_t i = 0;
  for (auto _ : state) {
    const Json& u = updates[i++ % updates.size()];
    // Baseline: copy the whole row, then apply the same update to the copy.
    IdlRow copy = *t.Find(*Uuid::Parse(u["Logical_Port"].begin().key()));
    benchmark::DoNotOptimize(copy.fields.data());
    if (!replica->ApplyUpdates(u, true).ok()) std::abort();
    if (i % 4096 == 0) (void)replica->table("Logical_Port")->TakeChanges();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SmallUpdateCopyRow);

// Alternately removes and re-adds one element of a 10k-element "macs" set.
std::vector<Json> LargeSetDiffs() {
  std::vector<Json> out;
  for (int i = 0; i < 2; ++i) {
    Json modify = {{"modify", {{"macs", "mac-5000"}}}};
    out.push_back({{"Logical_Port", {{NthUuid(0).ToString(), modify}}}});
  }
  return out;
}

std::unique_ptr<Replica> LargeSetReplica() {
  auto replica = NewReplica();
  Json macs = Json::array();
  for (int i = 0; i < 10000; ++i) macs.push_back("mac-" + std::to_string(i));
  Json row = {{"name", "lp"}, {"lswitch", Json::array({"uuid", NthUuid(1).ToString()})},
              {"macs", Json::array({"set", macs})}};
  if (!replica->ApplyUpdates({{"Logical_Port", {{NthUuid(0).ToString(), {{"initial", row}}}}}}, true)
           .ok()) {
    std::abort();
  }
  return replica;
}

void BM_LargeSetOneElement(benchmark::State& state) {
  auto replica = LargeSetReplica();
  std::vector<Json> diffs = LargeSetDiffs();
  size_t i = 0;
  for (auto _ : state) {
    if (!replica->ApplyUpdates(diffs[i++ % 2], true).ok()) std::abort();
    if (i % 4096 == 0) (void)replica->table("Logical_Port")->TakeChanges();
  }
  state.counters["elements_written_per_update"] = benchmark::Counter(
      static_cast<double>(replica->stats().elements_changed), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_LargeSetOneElement);

void BM_LargeSetRebuild(benchmark::State& state) {
  auto replica = LargeSetReplica();
  const TableSchema& ts = *Schema().FindTable("Logical_Port");
  Type type = ts.FindColumn("macs")->type;
  Datum field = replica->table("Logical_Port")->Find(NthUuid(0))->fields[ts.FindColumn("macs")->index];
  std::vector<Json> diffs = LargeSetDiffs();
  size_t i = 0;
  for (auto _ : state) {
    // The same decode, then the whole-set rebuild the replica avoids.
    const Json& value = diffs[i++ % 2]["Logical_Port"].begin().value()["modify"]["macs"];
    auto d = Datum::FromJson(type, value, nullptr);
    if (!d.ok()) std::abort();
    field.ApplyDiff(*d);
    benchmark::DoNotOptimize(field.keys().data());
  }
}
BENCHMARK(BM_LargeSetRebuild);

}  // namespace
}  // namespace spate::ovsdb::idl
