// The fast path: one PacketHandler per PMD thread.
//
// What it is
//   FastPath::HandleBatch is what a PMD thread runs for each received
//   batch: extract every key (flow_extract.h), look each up in the
//   exact-match cache (emc.h), the misses in the megaflow cache
//   (megaflow.h, 32 at a time), the remaining misses through the slow path
//   (xlate.h) in this very thread, installing the megaflow; then execute
//   the actions (actions.h) and send what is queued per output port, one
//   TxBurst per port.  Decapsulated packets (tunnel pop) come round once
//   more as a new batch (unless a port flow takes them, below).
//
// Speed (perf/datapath-bench.sh measures it against Open vSwitch)
//   * Simple match: while the megaflow cache holds one mask, in_port alone,
//     and the input port's megaflow is one output, the batch is sent on
//     without extracting any key (Open vSwitch's "simple match").  The
//     same holds, whatever the other masks, for a port that has a
//     megaflow matching in_port alone (its translation consulted nothing
//     else, so it is every packet's of that port): up to 8 such "port
//     flows" whose actions are one output or one tunnel push are kept.
//     A tunnel push is executed for the whole batch (TunnelHook::
//     PushBatch), and a decapsulated packet whose tunnel port has a
//     single-output port flow is sent on without a second pass.
//   * Tunnels: TunnelHook::PopEarly takes valid tunnel traffic off an
//     underlay port's batch before any key is extracted (its translation
//     is always a tnl_pop); runs of packets of one megaflow whose actions
//     are one tunnel push or pop are executed as one batch; the tunnel
//     fields are copied into a decapsulated packet's key word by word.
//   * L2 mode: while the megaflow cache holds one mask that covers only
//     in_port and the Ethernet words (dl_dst, vlan_tci, dl_src, dl_type),
//     every megaflow is one output and the EMC is not in use, a plain
//     IPv4 frame's key gets only those words (ExtractEthernetWords), and
//     the batch is looked up in an L2FlowTable (l2_table.h: a slot, then
//     the megaflow's first line, which holds the compared words and the
//     counters) instead of the classifier; a packet that misses, or any
//     other frame, is extracted in full.
//   * Two passes over the batch: extract all keys, hashing each plain key
//     and prefetching its EMC slots; then look them all up.
//   * EMC policy: skipped while the megaflow cache has fewer than
//     emc_min_subtables subtables (one megaflow probe is cheaper than the
//     EMC's hash and compare), and bypassed while it thrashes (hit rate
//     under 25 % over a window; one batch in 8 still probes and inserts,
//     and a hit rate of 50 % ends the bypass).
//   * Execute: a megaflow whose actions are one output skips the action
//     interpreter, and consecutive such packets to one port are queued
//     with one SendBurst; a run of packets of one megaflow updates its
//     counters once; counters are updated per batch, not per packet.
//   * The per-batch keys are reused (ExtractFlowKeyReuse): a common IPv4
//     TCP/UDP frame stores six key words.
//   * The batch time (megaflow last use) is read from the clock only when
//     the TSC has moved ~50 us.
//
// Consistency with rule commits (the contract DatapathControl relies on)
//   DatapathShared::generation is bumped by every commit that changes
//   rules or ports, after the new classifier version and port snapshot are
//   published, together with the set of changed tables (PmdSync).  At the
//   start of each batch the PMD stores the generation it is about to use
//   in PmdSync::active_gen and re-reads the global one (a seq_cst handshake:
//   a committer either sees the PMD's old generation and waits, or the PMD
//   sees the new one); when it changed, the PMD revalidates every megaflow
//   that visited a changed table (re-translates it; keeps it only if the
//   actions are equal and the new wildcards are no wider a constraint),
//   evicts the others, sweeps the EMC, and only then forwards.  At the end
//   of the batch it stores kIdle.  The committer waits until each PMD is
//   idle or on the new generation, so when a commit returns no PMD can
//   forward with a stale cached flow.
//
// Counters (FastPathStats), per PMD, single writer: packets, bytes, cycles
//   in the handler, EMC hits, megaflow hits (of which simple matches),
//   packets that bypassed a thrashing EMC, upcalls (slow-path
//   translations), lost (upcalls whose megaflow could not be installed
//   because the cache was full; the packet is still forwarded), drops by
//   reason, revalidations and evictions.
//
// Thread-safety
//   HandleBatch/Process: the PMD thread that owns this FastPath (tests may
//   call them from one thread instead).  GetStats, ClearStats, DumpFlows:
//   any thread.
#ifndef SPATE_DATAPATH_FASTPATH_H
#define SPATE_DATAPATH_FASTPATH_H

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "datapath/actions.h"
#include "datapath/drop_reasons.h"
#include "datapath/emc.h"
#include "datapath/flow_rule.h"
#include "datapath/l2_table.h"
#include "datapath/megaflow.h"
#include "datapath/pmd.h"
#include "datapath/port_map.h"

namespace spate::datapath {

inline constexpr int kMaxRecirculations = 2;  // Tunnel pops per packet.
inline constexpr int kAllTablesBit = 255;     // TableSet bit: everything changed.

// What all PMDs of a datapath share (owned by the Datapath).
struct DatapathShared {
  FlowTables tables;                           // The pipeline.
  std::atomic<const PortMap*> ports{nullptr};  // Current port snapshot.
  std::atomic<uint64_t> generation{1};         // Bumped per commit.
  TunnelHook* tunnels = nullptr;               // Set before PMDs start.
};

// The commit handshake state of one PMD (see the header comment).
struct PmdSync {
  static constexpr uint64_t kIdle = ~0ULL;     // Not inside a batch.
  std::atomic<uint64_t> active_gen{kIdle};     // Generation in use, or kIdle.
  std::atomic<uint64_t> changed[4] = {};       // TableSet bits to revalidate.

  // Committer: records `tables` as changed (before bumping the generation).
  void AddChanged(const TableSet& tables) {
    for (size_t i = 0; i < 4; ++i) changed[i].fetch_or(tables.bits[i], std::memory_order_release);
  }
};

// Tunables of one FastPath.
struct FastPathConfig {
  uint32_t emc_insert_inv_prob = 100;  // 1/N insertion; 0 disables the EMC.
  bool emc_auto_bypass = true;         // Skip EMC lookups while it thrashes.
  size_t emc_min_subtables = 2;        // Skip the EMC while the megaflow
                                       // cache has fewer subtables (one
                                       // megaflow probe is cheaper).
  size_t max_megaflows = 65536;        // Megaflow cache capacity.
  int txq = 0;                         // Transmit queue this PMD uses.
  Mempool* clone_pool = nullptr;       // Buffers for multi-output copies.
};

// A snapshot of a FastPath's counters.
struct FastPathStats {
  uint64_t n_packets = 0;          // Packets handled (incl. recirculated).
  uint64_t n_bytes = 0;            // Their bytes.
  uint64_t n_cycles = 0;           // TSC cycles spent in HandleBatch.
  uint64_t n_batches = 0;          // Batches handled.
  uint64_t n_emc_hits = 0;         // Found in the EMC.
  uint64_t n_megaflow_hits = 0;    // Found in the megaflow cache (incl.
                                   // simple matches).
  uint64_t n_simple_hits = 0;      // Megaflow hits by in_port alone, with
                                   // no key extracted (simple match).
  uint64_t n_emc_bypassed = 0;     // Packets not looked up in the EMC
                                   // because it was thrashing.
  uint64_t n_upcalls = 0;          // Translated by the slow path.
  uint64_t n_lost = 0;             // Upcalls not installed (cache full).
  uint64_t n_revalidations = 0;    // Generation changes handled.
  uint64_t n_evictions = 0;        // Megaflows evicted by revalidation.
  uint64_t n_tx_packets = 0;       // Packets handed to ports.
  uint64_t drops[kNumDropReasons] = {};  // Drops by reason.
  size_t n_megaflows = 0;          // Megaflows installed now.
  size_t n_subtables = 0;          // Megaflow cache subtables now.

  // Sum of drops over every reason.
  uint64_t n_dropped() const;
};

// One datapath flow (a megaflow) as dpif/dump-flows shows it.
struct DpFlowInfo {
  cls::Match match;             // The megaflow.
  DpActions actions;            // Its datapath actions.
  uint64_t n_packets = 0;       // Packets.
  uint64_t n_bytes = 0;         // Bytes.
  int64_t used_ns = 0;          // Last use (steady clock), 0: never.
};

class FastPath : public PacketHandler, private ExecSink {
 public:
  // A fast path over `shared`, synchronising through `sync` (both outlive
  // it).  Registers as a reader of the tables' version domain.
  FastPath(DatapathShared* shared, PmdSync* sync, FastPathConfig config);
  ~FastPath() override;
  FastPath(const FastPath&) = delete;
  FastPath& operator=(const FastPath&) = delete;

  // PacketHandler: the batch arrives on `from.port`, whose number the
  // port snapshot gives (0 when the port is not in it).
  void HandleBatch(const RxQueueRef& from, PacketBatch* batch) override;
  // Handles `batch` as received on datapath port `in_port` (tests,
  // benchmarks, netdev-dummy/receive).  Takes the packets.
  void Process(uint32_t in_port, PacketBatch* batch);

  // False when no reader slot of the tables' domain was free (the
  // fast path must then not be used; Datapath::Create reports it).
  bool registered() const { return reader_id_ >= 0; }
  // Whether the last Publish left the PMD in L2 mode (owning thread, or
  // a test's thread between batches).
  bool l2_mode() const { return l2_mode_; }
  // Counters (any thread).
  FastPathStats GetStats() const;
  // pmd-stats-clear: GetStats counts from now (any thread).
  void ClearStats();
  // Calls `fn` for every megaflow, under the cache lock (any thread).
  void ForEachFlow(const std::function<void(const Megaflow&)>& fn);

 private:
  struct Counters;
  struct Outputs;
  struct Work;
  // A megaflow that any packet of one input port hits (simple match).
  struct SimpleFlow {
    uint32_t in_port = 0;        // The input port.
    Megaflow* flow = nullptr;    // Its megaflow (in_port_only, one output
                                 // or one tunnel push).
  };
  struct TunnelRun;
  static constexpr size_t kMaxSimpleFlows = 8;  // Ports in simple mode.

  void Run(const Port* device, uint32_t in_port, PacketBatch* batch);
  void BeginBatch(uint64_t tsc);
  void EndBatch();
  void Revalidate();
  bool KeepOnRevalidate(Megaflow* f, const XlateEnv& env);
  void Classify(Work* w);
  bool ClassifyL2(Work* w);
  void ExtractAll(Work* w, bool use_emc, uint32_t* hashes);
  bool UseEmc();
  void AccountEmc(uint32_t lookups, uint32_t hits);
  void Upcall(Work* w, int i);
  void Execute(Work* w);
  bool TrySimple(uint32_t in_port, PacketBatch* batch);
  void RefreshSimple(bool rebuild);
  void SendTo(uint32_t port, Packet* pkt);
  void SendBurst(uint32_t port, Packet* const* pkts, uint32_t n);
  int Bucket(uint32_t port);
  bool IsTunnelOnly(const Megaflow* f) const;
  void FlushTunnelRun(TunnelRun* run);
  void AddPortFlow(Megaflow* f);
  void RefreshPortFlows();
  bool TryPortFlow(Packet* pkt, uint32_t in_port);
  void RunBatch(uint32_t in_port, PacketBatch* batch);
  void Flush();
  void FlushBucket(int b);
  void UpdateGauges();

  // ExecSink.
  void Output(uint32_t port, Packet* pkt) override;
  void OutputBatch(uint32_t port, Packet* const* pkts, uint32_t n) override;
  Packet* Clone(const Packet* pkt) override;
  void Drop(Packet* pkt, DropReason why) override;
  void Recirculate(Packet* pkt, uint32_t in_port, const cls::FlowKey& md) override;
  TunnelHook* tunnel_hook() override { return shared_->tunnels; }

  DatapathShared* shared_;            // Tables, ports, generation.
  PmdSync* sync_;                     // Commit handshake.
  FastPathConfig config_;             // Tunables.
  int reader_id_;                     // Version-domain reader slot.
  uint64_t seen_gen_ = 0;             // Generation the caches reflect.
  cls::Version version_ = 0;          // Version for this batch.
  const PortMap* ports_ = nullptr;    // Snapshot for this batch.
  int64_t now_ns_ = 0;                // Batch time (steady clock).
  uint64_t clock_tsc_ = 0;            // TSC when now_ns_ was read.
  uint64_t rng_ = 0x2545f4914f6cdd1dULL;  // EMC insertion coin.
  bool emc_bypass_ = false;           // EMC thrashing: probe batches only.
  uint32_t emc_batches_ = 0;          // Batches seen while bypassing.
  uint32_t emc_win_lookups_ = 0;      // EMC lookups in this window.
  uint32_t emc_win_hits_ = 0;         // EMC hits in this window.
  size_t n_simple_ = 0;               // Entries of simple_ (0: mode off).
  bool l2_mode_ = false;              // One megaflow mask, Ethernet words
                                      // only, all one-output, no EMC: keys
                                      // of plain IPv4 frames need only
                                      // their Ethernet words (ClassifyL2).
  L2FlowTable l2_table_;              // L2 mode's lookup: every published
                                      // megaflow while l2_mode_ is set.
  SimpleFlow simple_[kMaxSimpleFlows];  // Simple-match megaflows by port.
  size_t n_port_flows_ = 0;           // Entries of port_flows_.
  SimpleFlow port_flows_[kMaxSimpleFlows];  // In_port-only megaflows (one
                                      // output or one tunnel push),
                                      // whatever the subtables: their
                                      // port's batches and recirculated
                                      // packets skip classification.
  MegaflowCache megaflows_;           // Level 2.
  Emc emc_;                           // Level 1.
  std::unique_ptr<Counters> counters_;  // Live counters.
  mutable std::mutex baseline_mutex_;   // Guards baseline_.
  FastPathStats baseline_;              // ClearStats snapshot.
  std::unique_ptr<Outputs> outputs_;    // Per-port transmit batches.
  std::unique_ptr<Work[]> work_;        // One per pass (recirculation).
  int pass_ = 0;                        // Pass being executed.
  std::vector<Megaflow*> pending_;      // Installed this batch, unpublished.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_FASTPATH_H
