#include "classifier/subtable.h"

#include <cassert>
#include <cstdlib>
#include <new>

namespace spate::cls {
namespace {

constexpr uint64_t kPtrMask = kSlotPtrMask;
constexpr uint64_t kInitialCapacity = 8;

// Odd multipliers, one per key word (fixed so that hashes are reproducible).
uint64_t WordMultiplier(int word) {
  uint64_t x = 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(word + 1);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x | 1;
}

uint64_t EntrySlotValue(uint64_t mixed, const Entry* e) {
  uint64_t p = reinterpret_cast<uintptr_t>(e);
  assert((p & ~kPtrMask) == 0);
  return (mixed & ~kPtrMask) | p;
}

const Entry* SlotEntry(uint64_t slot) {
  return reinterpret_cast<const Entry*>(static_cast<uintptr_t>(slot & kPtrMask));
}

uint64_t StageValue(uint64_t mixed) { return mixed | 2; }

}  // namespace

Field TrieFieldToField(TrieField t) {
  static constexpr Field kMap[kNumTries] = {Field::kNwSrc, Field::kNwDst,
                                            Field::kIpv6Src, Field::kIpv6Dst};
  return kMap[static_cast<int>(t)];
}

Entry* Entry::Create(int n_words, size_t suffix_bytes) {
  size_t size = sizeof(Entry) + sizeof(uint64_t) * (n_words > 1 ? n_words - 1 : 0);
  static_assert(sizeof(Entry) % 8 == 0);
  // Cache-line aligned, so that a lookup of a small entry (up to two
  // words) finds the values, the first rule's versions and its payload in
  // one line (see the order of Rule's members).
  char* mem = static_cast<char*>(
      ::operator new(size + suffix_bytes, std::align_val_t{kEntryAlign}));
  Entry* e = new (mem) Entry;
  e->suffix_offset = suffix_bytes ? static_cast<uint32_t>(size) : 0;
  e->hash = 0;
  e->rules.store(nullptr, std::memory_order_relaxed);
  e->n_rules = 0;
  return e;
}

void Entry::Destroy(Entry* e) {
  e->~Entry();
  ::operator delete(e, std::align_val_t{kEntryAlign});
}

// ---- SlotTable ---------------------------------------------------------------

SlotTable::SlotTable(bool counted) : counted_(counted) {
  array_.store(NewArray(kInitialCapacity, counted), std::memory_order_relaxed);
}

SlotTable::~SlotTable() { FreeArray(array_.load(std::memory_order_relaxed)); }

SlotTable::Array* SlotTable::NewArray(uint64_t capacity, bool counted) {
  size_t size = sizeof(Array) + sizeof(std::atomic<uint64_t>) * (capacity - 1);
  void* mem = ::operator new(size);
  Array* a = static_cast<Array*>(mem);
  a->mask = capacity - 1;
  a->counts = counted ? new uint32_t[capacity]() : nullptr;
  for (uint64_t i = 0; i < capacity; ++i) {
    new (&a->slots[i]) std::atomic<uint64_t>(kEmpty);
  }
  return a;
}

void SlotTable::FreeArray(Array* a) {
  delete[] a->counts;
  ::operator delete(a);
}

size_t SlotTable::bytes() const {
  const Array* a = array_.load(std::memory_order_relaxed);
  return sizeof(Array) + (a->mask + 1) * (8 + (counted_ ? 4 : 0));
}

void SlotTable::Grow(VersionDomain* domain) {
  Array* old = array_.load(std::memory_order_relaxed);
  uint64_t cap = old->mask + 1;
  // Double when live values fill a quarter; otherwise just drop tombstones
  // (leaving room for cap/4 more adds before the next rebuild).
  uint64_t new_cap = n_live_ * 4 >= cap ? cap * 2 : cap;
  Array* a = NewArray(new_cap, counted_);
  for (uint64_t i = 0; i <= old->mask; ++i) {
    uint64_t v = old->slots[i].load(std::memory_order_relaxed);
    if (v == kEmpty || v == kTombstone) continue;
    // Entry slots carry their mixed hash's top bits only, so re-derive the
    // position from the value: entries from the entry's hash, stage values
    // from themselves.
    uint64_t mixed = counted_ ? v : MixHash(SlotEntry(v)->hash);
    uint64_t j = Index(mixed, a->mask);
    while (a->slots[j].load(std::memory_order_relaxed) != kEmpty) j = (j + 1) & a->mask;
    a->slots[j].store(v, std::memory_order_relaxed);
    if (counted_) a->counts[j] = old->counts[i];
  }
  n_used_ = n_live_;
  array_.store(a, std::memory_order_release);
  if (domain) {
    domain->Defer([old] { FreeArray(old); });
  } else {
    FreeArray(old);
  }
}

void SlotTable::Add(uint64_t mixed, uint64_t value, VersionDomain* domain) {
  Array* a = array_.load(std::memory_order_relaxed);
  if (counted_) {
    for (uint64_t j = Index(mixed, a->mask);; j = (j + 1) & a->mask) {
      uint64_t v = a->slots[j].load(std::memory_order_relaxed);
      if (v == kEmpty) break;
      if (v == value) {
        ++a->counts[j];
        return;
      }
    }
  }
  if ((n_used_ + 1) * 2 > a->mask + 1) {  // Load <= 1/2: short miss probes.
    Grow(domain);
    a = array_.load(std::memory_order_relaxed);
  }
  uint64_t j = Index(mixed, a->mask);
  for (;; j = (j + 1) & a->mask) {
    uint64_t v = a->slots[j].load(std::memory_order_relaxed);
    if (v == kEmpty || v == kTombstone) break;
  }
  if (a->slots[j].load(std::memory_order_relaxed) == kEmpty) ++n_used_;
  ++n_live_;
  if (counted_) a->counts[j] = 1;
  a->slots[j].store(value, std::memory_order_release);
}

void SlotTable::Remove(uint64_t mixed, uint64_t value) {
  Array* a = array_.load(std::memory_order_relaxed);
  for (uint64_t j = Index(mixed, a->mask);; j = (j + 1) & a->mask) {
    uint64_t v = a->slots[j].load(std::memory_order_relaxed);
    if (v == kEmpty) return;
    if (v != value) continue;
    if (counted_ && --a->counts[j] > 0) return;
    a->slots[j].store(kTombstone, std::memory_order_release);
    --n_live_;
    return;
  }
}

// ---- Subtable ----------------------------------------------------------------

Subtable::Subtable(const FlowKey& mask, uint32_t id) : mask_(mask), id_(id) {
  int stage_words[kNumStages] = {0, 0, 0, 0};
  for (int s = 0; s < kNumStages; ++s) {
    for (int w = kStageBegin[s]; w < kStageBegin[s + 1]; ++w) {
      if (!mask.w[w]) continue;
      word_[n_words_] = static_cast<uint8_t>(w);
      word_mask_[n_words_] = mask.w[w];
      word_mul_[n_words_] = WordMultiplier(w);
      ++n_words_;
      ++stage_words[s];
    }
  }
  // A stage index after every nonempty stage except the last nonempty one.
  int end = 0;
  int last_nonempty = -1;
  for (int s = 0; s < kNumStages; ++s) {
    if (stage_words[s]) last_nonempty = s;
  }
  for (int s = 0; s < last_nonempty; ++s) {
    end += stage_words[s];
    if (stage_words[s]) {
      checkpoint_end_[n_checkpoints_] = static_cast<uint8_t>(end);
      stage_index_[n_checkpoints_] = new SlotTable(true);
      ++n_checkpoints_;
    }
  }
  for (int t = 0; t < kNumTries; ++t) {
    Field f = TrieFieldToField(static_cast<TrieField>(t));
    int plen = PrefixLength(mask.Get128(f), GetFieldInfo(f).bits);
    trie_plen_[t] = static_cast<uint8_t>(plen > 0 ? plen : 0);
    has_tries_ |= plen > 0;
  }
}

Subtable::~Subtable() {
  for (int i = 0; i < n_checkpoints_; ++i) delete stage_index_[i];
}

size_t Subtable::bytes() const {
  size_t b = sizeof(*this) + table_.bytes();
  for (int i = 0; i < n_checkpoints_; ++i) b += stage_index_[i]->bytes();
  return b;
}

const Entry* Subtable::FindStaged(const FlowKey& key, FlowKey* wc) const {
  uint64_t h = 0;
  int begin = 0;
  for (int c = 0; c < n_checkpoints_; ++c) {
    int end = checkpoint_end_[c];
    h = StageHash(key, end, h, begin);
    begin = end;
    const SlotTable::Array* a = stage_index_[c]->array();
    uint64_t want = StageValue(MixHash(h));
    bool found = false;
    for (uint64_t j = SlotTable::Index(want, a->mask);; j = (j + 1) & a->mask) {
      uint64_t v = a->slots[j].load(std::memory_order_acquire);
      if (v == SlotTable::kEmpty) break;
      if (v == want) {
        found = true;
        break;
      }
    }
    if (!found) {
      for (int i = 0; i < end; ++i) wc->w[word_[i]] |= word_mask_[i];
      return nullptr;
    }
  }
  h = StageHash(key, n_words_, h, begin);
  for (int i = 0; i < n_words_; ++i) wc->w[word_[i]] |= word_mask_[i];
  return FindWithHash(key, h);
}

Entry* Subtable::FindExact(const FlowKey& masked) const {
  return const_cast<Entry*>(Find(masked));
}

Entry* Subtable::AddEntry(const FlowKey& masked, VersionDomain* domain,
                          size_t suffix_bytes) {
  Entry* e = Entry::Create(n_words_, suffix_bytes);
  for (int i = 0; i < n_words_; ++i) e->values[i] = masked.w[word_[i]] & word_mask_[i];
  uint64_t h = 0;
  int begin = 0;
  for (int c = 0; c < n_checkpoints_; ++c) {
    h = StageHash(masked, checkpoint_end_[c], h, begin);
    begin = checkpoint_end_[c];
    uint64_t v = StageValue(MixHash(h));
    stage_index_[c]->Add(v, v, domain);
  }
  e->hash = StageHash(masked, n_words_, h, begin);
  uint64_t mixed = MixHash(e->hash);
  table_.Add(mixed, EntrySlotValue(mixed, e), domain);
  ++n_entries_;
  return e;
}

void Subtable::RemoveEntry(Entry* e) {
  FlowKey masked;
  EntryKey(e, &masked);
  uint64_t h = 0;
  int begin = 0;
  for (int c = 0; c < n_checkpoints_; ++c) {
    h = StageHash(masked, checkpoint_end_[c], h, begin);
    begin = checkpoint_end_[c];
    uint64_t v = StageValue(MixHash(h));
    stage_index_[c]->Remove(v, v);
  }
  uint64_t mixed = MixHash(e->hash);
  table_.Remove(mixed, EntrySlotValue(mixed, e));
  --n_entries_;
}

void Subtable::EntryKey(const Entry* e, FlowKey* out) const {
  out->Clear();
  for (int i = 0; i < n_words_; ++i) out->w[word_[i]] = e->values[i];
}

void Subtable::ForEachEntry(const std::function<void(Entry*)>& fn) const {
  const SlotTable::Array* a = table_.array();
  for (uint64_t j = 0; j <= a->mask; ++j) {
    uint64_t v = a->slots[j].load(std::memory_order_relaxed);
    if (v != SlotTable::kEmpty && v != SlotTable::kTombstone) {
      fn(const_cast<Entry*>(SlotEntry(v)));
    }
  }
}

}  // namespace spate::cls
