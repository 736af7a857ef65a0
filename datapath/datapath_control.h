// DatapathControl: the C++ interface through which the in-process
// controller, a daemon's unixctl commands and tests program the datapath.
//
// What it is
//   Ports (add, remove, configure, list), rule commits (batches of
//   add/modify/delete that become visible atomically under a new version),
//   dumps (rules with their counters as `ovs-ofctl dump-flows`, datapath
//   flows as `ovs-appctl dpif/dump-flows`), PMD statistics and queue
//   assignment (`dpif-netdev/pmd-stats-show|clear`, `pmd-rxq-show`), and a
//   packet trace (`ofproto/trace`).  flow_dump.h formats every result as
//   the Open vSwitch command prints it, so an `ovs-appctl` handler is a
//   parse-call-format wrapper; Datapath (datapath.h) implements it, and
//   controller tests use a fake.
//
// Consistency contract
//   Commit() validates the whole batch first (nothing changes on error),
//   stages every change, publishes them as one new classifier version,
//   and returns only when no PMD thread can still forward a packet with a
//   cached flow (EMC or megaflow) computed before the commit: affected
//   megaflows are revalidated or evicted by each PMD before its next batch
//   (fastpath.h describes the handshake).  Port changes give the same
//   guarantee for output, flood and all.
//
// Thread-safety
//   Every method may be called from any thread; calls are serialised
//   internally (one control mutex).
#ifndef SPATE_DATAPATH_DATAPATH_CONTROL_H
#define SPATE_DATAPATH_DATAPATH_CONTROL_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "datapath/fastpath.h"
#include "datapath/flow_rule.h"
#include "datapath/pmd.h"
#include "datapath/port.h"
#include "datapath/xlate.h"

namespace spate::datapath {

// A port to add.
struct PortSpec {
  std::string name;             // Unique Interface name.
  uint32_t number = 0;          // Requested ofport; 0 picks the lowest free.
  std::unique_ptr<Port> port;   // The device (ownership passes); null for a
                                // tunnel port.
  bool tunnel = false;          // A tunnel port (TunnelHook does the I/O).
};

// Port settings to change (unset members stay as they are).
struct PortSettings {
  std::optional<int> mtu;       // New MTU.
  std::optional<bool> flood;    // Included in flood (mod-port [no-]flood).
};

// One port as dpif/show reports it.
struct PortInfo {
  uint32_t number = 0;          // ofport.
  std::string name;             // Interface name.
  std::string type;             // Port::type(), or "tunnel".
  bool flood = true;            // Included in flood.
  int n_rxq = 0;                // Receive queues (0 for tunnels).
  int mtu = 0;                  // MTU (0 for tunnels).
  PortStats stats;              // Device counters.
};

// What a commit did.
struct CommitResult {
  cls::Version version = 0;     // The version now visible.
  size_t n_added = 0;           // Rules added (replacements included).
  size_t n_modified = 0;        // Rules whose actions changed.
  size_t n_deleted = 0;         // Rules removed (replaced ones excluded).
};

// One installed rule with its counters.
struct RuleInfo {
  RuleSpec spec;                // The rule.
  uint64_t n_packets = 0;       // Packets that went through it.
  uint64_t n_bytes = 0;         // Their bytes.
  double duration_s = 0;        // Seconds since it was installed.
};

// One PMD thread (or thread-less fast path) as pmd-stats-show reports it.
struct PmdInfo {
  int index = 0;                            // PMD number.
  int cpu = -1;                             // Pinned CPU, or -1.
  FastPathStats fastpath;                   // Fast path counters.
  PmdStats poll;                            // Poll loop counters.
  std::vector<std::pair<std::string, int>> rxqs;  // (port name, queue).
};

// An ofproto/trace result.
struct TraceResult {
  std::vector<std::string> lines;  // The whole explanation, line by line.
  DpActions actions;               // Datapath actions.
  cls::Match megaflow;             // The megaflow that would be installed.
};

class DatapathControl {
 public:
  virtual ~DatapathControl() = default;

  // ---- Ports ----
  // Adds a port; returns its number.  Errors: duplicate name or number,
  // number out of range, a device without receive/transmit queues.
  virtual Result<uint32_t> AddPort(PortSpec spec) = 0;
  // Removes a port; when it returns no thread uses the device and it has
  // been destroyed.  Errors: unknown name.
  virtual Status RemovePort(std::string_view name) = 0;
  // Changes port settings.  Errors: unknown name, MTU refused.
  virtual Status ConfigurePort(std::string_view name, const PortSettings& settings) = 0;
  // Every port, by number.
  virtual std::vector<PortInfo> ListPorts() const = 0;
  // The number of port `name`, or nullopt.
  virtual std::optional<uint32_t> PortNumber(std::string_view name) const = 0;
  // The device of port `name` (e.g. a DummyPort for netdev-dummy/receive),
  // or nullptr.  Valid until the port is removed.
  virtual Port* FindPort(std::string_view name) const = 0;

  // ---- Rules ----
  // Applies `ops` atomically (see the consistency contract).  Errors
  // ("invalid rule"): a conjunctive rule with actions, a bad table; then
  // nothing changed.
  virtual Result<CommitResult> Commit(const std::vector<RuleOp>& ops) = 0;
  // Installed rules (one table, or all), ordered by table then priority
  // (highest first), with their counters.
  virtual std::vector<RuleInfo> DumpRules(std::optional<uint8_t> table = std::nullopt) const = 0;

  // ---- Caches, statistics, trace ----
  // Every PMD's megaflows.
  virtual std::vector<DpFlowInfo> DumpDatapathFlows() const = 0;
  // Per-PMD counters and queue assignment.
  virtual std::vector<PmdInfo> GetPmdInfo() const = 0;
  // pmd-stats-clear.
  virtual void ClearPmdStats() = 0;
  // Makes every PMD re-translate every cached flow (keeping those whose
  // result is unchanged) before its next batch, for state outside the
  // rules that translation reads (a TunnelHook's ports and endpoints);
  // returns when no PMD can still use a flow cached before the call.
  virtual void Revalidate() = 0;
  // Translates `key` at the current version, explaining each table step.
  virtual TraceResult Trace(const cls::FlowKey& key) const = 0;
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_DATAPATH_CONTROL_H
