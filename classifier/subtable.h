// Subtable: the rules of one classifier that share one mask, in a hash
// table keyed by the masked flow key, with per-stage indexes.
//
// Design
//   The mask is kept sparse: the list of words it touches (in stage order),
//   each with its mask and a per-word hash multiplier.  The hash of a key is
//   multilinear, h = sum(mul[i] * (key[word[i]] & mask[i])), so it grows
//   stage by stage: after each stage but the last the running hash is looked
//   up in that stage's index (a set of the running hashes of every entry);
//   a miss proves no entry can match and the lookup stops having examined
//   only the earlier stages' bits (staged lookup, as in Open vSwitch).
//
//   Entries (one per distinct masked key) sit in an open-addressed table of
//   64-bit slots holding a 16-bit tag and the entry pointer; empty slots are
//   0 and removed ones a tombstone, so concurrent readers never see a
//   half-written slot.  Each entry holds the rules with that match, linked
//   in descending rank order (priority, then earlier insertion).
//
// Thread-safety
//   Find*/Contains are lock-free and may run concurrently with the writer
//   functions, which must be serialised.  Memory the writer replaces (old
//   slot arrays) is retired through the VersionDomain.
#ifndef SPATE_CLASSIFIER_SUBTABLE_H
#define SPATE_CLASSIFIER_SUBTABLE_H

#include <atomic>
#include <cstdint>
#include <climits>
#include <functional>

#include "classifier/flow.h"
#include "classifier/versioning.h"

namespace spate::cls {

class Rule;

// The four address fields that have prefix tries.
enum class TrieField : uint8_t { kNwSrc, kNwDst, kIpv6Src, kIpv6Dst };
inline constexpr int kNumTries = 4;
Field TrieFieldToField(TrieField t);

// Alignment of an Entry's allocation (one cache line).
inline constexpr size_t kEntryAlign = 64;

// One distinct masked key of a subtable and its rules.
struct Entry {
  uint64_t hash;                 // Full hash (before slot mixing).
  std::atomic<Rule*> rules;      // Rules, descending rank.
  uint32_t n_rules;              // Writer-side count.
  uint32_t suffix_offset;        // Offset of an object allocated right after
                                 // the entry's values (0: entry alone).
  uint64_t values[1];            // Masked words (Subtable::n_words()).

  // Allocates an entry for `n_words` words followed by `suffix_bytes` for
  // the caller (at suffix(), 8-aligned), so both share cache lines.
  static Entry* Create(int n_words, size_t suffix_bytes);
  // The caller's object after the values (valid when suffix_offset != 0).
  void* suffix() { return reinterpret_cast<char*>(this) + suffix_offset; }
  // Frees the entry's allocation (the caller destroys its suffix object).
  static void Destroy(Entry* e);
};

// A reader-safe open-addressed table of nonzero 64-bit slot values.
class SlotTable {
 public:
  struct Array {
    uint64_t mask;                    // Capacity - 1 (a power of two minus 1).
    uint32_t* counts;                 // Writer-only per-slot counts, or null.
    std::atomic<uint64_t> slots[1];   // 0 empty, 1 tombstone, else a value.
  };
  static constexpr uint64_t kEmpty = 0;
  static constexpr uint64_t kTombstone = 1;

  explicit SlotTable(bool counted);
  ~SlotTable();
  SlotTable(const SlotTable&) = delete;
  SlotTable& operator=(const SlotTable&) = delete;

  // Readers: the published array (never null).
  const Array* array() const { return array_.load(std::memory_order_acquire); }
  // Writer: adds `value` at the probe sequence of `hash`.  For a counted
  // table an existing equal value is counted instead.  May grow (retiring
  // the old array through `domain`).
  void Add(uint64_t hash, uint64_t value, VersionDomain* domain);
  // Writer: removes one occurrence (decrements the count for a counted
  // table; the slot is freed at zero).
  void Remove(uint64_t hash, uint64_t value);
  // Bytes held (for memory accounting).
  size_t bytes() const;

  static uint64_t Index(uint64_t hash, uint64_t mask) { return hash & mask; }

 private:
  static Array* NewArray(uint64_t capacity, bool counted);
  static void FreeArray(Array* a);
  void Grow(VersionDomain* domain);

  std::atomic<Array*> array_;  // Published array.
  bool counted_;               // Stage index (counted) or entry table.
  uint64_t n_used_ = 0;        // Slots not empty (live + tombstones).
  uint64_t n_live_ = 0;        // Live values.
};

// Slot values: a 16-bit hash tag above a 48-bit entry pointer.
inline constexpr uint64_t kSlotPtrMask = (1ULL << 48) - 1;

// Mixes a multilinear hash into a well-spread slot hash.
inline uint64_t MixHash(uint64_t h) {
  h ^= h >> 31;
  h *= 0x9e3779b97f4a7c15ULL;
  return h ^ (h >> 29);
}

class Subtable {
 public:
  // Maximum number of stage indexes (stages before the last).
  static constexpr int kMaxCheckpoints = kNumStages - 1;

  Subtable(const FlowKey& mask, uint32_t id);
  ~Subtable();  // Frees the tables (not the entries or rules).
  Subtable(const Subtable&) = delete;
  Subtable& operator=(const Subtable&) = delete;

  const FlowKey& mask() const { return mask_; }
  uint32_t id() const { return id_; }
  int n_words() const { return n_words_; }
  // Prefix length this subtable uses on trie field t (0: no trie check).
  int trie_plen(TrieField t) const { return trie_plen_[static_cast<int>(t)]; }
  // True when some trie field has a prefix length here.
  bool has_tries() const { return has_tries_; }

  // Readers: the entry matching `key`, or null.
  const Entry* Find(const FlowKey& key) const { return FindWithHash(key, Hash(key)); }
  // Readers: the full (unmixed) hash of `key` under this mask.
  uint64_t Hash(const FlowKey& key) const { return StageHash(key, n_words_, 0, 0); }
  // Readers: the entry matching `key` given Hash(key).
  const Entry* FindWithHash(const FlowKey& key, uint64_t hash) const {
    return Probe(table_.array(), hash, MixHash(hash),
                 [&](const Entry* e) { return EntryEquals(e, key); });
  }
  // Readers: for each key i whose bit is set in `todo` (keys[i], i < 32)
  // and has an entry here, calls on_entry(i, entry).  Two passes (hash
  // every key and prefetch its slot, then probe), each hash computed once,
  // and masks of 1-6 words handled by code unrolled for that width
  // (Classifier::LookupBatch's megaflow probes).
  template <typename OnEntry>
  void FindBatch(const FlowKey* const* keys, uint32_t todo, OnEntry&& on_entry) const {
    switch (n_words_) {
      case 1: FindBatchN<1>(keys, todo, on_entry); break;
      case 2: FindBatchN<2>(keys, todo, on_entry); break;
      case 3: FindBatchN<3>(keys, todo, on_entry); break;
      case 4: FindBatchN<4>(keys, todo, on_entry); break;
      case 5: FindBatchN<5>(keys, todo, on_entry); break;
      case 6: FindBatchN<6>(keys, todo, on_entry); break;
      default: FindBatchN<0>(keys, todo, on_entry); break;
    }
  }
  // Readers: address of the first slot probed for `hash` (to prefetch).
  const void* SlotAddress(uint64_t hash) const {
    const SlotTable::Array* a = table_.array();
    return &a->slots[SlotTable::Index(MixHash(hash), a->mask)];
  }
  // Readers: staged lookup with wildcard tracking: ORs into `wc` the mask
  // bits examined (stopping at the first stage index that misses).
  const Entry* FindStaged(const FlowKey& key, FlowKey* wc) const;

  // Writer: the entry equal to `masked` (a key already masked), or null.
  Entry* FindExact(const FlowKey& masked) const;
  // Writer: creates and links the entry for masked key `masked` (see
  // Entry::Create for `suffix_bytes`).
  Entry* AddEntry(const FlowKey& masked, VersionDomain* domain, size_t suffix_bytes);
  // Writer: unlinks `e` from the table and stage indexes (not freed).
  void RemoveEntry(Entry* e);
  // Writer: copies entry values back into a masked key.
  void EntryKey(const Entry* e, FlowKey* out) const;
  // Writer: calls fn for every linked entry.
  void ForEachEntry(const std::function<void(Entry*)>& fn) const;

  size_t n_entries() const { return n_entries_; }   // Writer-side count.
  // Writer-side bookkeeping (the classifier's).
  size_t n_rules = 0;                // Rules linked in this subtable.
  int32_t max_priority = INT32_MIN;  // Conservative best rank: priority ...
  uint64_t max_seq = ~0ULL;          // ... and lowest sequence at it.
  bool max_stale = false;            // The best rule was unlinked.
  size_t bytes() const;

 private:
  uint64_t StageHash(const FlowKey& key, int end, uint64_t h, int begin) const {
    for (int i = begin; i < end; ++i) {
      h += word_mul_[i] * (key.w[word_[i]] & word_mask_[i]);
    }
    return h;
  }
  // FindBatch for a mask of kWords words (0: any number).  With kWords >
  // 0 the word indexes, masks and multipliers are copied into locals so
  // that the unrolled loops keep them in registers (stores by on_entry
  // could otherwise alias the byte array word_ and force reloads).  (A
  // third pass between the two, reading each slot to prefetch its entry,
  // measured 4 % slower on 1000 megaflows in datapath_fwd.)
  template <int kWords, typename OnEntry>
  void FindBatchN(const FlowKey* const* keys, uint32_t todo, OnEntry& on_entry) const {
    constexpr int kMax = kWords > 0 ? kWords : 1;
    const int n = kWords > 0 ? kWords : n_words_;
    uint8_t local_word[kMax];
    uint64_t local_mask[kMax], local_mul[kMax];
    for (int w = 0; w < kWords; ++w) {
      local_word[w] = word_[w];
      local_mask[w] = word_mask_[w];
      local_mul[w] = word_mul_[w];
    }
    const uint8_t* word = kWords > 0 ? local_word : word_;
    const uint64_t* mask = kWords > 0 ? local_mask : word_mask_;
    const uint64_t* mul = kWords > 0 ? local_mul : word_mul_;
    const SlotTable::Array* a = table_.array();
    uint64_t hashes[32], mixed[32];
    for (uint32_t m = todo; m; m &= m - 1) {
      int i = __builtin_ctz(m);
      uint64_t h = 0;
      for (int w = 0; w < n; ++w) h += mul[w] * (keys[i]->w[word[w]] & mask[w]);
      hashes[i] = h;
      mixed[i] = MixHash(h);
      __builtin_prefetch(&a->slots[SlotTable::Index(mixed[i], a->mask)]);
    }
    for (uint32_t m = todo; m; m &= m - 1) {
      int i = __builtin_ctz(m);
      const FlowKey& key = *keys[i];
      const Entry* e = Probe(a, hashes[i], mixed[i], [&](const Entry* c) {
        uint64_t diff = 0;
        for (int w = 0; w < n; ++w) diff |= (key.w[word[w]] & mask[w]) ^ c->values[w];
        return diff == 0;
      });
      if (e) on_entry(i, e);
    }
  }
  // The entry of `key` with full hash `hash` and mixed hash `mixed` in
  // slot array `a`, comparing values with `equals(entry)`.
  template <typename Equals>
  static const Entry* Probe(const SlotTable::Array* a, uint64_t hash, uint64_t mixed,
                            const Equals& equals) {
    uint64_t tag = mixed & ~kSlotPtrMask;
    for (uint64_t j = SlotTable::Index(mixed, a->mask);; j = (j + 1) & a->mask) {
      uint64_t v = a->slots[j].load(std::memory_order_acquire);
      if (v == SlotTable::kEmpty) return nullptr;
      if ((v & ~kSlotPtrMask) != tag || v == SlotTable::kTombstone) continue;
      const Entry* e = reinterpret_cast<const Entry*>(static_cast<uintptr_t>(v & kSlotPtrMask));
      if (e->hash == hash && equals(e)) return e;
    }
  }
  bool EntryEquals(const Entry* e, const FlowKey& key) const {
    uint64_t diff = 0;
    for (int i = 0; i < n_words_; ++i) {
      diff |= (key.w[word_[i]] & word_mask_[i]) ^ e->values[i];
    }
    return diff == 0;
  }

  FlowKey mask_;                        // The full mask.
  uint32_t id_;                         // Small id, unique while alive.
  int n_words_ = 0;                     // Words the mask touches.
  uint8_t word_[kFlowWords];            // Their indexes, ascending.
  uint64_t word_mask_[kFlowWords];      // Their masks.
  uint64_t word_mul_[kFlowWords];       // Their hash multipliers.
  int n_checkpoints_ = 0;               // Stage indexes in use.
  uint8_t checkpoint_end_[kMaxCheckpoints];  // Words hashed at each index.
  uint8_t trie_plen_[kNumTries];        // Prefix length per trie field.
  bool has_tries_ = false;              // Any trie_plen_ nonzero.
  SlotTable table_{false};              // Entries.
  SlotTable* stage_index_[kMaxCheckpoints] = {};  // Running-hash sets.
  size_t n_entries_ = 0;                // Entries linked.
};

}  // namespace spate::cls

#endif  // SPATE_CLASSIFIER_SUBTABLE_H
