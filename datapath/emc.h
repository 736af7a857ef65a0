// The exact-match cache (EMC): full flow key -> megaflow, per PMD.
//
// What it is
//   Open vSwitch's first-level cache: kEntries slots, each holding a whole
//   FlowKey, its hash and the megaflow it belongs to.  A key has two
//   candidate slots (two slices of its hash); a hit compares the hash and
//   then the whole key.  Entries are added with probability 1/inv_prob
//   (OVS's emc-insert-inv-prob, default 100) so that a flood of short flows
//   does not thrash it; every hit refreshes nothing (no LRU state).
//
// Design
//   Entries point at megaflows; a megaflow that was evicted is marked dead
//   and a lookup that finds a dead one misses.  Sweep() clears entries of
//   dead megaflows so MegaflowCache::FreeDead can free them.
//
// Thread-safety
//   One PMD thread.
#ifndef SPATE_DATAPATH_EMC_H
#define SPATE_DATAPATH_EMC_H

#include <cstdint>
#include <memory>

#include "classifier/flow.h"
#include "datapath/megaflow.h"

namespace spate::datapath {

// Hash of a whole flow key (never 0).
uint32_t HashFlowKey(const cls::FlowKey& key);

class Emc {
 public:
  static constexpr uint32_t kEntries = 8192;  // Slots (power of two).

  Emc();

  // The live megaflow cached for `key` (hash `hash`), or nullptr.
  Megaflow* Lookup(const cls::FlowKey& key, uint32_t hash) const {
    for (uint32_t idx : {hash & kMask, (hash >> 13) & kMask}) {
      const Entry& e = entries_[idx];
      if (e.hash == hash && e.flow != nullptr && !e.flow->dead && e.key == key) return e.flow;
    }
    return nullptr;
  }
  // Caches `key` -> `flow`, replacing a slot of the same key, else an empty
  // or dead slot, else the candidate chosen by a hash bit.
  void Insert(const cls::FlowKey& key, uint32_t hash, Megaflow* flow);
  // Clears every entry whose megaflow is dead; returns how many.
  size_t Sweep();
  // Clears every entry.
  void Clear();
  // Entries in use (linear scan; for statistics).
  size_t CountUsed() const;

 private:
  static constexpr uint32_t kMask = kEntries - 1;
  struct Entry {
    uint32_t hash = 0;            // HashFlowKey(key); 0 when empty.
    Megaflow* flow = nullptr;     // Megaflow of the key.
    cls::FlowKey key{};           // The whole key.
  };
  std::unique_ptr<Entry[]> entries_;  // kEntries slots.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_EMC_H
