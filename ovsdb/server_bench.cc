// OvsdbServer throughput: one client pipelining single-row insert
// transactions over a unix socket to an in-process server (its EventLoop on
// a second thread), against a baseline of the same number of pipelined
// "echo" requests (transport and JSON-RPC only, no OVSDB work).
//
// Run: build-server/bench-bin/ovsdb_server_bench
#include <benchmark/benchmark.h>

#include <atomic>
#include <thread>

#include "common/event_loop.h"
#include "common/testing.h"
#include "common/vlog.h"
#include "ovsdb/file.h"
#include "ovsdb/server.h"
#include "ovsdb/server_test_util.h"

namespace spate::ovsdb {
namespace {

using common::Message;
using nlohmann::json;

constexpr int kBatch = 2000;  // Requests in flight per iteration.

// A server on its own thread serving one fresh OVN_Northbound database.
class BenchServer {
 public:
  explicit BenchServer(bool monitored, int n_watchers = 0) : vlog_("bench") {
    vlog_.SetLevels(nullptr, std::nullopt, common::LogLevel::kOff);
    Result<DatabaseSchema> schema =
        DatabaseSchema::FromFile(std::string(SPATE_SOURCE_ROOT) + "/ovsdb/schemas/ovn-nb.ovsschema");
    (void)DatabaseFile::Create(dir_.File("nb.db"), *schema);
    server_ = std::make_unique<OvsdbServer>(loop_, vlog_, ServerOptions{});
    (void)server_->AddDatabase(dir_.File("nb.db"));
    (void)server_->AddRemote("punix:" + dir_.File("s.sock"));
    thread_ = std::thread([this] { loop_.Run(); });
    client_ = std::make_unique<testing::RawClient>(dir_.File("s.sock"));
    if (monitored) {
      monitor_ = std::make_unique<testing::RawClient>(dir_.File("s.sock"));
      monitor_->Request("monitor_cond", json::array({"OVN_Northbound", 1,
                                                     {{"Logical_Switch", json::array({json::object()})}}}),
                        1);
      (void)monitor_->Reply(1);
    }
    for (int i = 0; i < n_watchers; ++i) {
      watchers_.push_back(std::make_unique<testing::RawClient>(dir_.File("s.sock")));
      watchers_.back()->Request("monitor_cond",
                                json::array({"OVN_Northbound", "w",
                                             {{"Logical_Switch", json::array({json::object()})}}}),
                                1);
      (void)watchers_.back()->Reply(1);
    }
  }
  ~BenchServer() {
    client_.reset();
    monitor_.reset();
    watchers_.clear();
    loop_.Stop();
    thread_.join();
    loop_.Post([] {});
    server_.reset();
  }
  // Sends `text` (kBatch requests) and waits for kBatch replies; drains
  // the monitor's notifications too.  Replies are counted, not parsed, so
  // the client costs the server's core as little as possible.
  void RoundTrip(const std::string& text) {
    client_->Send(text);
    client_->CountMessages(kBatch);
    if (monitor_) monitor_->CountMessages(kBatch);
  }

 private:
  common::testing::TempDir dir_;           // Database and socket.
  common::Vlog vlog_;                      // Quiet.
  common::EventLoop loop_;                 // Server thread's loop.
  std::unique_ptr<OvsdbServer> server_;    // Under test.
  std::thread thread_;                     // Runs loop_.
  std::unique_ptr<testing::RawClient> client_;   // Pipelining client.
  std::unique_ptr<testing::RawClient> monitor_;  // Optional monitor.
  std::vector<std::unique_ptr<testing::RawClient>> watchers_;  // Fan-out.

 public:
  // Sends one request and waits until its reply and every watcher's
  // notification arrived.
  void FanOut(const std::string& text) {
    client_->Send(text);
    client_->CountMessages(1);
    for (auto& w : watchers_) w->CountMessages(1);
  }
};

std::string Inserts(int64_t* counter) {
  std::string text;
  for (int i = 0; i < kBatch; ++i) {
    json params = {"OVN_Northbound", {{"op", "insert"}, {"table", "Logical_Switch"},
                                      {"row", {{"name", "sw" + std::to_string((*counter)++)}}}}};
    text += Message::Request("transact", params, i).ToString();
  }
  return text;
}

void BM_PipelinedInserts(benchmark::State& state) {
  BenchServer server(state.range(0) != 0);
  int64_t counter = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::string text = Inserts(&counter);
    state.ResumeTiming();
    server.RoundTrip(text);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_PipelinedInserts)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// One insert delivered to N monitor_cond clients: time until the last one
// has it.
void BM_FanOut(benchmark::State& state) {
  BenchServer server(false, static_cast<int>(state.range(0)));
  int64_t counter = 0;
  for (auto _ : state) {
    json params = {"OVN_Northbound", {{"op", "insert"}, {"table", "Logical_Switch"},
                                      {"row", {{"name", "f" + std::to_string(counter++)}}}}};
    server.FanOut(Message::Request("transact", params, 0).ToString());
  }
}
BENCHMARK(BM_FanOut)->Arg(100)->Arg(500)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_BaselinePipelinedEcho(benchmark::State& state) {
  BenchServer server(false);
  std::string text;
  for (int i = 0; i < kBatch; ++i) {
    text += Message::Request("echo", json::array({"sw" + std::to_string(i)}), i).ToString();
  }
  for (auto _ : state) server.RoundTrip(text);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_BaselinePipelinedEcho)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace spate::ovsdb
