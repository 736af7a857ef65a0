// Micro-benchmarks for the JSON-RPC reader and serializer, each against a
// baseline in the same binary:
//   Reader/*            our incremental reader over a buffer of many small
//                       transact requests (whole buffer, 4 KiB reads)
//   Baseline/PreSplit   nlohmann parse + Message::FromJson of each message
//                       already cut out (the floor: no scanning at all)
//   Baseline/Naive      a byte-at-a-time reader that copies every byte into
//                       a string and parses it when the depth returns to 0
//   Serialize/AppendTo  Message::AppendTo into a reused buffer
//   Baseline/DumpObject building a json object and dump()ing it
// Items processed = messages, so the "items_per_second" column is msgs/s.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "common/jsonrpc.h"

namespace spate::common {
namespace {

using nlohmann::json;

constexpr int kMessages = 10000;

std::vector<std::string> MakeMessages() {
  std::vector<std::string> out;
  for (int i = 0; i < kMessages; i++) {
    json params = json::array(
        {"OVN_Northbound",
         {{"op", "insert"},
          {"table", "Logical_Switch"},
          {"row", {{"name", "ls" + std::to_string(i)}}}}});
    out.push_back(Message::Request("transact", std::move(params), i).ToString());
  }
  return out;
}

const std::vector<std::string>& Messages() {
  static const std::vector<std::string> messages = MakeMessages();
  return messages;
}

const std::string& Joined() {
  static const std::string joined = [] {
    std::string s;
    for (const auto& m : Messages()) s += m;
    return s;
  }();
  return joined;
}

void BM_Reader_WholeBuffer(benchmark::State& state) {
  const std::string& buf = Joined();
  for (auto _ : state) {
    JsonRpcReader reader;
    int64_t n = 0;
    Status s = reader.Feed(buf, [&](Message&& m) {
      benchmark::DoNotOptimize(m);
      n++;
      return true;
    });
    if (!s.ok() || n != kMessages) state.SkipWithError("reader failed");
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
  state.SetBytesProcessed(state.iterations() * buf.size());
}
BENCHMARK(BM_Reader_WholeBuffer)->Name("Reader/WholeBuffer");

void BM_Reader_4KReads(benchmark::State& state) {
  const std::string& buf = Joined();
  for (auto _ : state) {
    JsonRpcReader reader;
    int64_t n = 0;
    for (size_t off = 0; off < buf.size(); off += 4096) {
      Status s = reader.Feed(std::string_view(buf).substr(off, 4096),
                             [&](Message&& m) {
                               benchmark::DoNotOptimize(m);
                               n++;
                               return true;
                             });
      if (!s.ok()) state.SkipWithError("reader failed");
    }
    if (n != kMessages) state.SkipWithError("lost messages");
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
}
BENCHMARK(BM_Reader_4KReads)->Name("Reader/4KReads");

void BM_Baseline_PreSplit(benchmark::State& state) {
  const auto& messages = Messages();
  for (auto _ : state) {
    for (const std::string& text : messages) {
      auto m = Message::FromJson(json::parse(text));
      benchmark::DoNotOptimize(m);
    }
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
}
BENCHMARK(BM_Baseline_PreSplit)->Name("Baseline/PreSplit");

void BM_Baseline_Naive(benchmark::State& state) {
  const std::string& buf = Joined();
  for (auto _ : state) {
    std::string acc;
    int depth = 0;
    bool in_string = false, escape = false;
    int64_t n = 0;
    for (char c : buf) {
      acc.push_back(c);
      if (in_string) {
        if (escape) escape = false;
        else if (c == '\\') escape = true;
        else if (c == '"') in_string = false;
        continue;
      }
      if (c == '"') in_string = true;
      if (c == '{' || c == '[') depth++;
      if ((c == '}' || c == ']') && --depth == 0) {
        auto m = Message::FromJson(json::parse(acc));
        benchmark::DoNotOptimize(m);
        acc.clear();
        n++;
      }
    }
    if (n != kMessages) state.SkipWithError("lost messages");
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
}
BENCHMARK(BM_Baseline_Naive)->Name("Baseline/Naive");

Message SampleReply(int i) {
  return Message::Reply(
      json::array({{{"uuid", json::array({"uuid", "2c9b6d29-6a1f-4b5b-8c1c-9e5d8e2e3f00"})}}}),
      i);
}

void BM_Serialize_AppendTo(benchmark::State& state) {
  Message m = SampleReply(7);
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (int i = 0; i < 100; i++) m.AppendTo(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_Serialize_AppendTo)->Name("Serialize/AppendTo");

void BM_Baseline_DumpObject(benchmark::State& state) {
  Message m = SampleReply(7);
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (int i = 0; i < 100; i++) {
      json j = {{"result", m.result}, {"error", nullptr}, {"id", m.id}};
      out += j.dump();
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_Baseline_DumpObject)->Name("Baseline/DumpObject");

}  // namespace
}  // namespace spate::common
