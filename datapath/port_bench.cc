// Packet I/O cost: our Port and PMD loop against raw DPDK bursts.
//
// Each pair forwards one core's worth of packets from an input vdev to an
// output vdev, 32 at a time:
//   Raw*   rte_eth_rx_burst + rte_eth_tx_burst on the port ids (testpmd's
//          "io" forwarding: the ceiling for this machine and memory mode);
//   Port*  the same through the Port interface (one virtual call per burst);
//   Pmd*   PmdPoller::PollOnce with a ForwardHandler: exactly the PMD
//          thread's loop body, with its counters.
// Null: net_null (rx hands out 64-byte mbufs) to net_null,no-rx=1 (frees).
// Pcap: net_pcap,infinite_rx=1 replaying a 1-frame 60-byte capture (alloc
//       and copy per packet, the input of the perf comparison in issue 7)
//       to net_null,no-rx=1.
// Ring: a loopback net_ring with 512 packets circulating (no alloc/free).
// items_per_second is packets forwarded; compare Pmd*/Port* with Raw*.
// Memory: hugepages when SPATE_HUGE_DIR names a hugetlbfs mount with free
// pages, else --no-huge (2.6-3x slower, as with testpmd on this VM).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "datapath/dpdk_eth_port.h"
#include "datapath/eal.h"
#include "datapath/packet.h"
#include "datapath/pcap_file.h"
#include "datapath/pmd.h"

namespace spate::datapath {
namespace {

struct BenchEnv {
  std::unique_ptr<Eal> eal;
  std::unique_ptr<Mempool> pool;
};

BenchEnv& Env() {
  static BenchEnv* env = [] {
    auto* e = new BenchEnv;
    EalOptions o;
    if (const char* dir = std::getenv("SPATE_HUGE_DIR")) {
      o.no_huge = false;
      o.huge_dir = dir;
    }
    o.memory_mb = 512;
    auto eal = Eal::Init(o);
    if (!eal.ok()) {
      std::fprintf(stderr, "%s\n", eal.error().ToString().c_str());
      std::abort();
    }
    e->eal = std::move(*eal);
    auto pool = Mempool::Create(*e->eal, {.name = "bench_pool",
                                          .n_packets = 16383});
    if (!pool.ok()) std::abort();
    e->pool = std::move(*pool);
    // The EAL lives until exit; leave no runtime directory behind.
    std::atexit([] { rmdir(Env().eal->runtime_dir().c_str()); });
    return e;
  }();
  return *env;
}

std::unique_ptr<DpdkEthPort> Open(const std::string& devargs) {
  DpdkPortConfig c;
  c.name = devargs;
  c.devargs = devargs;
  c.pool = Env().pool.get();
  auto p = DpdkEthPort::Create(*Env().eal, c);
  if (!p.ok()) {
    std::fprintf(stderr, "%s\n", p.error().ToString().c_str());
    std::abort();
  }
  return std::move(*p);
}

// Input and output ports for one benchmark: null→null, or one ring looping
// 512 packets back to itself.
struct Pair {
  std::unique_ptr<DpdkEthPort> in;
  std::unique_ptr<DpdkEthPort> out_owner;
  DpdkEthPort* out = nullptr;
};

enum class Kind { kNull, kPcap, kRing };

// A one-frame capture for net_pcap to replay, written once per process.
const std::string& PcapInput() {
  // Never destroyed, so the exit handler may still read it.
  static const std::string& path = *[] {
    auto* p = new std::string("/tmp/spate_port_bench_" +
                              std::to_string(getpid()) + ".pcap");
    std::vector<uint8_t> frame(60, 0);
    const uint8_t head[] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0xff, 0, 1, 8, 0};
    std::copy(std::begin(head), std::end(head), frame.begin());
    auto w = PcapWriter::Open(*p);
    if (!w.ok() || !(*w)->Write(frame).ok()) std::abort();
    return p;
  }();
  static const bool registered =
      std::atexit([] { unlink(PcapInput().c_str()); }) == 0;
  (void)registered;
  return path;
}

Pair MakePair(Kind kind) {
  Pair p;
  if (kind == Kind::kPcap) {
    p.in = Open("net_pcap_b0,rx_pcap=" + PcapInput() + ",infinite_rx=1");
    p.out_owner = Open("net_null_b1,no-rx=1");
    p.out = p.out_owner.get();
  } else if (kind == Kind::kRing) {
    p.in = Open("net_ring_b0");
    p.out = p.in.get();
    for (int i = 0; i < 16; i++) {
      PacketBatch b;
      Env().pool->AllocBulk(b.pkts, 32);
      b.n_pkts = 32;
      p.in->TxBurst(0, &b);
    }
  } else {
    p.in = Open("net_null_b0,size=64");
    p.out_owner = Open("net_null_b1,no-rx=1");
    p.out = p.out_owner.get();
  }
  return p;
}

void Drain(Pair& p) {
  PacketBatch b;
  while (p.in->RxBurst(0, &b) != 0 && p.in->driver() == "net_ring") {
    FreeBatch(&b);
  }
  FreeBatch(&b);
}

void RawIo(benchmark::State& state, Kind kind) {
  Pair p = MakePair(kind);
  uint16_t in = p.in->port_id();
  uint16_t out = p.out->port_id();
  rte_mbuf* mbufs[32];
  uint64_t n_pkts = 0;
  for (auto _ : state) {
    uint16_t n = rte_eth_rx_burst(in, 0, mbufs, 32);
    uint16_t sent = rte_eth_tx_burst(out, 0, mbufs, n);
    if (sent < n) rte_pktmbuf_free_bulk(mbufs + sent, n - sent);
    n_pkts += n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(n_pkts));
  Drain(p);
}

void PortIo(benchmark::State& state, Kind kind) {
  Pair p = MakePair(kind);
  PacketBatch batch;
  uint64_t n_pkts = 0;
  for (auto _ : state) {
    n_pkts += p.in->RxBurst(0, &batch);
    p.out->TxBurst(0, &batch);
  }
  state.SetItemsProcessed(static_cast<int64_t>(n_pkts));
  Drain(p);
}

void PmdIo(benchmark::State& state, Kind kind) {
  Pair p = MakePair(kind);
  ForwardHandler fwd(p.out, 0);
  PmdPoller poller(&fwd, PmdIdleOptions{});
  poller.SetRxQueues({{p.in.get(), 0}});
  for (auto _ : state) benchmark::DoNotOptimize(poller.PollOnce());
  PmdStats s = poller.GetStats();
  state.SetItemsProcessed(static_cast<int64_t>(s.rx_packets));
  if (s.rx_packets != 0) {
    state.counters["cycles_per_pkt"] =
        static_cast<double>(s.busy_cycles) / static_cast<double>(s.rx_packets);
  }
  Drain(p);
}

void BM_RawNullIo(benchmark::State& s) { RawIo(s, Kind::kNull); }
void BM_PortNullIo(benchmark::State& s) { PortIo(s, Kind::kNull); }
void BM_PmdNullIo(benchmark::State& s) { PmdIo(s, Kind::kNull); }
void BM_RawPcapIo(benchmark::State& s) { RawIo(s, Kind::kPcap); }
void BM_PortPcapIo(benchmark::State& s) { PortIo(s, Kind::kPcap); }
void BM_PmdPcapIo(benchmark::State& s) { PmdIo(s, Kind::kPcap); }
void BM_RawRingIo(benchmark::State& s) { RawIo(s, Kind::kRing); }
void BM_PortRingIo(benchmark::State& s) { PortIo(s, Kind::kRing); }
void BM_PmdRingIo(benchmark::State& s) { PmdIo(s, Kind::kRing); }
BENCHMARK(BM_RawNullIo);
BENCHMARK(BM_PortNullIo);
BENCHMARK(BM_PmdNullIo);
BENCHMARK(BM_RawPcapIo);
BENCHMARK(BM_PortPcapIo);
BENCHMARK(BM_PmdPcapIo);
BENCHMARK(BM_RawRingIo);
BENCHMARK(BM_PortRingIo);
BENCHMARK(BM_PmdRingIo);

}  // namespace
}  // namespace spate::datapath
