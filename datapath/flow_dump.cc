#include "datapath/flow_dump.h"

#include <cstdio>

#include "datapath/action_parse.h"

namespace spate::datapath {
namespace {

std::string Seconds(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3fs", v);
  return buf;
}

std::string Fixed2(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string FormatDumpFlows(const std::vector<RuleInfo>& rules) {
  std::string out;
  for (const RuleInfo& r : rules) {
    out += " cookie=" + Hex(r.spec.cookie) + ", duration=" + Seconds(r.duration_s) +
           ", table=" + std::to_string(r.spec.table) +
           ", n_packets=" + std::to_string(r.n_packets) +
           ", n_bytes=" + std::to_string(r.n_bytes) + ", ";
    std::string match = r.spec.match.ToString();
    bool prio = r.spec.priority != 32768;
    if (prio) out += "priority=" + std::to_string(r.spec.priority);
    if (prio && !match.empty()) out += ",";
    out += match;
    if (prio || !match.empty()) out += " ";
    out += "actions=" + FormatActions(r.spec.actions, r.spec.conjunctions) + "\n";
  }
  return out;
}

std::string FormatDpifFlows(const std::vector<DpFlowInfo>& flows, int64_t now_ns) {
  std::string out;
  for (const DpFlowInfo& f : flows) {
    std::string used = f.used_ns == 0 ? "never"
                                       : Seconds(static_cast<double>(now_ns - f.used_ns) / 1e9);
    out += f.match.ToString() + ", packets:" + std::to_string(f.n_packets) +
           ", bytes:" + std::to_string(f.n_bytes) + ", used:" + used +
           ", actions:" + FormatDpActions(f.actions) + "\n";
  }
  return out;
}

std::string FormatPmdStats(const std::vector<PmdInfo>& pmds) {
  std::string out;
  for (const PmdInfo& p : pmds) {
    const FastPathStats& s = p.fastpath;
    double n = s.n_packets == 0 ? 1.0 : static_cast<double>(s.n_packets);
    out += "pmd thread numa_id 0 core_id " + std::to_string(p.cpu < 0 ? p.index : p.cpu) + ":\n";
    out += "  packets received: " + std::to_string(s.n_packets) + "\n";
    out += "  emc hits: " + std::to_string(s.n_emc_hits) + "\n";
    out += "  megaflow hits: " + std::to_string(s.n_megaflow_hits) + "\n";
    out += "  miss with success upcall: " + std::to_string(s.n_upcalls - s.n_lost) + "\n";
    out += "  miss with failed upcall: " + std::to_string(s.n_lost) + "\n";
    out += "  megaflows: " + std::to_string(s.n_megaflows) + "\n";
    out += "  revalidations: " + std::to_string(s.n_revalidations) +
           ", evictions: " + std::to_string(s.n_evictions) + "\n";
    out += "  packets sent: " + std::to_string(s.n_tx_packets) + "\n";
    out += "  dropped: " + std::to_string(s.n_dropped()) + "\n";
    for (int i = 1; i < kNumDropReasons; ++i) {
      if (s.drops[i] == 0) continue;
      out += "    " + std::string(DropReasonName(static_cast<DropReason>(i))) + ": " +
             std::to_string(s.drops[i]) + "\n";
    }
    out += "  idle cycles: " + std::to_string(p.poll.idle_cycles) + "\n";
    out += "  processing cycles: " + std::to_string(s.n_cycles) + "\n";
    out += "  avg processing cycles per packet: " +
           Fixed2(static_cast<double>(s.n_cycles) / n) + "\n";
  }
  return out;
}

std::string FormatPmdRxqs(const std::vector<PmdInfo>& pmds) {
  std::string out;
  for (const PmdInfo& p : pmds) {
    out += "pmd thread numa_id 0 core_id " + std::to_string(p.cpu < 0 ? p.index : p.cpu) + ":\n";
    out += "  isolated : false\n";
    for (const auto& [name, qid] : p.rxqs) {
      out += "  port: " + name + "  queue-id: " + std::to_string(qid) + "  (enabled)\n";
    }
  }
  return out;
}

std::string FormatDpifShow(const std::vector<PortInfo>& ports, const std::vector<PmdInfo>& pmds) {
  uint64_t hit = 0, missed = 0, lost = 0;
  size_t flows = 0;
  for (const PmdInfo& p : pmds) {
    hit += p.fastpath.n_emc_hits + p.fastpath.n_megaflow_hits;
    missed += p.fastpath.n_upcalls;
    lost += p.fastpath.n_lost;
    flows += p.fastpath.n_megaflows;
  }
  std::string out = "netdev@ovs-netdev: hit:" + std::to_string(hit) +
                    " missed:" + std::to_string(missed) + " lost:" + std::to_string(lost) + "\n";
  out += "  flows: " + std::to_string(flows) + "\n";
  for (const PortInfo& p : ports) {
    out += "    " + p.name + " " + std::to_string(p.number) + "/" + std::to_string(p.number) +
           ": (" + p.type + ")\n";
  }
  return out;
}

std::string FormatTrace(const TraceResult& trace) {
  std::string out;
  for (const std::string& l : trace.lines) out += l + "\n";
  return out;
}

}  // namespace spate::datapath
