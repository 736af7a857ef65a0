// The exact-match cache (EMC): packet flow key -> megaflow, per PMD.
//
// What it is
//   Open vSwitch's first-level cache: kEntries slots, each holding a key,
//   its hash and the megaflow it belongs to.  A key has two candidate slots
//   (two slices of its hash); a hit compares the hash and then the key.
//   Entries are added with probability 1/inv_prob (OVS's
//   emc-insert-inv-prob, default 100) so that a flood of short flows does
//   not thrash it; a hit refreshes nothing (no LRU state).
//
// Design
//   * Only "plain" keys are cached: keys of packets as received, whose
//     metadata words other than in_port (registers, tunnel fields, words
//     1..13) are zero.  Recirculated packets (tunnel metadata) go to the
//     megaflow cache.  A slot therefore stores 14 words (word 0 with
//     in_port, and the packet words 14..26), and is 128 bytes: two cache
//     lines, half the size of a whole key, and compared in 7 vector ops.
//   * HashPlainKey is the multilinear hash of those words; it equals
//     HashFlowKey for a plain key (zero words add nothing), and the
//     products are independent, so they run in parallel.
//   * Prefetch() lets the caller start loading a key's slots while it
//     extracts the next packets (the batch is looked up in two passes).
//   * Entries point at megaflows.  A megaflow that was evicted is marked
//     dead; Sweep() clears the entries of dead megaflows, and the owner
//     calls it before its next lookup and before MegaflowCache::FreeDead
//     frees them, so Lookup never dereferences a megaflow.
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

// True when `key` has no metadata but in_port (words 1..13 are zero).
bool IsPlainKey(const cls::FlowKey& key);

// HashFlowKey of a plain key, reading only its 14 non-metadata words.
uint32_t HashPlainKey(const cls::FlowKey& key);

class Emc {
 public:
  static constexpr uint32_t kEntries = 8192;  // Slots (power of two).
  static constexpr int kPacketWord = 14;      // First packet word.
  static constexpr int kSlotWords = 1 + cls::kFlowWords - kPacketWord;  // 14.

  Emc();

  // Starts loading the slots of `hash` into the cache.
  void Prefetch(uint32_t hash) const {
    const Entry* a = &entries_[hash & kMask];
    const Entry* b = &entries_[(hash >> 13) & kMask];
    __builtin_prefetch(a);
    __builtin_prefetch(reinterpret_cast<const char*>(a) + 64);
    __builtin_prefetch(b);
    __builtin_prefetch(reinterpret_cast<const char*>(b) + 64);
  }
  // The megaflow cached for plain key `key` (hash HashPlainKey), or
  // nullptr.  `key` must be plain (IsPlainKey).  Reads no megaflow (they
  // are cache misses): the owner calls Sweep() after evicting megaflows
  // and before the next lookup, so no slot points at a dead one.
  Megaflow* Lookup(const cls::FlowKey& key, uint32_t hash) const {
    for (uint32_t idx : {hash & kMask, (hash >> 13) & kMask}) {
      const Entry& e = entries_[idx];
      if (e.hash == hash && e.flow != nullptr && e.Same(key)) return e.flow;
    }
    return nullptr;
  }
  // Caches `key` -> `flow`, replacing a slot of the same key, else an empty
  // or dead slot, else the candidate chosen by a hash bit.  A key that is
  // not plain is not cached.
  void Insert(const cls::FlowKey& key, uint32_t hash, Megaflow* flow);
  // Clears every entry whose megaflow is dead; returns how many.
  size_t Sweep();
  // Clears every entry.
  void Clear();
  // Entries in use (linear scan; for statistics).
  size_t CountUsed() const;

 private:
  static constexpr uint32_t kMask = kEntries - 1;
  struct alignas(64) Entry {
    uint32_t hash = 0;             // HashPlainKey(key); 0 when empty.
    Megaflow* flow = nullptr;      // Megaflow of the key.
    uint64_t w[kSlotWords] = {};   // Word 0, then words 14..26.

    // True when the stored words equal those of plain key `key`.
    bool Same(const cls::FlowKey& key) const {
      uint64_t diff = w[0] ^ key.w[0];
      for (int i = 1; i < kSlotWords; ++i) diff |= w[i] ^ key.w[kPacketWord - 1 + i];
      return diff == 0;
    }
  };
  static_assert(sizeof(Entry) == 128);
  std::unique_ptr<Entry[]> entries_;  // kEntries slots.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_EMC_H
