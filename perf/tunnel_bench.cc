// tunnel_bench: Spate's side of perf/tunnel-bench.sh.  Encapsulates or
// decapsulates traffic from a DPDK vdev through the Datapath and a
// TunnelManager for a fixed time and prints its rate; or writes the
// pcaps the benchmark replays.
//
// What it does
//   --write-pcaps DIR: writes DIR/inner.pcap (64 UDP frames of 64 bytes,
//     64 flows) and DIR/outer-TYPE.pcap (the same frames encapsulated by
//     the peer --remote-ip/--remote-mac towards --local-ip/--local-mac,
//     key --key, no options) for TYPE geneve, vxlan and stt.
//   --mode encap: port "in" (--in devargs, inner frames) -> flow
//     "in_port=in,actions=output:tun" -> tunnel push -> underlay port
//     "phy" (--phy devargs, a sink).
//   --mode decap: underlay port "phy" (--phy devargs, outer frames) ->
//     tunnel pop -> "in_port=tun,actions=output:out" -> port "out" (--out
//     devargs, a sink).
//   The tunnel is --type with remote_ip --remote-ip and key --key; the
//   underlay address is --local-ip/24 and the remote's MAC is set with
//   tnl/neigh/set.  One PMD thread on --cpu; after --warm seconds the
//   counters are cleared and after --dur seconds it prints
//     RESULT mpps=.. cyc_per_pkt=.. rx=.. tx=.. drops=.. tunnel_drops=.. secs=..
//   (mpps: packets received by the PMD per second; cyc_per_pkt: TSC cycles
//   of busy PMD rounds per packet, as pmd-perf-show computes it).
//
// Given Google Benchmark flags (perf/run-benchmarks.sh runs every binary
// in bench-bin/), it says what it is and exits 0.
//
// Thread-safety: a program; the PMD thread is the datapath's.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "datapath/action_parse.h"
#include "datapath/datapath.h"
#include "datapath/dpdk_eth_port.h"
#include "datapath/eal.h"
#include "datapath/pcap_file.h"
#include "datapath/tunnel_commands.h"
#include "datapath/tunnel_manager.h"
#include "tunnels/encap.h"

namespace spate::datapath {
namespace {

struct Args {
  std::map<std::string, std::string> kv;  // --key value pairs.
  std::string Get(const std::string& k, const std::string& def = "") const {
    auto it = kv.find(k);
    return it == kv.end() ? def : it->second;
  }
  double Num(const std::string& k, double def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : std::strtod(it->second.c_str(), nullptr);
  }
};

constexpr const char* kUsage =
    "usage: tunnel_bench --write-pcaps DIR [--local-ip A --remote-ip B --local-mac M --remote-mac M --key K]\n"
    "       tunnel_bench --mode encap|decap --type geneve|vxlan|stt --in DEVARGS --phy DEVARGS\n"
    "                    --out DEVARGS [--local-ip A --remote-ip B --remote-mac M --key K]\n"
    "                    [--huge-dir DIR] [--cpu N] [--warm S] [--dur S]\n";

Result<Args> ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) return Error("usage", "bad argument " + k);
    a.kv[k.substr(2)] = argv[i + 1];
  }
  return a;
}

// 64-byte UDP frame i (distinct source ports), from 02:00:00:00:00:aa.
std::vector<uint8_t> InnerFrame(uint32_t i) {
  std::vector<uint8_t> f(64, 0);
  const uint8_t head[] = {0x02, 0, 0, 0, 0, 0xbb, 0x02, 0, 0, 0, 0, 0xaa, 0x08, 0x00,
                          0x45, 0,    0,    50,   0,    0,    0x40, 0,    64,   17,   0, 0,
                          10,   0,    0,    1,    10,   0,    0,    2};
  std::memcpy(f.data(), head, sizeof head);
  uint16_t sport = static_cast<uint16_t>(1024 + i);
  f[34] = static_cast<uint8_t>(sport >> 8);
  f[35] = static_cast<uint8_t>(sport);
  f[36] = 0x07;
  f[37] = 0xd0;  // Destination port 2000.
  f[39] = 30;    // UDP length.
  uint32_t sum = 0;
  for (int b = 14; b < 34; b += 2) sum += static_cast<uint32_t>(f[b] << 8 | f[b + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f[24] = static_cast<uint8_t>(~sum >> 8);
  f[25] = static_cast<uint8_t>(~sum);
  return f;
}

Status WritePcaps(const Args& a) {
  std::string dir = a.Get("write-pcaps");
  auto inner = PcapWriter::Open(dir + "/inner.pcap");
  if (!inner.ok()) return inner.error();
  for (uint32_t i = 0; i < 64; ++i) {
    Status s = (*inner)->Write(InnerFrame(i));
    if (!s.ok()) return s;
  }
  auto lip = tunnels::IpAddr::Parse(a.Get("local-ip", "172.31.1.1"));
  auto rip = tunnels::IpAddr::Parse(a.Get("remote-ip", "172.31.1.2"));
  auto lmac = tunnels::MacAddr::Parse(a.Get("local-mac", "02:00:00:00:10:01"));
  auto rmac = tunnels::MacAddr::Parse(a.Get("remote-mac", "02:00:00:00:10:02"));
  if (!lip || !rip || !lmac || !rmac) return Error("usage", "bad address");
  for (const char* type : {"geneve", "vxlan", "stt"}) {
    auto cfg = tunnels::ParseTunnelConfig(
        type, {{"remote_ip", lip->ToString()}, {"key", a.Get("key", "77")}});
    if (!cfg.ok()) return cfg.error();
    auto tmpl = tunnels::BuildEncapTemplate(*cfg, {*rip, *lip, *rmac, *lmac});
    if (!tmpl.ok()) return tmpl.error();
    auto out = PcapWriter::Open(dir + "/outer-" + type + ".pcap");
    if (!out.ok()) return out.error();
    for (uint32_t i = 0; i < 64; ++i) {
      std::vector<uint8_t> buf(512, 0);
      std::vector<uint8_t> f = InnerFrame(i);
      std::memcpy(buf.data() + 256, f.data(), f.size());
      tunnels::PacketView v(buf.data(), 512, 256, static_cast<uint32_t>(f.size()));
      tunnels::EncapParams p;
      p.flow_hash = tunnels::InnerFlowHash(f);
      p.stt_frame_id = i;
      if (tunnels::Encap(*tmpl, p, v) != tunnels::DropReason::kNone) {
        return Error("encap", "cannot encapsulate the benchmark frames");
      }
      Status s = (*out)->Write({v.data(), v.length()});
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

Status AddDpdk(const Eal& eal, Mempool* pool, Datapath* dp, const std::string& name,
               const std::string& devargs) {
  DpdkPortConfig c;
  c.name = name;
  c.devargs = devargs;
  c.pool = pool;
  c.rxq_size = 2048;
  c.txq_size = 2048;
  auto port = DpdkEthPort::Create(eal, c);
  if (!port.ok()) return port.error();
  PortSpec spec;
  spec.name = name;
  spec.port = std::move(port).value();
  auto n = dp->AddPort(std::move(spec));
  if (!n.ok()) return n.error();
  return Status::Ok();
}

// Ports, tunnel, neighbour and flows for --mode.
Status Configure(const Args& a, const Eal& eal, Mempool* pool, Datapath* dp, TunnelManager* t) {
  bool encap = a.Get("mode") == "encap";
  Status s = encap ? AddDpdk(eal, pool, dp, "in", a.Get("in")) : Status::Ok();
  if (s.ok()) s = AddDpdk(eal, pool, dp, "phy", a.Get("phy"));
  if (s.ok() && !encap) s = AddDpdk(eal, pool, dp, "out", a.Get("out"));
  if (!s.ok()) return s;
  auto lip = tunnels::IpAddr::Parse(a.Get("local-ip", "172.31.1.1"));
  if (!lip) return Error("usage", "bad --local-ip");
  s = t->SetUnderlayPort("phy", {{*lip, 24}});
  if (!s.ok()) return s;
  InterfaceConfig tun{"tun", a.Get("type"), {{"remote_ip", a.Get("remote-ip", "172.31.1.2")},
                                             {"key", a.Get("key", "77")}}, 0};
  auto n = t->AddTunnelPort(tun);
  if (!n.ok()) return n.error();
  auto r = RunTunnelCommand(*t, "tnl/neigh/set", {"phy", a.Get("remote-ip", "172.31.1.2"),
                                                  a.Get("remote-mac", "02:00:00:00:10:02")});
  if (!r.ok()) return r.error();
  PortResolver names = [dp](std::string_view name) { return dp->PortNumber(name); };
  auto op = ParseRuleOp(RuleOpKind::kAdd,
                        encap ? "in_port=in,actions=output:tun" : "in_port=tun,actions=output:out",
                        false, names);
  if (!op.ok()) return op.error();
  auto c = dp->Commit({*op});
  if (!c.ok()) return c.error();
  return Status::Ok();
}

void Measure(const Args& a, Datapath* dp, const TunnelManager& t) {
  using Clock = std::chrono::steady_clock;
  std::this_thread::sleep_for(std::chrono::duration<double>(a.Num("warm", 2)));
  const std::string sink = a.Get("mode") == "encap" ? "phy" : "out";
  auto tx_of = [&] {
    for (const PortInfo& p : dp->ListPorts()) {
      if (p.name == sink) return p.stats.tx_packets;
    }
    return uint64_t{0};
  };
  dp->ClearPmdStats();
  uint64_t tx0 = tx_of();
  Clock::time_point t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(a.Num("dur", 5)));
  PmdInfo pmd = dp->GetPmdInfo().front();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  uint64_t tx = tx_of() - tx0;
  uint64_t rx = pmd.poll.rx_packets;
  uint64_t tdrops = 0;
  for (const TunnelDropCount& d : t.DropCounts()) tdrops += d.n;
  std::printf("RESULT mpps=%.2f cyc_per_pkt=%.1f rx=%llu tx=%llu drops=%llu tunnel_drops=%llu secs=%.2f\n",
              static_cast<double>(rx) / secs / 1e6,
              rx == 0 ? 0.0 : static_cast<double>(pmd.poll.busy_cycles) / static_cast<double>(rx),
              static_cast<unsigned long long>(rx), static_cast<unsigned long long>(tx),
              static_cast<unsigned long long>(pmd.fastpath.n_dropped()),
              static_cast<unsigned long long>(tdrops), secs);
  std::fflush(stdout);
}

Status Run(const Args& a) {
  if (!a.Get("write-pcaps").empty()) return WritePcaps(a);
  if (a.Get("mode") != "encap" && a.Get("mode") != "decap") return Error("usage", "--mode encap|decap");
  EalOptions eo;
  eo.core_list = "0";
  eo.no_huge = a.Get("huge-dir").empty();
  eo.huge_dir = a.Get("huge-dir");
  eo.memory_mb = static_cast<uint32_t>(a.Num("memory-mb", 1024));
  auto eal = Eal::Init(eo);
  if (!eal.ok()) return eal.error();
  MempoolConfig pc;
  pc.name = "tnl_pool";
  pc.n_packets = 16384;
  auto pool = Mempool::Create(**eal, pc);
  if (!pool.ok()) return pool.error();
  Status st;
  {
    TunnelManagerOptions to;
    to.pool = pool->get();
    TunnelManager tunnels(to);
    DatapathOptions o;
    o.pmd_cpus = {static_cast<int>(a.Num("cpu", 1))};
    o.eal = eal->get();
    o.tunnels = &tunnels;
    auto dp = Datapath::Create(o);
    if (!dp.ok()) return dp.error();
    tunnels.Attach(dp->get());
    st = Configure(a, **eal, pool->get(), dp->get(), &tunnels);
    if (st.ok()) Measure(a, dp->get(), tunnels);
  }  // The datapath (PMD, ports) goes before the manager, pool and EAL.
  return st;
}

}  // namespace
}  // namespace spate::datapath

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]).rfind("--benchmark", 0) == 0) {
    std::printf("tunnel_bench: a driver for perf/tunnel-bench.sh, not a Google Benchmark\n");
    return 0;
  }
  auto args = spate::datapath::ParseArgs(argc, argv);
  if (!args.ok()) {
    std::fprintf(stderr, "tunnel_bench: %s\n%s", args.error().ToString().c_str(),
                 spate::datapath::kUsage);
    return 2;
  }
  spate::Status st = spate::datapath::Run(*args);
  if (!st.ok()) {
    std::fprintf(stderr, "tunnel_bench: %s\n", st.error().ToString().c_str());
    return 1;
  }
  return 0;
}
