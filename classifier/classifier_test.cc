// Unit tests of Classifier: ranking and tie-break, versions and
// reclamation, wildcard width from stages and tries, conjunctions, batch
// lookup and the trie itself.
#include "classifier/classifier.h"

#include <gtest/gtest.h>

#include "classifier/flow_match_parse.h"
#include "classifier/trie.h"

namespace spate::cls {
namespace {

Match M(const char* text) {
  Result<Match> m = ParseMatch(text);
  EXPECT_TRUE(m.ok()) << text;
  return m.ok() ? *m : Match{};
}

FlowKey K(const char* text) { return M(text).key; }

uint64_t PayloadOf(const Rule* r) { return r ? r->payload() : 0; }

TEST(ClassifierTest, EmptyClassifierMatchesNothing) {
  Classifier cls;
  FlowKey wc{};
  EXPECT_EQ(cls.Lookup(K("in_port=1"), &wc), nullptr);
  EXPECT_EQ(wc, FlowKey{});
}

TEST(ClassifierTest, HigherPriorityWinsAndTiesGoToTheEarlierRule) {
  Classifier cls;
  cls.Insert(M("ip"), 10, 1);
  cls.Insert(M("ip,nw_src=10.0.0.0/8"), 20, 2);
  cls.Insert(M("ip,nw_dst=10.0.0.2"), 20, 3);  // Same priority, inserted later.
  cls.Publish();
  EXPECT_EQ(PayloadOf(cls.Lookup(K("ip,nw_src=10.1.1.1,nw_dst=10.0.0.2"))), 2u);
  EXPECT_EQ(PayloadOf(cls.Lookup(K("ip,nw_src=11.1.1.1,nw_dst=10.0.0.2"))), 3u);
  EXPECT_EQ(PayloadOf(cls.Lookup(K("ip,nw_src=11.1.1.1"))), 1u);
  EXPECT_EQ(PayloadOf(cls.Lookup(K("arp"))), 0u);
}

TEST(ClassifierTest, ChangesBecomeVisibleAtPublish) {
  Classifier cls;
  Version v1 = cls.domain().visible_version();
  const Rule* a = cls.Insert(M("in_port=1"), 5, 1);
  EXPECT_EQ(cls.Lookup(K("in_port=1")), nullptr);  // Staged only.
  Version v2 = cls.Publish();
  EXPECT_EQ(v2, v1 + 1);
  EXPECT_EQ(PayloadOf(cls.Lookup(K("in_port=1"))), 1u);
  // Replace a by b in one batch: old version sees a, new sees b.
  ASSERT_TRUE(cls.Remove(a));
  EXPECT_FALSE(cls.Remove(a));
  cls.Insert(M("in_port=1"), 5, 2);
  EXPECT_EQ(PayloadOf(cls.Lookup(K("in_port=1"))), 1u);
  Version v3 = cls.Publish();
  EXPECT_EQ(PayloadOf(cls.Lookup(K("in_port=1"), v2)), 1u);
  EXPECT_EQ(PayloadOf(cls.Lookup(K("in_port=1"), v3)), 2u);
  EXPECT_EQ(cls.n_rules(), 2u);  // a is still linked for old readers.
  cls.domain().Synchronize();
  EXPECT_EQ(cls.n_rules(), 1u);
  EXPECT_EQ(PayloadOf(cls.Lookup(K("in_port=1"))), 2u);
}

TEST(ClassifierTest, EmptySubtablesAreReclaimed) {
  Classifier cls;
  std::vector<const Rule*> rules;
  for (int i = 0; i < 100; ++i) {
    Match m;
    m.SetPrefix(Field::kNwSrc, U128{0, 0x0a000000u + (static_cast<uint32_t>(i) << 8)},
                8 + i % 17);
    rules.push_back(cls.Insert(m, i, static_cast<uint64_t>(i)));
  }
  cls.Publish();
  EXPECT_EQ(cls.n_subtables(), 17u);
  size_t full_bytes = cls.MemoryBytes();
  for (const Rule* r : rules) cls.Remove(r);
  cls.Publish();
  cls.domain().Synchronize();
  EXPECT_EQ(cls.n_rules(), 0u);
  EXPECT_EQ(cls.n_subtables(), 0u);
  EXPECT_LT(cls.MemoryBytes(), full_bytes);
  EXPECT_EQ(cls.Lookup(K("nw_src=10.0.0.1")), nullptr);
}

TEST(ClassifierTest, RuleReportsItsMatch) {
  Classifier cls;
  Match m = M("tcp,nw_src=10.0.0.0/8,tp_dst=80");
  const Rule* r = cls.Insert(m, 7, 42);
  EXPECT_EQ(r->match(), m);
  EXPECT_EQ(r->priority(), 7);
  EXPECT_EQ(r->payload(), 42u);
  EXPECT_FALSE(r->is_conjunctive());
}

TEST(ClassifierTest, TriesKeepMissesWide) {
  Classifier cls;
  cls.Insert(M("ip,nw_dst=10.0.0.0/8"), 10, 1);
  cls.Insert(M("ip,nw_dst=192.168.1.0/24"), 10, 2);
  cls.Publish();
  FlowKey wc{};
  EXPECT_EQ(cls.Lookup(K("ip,nw_dst=172.16.0.1"), &wc), nullptr);
  // 172 = 0b10101100 differs from 10 (0b00001010) in the first bit and from
  // 192 (0b11000000) in the second: two bits decide the miss.
  EXPECT_EQ(wc.nw_dst(), 0xc0000000u);
  EXPECT_EQ(wc.dl_type(), 0);  // The subtable was skipped before hashing.
  wc = FlowKey{};
  EXPECT_EQ(PayloadOf(cls.Lookup(K("ip,nw_dst=10.2.3.4"), &wc)), 1u);
  EXPECT_EQ(wc.nw_dst(), 0xff000000u);
  EXPECT_EQ(wc.dl_type(), 0xffff);
}

TEST(ClassifierTest, StagesStopAtTheFirstMissingStage) {
  Classifier cls;
  cls.Insert(M("in_port=1,dl_src=00:00:00:00:00:01,tcp,tp_dst=80"), 10, 1);
  cls.Publish();
  FlowKey wc{};
  EXPECT_EQ(cls.Lookup(K("in_port=2,dl_src=00:00:00:00:00:01,tcp,tp_dst=80"), &wc),
            nullptr);
  EXPECT_EQ(wc.in_port(), 0xffffffffu);  // Metadata stage examined ...
  EXPECT_EQ(wc.dl_src(), 0u);            // ... and nothing after it.
  EXPECT_EQ(wc.tp_dst(), 0);
}

TEST(ClassifierTest, ConjunctionSelectsTheConjIdRule) {
  Classifier cls;
  // (nw_src in {10.0.0.1, 10.0.0.2}) && (tp_dst in {80, 443}) -> payload 7.
  const Conjunction c1{5, 1, 2}, c2{5, 2, 2};
  cls.Insert(M("tcp,nw_src=10.0.0.1"), 100, 0, {&c1, 1});
  cls.Insert(M("tcp,nw_src=10.0.0.2"), 100, 0, {&c1, 1});
  cls.Insert(M("tcp,tp_dst=80"), 100, 0, {&c2, 1});
  cls.Insert(M("tcp,tp_dst=443"), 100, 0, {&c2, 1});
  cls.Insert(M("conj_id=5"), 100, 7);
  cls.Insert(M("tcp"), 50, 1);
  cls.Publish();
  EXPECT_EQ(PayloadOf(cls.Lookup(K("tcp,nw_src=10.0.0.2,tp_dst=443"))), 7u);
  EXPECT_EQ(PayloadOf(cls.Lookup(K("tcp,nw_src=10.0.0.3,tp_dst=443"))), 1u);
  EXPECT_EQ(PayloadOf(cls.Lookup(K("tcp,nw_src=10.0.0.1,tp_dst=22"))), 1u);
  // A higher-priority ordinary rule hides the conjunction.
  cls.Insert(M("tcp,tp_dst=443"), 200, 9);
  cls.Publish();
  EXPECT_EQ(PayloadOf(cls.Lookup(K("tcp,nw_src=10.0.0.2,tp_dst=443"))), 9u);
  EXPECT_EQ(PayloadOf(cls.Lookup(K("tcp,nw_src=10.0.0.2,tp_dst=80"))), 7u);
}

TEST(ClassifierTest, BatchLookupRanksSubtablesByHits) {
  Classifier cls;
  for (uint32_t i = 0; i < 8; ++i) {
    Match m;
    m.Set(Field::kInPort, i);
    m.SetPrefix(Field::kNwDst, U128{0, 0x0a000000}, 8 + static_cast<int>(i));
    cls.Insert(m, 0, i + 1);
  }
  cls.Publish();
  BatchRanking ranking;
  FlowKey keys[32];
  const FlowKey* ptrs[32];
  const Rule* results[32];
  for (int i = 0; i < 32; ++i) {
    keys[i] = FlowKey{};
    keys[i].set_in_port(7);  // All traffic hits the last subtable.
    keys[i].set_nw_dst(0x0a000001);
    ptrs[i] = &keys[i];
  }
  for (int round = 0; round < Classifier::kRerankBatches + 1; ++round) {
    ASSERT_EQ(cls.LookupBatch(ptrs, 32, results, &ranking), 32);
  }
  for (int i = 0; i < 32; ++i) EXPECT_EQ(PayloadOf(results[i]), 8u);
  ASSERT_FALSE(ranking.order.empty());
  EXPECT_EQ(ranking.order.front()->trie_plen(TrieField::kNwDst), 15);
  keys[3].set_in_port(9);
  EXPECT_EQ(cls.LookupBatch(ptrs, 4, results, &ranking), 3);
  EXPECT_EQ(results[3], nullptr);
}

TEST(PrefixTrieTest, ReportsMatchingLengthsAndCheckedBits) {
  PrefixTrie trie;
  auto v4 = [](uint32_t a) { return static_cast<u128>(a) << 96; };
  trie.Insert(v4(0x0a000000), 8);
  trie.Insert(v4(0x0a010000), 16);
  trie.Insert(v4(0x0a010000), 16);
  trie.Insert(v4(0xc0a80100), 24);
  auto garbage = trie.Publish();
  PrefixTrie::DeleteNodes(garbage);
  TrieResult r = trie.Lookup(v4(0x0a010203), 32);
  EXPECT_TRUE(r.Has(8));
  EXPECT_TRUE(r.Has(16));
  EXPECT_FALSE(r.Has(24));
  r = trie.Lookup(v4(0x0b000000), 32);
  EXPECT_FALSE(r.Has(8));
  EXPECT_EQ(r.checkbits, 8);  // 0x0b differs from 0x0a in bit 7.
  trie.Remove(v4(0x0a010000), 16);
  PrefixTrie::DeleteNodes(trie.Publish());
  EXPECT_TRUE(trie.Lookup(v4(0x0a010203), 32).Has(16));
  trie.Remove(v4(0x0a010000), 16);
  trie.Remove(v4(0x0a000000), 8);
  PrefixTrie::DeleteNodes(trie.Publish());
  r = trie.Lookup(v4(0x0a010203), 32);
  EXPECT_FALSE(r.Has(16));
  EXPECT_FALSE(r.Has(8));
  EXPECT_EQ(trie.n_nodes(), 1u);
  EXPECT_TRUE(trie.Lookup(v4(0xc0a80101), 32).Has(24));
}

}  // namespace
}  // namespace spate::cls
