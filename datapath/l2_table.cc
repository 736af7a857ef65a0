#include "datapath/l2_table.h"

#include <algorithm>
#include <bit>

namespace spate::datapath {

uint64_t L2FlowTable::Hash(uint64_t w0, uint64_t w14, uint64_t w15) {
  // Two products (in parallel; a third and a final multiply cost ~3
  // cycles per packet), then the upper bits, which every input bit
  // reaches, folded into the low ones (the index); the top 16 (the tag)
  // stay as they are.  in_port (w0's low bits) is rotated away from
  // vlan_tci (w14's low bits).
  uint64_t h = (w14 ^ std::rotl(w0, 40)) * 0x9e3779b97f4a7c15ULL + w15 * 0xc2b2ae3d27d4eb4fULL;
  return h ^ (h >> 32) ^ (h >> 48);
}

void L2FlowTable::Reset(const cls::FlowKey& mask, size_t expected) {
  mask_[0] = mask.w[0];
  mask_[1] = mask.w[14];
  mask_[2] = mask.w[15];
  size_t cap = std::bit_ceil(std::max<size_t>(64, 2 * expected + 2));
  slots_ = std::make_unique<uint64_t[]>(cap);  // Zeroed: all empty.
  slot_mask_ = cap - 1;
  n_ = 0;
}

void L2FlowTable::Place(Megaflow* f, uint64_t h) {
  uint64_t v = (h & ~kPtrMask) | (reinterpret_cast<uintptr_t>(f) & kPtrMask);
  size_t j = h & slot_mask_;
  while (slots_[j] != 0) j = (j + 1) & slot_mask_;
  slots_[j] = v;
  ++n_;
}

void L2FlowTable::Grow() {
  size_t old_cap = slot_mask_ + 1;
  std::unique_ptr<uint64_t[]> old = std::move(slots_);
  slots_ = std::make_unique<uint64_t[]>(2 * old_cap);
  slot_mask_ = 2 * old_cap - 1;
  n_ = 0;
  for (size_t j = 0; j < old_cap; ++j) {
    if (old[j] == 0) continue;
    auto* f = reinterpret_cast<Megaflow*>(static_cast<uintptr_t>(old[j] & kPtrMask));
    Place(f, Hash(f->eth_words[0], f->eth_words[1], f->eth_words[2]));
  }
}

void L2FlowTable::Insert(Megaflow* f) {
  const uint64_t* w = f->eth_words;
  uint64_t h = Hash(w[0], w[1], w[2]);
  if (Probe(w, h >> 48, h & slot_mask_) != nullptr) return;
  if (2 * (n_ + 1) > slot_mask_ + 1) Grow();
  Place(f, h);
}

Megaflow* L2FlowTable::Probe(const uint64_t* w, uint64_t tag, size_t j) const {
  for (;; j = (j + 1) & slot_mask_) {
    uint64_t v = slots_[j];
    if (v == 0) return nullptr;
    if ((v >> 48) != tag) continue;
    auto* f = reinterpret_cast<Megaflow*>(static_cast<uintptr_t>(v & kPtrMask));
    const uint64_t* e = f->eth_words;
    if (((e[0] ^ w[0]) | (e[1] ^ w[1]) | (e[2] ^ w[2])) == 0) return f;
  }
}

int L2FlowTable::LookupBatch(const cls::FlowKey* const* keys, int n, Megaflow** out) const {
  uint64_t words[kMaxBatch][3];
  uint64_t hashes[kMaxBatch];
  size_t at[kMaxBatch];
  const uint64_t* slots = slots_.get();
  const uint64_t m0 = mask_[0], m14 = mask_[1], m15 = mask_[2];
  for (int i = 0; i < n; ++i) {
    const cls::FlowKey& k = *keys[i];
    words[i][0] = k.w[0] & m0;
    words[i][1] = k.w[14] & m14;
    words[i][2] = k.w[15] & m15;
    hashes[i] = Hash(words[i][0], words[i][1], words[i][2]);
    __builtin_prefetch(&slots[hashes[i] & slot_mask_]);
  }
  // The first slot whose tag matches (or the empty one that ends the
  // probe); its megaflow's line is loaded while the other slots are read.
  for (int i = 0; i < n; ++i) {
    uint64_t tag = hashes[i] >> 48;
    size_t j = hashes[i] & slot_mask_;
    uint64_t v;
    while ((v = slots[j]) != 0 && (v >> 48) != tag) j = (j + 1) & slot_mask_;
    at[i] = j;
    out[i] = reinterpret_cast<Megaflow*>(static_cast<uintptr_t>(v & kPtrMask));
    if (v != 0) __builtin_prefetch(out[i], 1);
  }
  int n_found = 0;
  for (int i = 0; i < n; ++i) {
    Megaflow* f = out[i];
    if (f == nullptr) continue;
    const uint64_t* w = words[i];
    const uint64_t* e = f->eth_words;
    if (((e[0] ^ w[0]) | (e[1] ^ w[1]) | (e[2] ^ w[2])) != 0) {
      f = Probe(w, hashes[i] >> 48, (at[i] + 1) & slot_mask_);  // Tag collision.
      out[i] = f;
    }
    n_found += f != nullptr;
  }
  return n_found;
}

}  // namespace spate::datapath
