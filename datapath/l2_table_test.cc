// L2FlowTable: lookups by the masked Ethernet words, growth, duplicates,
// and probe walks past slots of other flows (checked against a map).
#include "datapath/l2_table.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <tuple>
#include <vector>

namespace spate::datapath {
namespace {

using Words = std::tuple<uint64_t, uint64_t, uint64_t>;

constexpr uint64_t kInPortMask = 0xffffffffULL;    // Word 0: in_port.
constexpr uint64_t kDlDstMask = ~uint64_t{0xffff};  // Word 14: dl_dst.

cls::FlowKey Mask(uint64_t w15_mask) {
  cls::FlowKey m{};
  m.w[0] = kInPortMask;
  m.w[14] = kDlDstMask;
  m.w[15] = w15_mask;
  return m;
}

// A key whose words outside the mask are filled with noise (a lookup must
// ignore them).
cls::FlowKey Key(uint64_t in_port, uint64_t dl_dst, uint64_t w15, uint64_t noise) {
  cls::FlowKey k{};
  for (int i = 0; i < cls::kFlowWords; ++i) k.w[i] = noise * (2 * i + 1);
  k.w[0] = (noise << 32) | in_port;
  k.w[14] = (dl_dst << 16) | (noise & 0xffff);
  k.w[15] = w15;
  return k;
}

class L2FlowTableTest : public ::testing::Test {
 protected:
  // A megaflow with the given masked words (owned by the fixture).
  Megaflow* Flow(uint64_t w0, uint64_t w14, uint64_t w15) {
    flows_.push_back(std::make_unique<Megaflow>());
    Megaflow* f = flows_.back().get();
    f->eth_words[0] = w0;
    f->eth_words[1] = w14;
    f->eth_words[2] = w15;
    return f;
  }
  // Looks keys up 32 at a time; returns the found megaflows in order.
  std::vector<Megaflow*> Lookup(const L2FlowTable& t, const std::vector<cls::FlowKey>& keys,
                                int* n_found) {
    std::vector<Megaflow*> out(keys.size());
    *n_found = 0;
    for (size_t b = 0; b < keys.size(); b += L2FlowTable::kMaxBatch) {
      const cls::FlowKey* ptrs[L2FlowTable::kMaxBatch];
      int n = static_cast<int>(std::min<size_t>(L2FlowTable::kMaxBatch, keys.size() - b));
      for (int i = 0; i < n; ++i) ptrs[i] = &keys[b + i];
      *n_found += t.LookupBatch(ptrs, n, &out[b]);
    }
    return out;
  }

  std::vector<std::unique_ptr<Megaflow>> flows_;
};

TEST_F(L2FlowTableTest, FindsFlowsByMaskedWordsOnly) {
  L2FlowTable t;
  t.Reset(Mask(0), 4);
  Megaflow* a = Flow(1, 0x020000000001ULL << 16, 0);
  Megaflow* b = Flow(2, 0x020000000001ULL << 16, 0);
  t.Insert(a);
  t.Insert(b);
  EXPECT_EQ(t.size(), 2u);
  std::vector<cls::FlowKey> keys = {
      Key(1, 0x020000000001ULL, 0x1234, 7),  // a, whatever dl_src and noise.
      Key(2, 0x020000000001ULL, 0, 0),       // b: same dl_dst, other port.
      Key(1, 0x020000000002ULL, 0, 0),       // No flow.
      Key(3, 0x020000000001ULL, 0, 9),       // No flow.
  };
  int n_found = 0;
  std::vector<Megaflow*> out = Lookup(t, keys, &n_found);
  EXPECT_EQ(n_found, 2);
  EXPECT_EQ(out[0], a);
  EXPECT_EQ(out[1], b);
  EXPECT_EQ(out[2], nullptr);
  EXPECT_EQ(out[3], nullptr);
}

TEST_F(L2FlowTableTest, DuplicateWordsKeepTheFirstFlow) {
  L2FlowTable t;
  t.Reset(Mask(~0ULL), 1);
  Megaflow* first = Flow(1, 5ULL << 16, 0x0800);
  t.Insert(first);
  t.Insert(Flow(1, 5ULL << 16, 0x0800));
  EXPECT_EQ(t.size(), 1u);
  int n_found = 0;
  EXPECT_EQ(Lookup(t, {Key(1, 5, 0x0800, 0)}, &n_found)[0], first);
  EXPECT_EQ(n_found, 1);
  t.Reset(Mask(~0ULL), 1);  // Reset empties.
  EXPECT_EQ(Lookup(t, {Key(1, 5, 0x0800, 0)}, &n_found)[0], nullptr);
  EXPECT_EQ(t.size(), 0u);
}

// Many flows from a table sized for one: it grows many times; random
// words (including ones that differ only in their top bits) give index
// and tag collisions, so probes walk past other flows' slots.  Every key
// must find exactly its own flow, and absent keys nothing.
TEST_F(L2FlowTableTest, GrowsAndResolvesCollisionsLikeAMap) {
  L2FlowTable t;
  t.Reset(Mask(~0ULL), 1);
  std::mt19937_64 rng(42);
  std::map<Words, Megaflow*> model;
  std::vector<cls::FlowKey> keys;
  for (int i = 0; i < 40000; ++i) {
    uint64_t port = rng() % 4 + 1;
    uint64_t dst = i % 3 == 0 ? (rng() & 0xffffULL) << 32 : rng() & 0xffffffffffffULL;
    uint64_t w15 = i % 5 == 0 ? 0 : rng();
    Words w{port, dst << 16, w15};
    if (!model.count(w)) {
      Megaflow* f = Flow(port, dst << 16, w15);
      model[w] = f;
      t.Insert(f);
    }
    keys.push_back(Key(port, dst, w15, rng()));
    keys.push_back(Key(port, dst ^ 1, w15, 0));  // Mostly absent.
  }
  EXPECT_EQ(t.size(), model.size());
  int n_found = 0;
  std::vector<Megaflow*> out = Lookup(t, keys, &n_found);
  int expected = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    Words w{keys[i].w[0] & kInPortMask, keys[i].w[14] & kDlDstMask, keys[i].w[15]};
    auto it = model.find(w);
    Megaflow* want = it == model.end() ? nullptr : it->second;
    expected += want != nullptr;
    ASSERT_EQ(out[i], want) << "key " << i;
  }
  EXPECT_EQ(n_found, expected);
}

}  // namespace
}  // namespace spate::datapath
