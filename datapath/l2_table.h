// L2FlowTable: the fast path's lookup table for its L2 mode.
//
// What it is
//   While a PMD's megaflow cache holds a single mask that covers only key
//   words 0 (in_port), 14 (dl_dst, vlan_tci) and 15 (dl_src, dl_type)
//   (FastPath's L2 mode, fastpath.h), every megaflow is found by those
//   three masked words.  This table maps them to the megaflow directly,
//   in place of the classifier's subtable: a hit reads one 8-byte slot and
//   then the megaflow's first cache line, which holds both the words it is
//   compared with (Megaflow::eth_words) and the counters the hit updates,
//   so a packet touches two lines instead of four (slot, entry, rule,
//   megaflow).
//
// Design
//   * Open addressing with linear probing over 64-bit slots: a 16-bit tag
//     of the hash above a 48-bit megaflow pointer, 0 when empty; at most
//     half full (it doubles).  No removal: the owner rebuilds the table
//     after evictions (Reset and Insert), which only revalidation does.
//   * LookupBatch works in three passes over up to 32 keys, so that the
//     loads of different packets overlap: hash every key and prefetch its
//     slot; read each slot and prefetch the megaflow its tag names; then
//     compare and, on a tag collision, walk on.
//   * The table mirrors the megaflow cache's published flows: the owner
//     inserts what it publishes, so a flow is found here exactly when the
//     classifier would find it.
//
// Thread-safety
//   One thread (the owning PMD).
#ifndef SPATE_DATAPATH_L2_TABLE_H
#define SPATE_DATAPATH_L2_TABLE_H

#include <cstddef>
#include <cstdint>
#include <memory>

#include "classifier/flow.h"
#include "datapath/megaflow.h"

namespace spate::datapath {

class L2FlowTable {
 public:
  static constexpr int kMaxBatch = 32;  // LookupBatch capacity.

  L2FlowTable() = default;
  L2FlowTable(const L2FlowTable&) = delete;
  L2FlowTable& operator=(const L2FlowTable&) = delete;

  // Empties the table and sets its mask to words 0, 14 and 15 of `mask`
  // (the other words must be zero: the caller checks), sized for
  // `expected` flows.
  void Reset(const cls::FlowKey& mask, size_t expected);
  // Adds `f`, whose match has the table's mask.  A flow with the same
  // words as one already present is not added (the first one is what a
  // classifier lookup would return too).
  void Insert(Megaflow* f);
  // Finds the megaflows of keys[0..n) (n <= kMaxBatch) into out[]
  // (nullptr on a miss); returns the number found.
  int LookupBatch(const cls::FlowKey* const* keys, int n, Megaflow** out) const;
  // Flows held.
  size_t size() const { return n_; }

 private:
  static constexpr uint64_t kPtrMask = (uint64_t{1} << 48) - 1;  // Slot pointer bits.

  // The mixed hash of masked words w0, w14, w15.
  static uint64_t Hash(uint64_t w0, uint64_t w14, uint64_t w15);
  // The flow with words w[0..2] from slot j on, or nullptr.
  Megaflow* Probe(const uint64_t* w, uint64_t tag, size_t j) const;
  // Adds `f` with hash `h` (no growth check).
  void Place(Megaflow* f, uint64_t h);
  // Doubles the capacity, placing every flow again.
  void Grow();

  uint64_t mask_[3] = {};                // Mask of words 0, 14, 15.
  std::unique_ptr<uint64_t[]> slots_;    // Tag << 48 | pointer, 0: empty.
  size_t slot_mask_ = 0;                 // Capacity - 1 (power of two).
  size_t n_ = 0;                         // Flows held.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_L2_TABLE_H
