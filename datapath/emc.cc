#include "datapath/emc.h"

#include <array>

namespace spate::datapath {

namespace {

// Odd multipliers, one per key word (splitmix64 of the word index).
constexpr std::array<uint64_t, cls::kFlowWords> MakeMultipliers() {
  std::array<uint64_t, cls::kFlowWords> m{};
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (auto& v : m) {
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    v = (z ^ (z >> 31)) | 1;
  }
  return m;
}
constexpr std::array<uint64_t, cls::kFlowWords> kMultipliers = MakeMultipliers();

}  // namespace

// A multilinear hash: the products are independent, so the CPU runs them
// in parallel (a serial multiply-xorshift chain over the 27 words cost
// 33 % of the EMC-hit path in perf), then one finalising mix.
uint32_t HashFlowKey(const cls::FlowKey& key) {
  uint64_t a = 0, b = 0;
  int i = 0;
  for (; i + 1 < cls::kFlowWords; i += 2) {
    a += key.w[i] * kMultipliers[static_cast<size_t>(i)];
    b += key.w[i + 1] * kMultipliers[static_cast<size_t>(i + 1)];
  }
  a += key.w[i] * kMultipliers[static_cast<size_t>(i)];
  uint64_t h = a ^ (b >> 7) ^ (b << 57);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  uint32_t r = static_cast<uint32_t>(h);
  return r == 0 ? 1 : r;
}

bool IsPlainKey(const cls::FlowKey& key) {
  uint64_t meta = 0;
  for (int i = 1; i < Emc::kPacketWord; ++i) meta |= key.w[i];
  return meta == 0;
}

// HashFlowKey with the zero words 1..13 left out: word 0 goes to `a` and
// word i to `a` or `b` by its parity, exactly as there.
uint32_t HashPlainKey(const cls::FlowKey& key) {
  uint64_t a = key.w[0] * kMultipliers[0], b = 0;
  for (int i = Emc::kPacketWord; i + 1 < cls::kFlowWords; i += 2) {
    b += key.w[i + 1] * kMultipliers[static_cast<size_t>(i + 1)];
    a += key.w[i] * kMultipliers[static_cast<size_t>(i)];
  }
  static_assert(cls::kFlowWords % 2 == 1 && Emc::kPacketWord % 2 == 0);
  a += key.w[cls::kFlowWords - 1] * kMultipliers[cls::kFlowWords - 1];
  uint64_t h = a ^ (b >> 7) ^ (b << 57);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  uint32_t r = static_cast<uint32_t>(h);
  return r == 0 ? 1 : r;
}

Emc::Emc() : entries_(new Entry[kEntries]) {}

void Emc::Insert(const cls::FlowKey& key, uint32_t hash, Megaflow* flow) {
  if (!IsPlainKey(key)) return;
  Entry* cand[2] = {&entries_[hash & kMask], &entries_[(hash >> 13) & kMask]};
  Entry* victim = nullptr;
  for (Entry* e : cand) {
    if (e->hash == hash && e->Same(key)) {
      e->flow = flow;
      return;
    }
  }
  for (Entry* e : cand) {
    if (e->flow == nullptr || e->flow->dead) {
      victim = e;
      break;
    }
  }
  if (victim == nullptr) victim = cand[(hash >> 26) & 1];
  victim->hash = hash;
  victim->flow = flow;
  victim->w[0] = key.w[0];
  for (int i = 1; i < kSlotWords; ++i) victim->w[i] = key.w[kPacketWord - 1 + i];
}

size_t Emc::Sweep() {
  size_t n = 0;
  for (uint32_t i = 0; i < kEntries; ++i) {
    Entry& e = entries_[i];
    if (e.flow != nullptr && e.flow->dead) {
      e.flow = nullptr;
      e.hash = 0;
      ++n;
    }
  }
  return n;
}

void Emc::Clear() {
  for (uint32_t i = 0; i < kEntries; ++i) {
    entries_[i].flow = nullptr;
    entries_[i].hash = 0;
  }
}

size_t Emc::CountUsed() const {
  size_t n = 0;
  for (uint32_t i = 0; i < kEntries; ++i) n += entries_[i].flow != nullptr;
  return n;
}

}  // namespace spate::datapath
