// The per-PMD megaflow cache: translated flows keyed by their wildcards.
//
// What it is
//   A Megaflow is what one slow-path translation produced: the match
//   (key & wc, wc), the datapath actions, the rules it went through and the
//   tables it visited, plus packet/byte counters.  MegaflowCache holds a
//   PMD's megaflows in a cls::Classifier (one subtable per distinct
//   wildcard mask) and finds up to 32 keys at a time with LookupBatch.
//
// Design
//   * The PMD thread is the classifier's only writer and only reader, so
//     the classifier needs no reader registration; installs are published
//     once per batch (Publish).
//   * Evicted megaflows are marked dead, their counters flushed into their
//     rules, and parked until the EMC has been swept (emc.h): EMC entries
//     point at megaflows, and a dead one is never followed.
//   * The entry list is also read by dumpers on the control thread
//     (dpif/dump-flows, rule statistics), so every change to it happens
//     under `mutex()`; the per-packet counters are single-writer relaxed
//     atomics, and LookupBatch takes no lock.
//
// Thread-safety
//   All methods but mutex()/ForEachLocked: the owning PMD thread.
//   ForEachLocked: any thread (takes the mutex).
#ifndef SPATE_DATAPATH_MEGAFLOW_H
#define SPATE_DATAPATH_MEGAFLOW_H

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "classifier/classifier.h"
#include "datapath/actions.h"
#include "datapath/flow_rule.h"
#include "datapath/xlate.h"

namespace spate::datapath {

inline constexpr uint32_t kNoSingleOutput = UINT32_MAX;  // Megaflow::single_output.

// One cached translation.
// The fields a hit touches come first, in one cache line.
struct alignas(64) Megaflow {
  std::atomic<uint64_t> n_packets{0};            // Packets (single writer).
  std::atomic<uint64_t> n_bytes{0};              // Bytes (single writer).
  std::atomic<int64_t> used_ns{0};               // Last hit, steady clock.
  uint32_t single_output = kNoSingleOutput;      // The port, when the actions
                                                 // are one output and nothing
                                                 // else (no edits, no copies).
  bool dead = false;                             // Evicted (PMD only).
  bool in_port_only = false;                     // The mask has in_port bits
                                                 // only (a "simple match").
  uint64_t eth_words[3] = {};                    // Match key words 0, 14, 15
                                                 // (already masked): what
                                                 // L2FlowTable compares, in
                                                 // the line it counts in.
  DpActions actions;                             // What to do.
  cls::Match match;                              // (key & wc, wc).
  cls::FlowKey key{};                            // The key translated.
  std::vector<std::shared_ptr<FlowRule>> rules;  // Rules it went through.
  TableSet tables;                               // Tables looked up.
  const cls::Rule* cls_rule = nullptr;           // Its classifier entry.
  size_t slot = 0;                               // Index in the flow list.

  // Counts one packet of `bytes` at `now_ns` (owning PMD only).
  void Hit(uint32_t bytes, int64_t now_ns) {
    n_packets.store(n_packets.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    n_bytes.store(n_bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
    used_ns.store(now_ns, std::memory_order_relaxed);
  }
  // Counts `n` packets of `bytes` in total at `now_ns` (owning PMD only).
  void HitN(uint64_t n, uint64_t bytes, int64_t now_ns) {
    n_packets.store(n_packets.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    n_bytes.store(n_bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
    used_ns.store(now_ns, std::memory_order_relaxed);
  }
};

// Rule references of a translation, as shared pointers.
std::vector<std::shared_ptr<FlowRule>> ShareRules(const std::vector<FlowRule*>& rules);

class MegaflowCache {
 public:
  // A cache of at most `max_flows` megaflows.
  explicit MegaflowCache(size_t max_flows);
  ~MegaflowCache();
  MegaflowCache(const MegaflowCache&) = delete;
  MegaflowCache& operator=(const MegaflowCache&) = delete;

  // Finds the megaflows of keys[0..n) (n <= 32) into out[] (nullptr on a
  // miss); returns the number found.  Sees published megaflows only.
  int LookupBatch(const cls::FlowKey* const* keys, int n, Megaflow** out);
  // Installs the translation of `key`; nullptr when the cache is full.
  // Visible to LookupBatch after Publish().
  Megaflow* Install(const cls::FlowKey& key, XlateResult&& xlate);
  // Makes installs and evictions visible to LookupBatch.
  void Publish();
  // Marks `flow` dead, flushes its counters into its rules and unlinks it.
  // It stays allocated until FreeDead().
  void Evict(Megaflow* flow);
  // Frees evicted megaflows (call once nothing points at them: after
  // Emc::Sweep).  Returns how many.
  size_t FreeDead();
  // Evicts every megaflow.
  void EvictAll();
  // Live megaflows.
  const std::vector<Megaflow*>& flows() const { return flows_; }
  size_t size() const { return flows_.size(); }
  size_t n_dead() const { return dead_.size(); }
  size_t n_subtables() const { return cls_.n_subtables(); }
  size_t max_flows() const { return max_flows_; }
  // Live megaflows whose actions are not one output (single_output unset).
  size_t n_multi_action() const { return n_multi_action_; }
  // Guards the flow list against dumpers (taken by the owner around
  // changes, by readers around iteration).
  std::mutex& mutex() { return mutex_; }

 private:
  size_t max_flows_;                 // Capacity.
  cls::Classifier cls_;              // Megaflows by mask.
  cls::BatchRanking ranking_;        // Subtable order for LookupBatch.
  std::vector<Megaflow*> flows_;     // Live megaflows (owned).
  std::vector<Megaflow*> dead_;      // Evicted, not yet freed (owned).
  size_t n_multi_action_ = 0;        // See n_multi_action().
  std::mutex mutex_;                 // See mutex().
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_MEGAFLOW_H
