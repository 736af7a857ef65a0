// Eal: argument building, hugepage checks and rte_eal_init.  See eal.h.
#include "datapath/eal.h"

#include <pthread.h>
#include <sched.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_cycles.h>
#include <rte_lcore.h>

namespace spate::datapath {
namespace {

constexpr long kHugetlbfsMagic = 0x958458f6;  // HUGETLBFS_MAGIC (linux/magic.h)

// DPDK's EAL state is process-wide; these record what happened to it.
enum class EalState { kFresh, kUp, kDead };
std::atomic<EalState> g_eal_state{EalState::kFresh};

std::string Join(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

// The mount point of the first hugetlbfs in /proc/mounts, or "".
std::string FindHugetlbfsMount() {
  std::ifstream mounts("/proc/mounts");
  std::string dev, dir, type;
  std::string rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
    if (type == "hugetlbfs") return dir;
  }
  return "";
}

uint64_t ReadSysNumber(const std::string& path) {
  std::ifstream in(path);
  uint64_t n = 0;
  in >> n;
  return n;
}

// EAL creates its runtime directory (/var/run/dpdk/<prefix>) even with
// --no-shconf; leave nothing behind.  Only an empty directory is removed.
void RemoveEmptyDir(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::remove(dir, ec);
}

// The --vdev devices (net_* only) that did not become ethdev ports: EAL
// 22.11 logs a failed bus probe and still reports success.
std::string MissingVdevs(const std::vector<std::string>& vdevs) {
  std::string missing;
  for (const std::string& v : vdevs) {
    std::string name = v.substr(0, v.find(','));
    uint16_t port_id;
    if (name.rfind("net_", 0) == 0 &&
        rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
      missing += (missing.empty() ? "\"" : ", \"") + v + "\"";
    }
  }
  return missing;
}

}  // namespace

Result<std::vector<std::string>> SplitDpdkExtra(const std::string& extra) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : extra) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) out.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) {
    return Error("usage", "dpdk-extra: unterminated " + std::string(1, quote) +
                              " quote in \"" + extra + "\"");
  }
  if (in_word) out.push_back(word);
  return out;
}

std::vector<std::string> BuildEalArgs(const EalOptions& o) {
  std::vector<std::string> a = {"spate", "-l", o.core_list};
  if (o.no_huge) {
    a.push_back("--no-huge");
    if (o.memory_mb != 0) {
      a.insert(a.end(), {"-m", std::to_string(o.memory_mb)});
    }
    // --no-huge implies legacy memory, which EAL 22.11 refuses to combine
    // with --in-memory; --no-shconf is the part of --in-memory that applies
    // (no shared runtime files).
    if (o.in_memory) a.push_back("--no-shconf");
  } else {
    if (o.memory_mb != 0) {
      a.insert(a.end(), {"--socket-mem", std::to_string(o.memory_mb)});
    }
    if (!o.huge_dir.empty()) a.insert(a.end(), {"--huge-dir", o.huge_dir});
    if (o.in_memory) a.push_back("--in-memory");
  }
  std::string prefix = o.file_prefix.empty()
                           ? "spate_" + std::to_string(getpid())
                           : o.file_prefix;
  a.insert(a.end(), {"--file-prefix", prefix});
  if (o.no_pci) a.push_back("--no-pci");
  if (!o.telemetry) a.push_back("--no-telemetry");
  a.push_back("--log-level=" + std::to_string(o.log_level));
  for (const std::string& v : o.vdevs) a.insert(a.end(), {"--vdev", v});
  a.insert(a.end(), o.extra_args.begin(), o.extra_args.end());
  return a;
}

Status CheckHugepages(const EalOptions& o) {
  const std::string fallback =
      ", or run without hugepages (EalOptions::no_huge, i.e. --no-huge; "
      "2.6-3x slower)";
  std::string dir = o.huge_dir.empty() ? FindHugetlbfsMount() : o.huge_dir;
  if (dir.empty()) {
    return Error("hugepages",
                 "no hugetlbfs is mounted: mount one (mkdir -p DIR && mount "
                 "-t hugetlbfs -o pagesize=2M nodev DIR) and pass it as "
                 "huge_dir (--huge-dir)" + fallback);
  }
  struct statfs fs;
  if (statfs(dir.c_str(), &fs) != 0) {
    return Error("hugepages", "huge_dir " + dir + ": " + std::strerror(errno) +
                                  fallback);
  }
  if (static_cast<long>(fs.f_type) != kHugetlbfsMagic) {
    return Error("hugepages", "huge_dir " + dir +
                                  " is not a hugetlbfs mount: mount -t "
                                  "hugetlbfs -o pagesize=2M nodev " + dir +
                                  fallback);
  }
  uint64_t page_kb = static_cast<uint64_t>(fs.f_bsize) / 1024;
  std::string sys = "/sys/kernel/mm/hugepages/hugepages-" +
                    std::to_string(page_kb) + "kB/";
  uint64_t free_pages = ReadSysNumber(sys + "free_hugepages");
  uint64_t free_mb = free_pages * page_kb / 1024;
  uint64_t need_mb = o.memory_mb != 0 ? o.memory_mb : 1;
  if (free_mb < need_mb) {
    uint64_t want = (need_mb * 1024 + page_kb - 1) / page_kb;
    return Error("hugepages",
                 std::to_string(free_pages) + " free " +
                     std::to_string(page_kb) + " kB hugepages (" +
                     std::to_string(free_mb) + " MiB) but " +
                     std::to_string(need_mb) + " MiB are needed: reserve "
                     "more (echo " + std::to_string(want) + " > " + sys +
                     "nr_hugepages, plus what others use) or lower memory_mb" +
                     fallback);
  }
  return Status::Ok();
}

Result<std::unique_ptr<Eal>> Eal::Init(const EalOptions& options) {
  EalState state = g_eal_state.load();
  if (state != EalState::kFresh) {
    return Error("EAL", std::string("DPDK's EAL was already ") +
                            (state == EalState::kUp ? "initialised"
                                                    : "initialised and failed") +
                            " in this process and cannot be initialised "
                            "again: share the one Eal object");
  }
  if (!options.no_huge) {
    Status hp = CheckHugepages(options);
    if (!hp.ok()) return hp.error();
  }
  std::vector<std::string> args = BuildEalArgs(options);
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv.
  std::vector<char*> argv;
  for (std::string& s : copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  cpu_set_t affinity;
  bool have_affinity =
      pthread_getaffinity_np(pthread_self(), sizeof affinity, &affinity) == 0;
  int rc = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
  if (rc < 0) {
    int err = rte_errno;
    // EAL keeps global state even from a failed call (22.11 then refuses
    // "-l" a second time), so a failure is final for this process.
    g_eal_state.store(EalState::kDead);
    RemoveEmptyDir(rte_eal_get_runtime_dir());
    return Error("EAL", std::string("rte_eal_init failed: ") +
                            rte_strerror(err) +
                            " (DPDK cannot be initialised again in this "
                            "process; its messages above give the reason)"
                            "; arguments: " + Join(args));
  }
  g_eal_state.store(EalState::kUp);
  if (options.restore_affinity && have_affinity) {
    pthread_setaffinity_np(pthread_self(), sizeof affinity, &affinity);
  }
  if (std::string missing = MissingVdevs(options.vdevs); !missing.empty()) {
    std::string runtime_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    g_eal_state.store(EalState::kDead);
    RemoveEmptyDir(runtime_dir);
    return Error("EAL", "vdev " + missing + " failed to probe while EAL "
                        "started (DPDK's messages above give the driver's "
                        "reason); check the vdev devargs.  DPDK cannot be "
                        "initialised again in this process: add devices as "
                        "ports (options:dpdk-devargs) instead, where a bad "
                        "one is an ordinary error");
  }
  return std::unique_ptr<Eal>(
      new Eal(std::move(args), rte_get_tsc_hz(), !options.no_huge,
              rte_eal_get_runtime_dir()));
}

Eal::~Eal() {
  rte_eal_cleanup();
  g_eal_state.store(EalState::kDead);
  RemoveEmptyDir(runtime_dir_);
}

int Eal::RegisterThread() const {
  if (rte_thread_register() != 0) return -1;
  return static_cast<int>(rte_lcore_id());
}

void Eal::UnregisterThread() const { rte_thread_unregister(); }

}  // namespace spate::datapath
