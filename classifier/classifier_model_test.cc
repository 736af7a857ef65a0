// Differential tests of Classifier against LinearClassifier (the naive
// model), in the manner of Open vSwitch's tests/test-classifier.c: random
// rule sets with overlapping masks and priority ties, random inserts,
// removals and lookups; every result compared, with and without wildcard
// tracking, at the newest and at the previous version.  The wildcard
// property is checked by varying, inside each reported megaflow, every bit
// the lookup said it did not examine.  Conjunctions are checked against
// their expanded cross-product.
#include <gtest/gtest.h>

#include <random>

#include "classifier/classifier.h"
#include "classifier/linear_classifier.h"

namespace spate::cls {
namespace {

// A field of the test universe and the values keys draw from.
struct UniverseField {
  Field field;                   // Which field.
  std::vector<U128> values;      // Values keys and rules use.
};

std::vector<UniverseField> Universe() {
  auto v = [](std::initializer_list<uint64_t> xs) {
    std::vector<U128> out;
    for (uint64_t x : xs) out.push_back(U128{0, x});
    return out;
  };
  return {
      {Field::kInPort, v({1, 2, 0xfffe})},
      {Field::kMetadata, v({0, 7})},
      {Field::kReg0, v({0, 5})},
      {Field::kTunId, v({0, 0xfedcba9876543210ULL})},
      {Field::kDlSrc, v({0x0002e30f80a4ULL, 0x5e337f5f1e99ULL})},
      {Field::kDlDst, v({0x4a2771ae64c1ULL, 0xffffffffffffULL})},
      {Field::kDlType, v({kEthTypeIp, kEthTypeArp, kEthTypeIpv6})},
      {Field::kVlanTci, v({0, 0x1065})},
      {Field::kNwSrc, v({0xc0a80001, 0xc0a04455, 0x0a010203})},
      {Field::kNwDst, v({0xc0a80002, 0xc0a04455, 0x0a0000fe})},
      {Field::kIpv6Src, {U128{0x20010db800000000ULL, 1}, U128{0x20010db8ffff0000ULL, 2},
                         U128{0xfe80000000000000ULL, 0x1234}}},
      {Field::kNwProto, v({6, 1, 17})},
      {Field::kIpDscp, v({0, 12})},
      {Field::kNwFrag, v({0, 1, 3})},
      {Field::kTpSrc, v({80, 49362})},
      {Field::kTpDst, v({22, 6667, 80})},
  };
}

U128 FullMask(Field f) {
  int bits = GetFieldInfo(f).bits;
  if (bits > 64) return U128{~0ULL, ~0ULL};
  return U128{0, bits == 64 ? ~0ULL : (1ULL << bits) - 1};
}

U128 PrefixMask(Field f, int plen) {
  Match m;
  m.SetPrefix(f, U128{~0ULL, ~0ULL}, plen);
  return m.mask.Get128(f);
}

class ModelTest : public ::testing::Test {
 protected:
  std::mt19937_64 rng_{12345};
  std::vector<UniverseField> universe_ = Universe();

  uint64_t Rand(uint64_t n) { return rng_() % n; }

  // A random mask template: a subset of fields, each with a mask shape.
  FlowKey RandomMaskTemplate() {
    Match m;
    for (const UniverseField& uf : universe_) {
      if (Rand(3) != 0) continue;
      Field f = uf.field;
      U128 mask = FullMask(f);
      if (GetFieldInfo(f).prefix) {
        int bits = GetFieldInfo(f).bits;
        static const int kPlens4[] = {8, 16, 20, 24, 32, 1, 13};
        static const int kPlens6[] = {16, 32, 48, 64, 96, 128, 7};
        int plen = bits == 32 ? kPlens4[Rand(7)] : kPlens6[Rand(7)];
        mask = Rand(8) == 0 ? U128{mask.hi & rng_(), mask.lo & rng_()} : PrefixMask(f, plen);
      } else if (Rand(4) == 0) {
        mask = U128{mask.hi & rng_(), mask.lo & rng_()};
      }
      m.SetMasked128(f, U128{}, mask);
    }
    return m.mask;
  }

  Match RandomRule(const FlowKey& mask) {
    Match m;
    m.mask = mask;
    for (const UniverseField& uf : universe_) {
      U128 val = uf.values[Rand(uf.values.size())];
      // Sometimes a value outside the universe in the masked bits.
      if (Rand(16) == 0) val = U128{rng_(), rng_()};
      m.key.Set128(uf.field, val);
    }
    m.Normalize();
    return m;
  }

  FlowKey RandomKey() {
    FlowKey k{};
    for (const UniverseField& uf : universe_) {
      k.Set128(uf.field, uf.values[Rand(uf.values.size())]);
    }
    if (Rand(8) == 0) k.w[Rand(kFlowWords)] ^= 1ULL << Rand(64);
    return k;
  }

  static uint64_t PayloadOf(const Rule* r) { return r ? r->payload() : 0; }
  static uint64_t PayloadOf(const LinearClassifier::ModelRule* r) {
    return r ? r->payload : 0;
  }

  // Keys inside the megaflow (key & wc, wc): the examined bits kept, the
  // others taken from universe values field by field and from random bits.
  std::vector<FlowKey> KeysInMegaflow(const FlowKey& key, const FlowKey& wc) {
    std::vector<FlowKey> out;
    auto blend = [&](const FlowKey& other) {
      FlowKey k;
      for (int i = 0; i < kFlowWords; ++i) {
        k.w[i] = (key.w[i] & wc.w[i]) | (other.w[i] & ~wc.w[i]);
      }
      return k;
    };
    for (const UniverseField& uf : universe_) {
      for (const U128& v : uf.values) {
        FlowKey other = key;
        other.Set128(uf.field, v);
        out.push_back(blend(other));
      }
    }
    for (int i = 0; i < 8; ++i) out.push_back(blend(RandomKey()));
    FlowKey noise;
    for (uint64_t& w : noise.w) w = rng_();
    out.push_back(blend(noise));
    return out;
  }

  // Compares one key at `version` against `model`, with the megaflow check.
  void CheckKey(const Classifier& cls, const LinearClassifier& model,
                const FlowKey& key, Version version, bool check_megaflow) {
    uint64_t want = PayloadOf(model.Lookup(key));
    ASSERT_EQ(PayloadOf(cls.Lookup(key, version)), want) << FlowKeyToString(key);
    FlowKey wc{};
    ASSERT_EQ(PayloadOf(cls.Lookup(key, version, &wc)), want) << FlowKeyToString(key);
    if (!check_megaflow) return;
    for (const FlowKey& k2 : KeysInMegaflow(key, wc)) {
      ASSERT_EQ(PayloadOf(model.Lookup(k2)), want)
          << "megaflow too wide: key " << FlowKeyToString(key) << "\nvariant "
          << FlowKeyToString(k2);
      ASSERT_EQ(PayloadOf(cls.Lookup(k2, version)), want);
    }
  }
};

struct Installed {
  const Rule* rule;  // Classifier handle.
  uint64_t seq;      // Model handle.
};

TEST_F(ModelTest, RandomRuleSetsMatchTheLinearModel) {
  for (int run = 0; run < 150; ++run) {
    Classifier cls;
    LinearClassifier model;
    std::vector<FlowKey> masks;
    int n_masks = 1 + static_cast<int>(Rand(12));
    for (int i = 0; i < n_masks; ++i) masks.push_back(RandomMaskTemplate());
    std::vector<Installed> installed;
    uint64_t next_payload = 1;
    for (int batch = 0; batch < 12; ++batch) {
      LinearClassifier before = model;
      Version old_version = cls.domain().visible_version();
      int n_ops = 1 + static_cast<int>(Rand(30));
      for (int op = 0; op < n_ops; ++op) {
        if (!installed.empty() && Rand(3) == 0) {
          size_t i = Rand(installed.size());
          ASSERT_TRUE(cls.Remove(installed[i].rule));
          ASSERT_TRUE(model.Remove(installed[i].seq));
          installed.erase(installed.begin() + static_cast<long>(i));
        } else {
          Match m = RandomRule(masks[Rand(masks.size())]);
          int32_t prio = static_cast<int32_t>(Rand(6)) * 10;
          uint64_t payload = next_payload++;
          installed.push_back({cls.Insert(m, prio, payload), model.Add(m, prio, payload)});
        }
      }
      // Staged changes are invisible until published.
      for (int i = 0; i < 20; ++i) CheckKey(cls, before, RandomKey(), old_version, false);
      cls.Publish();
      Version v = cls.domain().visible_version();
      for (int i = 0; i < 60; ++i) {
        FlowKey k = RandomKey();
        CheckKey(cls, model, k, v, i < 15);
        CheckKey(cls, before, k, old_version, false);
        if (HasFatalFailure()) return;
      }
      cls.Reclaim();
    }
    cls.domain().Synchronize();
    EXPECT_EQ(cls.n_rules(), model.size());
  }
}

TEST_F(ModelTest, BatchLookupFindsTheOnlyMatchOfDisjointRules) {
  // Megaflow-like sets: exact matches on distinct masks never overlap when
  // every rule fixes dl_type to its own value per mask.
  Classifier cls;
  LinearClassifier model;
  for (int i = 0; i < 300; ++i) {
    FlowKey mask = RandomMaskTemplate();
    Match m = RandomRule(mask);
    m.Set(Field::kDlType, 0x1000 + (i % 7));
    m.Set(Field::kReg1, static_cast<uint64_t>(i));
    bool dup = false;
    for (const auto& r : model.rules()) dup |= r.match == m;
    if (dup) continue;
    cls.Insert(m, 0, static_cast<uint64_t>(i + 1));
    model.Add(m, 0, static_cast<uint64_t>(i + 1));
  }
  cls.Publish();
  BatchRanking ranking;
  for (int round = 0; round < 50; ++round) {
    FlowKey keys[Classifier::kMaxBatch];
    const FlowKey* ptrs[Classifier::kMaxBatch];
    const Rule* results[Classifier::kMaxBatch];
    int n = 1 + static_cast<int>(Rand(Classifier::kMaxBatch));
    for (int i = 0; i < n; ++i) {
      keys[i] = RandomKey();
      keys[i].set_dl_type(static_cast<uint16_t>(0x1000 + Rand(7)));
      keys[i].set_reg(1, static_cast<uint32_t>(Rand(300)));
      ptrs[i] = &keys[i];
    }
    int n_hits = cls.LookupBatch(ptrs, n, results, &ranking);
    int expect_hits = 0;
    for (int i = 0; i < n; ++i) {
      // Disjoint rules: the priority lookup's answer is the only answer.
      ASSERT_EQ(PayloadOf(results[i]), PayloadOf(model.Lookup(keys[i])));
      expect_hits += results[i] != nullptr;
    }
    EXPECT_EQ(n_hits, expect_hits);
  }
}

// Conjunctions against the cross-product expansion of the same rules.
TEST_F(ModelTest, ConjunctionsMatchTheirCrossProduct) {
  const Field kClauseFields[] = {Field::kNwSrc, Field::kTpDst, Field::kInPort,
                                 Field::kDlDst};
  for (int run = 0; run < 200; ++run) {
    Classifier conj_cls;
    Classifier expanded;
    LinearClassifier model;
    uint64_t payload = 1;
    // Ordinary rules at even priorities below 100.
    for (int i = 0; i < 10; ++i) {
      Match m = RandomRule(RandomMaskTemplate());
      int32_t prio = static_cast<int32_t>(Rand(50)) * 2;
      conj_cls.Insert(m, prio, payload);
      expanded.Insert(m, prio, payload);
      model.Add(m, prio, payload);
      ++payload;
    }
    // Conjunctions at odd priorities, ids ascending so that the expansion's
    // insertion order gives lower ids the tie.
    int n_conj = 1 + static_cast<int>(Rand(4));
    for (uint32_t id = 1; id <= static_cast<uint32_t>(n_conj); ++id) {
      int32_t prio = static_cast<int32_t>(Rand(50)) * 2 + 1;
      int n_clauses = 2 + static_cast<int>(Rand(3));
      std::vector<std::vector<Match>> clauses(n_clauses);
      for (int k = 0; k < n_clauses; ++k) {
        const UniverseField* uf = nullptr;
        for (const UniverseField& u : universe_) {
          if (u.field == kClauseFields[k]) uf = &u;
        }
        int n_alt = 1 + static_cast<int>(Rand(uf->values.size()));
        for (int a = 0; a < n_alt; ++a) {
          Match m;
          m.SetMasked128(uf->field, uf->values[a], FullMask(uf->field));
          clauses[k].push_back(m);
          Conjunction c{id, static_cast<uint8_t>(k + 1), static_cast<uint8_t>(n_clauses)};
          conj_cls.Insert(m, prio, 0, std::span<const Conjunction>(&c, 1));
          model.Add(m, prio, 0, {c});
        }
      }
      Match target;
      target.Set(Field::kConjId, id);
      conj_cls.Insert(target, 1000, payload);
      model.Add(target, 1000, payload);
      // Expansion: one rule per combination of alternatives.
      std::vector<size_t> pick(n_clauses, 0);
      for (;;) {
        Match m;
        for (int k = 0; k < n_clauses; ++k) {
          const Match& alt = clauses[k][pick[k]];
          for (int w = 0; w < kFlowWords; ++w) {
            m.key.w[w] |= alt.key.w[w];
            m.mask.w[w] |= alt.mask.w[w];
          }
        }
        expanded.Insert(m, prio, payload);
        int k = 0;
        while (k < n_clauses && ++pick[k] == clauses[k].size()) pick[k++] = 0;
        if (k == n_clauses) break;
      }
      ++payload;
    }
    conj_cls.Publish();
    expanded.Publish();
    for (int i = 0; i < 300; ++i) {
      FlowKey k = RandomKey();
      k.set_conj_id(0);  // Packets never carry a conjunction id.
      uint64_t want = PayloadOf(expanded.Lookup(k));
      ASSERT_EQ(PayloadOf(conj_cls.Lookup(k)), want) << FlowKeyToString(k);
      ASSERT_EQ(PayloadOf(model.Lookup(k)), want);
      FlowKey wc{};
      ASSERT_EQ(PayloadOf(conj_cls.Lookup(k, &wc)), want);
      for (const FlowKey& k2 : KeysInMegaflow(k, wc)) {
        ASSERT_EQ(PayloadOf(expanded.Lookup(k2)), want) << "megaflow too wide";
      }
    }
  }
}

}  // namespace
}  // namespace spate::cls
