// Benchmark of ExtractFlowKey on minimum-size frames.
//
// Baseline (BM_CopyFloor): zero a FlowKey and memcpy the frame into it,
// i.e. the least any extractor must do (write the whole key, read the
// frame).  Report ExtractFlowKey's ns/packet as a ratio to that floor,
// and to BM_ExtractFlowKeyGeneric (the general pass alone).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>

#include "datapath/flow_extract.h"
#include "datapath/flow_extract_frames.h"

namespace spate::datapath {
namespace {

namespace tf = testframes;

tf::Frame FrameFor(int which) {
  switch (which) {
    case 0: return tf::Ipv4TcpFrame64();
    case 1: return tf::Ipv4UdpFrame64();
    default: return tf::Ipv6TcpFrame();
  }
}

const char* LabelFor(int which) {
  return which == 0 ? "ipv4_tcp_64B" : which == 1 ? "ipv4_udp_64B" : "ipv6_tcp_78B";
}

void BM_ExtractFlowKey(benchmark::State& state) {
  tf::Frame frame = FrameFor(static_cast<int>(state.range(0)));
  cls::FlowKey key;
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    ExtractResult r = ExtractFlowKey(frame.data(), frame.size(), 1, &key);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(key);
  }
  state.SetLabel(LabelFor(static_cast<int>(state.range(0))));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ExtractFlowKey)->Arg(0)->Arg(1)->Arg(2);

// The general pass alone (what ExtractFlowKey did for every frame before
// the specialised IPv4 TCP/UDP pass): the ratio against BM_ExtractFlowKey.
void BM_ExtractFlowKeyGeneric(benchmark::State& state) {
  tf::Frame frame = FrameFor(static_cast<int>(state.range(0)));
  cls::FlowKey key;
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    ExtractResult r = ExtractFlowKeyGeneric(frame.data(), frame.size(), 1, &key);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(key);
  }
  state.SetLabel(LabelFor(static_cast<int>(state.range(0))));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ExtractFlowKeyGeneric)->Arg(0)->Arg(1)->Arg(2);

// What the fast path calls: one key reused frame after frame, so after the
// first frame the specialised pass stores only its six words.
void BM_ExtractFlowKeyReuse(benchmark::State& state) {
  tf::Frame frame = FrameFor(static_cast<int>(state.range(0)));
  cls::FlowKey key;
  bool clean = false;
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    ExtractResult r = ExtractFlowKeyReuse(frame.data(), frame.size(), 1, &key, &clean);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(key);
  }
  state.SetLabel(LabelFor(static_cast<int>(state.range(0))));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ExtractFlowKeyReuse)->Arg(0)->Arg(1)->Arg(2);

void BM_CopyFloor(benchmark::State& state) {
  tf::Frame frame = FrameFor(static_cast<int>(state.range(0)));
  cls::FlowKey key;
  size_t n = std::min(frame.size(), sizeof key);
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    key.Clear();
    std::memcpy(&key, frame.data(), n);
    benchmark::DoNotOptimize(key);
  }
  state.SetLabel(LabelFor(static_cast<int>(state.range(0))));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CopyFloor)->Arg(0)->Arg(1)->Arg(2);

}  // namespace
}  // namespace spate::datapath
