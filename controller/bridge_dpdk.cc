// Vswitch: DPDK's EAL, the packet pool and the PMD threads (see bridge.h).
#include <unistd.h>

#include <utility>

#include "controller/bridge_internal.h"
#include "controller/dpdk_config.h"
#include "common/daemon.h"

namespace spate::controller {

using common::LogLevel;

void Vswitch::EnsureEal(const std::map<std::string, std::string>& other_config) {
  auto it = other_config.find("dpdk-init");
  bool enabled = it != other_config.end() && (it->second == "true" || it->second == "try");
  if (enabled != dpdk_enabled_ && eal_tried_) {
    // Interfaces refused for want of dpdk-init get another chance.
    std::erase_if(ifaces_, [](const auto& entry) { return entry.second.ofport == 0; });
  }
  dpdk_enabled_ = enabled;
  if (eal_tried_) return;
  eal_tried_ = true;
  Result<EalPlan> plan = PlanEal(other_config);
  if (!plan.ok()) {
    dpdk_status_ = Error("dpdk", plan.error().details() +
                                     " (fix it in Open_vSwitch other_config and restart)");
    vlog_.Log(log_, LogLevel::kErr, dpdk_status_.error().details());
    return;
  }
  if (!plan->problem.empty()) {
    vlog_.Log(log_, LogLevel::kErr, plan->problem + "; continuing without hugepages");
  }
  Result<std::unique_ptr<datapath::Eal>> eal = datapath::Eal::Init(plan->options);
  if (!eal.ok()) {
    dpdk_status_ = Error("dpdk", "DPDK EAL failed to start: " + eal.error().details() +
                                     " (fix other_config:dpdk-extra and restart)");
    vlog_.Log(log_, LogLevel::kErr, dpdk_status_.error().details());
    return;
  }
  eal_ = std::move(eal).value();
  std::string args;
  for (const std::string& a : eal_->args()) args += " " + a;
  vlog_.Log(log_, LogLevel::kInfo, "DPDK EAL started:" + args);
  datapath::MempoolConfig pool_config;
  pool_config.name = "ovn_ctl_" + std::to_string(getpid());
  pool_config.n_packets = options_.n_packets;
  Result<std::unique_ptr<datapath::Mempool>> pool = datapath::Mempool::Create(*eal_, pool_config);
  if (!pool.ok()) {
    dpdk_status_ = Error("dpdk", "packet pool: " + pool.error().details());
    vlog_.Log(log_, LogLevel::kErr, dpdk_status_.error().details());
    return;
  }
  pool_ = std::move(pool).value();
}

void Vswitch::ApplyPmdMask(const std::map<std::string, std::string>& other_config) {
  auto it = other_config.find("pmd-cpu-mask");
  std::string mask = it == other_config.end() ? "" : it->second;
  if (mask == pmd_mask_) return;
  pmd_mask_ = mask;
  int n_cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  Result<std::vector<int>> cpus = ParsePmdCpuMask(mask, n_cpus);
  std::vector<int> want = {-1};
  if (!cpus.ok()) {
    vlog_.Log(log_, LogLevel::kErr, cpus.error().details() + "; using one unpinned PMD thread");
  } else if (!cpus->empty()) {
    want = *cpus;
  }
  if (want == pmd_cpus_) return;
  pmd_cpus_ = want;
  std::string list;
  for (int cpu : pmd_cpus_) list += (list.empty() ? "" : ",") + std::to_string(cpu);
  vlog_.Log(log_, LogLevel::kInfo,
            "PMD threads per bridge: " + std::to_string(pmd_cpus_.size()) + " (CPUs " + list + ")");
  RebuildDatapaths();
}

Status Vswitch::NewDatapath(BridgeRec* rec) const {
  rec->dp.reset();  // The old datapath goes before its tunnel hook.
  datapath::TunnelManagerOptions tunnel_options;
  tunnel_options.pool = pool_.get();
  rec->tunnels = std::make_unique<datapath::TunnelManager>(tunnel_options);
  datapath::DatapathOptions o;
  o.n_pmds = static_cast<int>(pmd_cpus_.size());
  o.pmd_cpus = pmd_cpus_;
  o.eal = eal_.get();
  o.clone_pool = pool_.get();
  o.idle = options_.idle;
  o.tunnels = rec->tunnels.get();
  Result<std::unique_ptr<datapath::Datapath>> dp = datapath::Datapath::Create(o);
  if (!dp.ok()) return dp.error();
  rec->dp = std::move(dp).value();
  rec->tunnels->Attach(rec->dp.get());
  return Status::Ok();
}

void Vswitch::RebuildDatapaths() {
  for (auto& [bridge, rec] : bridges_) {
    std::vector<datapath::RuleOp> ops;
    for (datapath::RuleInfo& r : rec.dp->DumpRules()) {
      datapath::RuleOp op;
      op.spec = std::move(r.spec);
      ops.push_back(std::move(op));
    }
    Status made = NewDatapath(&rec);  // Stops the old PMDs, frees its ports.
    if (!made.ok()) {
      vlog_.Log(log_, LogLevel::kErr, "bridge " + bridge + ": " + made.error().details() +
                                          "; using one unpinned PMD thread");
      pmd_cpus_ = {-1};
      made = NewDatapath(&rec);
    }
    if (!made.ok()) {  // Not even one unpinned thread: nothing can forward.
      common::FatalError(vlog_.program(), "bridge " + bridge + ": " + made.error().details());
    }
    for (auto& [name, state] : ifaces_) {
      if (state.bridge != bridge || state.ofport == 0) continue;
      uint32_t number = state.ofport;
      state.ofport = 0;
      if (Status s = AttachPort(&state, number); !s.ok()) state.error = s.error().details();
    }
    if (auto r = rec.dp->Commit(ops); !r.ok()) {
      vlog_.Log(log_, LogLevel::kErr, "bridge " + bridge + ": rules lost in rebuild: " +
                                          r.error().details());
    }
  }
}

}  // namespace spate::controller
