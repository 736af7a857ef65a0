// Encapsulation and decapsulation of 64-byte inner frames, per format, in
// ns and TSC cycles per packet, beside a naive baseline in the same binary:
// the baseline builds every outer header field by field from scratch for
// each packet (full IPv4 header checksum, no template), and parses on
// receive field by field with a byte-wise checksum, a std::map endpoint
// lookup and a std::vector for the Geneve options.
//
// Run: build-tunnels/bench-bin/tunnels_encap_bench  (figures in README.md)
#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <algorithm>
#include <map>
#include <vector>

#include "tunnels/decap.h"
#include "tunnels/encap.h"
#include "tunnels/geneve.h"
#include "tunnels/test_util.h"

namespace spate::tunnels {
namespace {

constexpr uint32_t kHeadroom = 256;

TunnelType TypeArg(const benchmark::State& state) {
  return static_cast<TunnelType>(state.range(0));
}

EncapTemplate MakeTemplate(TunnelType type) {
  TunnelConfig c;
  c.type = type;
  c.dst_port = DefaultDstPort(type);
  c.key_flow = true;
  EncapEndpoint ep;
  ep.local_ip = *IpAddr::Parse("10.0.0.1");
  ep.remote_ip = *IpAddr::Parse("10.0.0.2");
  ep.src_mac = MacAddr{{2, 0, 0, 0, 0, 1}};
  ep.dst_mac = MacAddr{{2, 0, 0, 0, 0, 2}};
  return *BuildEncapTemplate(c, ep);
}

constexpr int kBatch = 32;  // Packets per iteration, as in a datapath burst.

// Runs `process(i)` for packets i = 0..kBatch-1 per iteration and reports
// ns/pkt (CPU time) and cycles/pkt: TSC cycles of the fastest batch, which
// filters out preemption on a shared machine (the TSC runs at the nominal
// clock; on this machine 2596 MHz).
//
// Like a datapath, the loop prefetches the packet kPrefetch ahead: the 32
// buffers (2.3 KB each, like mbufs) exceed L1, and without it every
// packet's first header load costs an L2 access, which is memory latency,
// not tunnel code (measured: about +12 cycles/pkt for Geneve decap).
constexpr int kPrefetch = 4;

template <typename Fn>
void RunBatched(benchmark::State& state, const std::vector<uint8_t*>& heads,
                Fn&& process) {
  uint64_t best = ~uint64_t{0};
  for (auto _ : state) {
    const uint64_t start = __rdtsc();
    for (int i = 0; i < kBatch; ++i) {
      __builtin_prefetch(heads[(i + kPrefetch) % kBatch]);
      __builtin_prefetch(heads[(i + kPrefetch) % kBatch] + 64);
      process(i);
    }
    best = std::min<uint64_t>(best, __rdtsc() - start);
  }
  const double n = static_cast<double>(state.iterations()) * kBatch;
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["cycles/pkt"] = static_cast<double>(best) / kBatch;
  state.counters["ns/pkt"] = benchmark::Counter(
      n, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// kBatch copies of the 64-byte inner frame, each in its own buffer.
struct Burst {
  std::vector<std::vector<uint8_t>> buffers;
  explicit Burst(const std::vector<uint8_t>& frame)
      : buffers(kBatch, std::vector<uint8_t>(kHeadroom + 2048)) {
    for (auto& b : buffers) std::copy(frame.begin(), frame.end(), b.begin() + kHeadroom);
  }
  PacketView View(int i, uint32_t offset, uint32_t length) {
    return PacketView(buffers[i].data(), buffers[i].size(), offset, length);
  }
  // Where each packet's headers start (for prefetching).
  std::vector<uint8_t*> Heads(uint32_t offset) {
    std::vector<uint8_t*> heads;
    for (auto& b : buffers) heads.push_back(b.data() + offset);
    return heads;
  }
};

void BM_Encap(benchmark::State& state) {
  const EncapTemplate tmpl = MakeTemplate(TypeArg(state));
  Burst burst(testing::InnerFrame(64));
  uint8_t opts[kOvnPortsOptionBytes];
  WriteOvnPortsOption(opts, {1, 2, 3});
  EncapParams params;
  params.tun_id = 0x123;
  if (tmpl.type == TunnelType::kGeneve) params.geneve_options = opts;
  RunBatched(state, burst.Heads(kHeadroom - 64), [&](int i) {
    PacketView pkt = burst.View(i, kHeadroom, 64);
    params.flow_hash = static_cast<uint32_t>(i);
    benchmark::DoNotOptimize(Encap(tmpl, params, pkt));
    benchmark::DoNotOptimize(pkt);
  });
}

// Naive: every field written one at a time from the configuration, and the
// IPv4 checksum summed over the whole header, for every packet.  Kept out
// of line, as a datapath would call it, so the compiler cannot fold the
// configuration into constants.
void NaiveIpv4(const TunnelConfig& c, const EncapEndpoint& ep, uint8_t proto,
               uint32_t l4_len, uint8_t* p) {
  for (int i = 0; i < 6; ++i) p[i] = ep.dst_mac.bytes[i];
  for (int i = 0; i < 6; ++i) p[6 + i] = ep.src_mac.bytes[i];
  Store16(p + 12, kEtherTypeIpv4);
  uint8_t* ip = p + 14;
  ip[0] = 0x45;
  ip[1] = c.tos;
  Store16(ip + 2, static_cast<uint16_t>(20 + l4_len));
  Store16(ip + 4, 0);
  Store16(ip + 6, c.df_default ? 0x4000 : 0);
  ip[8] = c.ttl;
  ip[9] = proto;
  Store16(ip + 10, 0);
  for (int i = 0; i < 4; ++i) ip[12 + i] = ep.local_ip.V4Bytes()[i];
  for (int i = 0; i < 4; ++i) ip[16 + i] = ep.remote_ip.V4Bytes()[i];
  Store16(ip + 10, static_cast<uint16_t>(~testing::NaiveSum(ip, 20)));
}

void NaiveStt(const TunnelConfig& c, uint64_t key, uint32_t inner_len,
              uint8_t* ip) {
  const uint32_t l4_len = kTcpHeaderBytes + kSttHeaderBytes + inner_len;
  uint8_t* l4 = ip + 20;
  Store32(l4 + 4, (kSttHeaderBytes + inner_len) << 16);
  Store32(l4 + 8, 0);
  Store16(l4 + 12, 0x5018);
  Store16(l4 + 14, 0xffff);
  Store16(l4 + 16, 0);
  Store16(l4 + 18, 0);
  uint8_t* t = l4 + 20;
  for (int i = 0; i < 8; ++i) t[i] = 0;
  Store64(t + 8, key);
  Store16(t + 16, 0);
  const uint32_t pseudo = testing::NaiveSum(ip + 12, 8) + kIpProtoTcp + l4_len;
  Store16(l4 + 16, static_cast<uint16_t>(~testing::NaiveSum(l4, l4_len, pseudo)));
}

[[gnu::noinline]] uint32_t NaiveEncap(const TunnelConfig& c,
                                      const EncapEndpoint& ep, uint64_t key,
                                      uint32_t hash,
                                      std::span<const uint8_t> opts,
                                      PacketView& pkt) {
  const bool stt = c.type == TunnelType::kStt;
  const uint32_t opt_len = c.type == TunnelType::kGeneve ? opts.size() : 0;
  const uint32_t tun_len = stt ? kSttHeaderBytes : 8 + opt_len;
  const uint32_t inner_len = pkt.length();
  const uint32_t l4_len =
      (stt ? kTcpHeaderBytes : kUdpHeaderBytes) + tun_len + inner_len;
  uint8_t* p = pkt.Prepend(14 + 20 + l4_len - inner_len);
  if (p == nullptr) return 1;
  NaiveIpv4(c, ep, stt ? kIpProtoTcp : kIpProtoUdp, l4_len, p);
  uint8_t* l4 = p + 34;
  Store16(l4, static_cast<uint16_t>(49152 + hash % 16384));
  Store16(l4 + 2, c.dst_port);
  if (stt) {
    NaiveStt(c, key, inner_len, p + 14);
    return 0;
  }
  Store16(l4 + 4, static_cast<uint16_t>(l4_len));
  Store16(l4 + 6, 0);
  uint8_t* t = l4 + 8;
  if (c.type == TunnelType::kGeneve) {
    t[0] = static_cast<uint8_t>(opt_len / 4);
    t[1] = 0;
    Store16(t + 2, kEtherTypeTeb);
    for (size_t i = 0; i < opt_len; ++i) t[8 + i] = opts[i];
  } else {
    t[0] = 0x08;
    t[1] = t[2] = t[3] = 0;
  }
  Store32(t + 4, static_cast<uint32_t>(key << 8));
  return 0;
}

void BM_EncapNaive(benchmark::State& state) {
  const EncapTemplate tmpl = MakeTemplate(TypeArg(state));  // For its inputs.
  TunnelConfig config;
  config.type = tmpl.type;
  config.dst_port = DefaultDstPort(tmpl.type);
  Burst burst(testing::InnerFrame(64));
  uint8_t opts[kOvnPortsOptionBytes];
  WriteOvnPortsOption(opts, {1, 2, 3});
  RunBatched(state, burst.Heads(kHeadroom - 64), [&](int i) {
    PacketView pkt = burst.View(i, kHeadroom, 64);
    benchmark::DoNotOptimize(
        NaiveEncap(config, tmpl.endpoint, 0x123, i, opts, pkt));
    benchmark::DoNotOptimize(pkt);
  });
}

// A burst of encapsulated frames and a receiver for them.
struct DecapFixture {
  Burst burst;
  uint32_t offset = 0, length = 0;
  std::vector<LocalEndpoint> endpoints;
  DecapContext ctx;

  explicit DecapFixture(TunnelType type) : burst(testing::InnerFrame(64)) {
    uint8_t opts[kOvnPortsOptionBytes];
    WriteOvnPortsOption(opts, {1, 2, 3});
    EncapParams params;
    params.tun_id = 0x123;
    if (type == TunnelType::kGeneve) params.geneve_options = opts;
    const EncapTemplate tmpl = MakeTemplate(type);
    for (int i = 0; i < kBatch; ++i) {
      PacketView pkt = burst.View(i, kHeadroom, 64);
      (void)Encap(tmpl, params, pkt);
      offset = pkt.offset();
      length = pkt.length();
    }
    LocalEndpoint ep;
    ep.ip = *IpAddr::Parse("10.0.0.2");
    ep.type = type;
    ep.dst_port = DefaultDstPort(type);
    endpoints.push_back(ep);
    ctx.endpoints = endpoints;
    ctx.understood_options = std::span<const GeneveOptionId>(&kOvnPortsOption, 1);
  }
};

void BM_Decap(benchmark::State& state) {
  DecapFixture f(TypeArg(state));
  const uint32_t rx_flags = static_cast<uint32_t>(state.range(1));
  TunnelMetadata md;
  RunBatched(state, f.burst.Heads(f.offset), [&](int i) {
    PacketView pkt = f.burst.View(i, f.offset, f.length);
    benchmark::DoNotOptimize(Decap(f.ctx, pkt, rx_flags, &md));
    benchmark::DoNotOptimize(pkt);
  });
}

struct NaiveMetadata {
  uint64_t tun_id = 0;
  IpAddr src, dst;
  uint16_t tp_src = 0, tp_dst = 0;
  uint8_t tos = 0, ttl = 0;
  std::vector<uint8_t> options;
};

// Naive: field-by-field parse, byte-wise checksum, map lookup, vector copy.
[[gnu::noinline]] bool NaiveDecap(const std::map<std::pair<IpAddr, uint16_t>, TunnelType>& eps,
                PacketView& pkt, NaiveMetadata* md) {
  const uint8_t* f = pkt.data();
  if (pkt.length() < 42 || Load16(f + 12) != kEtherTypeIpv4) return false;
  const uint8_t* ip = f + 14;
  if ((ip[0] >> 4) != 4 || (ip[0] & 15) != 5) return false;
  if (testing::NaiveSum(ip, 20) != 0xffff) return false;
  const uint16_t total = Load16(ip + 2);
  if (14u + total > pkt.length()) return false;
  const uint8_t* l4 = ip + 20;
  md->src = IpAddr::FromV4Bytes(ip + 12);
  md->dst = IpAddr::FromV4Bytes(ip + 16);
  md->tos = ip[1];
  md->ttl = ip[8];
  md->tp_src = Load16(l4);
  md->tp_dst = Load16(l4 + 2);
  auto it = eps.find({md->dst, md->tp_dst});
  if (it == eps.end()) return false;
  const uint8_t* t;
  uint32_t hdr;
  if (it->second == TunnelType::kStt) {
    const uint32_t l4_len = total - 20u;
    if (testing::NaiveSum(l4, l4_len, testing::NaiveSum(ip + 12, 8) + 6 + l4_len) != 0xffff) {
      return false;
    }
    t = l4 + 20;
    md->tun_id = Load64(t + 8);
    hdr = 14 + 20 + 20 + kSttHeaderBytes;
  } else {
    t = l4 + 8;
    const uint32_t opt_len = it->second == TunnelType::kGeneve ? 4u * (t[0] & 0x3f) : 0;
    md->options.assign(t + 8, t + 8 + opt_len);
    md->tun_id = Load32(t + 4) >> 8;
    hdr = 14 + 20 + 8 + 8 + opt_len;
  }
  pkt.Strip(hdr);
  return true;
}

void BM_DecapNaive(benchmark::State& state) {
  const TunnelType type = TypeArg(state);
  DecapFixture f(type);
  std::map<std::pair<IpAddr, uint16_t>, TunnelType> eps;
  eps[{*IpAddr::Parse("10.0.0.2"), DefaultDstPort(type)}] = type;
  RunBatched(state, f.burst.Heads(f.offset), [&](int i) {
    PacketView pkt = f.burst.View(i, f.offset, f.length);
    NaiveMetadata md;
    benchmark::DoNotOptimize(NaiveDecap(eps, pkt, &md));
    benchmark::DoNotOptimize(pkt);
  });
}

// The cost of the benchmark loop itself: an out-of-line call with Decap's
// signature that does nothing.  Subtract it from the figures above.
[[gnu::noinline]] DecapResult EmptyDecap(const DecapContext&, PacketView& pkt,
                                         uint32_t, TunnelMetadata* md) {
  DecapResult result;
  result.status = pkt.length() != 0 ? DecapStatus::kDecapped
                                    : DecapStatus::kNotTunnel;
  md->tun_id = 1;
  return result;
}

void BM_Harness(benchmark::State& state) {
  DecapFixture f(TunnelType::kGeneve);
  TunnelMetadata md;
  RunBatched(state, f.burst.Heads(f.offset), [&](int i) {
    PacketView pkt = f.burst.View(i, f.offset, f.length);
    benchmark::DoNotOptimize(EmptyDecap(f.ctx, pkt, 0, &md));
    benchmark::DoNotOptimize(pkt);
  });
}

constexpr int64_t kGeneve = static_cast<int64_t>(TunnelType::kGeneve);
constexpr int64_t kVxlan = static_cast<int64_t>(TunnelType::kVxlan);
constexpr int64_t kStt = static_cast<int64_t>(TunnelType::kStt);
constexpr int64_t kSoftwareChecks = 0;
constexpr int64_t kHwChecks = kRxIpChecksumGood | kRxL4ChecksumGood;

BENCHMARK(BM_Encap)->Arg(kGeneve)->Arg(kVxlan)->Arg(kStt);
BENCHMARK(BM_EncapNaive)->Arg(kGeneve)->Arg(kVxlan)->Arg(kStt);
BENCHMARK(BM_Decap)
    ->Args({kGeneve, kSoftwareChecks})->Args({kGeneve, kHwChecks})
    ->Args({kVxlan, kSoftwareChecks})->Args({kVxlan, kHwChecks})
    ->Args({kStt, kSoftwareChecks})->Args({kStt, kHwChecks});
BENCHMARK(BM_DecapNaive)->Arg(kGeneve)->Arg(kVxlan)->Arg(kStt);
BENCHMARK(BM_Harness);

}  // namespace
}  // namespace spate::tunnels
