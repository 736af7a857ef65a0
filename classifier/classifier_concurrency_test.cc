// Concurrency: reader threads look up (single, with wildcards, batched)
// while a writer churns rules and publishes versions.  Each reader checks
// that what it sees is one consistent version.  Meant to run under
// ThreadSanitizer too (SPATE_SANITIZE=thread).
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "classifier/classifier.h"

namespace spate::cls {
namespace {

constexpr int kGenerationKeys = 16;   // Keys covered by every generation.
constexpr int kReaders = 3;

// The generation rules: one per key (reg0 = i), all replaced in each batch.
// Payload = the version they become visible in.
Match GenerationMatch(int i, int shape) {
  Match m;
  m.Set(Field::kReg0, static_cast<uint64_t>(i));
  m.Set(Field::kDlType, kEthTypeIp);
  // Vary masks between generations so subtables come and go.
  m.SetPrefix(Field::kNwDst, U128{0, 0x0a000000u + static_cast<uint32_t>(i)},
              8 + shape % 24);
  return m;
}

FlowKey GenerationKey(int i) {
  FlowKey k{};
  k.set_reg(0, static_cast<uint32_t>(i));
  k.set_dl_type(kEthTypeIp);
  k.set_nw_dst(0x0a000000u + static_cast<uint32_t>(i));
  return k;
}

// Readers' checks; returns a description of the first violation or "".
std::string CheckOnce(const Classifier& cls, BatchRanking* ranking, std::mt19937* rng) {
  Version v = cls.domain().visible_version();
  uint64_t gen = 0;
  for (int i = 0; i < kGenerationKeys; ++i) {
    FlowKey wc{};
    const Rule* r = (*rng)() % 2 ? cls.Lookup(GenerationKey(i), v, &wc)
                                 : cls.Lookup(GenerationKey(i), v);
    if (!r) return "generation rule missing at version " + std::to_string(v);
    if (!r->VisibleIn(v)) return "returned a rule invisible in its version";
    if (i == 0) gen = r->payload();
    if (r->payload() != gen) return "mixed generations within one version";
    if (gen > v) return "rule from a future version";
  }
  // Churn space (reg0 = 1000+): anything found must match and be visible.
  FlowKey k = GenerationKey(1000 + static_cast<int>((*rng)() % 64));
  k.set_nw_src((*rng)() % 4);
  FlowKey wc{};
  const Rule* r = cls.Lookup(k, v, &wc);
  if (r && (!r->VisibleIn(v) || !r->match().Matches(k))) return "bad churn result";
  // Batch lookups at the newest version: generation keys always hit one
  // generation (a later one than v at most).
  FlowKey keys[kGenerationKeys];
  const FlowKey* ptrs[kGenerationKeys];
  const Rule* results[kGenerationKeys];
  for (int i = 0; i < kGenerationKeys; ++i) {
    keys[i] = GenerationKey(i);
    ptrs[i] = &keys[i];
  }
  if (cls.LookupBatch(ptrs, kGenerationKeys, results, ranking) != kGenerationKeys) {
    return "batch lookup missed a generation key";
  }
  for (const Rule* br : results) {
    if (br->payload() < gen) return "batch saw an older generation";
  }
  return "";
}

TEST(ClassifierConcurrencyTest, ReadersSeeConsistentVersionsWhileWriterChurns) {
  Classifier cls;
  std::vector<const Rule*> generation;
  for (int i = 0; i < kGenerationKeys; ++i) {
    generation.push_back(cls.Insert(GenerationMatch(i, 0), 100, cls.domain().pending_version()));
  }
  cls.Publish();

  std::atomic<bool> done{false};
  std::atomic<int> n_ready{0};
  std::atomic<uint64_t> n_checks{0};
  std::vector<std::string> failures(kReaders);
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      int id = cls.domain().RegisterReader();
      ASSERT_GE(id, 0);
      n_ready.fetch_add(1);
      BatchRanking ranking;
      std::mt19937 rng(static_cast<unsigned>(t + 1));
      while (!done.load(std::memory_order_acquire)) {
        std::string err = CheckOnce(cls, &ranking, &rng);
        if (!err.empty() && failures[t].empty()) failures[t] = err;
        cls.domain().Quiescent(id);
        n_checks.fetch_add(1, std::memory_order_relaxed);
      }
      cls.domain().UnregisterReader(id);
    });
  }
  while (n_ready.load() < kReaders) std::this_thread::yield();

  std::mt19937 rng(99);
  std::vector<const Rule*> churn;
  const int kBatches = 1500;
  for (int batch = 1; batch <= kBatches; ++batch) {
    Version next = cls.domain().pending_version();
    for (int i = 0; i < kGenerationKeys; ++i) {
      cls.Remove(generation[i]);
      generation[i] = cls.Insert(GenerationMatch(i, batch), 100, next);
    }
    for (int j = 0; j < 8; ++j) {
      if (!churn.empty() && rng() % 2) {
        size_t x = rng() % churn.size();
        cls.Remove(churn[x]);
        churn.erase(churn.begin() + static_cast<long>(x));
      } else {
        Match m = GenerationMatch(1000 + static_cast<int>(rng() % 64), static_cast<int>(rng()));
        m.SetPrefix(Field::kNwSrc, U128{0, rng() % 4}, 30 + static_cast<int>(rng() % 3));
        churn.push_back(cls.Insert(m, static_cast<int32_t>(rng() % 5), 1));
      }
    }
    ASSERT_EQ(cls.Publish(), next);
    cls.Reclaim();
  }
  // Let the readers run against the final state for a while too.
  uint64_t target = n_checks.load() + 100;
  while (n_checks.load() < target) std::this_thread::yield();
  done.store(true, std::memory_order_release);
  for (std::thread& t : readers) t.join();
  cls.domain().Synchronize();
  for (int t = 0; t < kReaders; ++t) EXPECT_EQ(failures[t], "") << "reader " << t;
  EXPECT_EQ(cls.n_rules(), kGenerationKeys + churn.size());
}

TEST(ClassifierConcurrencyTest, OfflineReadersDoNotBlockReclamation) {
  Classifier cls;
  int id = cls.domain().RegisterReader();
  ASSERT_GE(id, 0);
  const Rule* r = cls.Insert(Match{}, 0, 1);
  cls.Publish();
  cls.Remove(r);
  cls.Publish();
  EXPECT_EQ(cls.Reclaim(), 0u);  // The online reader has not quiesced.
  cls.domain().Offline(id);
  cls.domain().Synchronize();
  EXPECT_EQ(cls.n_rules(), 0u);
  cls.domain().Online(id);
  cls.domain().UnregisterReader(id);
}

}  // namespace
}  // namespace spate::cls
