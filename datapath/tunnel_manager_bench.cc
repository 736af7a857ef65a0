// The datapath's per-packet tunnel work alone, in TSC cycles per packet of
// a 32-packet burst of 64-byte inner frames: what the TunnelManager does
// between the fast path handing it packets and the packets coming back to
// the fast path (no receive, classification or transmit), each beside the
// way the fast path called it before, in the same binary:
//   BM_Push/T      PushBatch (state, port and template once per batch)
//   BM_PushEach/T  PushTo per packet (the old path: all of it per packet)
//   BM_PopEarly/T  PopEarly on the underlay port (validate, strip, fill the
//                  key's tunnel words, hand to Recirculate)
//   BM_PopEach/T   PopTo per packet, as a tnl_pop megaflow executed it
// T: 0 Geneve (with the 8-byte OVN option on decap), 1 VXLAN, 2 STT.
// cycles/pkt is the fastest batch (filters out preemption on a shared
// machine), cycles/pkt_median the median batch; the ns columns include
// Google Benchmark's pause/resume around the per-burst restore.  These are the figures to set beside
// VPP's per-node Geneve costs (perf/README.md).
//
// Run: build/bench-bin/tunnel_manager_bench
#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/datapath_test_util.h"
#include "datapath/test_eal.h"
#include "datapath/tunnel_manager.h"
#include "tunnels/encap.h"
#include "tunnels/geneve.h"

namespace spate::datapath {
namespace {

constexpr uint32_t kBatch = 32;
const char* const kTypes[] = {"geneve", "vxlan", "stt"};

// Takes what the manager emits; counts anything unexpected.
class BenchSink : public ExecSink {
 public:
  void Output(uint32_t, Packet*) override { ++n_out; }
  Packet* Clone(const Packet*) override { return nullptr; }
  void Drop(Packet*, DropReason) override { ++n_drop; }
  void Recirculate(Packet*, uint32_t, const cls::FlowKey& md) override {
    ++n_out;
    benchmark::DoNotOptimize(&md);
  }
  TunnelHook* tunnel_hook() override { return nullptr; }
  uint64_t n_out = 0;   // Packets emitted.
  uint64_t n_drop = 0;  // Packets dropped (must stay 0).
};

// A datapath with a vm port, an underlay "phy" (192.168.50.1/24) and a
// tunnel of `type` to 192.168.50.2 (key 77, neighbour known), and a burst.
struct Fixture {
  std::unique_ptr<TunnelManager> tunnels;
  std::unique_ptr<Datapath> dp;
  uint32_t tun = 0, phy = 0;
  Packet* pkts[kBatch] = {};
  uint32_t off[kBatch] = {}, len[kBatch] = {};

  Fixture(const char* type, bool outer) {
    TestEal();
    TunnelManagerOptions to;
    to.pool = &TestPool();
    tunnels = std::make_unique<TunnelManager>(to);
    DatapathOptions o;
    o.start_threads = false;
    o.tunnels = tunnels.get();
    dp = Datapath::Create(o).value();
    tunnels->Attach(dp.get());
    for (const char* name : {"vm", "phy"}) {
      PortSpec spec;
      spec.name = name;
      spec.port = std::make_unique<testutil::SinkPort>(name);
      (void)dp->AddPort(std::move(spec));
    }
    phy = *dp->PortNumber("phy");
    (void)tunnels->SetUnderlayPort("phy", {{*tunnels::IpAddr::Parse("192.168.50.1"), 24}});
    tun = *tunnels->AddTunnelPort({"tun", type, {{"remote_ip", "192.168.50.2"}, {"key", "77"}}, 0});
    tunnels->LearnNeighbor(*tunnels::IpAddr::Parse("192.168.50.2"),
                           *tunnels::MacAddr::Parse("02:00:00:00:01:02"), "phy");
    auto cfg = tunnels::ParseTunnelConfig(type, {{"remote_ip", "192.168.50.1"}, {"key", "77"}});
    auto tmpl = tunnels::BuildEncapTemplate(
        *cfg, {*tunnels::IpAddr::Parse("192.168.50.2"), *tunnels::IpAddr::Parse("192.168.50.1"),
               *tunnels::MacAddr::Parse("02:00:00:00:01:02"), tunnels::MacAddr{}});
    uint8_t opt[tunnels::kOvnPortsOptionBytes];
    tunnels::WriteOvnPortsOption(opt, {1, 2, 3});
    for (uint32_t i = 0; i < kBatch; ++i) {
      pkts[i] = TestPool().Alloc();
      std::vector<uint8_t> f = TestFrame(i);
      std::memcpy(pkts[i]->Append(static_cast<uint32_t>(f.size())), f.data(), f.size());
      if (outer) {
        tunnels::PacketView v(pkts[i]->buffer(), pkts[i]->buffer_bytes(), pkts[i]->headroom(),
                              pkts[i]->length());
        tunnels::EncapParams p;
        p.flow_hash = i;
        if (std::strcmp(type, "geneve") == 0) p.geneve_options = opt;
        (void)tunnels::Encap(*tmpl, p, v);
        pkts[i]->SetDataWindow(v.offset(), v.length());
      }
      off[i] = pkts[i]->headroom();
      len[i] = pkts[i]->length();
    }
  }
  ~Fixture() {
    FreePackets(pkts, kBatch);
    dp.reset();
  }
  void Restore() {
    for (uint32_t i = 0; i < kBatch; ++i) pkts[i]->SetDataWindow(off[i], len[i]);
  }
};

// Times `op` on the restored burst per iteration; reports cycles/pkt (the
// fastest burst) and cycles/pkt_median (the median burst of the first
// kMaxSamples).
template <typename Op>
void Run(benchmark::State& state, Fixture& f, BenchSink& sink, Op&& op) {
  constexpr size_t kMaxSamples = size_t{1} << 20;
  std::vector<uint64_t> samples;
  samples.reserve(kMaxSamples);
  uint64_t best = ~uint64_t{0};
  for (auto _ : state) {
    state.PauseTiming();
    f.Restore();
    state.ResumeTiming();
    uint64_t t0 = __rdtsc();
    op();
    uint64_t t1 = __rdtsc();
    if (t1 - t0 < best) best = t1 - t0;
    if (samples.size() < kMaxSamples) samples.push_back(t1 - t0);
  }
  if (sink.n_drop != 0) state.SkipWithError("packets were dropped");
  state.counters["cycles/pkt"] = static_cast<double>(best) / kBatch;
  if (!samples.empty()) {
    auto mid = samples.begin() + static_cast<std::ptrdiff_t>(samples.size() / 2);
    std::nth_element(samples.begin(), mid, samples.end());
    state.counters["cycles/pkt_median"] = static_cast<double>(*mid) / kBatch;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kBatch);
}

TunnelPushParams PushParams(const Fixture& f) {
  TunnelPushParams p;
  p.tunnel_port = f.tun;
  return p;
}

void BM_Push(benchmark::State& state) {
  Fixture f(kTypes[state.range(0)], false);
  BenchSink sink;
  TunnelPushParams p = PushParams(f);
  Run(state, f, sink, [&] { f.tunnels->PushBatch(p, f.pkts, kBatch, &sink); });
}

void BM_PushEach(benchmark::State& state) {
  Fixture f(kTypes[state.range(0)], false);
  BenchSink sink;
  TunnelPushParams p = PushParams(f);
  Run(state, f, sink, [&] {
    for (Packet* pkt : f.pkts) f.tunnels->PushTo(p, pkt, &sink);
  });
}

void BM_PopEarly(benchmark::State& state) {
  Fixture f(kTypes[state.range(0)], true);
  BenchSink sink;
  Run(state, f, sink, [&] {
    if (f.tunnels->PopEarly(f.phy, f.pkts, kBatch, &sink) != 0) sink.n_drop++;
  });
}

void BM_PopEach(benchmark::State& state) {
  Fixture f(kTypes[state.range(0)], true);
  BenchSink sink;
  Run(state, f, sink, [&] {
    for (Packet* pkt : f.pkts) f.tunnels->PopTo(f.tun, pkt, &sink);
  });
}

BENCHMARK(BM_Push)->DenseRange(0, 2);
BENCHMARK(BM_PushEach)->DenseRange(0, 2);
BENCHMARK(BM_PopEarly)->DenseRange(0, 2);
BENCHMARK(BM_PopEach)->DenseRange(0, 2);

}  // namespace
}  // namespace spate::datapath
