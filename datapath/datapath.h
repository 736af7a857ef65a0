// Datapath: the DatapathControl implementation that owns ports, flow
// tables and PMD threads (one FastPath each).
//
// What it is
//   The object an ovn-controller (or a test) creates once: it holds the
//   shared pipeline (DatapathShared), one FastPath and PmdSync per PMD,
//   the PMD threads polling the ports' receive queues (round robin,
//   AssignRxQueues), and the rule registry behind Commit and DumpRules.
//   With `start_threads = false` no thread is started and the caller
//   drives fastpath(i)->Process() itself (tests, benchmarks).
//
// Design
//   * Rules: a registry per table, keyed by (match, priority), holds the
//     control side's shared_ptr<FlowRule>; Commit stages classifier
//     inserts/removes, publishes once, notifies every PMD of the changed
//     tables and waits for the handshake (fastpath.h), then drops its
//     references to removed rules.
//   * Ports: an immutable PortMap is rebuilt per change and published by
//     pointer; the old one is freed after the same handshake.  A port is
//     removed from the PMDs' queue lists (synchronously) before the map
//     changes and its device is destroyed last.  A device with fewer
//     transmit queues than PMDs gets a transmit mutex.
//
// Thread-safety
//   As DatapathControl: every method, any thread, serialised internally.
//   fastpath(i) is for the thread that drives a thread-less datapath.
#ifndef SPATE_DATAPATH_DATAPATH_H
#define SPATE_DATAPATH_DATAPATH_H

#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "datapath/datapath_control.h"
#include "datapath/eal.h"

namespace spate::datapath {

// How to build a Datapath.
struct DatapathOptions {
  int n_pmds = 1;                  // PMDs (fast paths), >= 1.
  bool start_threads = true;       // Start PMD threads (else thread-less).
  std::vector<int> pmd_cpus;       // CPU of PMD i (missing or -1: unpinned).
  const Eal* eal = nullptr;        // Registers PMD threads as lcores if set.
  Mempool* clone_pool = nullptr;   // Buffers for multi-output copies.
  FastPathConfig fastpath;         // Per-PMD tunables (txq set per PMD).
  PmdIdleOptions idle;             // PMD idle back-off.
  TunnelHook* tunnels = nullptr;   // Tunnel implementation, or nullptr.
};

class Datapath final : public DatapathControl {
 public:
  // A datapath with no ports and no rules.  Errors: n_pmds < 1, a PMD
  // thread that cannot start, reader slots exhausted.
  static Result<std::unique_ptr<Datapath>> Create(const DatapathOptions& options);
  ~Datapath() override;
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  Result<uint32_t> AddPort(PortSpec spec) override;
  Status RemovePort(std::string_view name) override;
  Status ConfigurePort(std::string_view name, const PortSettings& settings) override;
  std::vector<PortInfo> ListPorts() const override;
  std::optional<uint32_t> PortNumber(std::string_view name) const override;
  Port* FindPort(std::string_view name) const override;
  Result<CommitResult> Commit(const std::vector<RuleOp>& ops) override;
  std::vector<RuleInfo> DumpRules(
      std::optional<uint8_t> table = std::nullopt) const override;
  std::vector<DpFlowInfo> DumpDatapathFlows() const override;
  std::vector<PmdInfo> GetPmdInfo() const override;
  void ClearPmdStats() override;
  void Revalidate() override;
  TraceResult Trace(const cls::FlowKey& key) const override;

  // The fast path of PMD i (thread-less use; see the header comment).
  FastPath* fastpath(int i) { return pmds_[static_cast<size_t>(i)].fastpath.get(); }
  int n_pmds() const { return static_cast<int>(pmds_.size()); }
  // The shared pipeline (tests).
  DatapathShared& shared() { return shared_; }

 private:
  struct Pmd {
    std::unique_ptr<PmdSync> sync;        // Commit handshake.
    std::unique_ptr<FastPath> fastpath;   // The handler.
    std::unique_ptr<PmdThread> thread;    // Null when thread-less.
    int cpu = -1;                         // Pinned CPU.
  };
  struct PortRec {
    PortEntry entry;                      // Number, name, flags.
    std::unique_ptr<Port> device;         // Owned device (null: tunnel).
  };
  struct TableRules {
    std::unordered_map<uint64_t, std::vector<std::shared_ptr<FlowRule>>> by_key;  // By
                                          // hash of (match, priority).
  };
  struct CommitState;

  explicit Datapath(const DatapathOptions& options);
  Status StartPmds();
  void PublishPorts();
  void NotifyAndWait(const TableSet& changed);
  Status AssignQueues();
  Status Validate(const RuleOp& op) const;
  void AddRule(const RuleSpec& spec, CommitState* st);
  void ModifyOrDelete(const RuleOp& op, CommitState* st);
  void RemoveRule(const std::shared_ptr<FlowRule>& rule, CommitState* st);
  std::vector<std::shared_ptr<FlowRule>> Select(const RuleOp& op) const;
  const PortRec* FindRec(std::string_view name) const;

  mutable std::mutex mutex_;                   // Serialises control calls.
  DatapathOptions options_;                    // As created.
  DatapathShared shared_;                      // Tables, ports, generation.
  std::vector<Pmd> pmds_;                      // PMDs.
  std::map<uint32_t, PortRec> ports_;          // Ports by number.
  std::vector<TableRules> rules_;              // Registry per table.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_DATAPATH_H
