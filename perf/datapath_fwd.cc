// datapath_fwd: forwards traffic between two DPDK vdevs through Spate's
// datapath for a fixed time and prints its rate; the driver that
// perf/datapath-bench.sh runs on our side of the comparison.
//
// What it does
//   Initialises the EAL (hugepages in --huge-dir, else --no-huge), creates a
//   Datapath with one PMD thread pinned to --cpu, adds two DpdkEthPorts from
//   devargs (--in becomes port 1 "p0", --out port 2 "p1"), commits the flows
//   of --flows (one ovs-ofctl add-flow line each, ParseRuleOp; '#' starts a
//   comment), waits --warm seconds, clears the counters, waits --dur
//   seconds and prints one line:
//     RESULT mpps=.. cyc_per_pkt=.. rx=.. tx=.. emc_pct=.. megaflow_pct=..
//            upcalls=.. lost=.. drops=.. megaflows=.. subtables=.. secs=..
//   mpps is packets received by the PMD per wall-clock second;
//   cyc_per_pkt is TSC cycles of the PMD's busy rounds (receive, fast
//   path, transmit) per received packet, as Open vSwitch's pmd-perf-show
//   computes it; cpu_mpps is packets per second of CPU time the PMD thread
//   got (/proc/self/task/TID/schedstat), the rate that does not depend on
//   other load on a shared machine.
//
// Given Google Benchmark flags (perf/run-benchmarks.sh runs every binary
// in bench-bin/), it says what it is and exits 0.
//
// Thread-safety: a program; the PMD thread is the datapath's.
#include <dirent.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "datapath/action_parse.h"
#include "datapath/datapath.h"
#include "datapath/dpdk_eth_port.h"
#include "datapath/eal.h"
#include "datapath/packet.h"

namespace spate::datapath {
namespace {

// The command line.
struct Args {
  std::string in;              // Input devargs (port 1).
  std::string out;             // Output devargs (port 2).
  std::string flows;           // Flow file (ovs-ofctl add-flow lines).
  std::string huge_dir;        // hugetlbfs mount; empty: --no-huge.
  uint32_t memory_mb = 1024;   // EAL memory.
  uint32_t pool = 16384;       // Packet buffers (net_pcap infinite_rx
                               // keeps one per pcap packet).
  uint32_t emc_inv_prob = 100; // EMC insertion 1/N; 0 disables the EMC.
  size_t max_megaflows = 262144;  // Megaflow cache capacity.
  int cpu = 1;                 // PMD CPU.
  double warm_s = 2;           // Warm-up seconds.
  double dur_s = 5;            // Measured seconds.
};

constexpr const char* kUsage =
    "usage: datapath_fwd --in DEVARGS --out DEVARGS [--flows FILE]\n"
    "         [--huge-dir DIR] [--memory-mb N] [--pool N] [--emc-inv-prob N]\n"
    "         [--max-megaflows N] [--cpu N] [--warm S] [--dur S]\n";

Result<Args> ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) return Error("usage", "missing value after " + k);
    std::string v = argv[++i];
    char* end = nullptr;
    double num = std::strtod(v.c_str(), &end);
    bool numeric = end != v.c_str() && *end == '\0' && num >= 0;
    if (k == "--in") a.in = v;
    else if (k == "--out") a.out = v;
    else if (k == "--flows") a.flows = v;
    else if (k == "--huge-dir") a.huge_dir = v;
    else if (!numeric) return Error("usage", "bad option or value: " + k + " " + v);
    else if (k == "--memory-mb") a.memory_mb = static_cast<uint32_t>(num);
    else if (k == "--pool") a.pool = static_cast<uint32_t>(num);
    else if (k == "--emc-inv-prob") a.emc_inv_prob = static_cast<uint32_t>(num);
    else if (k == "--max-megaflows") a.max_megaflows = static_cast<size_t>(num);
    else if (k == "--cpu") a.cpu = static_cast<int>(num);
    else if (k == "--warm") a.warm_s = num;
    else if (k == "--dur") a.dur_s = num;
    else return Error("usage", "unknown option " + k);
  }
  if (a.in.empty() || a.out.empty()) return Error("usage", "--in and --out are required");
  if (a.dur_s <= 0) return Error("usage", "--dur must be positive");
  return a;
}

// The add-flow ops of `path` (port names p0/p1 resolve to 1/2).
Result<std::vector<RuleOp>> LoadFlows(const std::string& path) {
  std::vector<RuleOp> ops;
  if (path.empty()) return ops;
  std::ifstream f(path);
  if (!f) return Error("flows", "cannot open " + path);
  PortResolver resolve = [](std::string_view name) -> std::optional<uint32_t> {
    if (name == "p0") return 1;
    if (name == "p1") return 2;
    return std::nullopt;
  };
  std::string line;
  for (int lineno = 1; std::getline(f, line); ++lineno) {
    size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    Result<RuleOp> op = ParseRuleOp(RuleOpKind::kAdd, line, false, resolve);
    if (!op.ok()) {
      return Error("flows", path + ":" + std::to_string(lineno) + ": " + op.error().ToString());
    }
    ops.push_back(std::move(op).value());
  }
  return ops;
}

Status AddDpdkPort(const Eal& eal, Mempool* pool, Datapath* dp, const std::string& name,
                   uint32_t number, const std::string& devargs) {
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
  spec.number = number;
  spec.port = std::move(port).value();
  auto n = dp->AddPort(std::move(spec));
  if (!n.ok()) return n.error();
  return {};
}

// Nanoseconds on CPU of this process's thread whose name starts with "pmd"
// (the datapath's PMD thread), from schedstat; 0 when not found.
uint64_t PmdCpuNs() {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  uint64_t ns = 0;
  while (dirent* e = readdir(dir)) {
    std::string base = std::string("/proc/self/task/") + e->d_name;
    std::ifstream comm(base + "/comm");
    std::string name;
    if (!std::getline(comm, name) || name.rfind("pmd", 0) != 0) continue;
    std::ifstream sched(base + "/schedstat");
    sched >> ns;
    break;
  }
  closedir(dir);
  return ns;
}

double Pct(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

// Runs the measurement on a datapath whose ports and flows are set.
void Measure(const Args& a, Datapath* dp) {
  using Clock = std::chrono::steady_clock;
  std::this_thread::sleep_for(std::chrono::duration<double>(a.warm_s));
  dp->ClearPmdStats();
  uint64_t tx0 = dp->ListPorts().back().stats.tx_packets;
  uint64_t cpu0 = PmdCpuNs();
  Clock::time_point t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(a.dur_s));
  PmdInfo pmd = dp->GetPmdInfo().front();
  double cpu_s = static_cast<double>(PmdCpuNs() - cpu0) / 1e9;
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  uint64_t tx = dp->ListPorts().back().stats.tx_packets - tx0;
  const FastPathStats& f = pmd.fastpath;
  uint64_t rx = pmd.poll.rx_packets;
  std::printf(
      "RESULT mpps=%.2f cyc_per_pkt=%.1f rx=%llu tx=%llu emc_pct=%.1f megaflow_pct=%.1f "
      "upcalls=%llu lost=%llu drops=%llu megaflows=%zu subtables=%zu secs=%.2f "
      "cpu_s=%.2f cpu_mpps=%.2f simple_pct=%.1f emc_bypassed_pct=%.1f\n",
      static_cast<double>(rx) / secs / 1e6,
      rx == 0 ? 0.0 : static_cast<double>(pmd.poll.busy_cycles) / static_cast<double>(rx),
      static_cast<unsigned long long>(rx), static_cast<unsigned long long>(tx),
      Pct(f.n_emc_hits, f.n_packets), Pct(f.n_megaflow_hits, f.n_packets),
      static_cast<unsigned long long>(f.n_upcalls), static_cast<unsigned long long>(f.n_lost),
      static_cast<unsigned long long>(f.n_dropped()), f.n_megaflows, f.n_subtables, secs, cpu_s,
      cpu_s > 0 ? static_cast<double>(rx) / cpu_s / 1e6 : 0.0, Pct(f.n_simple_hits, f.n_packets),
      Pct(f.n_emc_bypassed, f.n_packets));
  std::fflush(stdout);
}

Status Run(const Args& a) {
  auto flows = LoadFlows(a.flows);
  if (!flows.ok()) return flows.error();
  EalOptions eo;
  eo.core_list = "0";
  eo.no_huge = a.huge_dir.empty();
  eo.huge_dir = a.huge_dir;
  eo.memory_mb = a.memory_mb;
  auto eal = Eal::Init(eo);
  if (!eal.ok()) return eal.error();
  MempoolConfig pc;
  pc.name = "fwd_pool";
  pc.n_packets = a.pool;
  auto pool = Mempool::Create(**eal, pc);
  if (!pool.ok()) return pool.error();
  Status st;
  {
    DatapathOptions o;
    o.pmd_cpus = {a.cpu};
    o.eal = eal->get();
    o.fastpath.emc_insert_inv_prob = a.emc_inv_prob;
    o.fastpath.max_megaflows = a.max_megaflows;
    auto dp = Datapath::Create(o);
    if (!dp.ok()) return dp.error();
    st = AddDpdkPort(**eal, pool->get(), dp->get(), "p0", 1, a.in);
    if (st.ok()) st = AddDpdkPort(**eal, pool->get(), dp->get(), "p1", 2, a.out);
    if (st.ok() && !flows->empty()) {
      auto c = (*dp)->Commit(*flows);
      if (!c.ok()) st = c.error();
    }
    if (st.ok()) Measure(a, dp->get());
  }  // The datapath (PMD, ports) goes before the pool and the EAL.
  return st;
}

}  // namespace
}  // namespace spate::datapath

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]).rfind("--benchmark", 0) == 0) {
    std::printf("datapath_fwd: a driver for perf/datapath-bench.sh, not a Google Benchmark\n");
    return 0;
  }
  auto args = spate::datapath::ParseArgs(argc, argv);
  if (!args.ok()) {
    std::fprintf(stderr, "datapath_fwd: %s\n%s", args.error().ToString().c_str(),
                 spate::datapath::kUsage);
    return 2;
  }
  spate::Status st = spate::datapath::Run(*args);
  if (!st.ok()) {
    std::fprintf(stderr, "datapath_fwd: %s\n", st.error().ToString().c_str());
    return 1;
  }
  return 0;
}
