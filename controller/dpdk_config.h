// DpdkConfig: the Open_vSwitch table's other_config keys that set up DPDK
// and the PMD threads, turned into datapath options.
//
// What
//   Open vSwitch keeps DPDK's and the PMDs' settings in
//   Open_vSwitch:other_config; we read the same keys:
//     dpdk-init            "true"/"try": dpdk (and afxdp) interfaces are
//                          allowed.  The EAL itself always starts, because
//                          every packet buffer is a DPDK mbuf, dummy ports
//                          included.
//     dpdk-extra           extra EAL arguments (quoted words allowed);
//                          "--no-huge" and "--in-memory" are understood
//                          rather than passed twice.
//     dpdk-hugepage-dir    a hugetlbfs mount to use.
//     dpdk-socket-mem      MiB of memory ("1024" or "1024,0": summed).
//     pmd-cpu-mask         hex CPU mask: one PMD thread pinned per bit.
//   Hugepages: with dpdk-hugepage-dir, or with dpdk-init and a mounted
//   hugetlbfs with enough free pages, DPDK uses them; otherwise (and
//   always without dpdk-init) it runs with --no-huge (and no
//   shared runtime files, the part of --in-memory that DPDK 22.11 allows
//   with --no-huge).  When hugepages were asked for (dpdk-hugepage-dir) but
//   cannot be used, PlanEal still returns a working no-huge plan and puts
//   the reason, which names the fix, in `problem`.
//
// Thread-safety: pure functions, except that PlanEal reads /proc and /sys
// (CheckHugepages).
#ifndef SPATE_CONTROLLER_DPDK_CONFIG_H
#define SPATE_CONTROLLER_DPDK_CONFIG_H

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "datapath/eal.h"

namespace spate::controller {

// How to start the EAL, from other_config.
struct EalPlan {
  datapath::EalOptions options;  // What Eal::Init gets.
  bool dpdk_enabled = false;     // dpdk-init is true or try.
  std::string problem;           // Hugepages asked for but unusable: why,
                                 // and the fix ("" when none).
};

// Builds the EAL options from Open_vSwitch:other_config.  Errors ("dpdk"):
// an unterminated quote in dpdk-extra, a bad dpdk-socket-mem.
Result<EalPlan> PlanEal(const std::map<std::string, std::string>& other_config);

// The CPUs of a pmd-cpu-mask ("0x6" or "6": CPUs 1 and 2), ascending.
// "" gives an empty list (the caller's default).  Errors ("dpdk"): not hex,
// no bit set, a CPU this machine does not have (`n_cpus`).
Result<std::vector<int>> ParsePmdCpuMask(std::string_view mask, int n_cpus);

}  // namespace spate::controller

#endif  // SPATE_CONTROLLER_DPDK_CONFIG_H
