// Open_vSwitch:other_config to EAL options and PMD CPUs (see dpdk_config.h).
#include "controller/dpdk_config.h"

#include <algorithm>
#include <cctype>

namespace spate::controller {
namespace {

std::string Get(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

// Sums "1024" or "1024,512" (MiB per socket).
Result<uint32_t> ParseSocketMem(const std::string& text) {
  uint64_t total = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                      : comma - start);
    if (part.empty() || part.size() > 7 ||
        part.find_first_not_of("0123456789") != std::string::npos) {
      return Error("dpdk", "other_config:dpdk-socket-mem=\"" + text +
                               "\": expected MiB per socket, e.g. 1024 or 1024,0");
    }
    total += std::stoul(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (total == 0) return Error("dpdk", "other_config:dpdk-socket-mem=\"" + text + "\" is 0 MiB");
  return static_cast<uint32_t>(total);
}

}  // namespace

Result<EalPlan> PlanEal(const std::map<std::string, std::string>& other_config) {
  EalPlan plan;
  std::string init = Get(other_config, "dpdk-init");
  plan.dpdk_enabled = init == "true" || init == "try";
  Result<std::vector<std::string>> extra = datapath::SplitDpdkExtra(Get(other_config, "dpdk-extra"));
  if (!extra.ok()) {
    return Error("dpdk", "other_config:dpdk-extra: " + extra.error().details());
  }
  bool force_no_huge = false;
  for (const std::string& arg : *extra) {
    if (arg == "--no-huge") {
      force_no_huge = true;
    } else if (arg != "--in-memory") {  // Always on (EalOptions::in_memory).
      plan.options.extra_args.push_back(arg);
    }
  }
  if (std::string mem = Get(other_config, "dpdk-socket-mem"); !mem.empty()) {
    Result<uint32_t> mb = ParseSocketMem(mem);
    if (!mb.ok()) return mb.error();
    plan.options.memory_mb = *mb;
  }
  plan.options.huge_dir = Get(other_config, "dpdk-hugepage-dir");
  plan.options.no_huge = true;
  // Hugepages only for whoever opted in to DPDK (or named a mount): a
  // switch of dummy ports should not take the host's hugepages.
  bool want_huge = plan.dpdk_enabled || !plan.options.huge_dir.empty();
  if (!force_no_huge && want_huge) {
    datapath::EalOptions try_huge = plan.options;
    try_huge.no_huge = false;
    Status huge = datapath::CheckHugepages(try_huge);
    if (huge.ok()) {
      plan.options.no_huge = false;
    } else if (!plan.options.huge_dir.empty()) {
      const std::string& dir = plan.options.huge_dir;
      plan.problem = "other_config:dpdk-hugepage-dir=" + dir + ": " + huge.error().details() +
                     ".  To use hugepages: mkdir -p " + dir +
                     " && mount -t hugetlbfs -o pagesize=2M nodev " + dir +
                     " and reserve pages (echo 512 > "
                     "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages); or remove "
                     "dpdk-hugepage-dir (ovs-vsctl remove Open_vSwitch . other_config "
                     "dpdk-hugepage-dir) to run without them";
    }
  }
  if (plan.options.no_huge) plan.options.huge_dir.clear();
  return plan;
}

Result<std::vector<int>> ParsePmdCpuMask(std::string_view mask, int n_cpus) {
  std::vector<int> cpus;
  std::string_view digits = mask;
  if (digits.substr(0, 2) == "0x" || digits.substr(0, 2) == "0X") digits.remove_prefix(2);
  if (mask.empty()) return cpus;
  auto bad = [&](const std::string& why) {
    return Error("dpdk", "other_config:pmd-cpu-mask=\"" + std::string(mask) + "\": " + why);
  };
  if (digits.empty()) return bad("no hex digits");
  int bit = 0;
  for (size_t i = digits.size(); i-- > 0; bit += 4) {
    char c = digits[i];
    if (!std::isxdigit(static_cast<unsigned char>(c))) return bad("not a hex number");
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    for (int b = 0; b < 4; ++b) {
      if ((v >> b & 1) == 0) continue;
      if (bit + b >= n_cpus) {
        return bad("CPU " + std::to_string(bit + b) + " does not exist (this machine has " +
                   std::to_string(n_cpus) + ")");
      }
      cpus.push_back(bit + b);
    }
  }
  if (cpus.empty()) return bad("no CPU selected");
  std::sort(cpus.begin(), cpus.end());
  return cpus;
}

}  // namespace spate::controller
