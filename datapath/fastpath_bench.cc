// Fast path throughput: packets through FastPath::Process (extract, EMC,
// megaflow cache, execute, per-port batching) with no device I/O, against
// a naive baseline in the same binary that runs the slow path for every
// packet (extract, translate through the flow tables, execute).
//
// Cases (N = flows, rules "dl_dst=MAC_i,actions=output:2"):
//   BM_FastPath/N/emc:1     EMC on, every EMC miss inserted (steady state)
//   BM_FastPath/N/emc:100   EMC on, OVS's default 1/100 insertion
//   BM_FastPath/N/emc:0     EMC off: every packet is a megaflow lookup
//   BM_FastPath20Subtables  20 masks in the megaflow cache, EMC off
//   BM_SlowPathEveryPacket  the baseline for the same rule sets
// Counters: items_per_second = packets/s; cyc_per_pkt = TSC cycles per
// packet inside Process (FastPathStats); subtables = megaflow subtables.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/datapath_test_util.h"
#include "datapath/flow_extract_frames.h"
#include "datapath/test_eal.h"
#include "datapath/xlate.h"

namespace spate::datapath {
namespace {

using namespace testframes;  // NOLINT

uint64_t Mac(int i) { return 0x020000000000ULL + static_cast<uint64_t>(i); }

// The rule set of a case: dl_dst rules, or 20 groups of (tp_dst, nw_src/len).
std::vector<RuleOp> Rules(int n_flows, bool subtables20) {
  std::vector<RuleOp> ops;
  for (int i = 0; i < n_flows; ++i) {
    RuleOp op;
    op.spec.priority = 10;
    Action out;
    out.port = 2;
    op.spec.actions.push_back(out);
    if (subtables20) {
      int g = i % 20;
      op.spec.priority = 100 - g;
      op.spec.match.Set(cls::Field::kDlType, cls::kEthTypeIp)
          .Set(cls::Field::kNwProto, 6)
          .Set(cls::Field::kTpDst, static_cast<uint64_t>(1000 + g))
          .SetPrefix(cls::Field::kNwSrc, {0, 0x0a000000u + (static_cast<uint32_t>(i) << 8)}, 12 + g);
    } else {
      op.spec.match.Set(cls::Field::kDlDst, Mac(i));
    }
    ops.push_back(std::move(op));
  }
  return ops;
}

// Writes frame i of a case over the template already in `d`: only the
// bytes that differ between flows (no allocation in the timed loop).
void PatchFrame(uint8_t* d, int i, bool subtables20) {
  if (subtables20) {
    uint32_t src = 0x0a000000u + (static_cast<uint32_t>(i) << 8) + 1;
    for (int b = 0; b < 4; ++b) d[26 + b] = static_cast<uint8_t>(src >> (24 - 8 * b));
    uint16_t dport = static_cast<uint16_t>(1000 + i % 20);
    d[36] = static_cast<uint8_t>(dport >> 8);
    d[37] = static_cast<uint8_t>(dport);
    return;
  }
  uint64_t mac = Mac(i);
  for (int b = 0; b < 6; ++b) d[b] = static_cast<uint8_t>(mac >> (40 - 8 * b));
}

struct Bench {
  std::unique_ptr<Datapath> dp;
  testutil::SinkPort* sink = nullptr;
  PacketBatch batch;
  int n_flows = 0;
  bool sub20 = false;

  Bench(int flows, uint32_t emc_inv_prob, bool subtables20) : n_flows(flows), sub20(subtables20) {
    TestEal();
    DatapathOptions o;
    o.start_threads = false;
    o.fastpath.emc_insert_inv_prob = emc_inv_prob;
    o.fastpath.max_megaflows = 400000;
    dp = Datapath::Create(o).value();
    for (int p = 1; p <= 2; ++p) {
      auto s = std::make_unique<testutil::SinkPort>("p" + std::to_string(p));
      s->keep = true;
      if (p == 2) sink = s.get();
      PortSpec spec;
      spec.name = s->name();
      spec.port = std::move(s);
      (void)dp->AddPort(std::move(spec));
    }
    (void)dp->Commit(Rules(flows, subtables20));
    Frame tmpl = Eth(cls::kEthTypeIp) + Ipv4(6, 20) + Tcp(1000, 80, 0x10);
    for (uint32_t i = 0; i < PacketBatch::kMaxPackets; ++i) {
      Packet* p = TestPool().Alloc();
      std::memcpy(p->Append(static_cast<uint32_t>(tmpl.size())), tmpl.data(), tmpl.size());
      batch.Add(p);
    }
  }
  ~Bench() {
    FreeBatch(&batch);
    for (Packet* p : sink->kept) FreePacket(p);
  }
  // Rewrites the batch with the next 32 flows starting at *next.
  void Fill(int* next) {
    for (uint32_t i = 0; i < batch.n_pkts; ++i) {
      PatchFrame(batch.pkts[i]->data(), *next, sub20);
      *next = (*next + 1) % n_flows;
    }
  }
  // Takes the transmitted packets back into the batch.
  void Recycle() {
    for (Packet* p : sink->kept) batch.Add(p);
    sink->kept.clear();
  }
};

void Report(benchmark::State& state, Bench& b) {
  FastPathStats s = b.dp->fastpath(0)->GetStats();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * PacketBatch::kMaxPackets);
  state.counters["cyc_per_pkt"] =
      s.n_packets ? static_cast<double>(s.n_cycles) / static_cast<double>(s.n_packets) : 0;
  state.counters["subtables"] = static_cast<double>(s.n_subtables);
  state.counters["emc_hit_pct"] =
      s.n_packets ? 100.0 * static_cast<double>(s.n_emc_hits) / static_cast<double>(s.n_packets) : 0;
}

void RunFast(benchmark::State& state, Bench& b) {
  int next = 0;
  for (int warm = 0; warm < b.n_flows / 32 + 64; ++warm) {  // Installs every megaflow.
    b.Fill(&next);
    b.dp->fastpath(0)->Process(1, &b.batch);
    b.Recycle();
  }
  b.dp->fastpath(0)->ClearStats();
  for (auto _ : state) {
    b.Fill(&next);
    b.dp->fastpath(0)->Process(1, &b.batch);
    b.Recycle();
  }
  Report(state, b);
  if (b.batch.n_pkts != PacketBatch::kMaxPackets) state.SkipWithError("packets lost");
}

void BM_FastPath(benchmark::State& state) {
  Bench b(static_cast<int>(state.range(0)), static_cast<uint32_t>(state.range(1)), false);
  RunFast(state, b);
}
BENCHMARK(BM_FastPath)
    ->ArgsProduct({{1, 1000, 100000}, {1, 0}})
    ->Args({100000, 100})
    ->ArgNames({"flows", "emc"});

void BM_FastPath20Subtables(benchmark::State& state) {
  Bench b(static_cast<int>(state.range(0)), 0, true);
  RunFast(state, b);
}
BENCHMARK(BM_FastPath20Subtables)->Arg(1000)->ArgName("flows");

// The baseline: the slow path for every packet.
class BaselineSink : public ExecSink {
 public:
  explicit BaselineSink(PacketBatch* out) : out_(out) {}
  void Output(uint32_t, Packet* pkt) override { out_->Add(pkt); }
  Packet* Clone(const Packet*) override { return nullptr; }
  void Drop(Packet* pkt, DropReason) override {
    if (pkt != nullptr) out_->Add(pkt);
  }
  void Recirculate(Packet* pkt, uint32_t, const cls::FlowKey&) override { out_->Add(pkt); }
  TunnelHook* tunnel_hook() override { return nullptr; }

 private:
  PacketBatch* out_;  // Where packets go back to.
};

void BM_SlowPathEveryPacket(benchmark::State& state) {
  bool sub20 = state.range(1) != 0;
  Bench b(static_cast<int>(state.range(0)), 0, sub20);
  FlowTables& tables = b.dp->shared().tables;
  int reader = tables.domain().RegisterReader();
  int next = 0;
  for (auto _ : state) {
    b.Fill(&next);
    tables.domain().Quiescent(reader);
    XlateEnv env{&tables, tables.domain().visible_version(),
                 b.dp->shared().ports.load(std::memory_order_acquire), nullptr};
    PacketBatch in = b.batch;
    b.batch.n_pkts = 0;
    BaselineSink sink(&b.batch);
    for (uint32_t i = 0; i < in.n_pkts; ++i) {
      cls::FlowKey key;
      Packet* p = in.pkts[i];
      ExtractResult r = ExtractFlowKey(p->data(), p->length(), 1, &key);
      XlateResult x = Translate(key, env);
      ExecuteDpActions(x.actions, p, MakeFrameLayout(r, key), &sink);
    }
  }
  tables.domain().UnregisterReader(reader);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * PacketBatch::kMaxPackets);
}
BENCHMARK(BM_SlowPathEveryPacket)
    ->ArgsProduct({{1, 1000, 100000}, {0}})
    ->Args({1000, 1})
    ->ArgNames({"flows", "sub20"});

}  // namespace
}  // namespace spate::datapath
