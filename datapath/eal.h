// Eal: DPDK's Environment Abstraction Layer, initialised from our options.
//
// What
//   Every DPDK object (pools, ethdev ports, per-lcore caches) needs the EAL.
//   Eal::Init builds EAL's argument vector from EalOptions (the settings Open
//   vSwitch keeps in other_config: core list, memory, dpdk-extra), checks the
//   hugepage set-up first so that a missing one is a clear error naming the
//   fix, and calls rte_eal_init.
//
// Once per process
//   DPDK can initialise its EAL once per process, and not again after
//   rte_eal_cleanup or after a failed rte_eal_init (EAL 22.11 keeps parsed
//   options from the failed call and then rejects them as duplicates).
//   Init therefore refuses a second call (even after the first Eal was
//   destroyed, or failed) with an error that says so.  What can be checked
//   without DPDK (hugepages) is checked first and leaves DPDK untouched.  Whoever owns the
//   process (the daemon's main, or a test binary's shared fixture) creates the
//   one Eal and passes `const Eal&` to what needs it; there is no global
//   accessor.  Tests share one Eal per test binary (datapath/test_eal.h).
//
// Devices are not EAL arguments
//   A bad --vdev given to rte_eal_init is only logged by EAL 22.11 (its bus
//   probe failure does not fail the init), so the device would silently be
//   missing.  Init therefore checks that each net_* vdev became a port and
//   otherwise fails, finally for the process.  Ports are meant to be
//   hot-plugged with their devargs after Init instead (DpdkEthPort), where
//   a bad string is an ordinary error; `vdevs` exists for devices that
//   must exist at start-up.
//
// Memory
//   With hugepages: `huge_dir` names a hugetlbfs mount (this VM has none at
//   /dev/hugepages; mount a private one) and `memory_mb` becomes
//   --socket-mem.  Without: `no_huge` passes --no-huge -m memory_mb; DPDK is
//   2.6-3x slower on 4 KiB pages (README.md).  `in_memory` (default) keeps
//   DPDK's runtime files out of /var/run/dpdk, so several processes and test
//   binaries coexist; `file_prefix` (default spate_<pid>) separates them
//   further when in_memory is off.
//
// Thread-safety
//   Init is not thread-safe (call it from the main thread before starting
//   others).  RegisterThread/UnregisterThread are called by the thread
//   concerned.  The accessors are const and thread-safe.
#ifndef SPATE_DATAPATH_EAL_H
#define SPATE_DATAPATH_EAL_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace spate::datapath {

// How to initialise DPDK; the defaults suit tests and the sandbox.
struct EalOptions {
  std::string core_list = "0";   // -l: lcores for EAL (main lcore first).
  bool no_huge = true;           // --no-huge: 4 KiB pages, no hugetlbfs.
  bool in_memory = true;         // --in-memory: no files under /var/run/dpdk.
  uint32_t memory_mb = 256;      // -m (no_huge) or --socket-mem (hugepages).
  std::string huge_dir;          // --huge-dir: a hugetlbfs mount point.
  std::string file_prefix;       // --file-prefix; empty: "spate_<pid>".
  bool no_pci = true;            // --no-pci: never touch PCI devices.
  bool telemetry = false;        // false adds --no-telemetry.
  int log_level = 5;             // --log-level (5 = notice, 8 = debug).
  std::vector<std::string> vdevs;       // --vdev each (see the header note).
  std::vector<std::string> extra_args;  // Appended verbatim (dpdk-extra).
  bool restore_affinity = true;  // Undo EAL's pinning of the calling thread.
};

// Splits an Open vSwitch `other_config:dpdk-extra` string into arguments:
// whitespace-separated, single or double quotes group words.  Errors: an
// unterminated quote.
Result<std::vector<std::string>> SplitDpdkExtra(const std::string& extra);

// The argument vector Init passes to rte_eal_init (argv[0] included).
std::vector<std::string> BuildEalArgs(const EalOptions& options);

// Checks that hugepages can back `options` (never called with no_huge).
// Errors name the fix: reserve pages (nr_hugepages), mount hugetlbfs and
// pass huge_dir, or use no_huge.  Reads /proc and /sys only.
Status CheckHugepages(const EalOptions& options);

// The initialised EAL.  See the header comment for the once-per-process rule.
class Eal {
 public:
  // Initialises DPDK.  Errors: a second call in this process; missing
  // hugepages (CheckHugepages); EAL's own refusal, with DPDK's reason and
  // the arguments used.
  static Result<std::unique_ptr<Eal>> Init(const EalOptions& options);
  // Releases EAL resources (rte_eal_cleanup).  Destroy ports and pools first.
  ~Eal();
  Eal(const Eal&) = delete;
  Eal& operator=(const Eal&) = delete;

  // The arguments rte_eal_init was given.
  const std::vector<std::string>& args() const { return args_; }
  // Time-stamp counter ticks per second (rte_get_tsc_hz).
  uint64_t tsc_hz() const { return tsc_hz_; }
  // True when memory is hugepage-backed (not --no-huge).
  bool hugepages() const { return hugepages_; }
  // EAL's runtime directory (under /var/run/dpdk); the destructor removes
  // it when empty.
  const std::string& runtime_dir() const { return runtime_dir_; }

  // Registers the calling non-EAL thread as a DPDK lcore so that it gets
  // per-lcore mempool caches (much faster alloc/free).  Returns its lcore
  // id, or -1 when no lcore slot is free (the thread still works, without
  // caches).  Call UnregisterThread before the thread exits.
  int RegisterThread() const;
  // Undoes RegisterThread for the calling thread.
  void UnregisterThread() const;

 private:
  Eal(std::vector<std::string> args, uint64_t tsc_hz, bool hugepages,
      std::string runtime_dir)
      : args_(std::move(args)),
        tsc_hz_(tsc_hz),
        hugepages_(hugepages),
        runtime_dir_(std::move(runtime_dir)) {}

  std::vector<std::string> args_;  // argv given to rte_eal_init.
  uint64_t tsc_hz_;                // TSC frequency.
  bool hugepages_;                 // Hugepage-backed memory.
  std::string runtime_dir_;        // rte_eal_get_runtime_dir().
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_EAL_H
