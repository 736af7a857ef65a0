// Classifier benchmarks, each next to a baseline in this binary:
//   * "Spate"    the classifier of this folder;
//   * "PlainTss" tuple-space search without our optimisations: every
//                subtable visited (no priority order, no early stop), one
//                full-mask hash probe per subtable, no stages, no tries (the
//                "Open vSwitch without tricks" model);
//   * "Linear"   LinearClassifier, for the 1k sets.
// Workloads: ClassBench-like sets (ruleset_gen.h) of 1k, 10k and 100k
// filters with matching traces, and Open vSwitch's own benchmark shape
// (tests/test-classifier.c "benchmark"): 13 fields with two values each,
// rules in N random subtables with P priorities, lookups of random flows
// drawn from the same values.  Counters: items_per_second (lookups,
// inserts or deletes per second), subtables_per_lookup, bytes_per_rule,
// n_rules, n_subtables, hit_rate.  README.md holds the figures.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <bit>
#include <map>
#include <memory>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "classifier/classifier.h"
#include "classifier/linear_classifier.h"
#include "classifier/ruleset_gen.h"

namespace spate::cls {
namespace {

// ---- Baseline: plain tuple-space search --------------------------------------

class PlainTss {
 public:
  void Insert(const Match& m, int32_t priority, uint64_t payload) {
    uint64_t mh = HashWords(m.mask, m.mask);
    auto it = by_mask_.find(mh);
    Sub* sub;
    if (it == by_mask_.end()) {
      subs_.push_back(std::make_unique<Sub>());
      sub = subs_.back().get();
      sub->mask = m.mask;
      for (int w = 0; w < kFlowWords; ++w) {
        if (m.mask.w[w]) sub->words.push_back(w);
      }
      by_mask_[mh] = sub;
    } else {
      sub = it->second;
    }
    items_.push_back(std::make_unique<Item>(Item{m, priority, next_seq_++, payload}));
    // Rules with one hash kept best-first, as Open vSwitch keeps rules with
    // equal matches in priority order.
    std::vector<const Item*>& list = sub->table[sub->Hash(m.key)];
    list.push_back(items_.back().get());
    std::stable_sort(list.begin(), list.end(), [](const Item* a, const Item* b) {
      return a->priority > b->priority;
    });
  }

  // Best match by (priority, earlier insertion); every subtable visited.
  uint64_t Lookup(const FlowKey& key, FlowKey* wc) const {
    const Item* best = nullptr;
    for (const auto& sub : subs_) {
      if (wc) {
        for (int w : sub->words) wc->w[w] |= sub->mask.w[w];
      }
      auto it = sub->table.find(sub->Hash(key));
      if (it == sub->table.end()) continue;
      for (const Item* item : it->second) {
        if (!sub->Equal(item->match.key, key)) continue;
        if (!best || item->priority > best->priority ||
            (item->priority == best->priority && item->seq < best->seq)) {
          best = item;
        }
        break;  // The rest of the list ranks lower.
      }
    }
    return best ? best->payload : 0;
  }
  size_t n_subtables() const { return subs_.size(); }

 private:
  struct Item {
    Match match;       // The rule.
    int32_t priority;  // Its priority.
    uint64_t seq;      // Insertion order.
    uint64_t payload;  // Its value.
  };
  struct Sub {
    FlowKey mask;                                           // The mask.
    std::vector<int> words;                                 // Words it covers.
    std::unordered_map<uint64_t, std::vector<const Item*>> table;  // Hash -> rules.
    bool Equal(const FlowKey& masked, const FlowKey& k) const {
      for (int w : words) {
        if ((k.w[w] & mask.w[w]) != masked.w[w]) return false;
      }
      return true;
    }
    uint64_t Hash(const FlowKey& k) const {
      uint64_t h = 0;
      for (int w : words) h = MixHash(h ^ (k.w[w] & mask.w[w]));
      return h;
    }
  };
  static uint64_t HashWords(const FlowKey& k, const FlowKey& m) {
    uint64_t h = 0;
    for (int w = 0; w < kFlowWords; ++w) h = MixHash(h ^ (k.w[w] & m.w[w])) + w;
    return h;
  }

  std::vector<std::unique_ptr<Sub>> subs_;          // Every subtable.
  std::unordered_map<uint64_t, Sub*> by_mask_;      // By mask hash.
  std::vector<std::unique_ptr<Item>> items_;        // Every rule.
  uint64_t next_seq_ = 1;                           // Next sequence.
};

// ---- Workloads ---------------------------------------------------------------

struct Workload {
  std::vector<ExpandedRule> rules;  // Rules to install.
  std::vector<FlowKey> trace;       // Keys to look up.
  int n_filters = 0;                // Filters before range expansion.
};

const Workload& ClassBench(RuleSetKind kind, int n) {
  static std::map<std::pair<int, int>, std::unique_ptr<Workload>> cache;
  auto& slot = cache[{static_cast<int>(kind), n}];
  if (!slot) {
    slot = std::make_unique<Workload>();
    std::vector<FiveTupleRule> filters = GenerateRuleSet(kind, n, 1);
    slot->rules = ExpandRules(filters);
    slot->trace = GenerateTrace(filters, 65536, 2);
    slot->n_filters = n;
  }
  return *slot;
}

// Open vSwitch's test-classifier benchmark shape.
struct OvsShapeField {
  Field field;           // Which field.
  uint64_t values[2];    // Its two values.
};
constexpr OvsShapeField kOvsFields[] = {
    {Field::kTunId, {0, 0xfedcba9876543210ULL}},
    {Field::kMetadata, {0, 0xfedcba98}},
    {Field::kNwSrc, {0xc0a80001, 0xc0a04455}},
    {Field::kNwDst, {0xc0a80002, 0xc0a04455}},
    {Field::kInPort, {1, 0xfffe}},
    {Field::kVlanTci, {101, 0}},
    {Field::kDlType, {kEthTypeIp, kEthTypeArp}},
    {Field::kTpSrc, {49362, 80}},
    {Field::kTpDst, {6667, 22}},
    {Field::kDlSrc, {0x0002e30f80a4ULL, 0x5e337f5f1e99ULL}},
    {Field::kDlDst, {0x4a2771ae64c1ULL, 0xffffffffffffULL}},
    {Field::kNwProto, {6, 1}},
    {Field::kIpDscp, {12, 0}},
};
constexpr int kOvsNumFields = 13;

const Workload& OvsShape(int n_rules, int n_priorities, int n_subtables) {
  static std::map<std::tuple<int, int, int>, std::unique_ptr<Workload>> cache;
  auto& slot = cache[{n_rules, n_priorities, n_subtables}];
  if (slot) return *slot;
  slot = std::make_unique<Workload>();
  std::mt19937_64 rng(1);
  std::vector<uint32_t> wcfs;
  while (static_cast<int>(wcfs.size()) < n_subtables) {
    uint32_t w = static_cast<uint32_t>(rng()) & ((1u << kOvsNumFields) - 1);
    // One subtable: wide enough that the n_rules random rules are mostly
    // distinct (2^popcount combinations), as in the 1k-8k-rule OVS runs.
    int want_fields = std::min<int>(kOvsNumFields, std::bit_width(static_cast<unsigned>(n_rules)));
    if (n_subtables == 1 && std::popcount(w) < want_fields) continue;
    if (std::find(wcfs.begin(), wcfs.end(), w) == wcfs.end()) wcfs.push_back(w);
  }
  std::vector<int32_t> priorities;
  for (int i = 0; i < n_priorities; ++i) priorities.push_back(i * 129);
  std::unordered_set<std::string> seen;
  for (int i = 0; i < n_rules; ++i) {
    int32_t prio = priorities[rng() % priorities.size()];
    uint32_t wcf = wcfs[rng() % wcfs.size()];
    uint32_t pat = static_cast<uint32_t>(rng());
    Match m;
    for (int f = 0; f < kOvsNumFields; ++f) {
      if (wcf >> f & 1) m.Set(kOvsFields[f].field, kOvsFields[f].values[pat >> f & 1]);
    }
    std::string id = m.ToString() + "/" + std::to_string(prio);
    if (seen.insert(id).second) slot->rules.push_back({m, prio});
  }
  for (int i = 0; i < 2 * 8192; ++i) {
    FlowKey k{};
    uint32_t x = static_cast<uint32_t>(rng());
    for (int f = 0; f < kOvsNumFields; ++f) {
      k.Set(kOvsFields[f].field, kOvsFields[f].values[x >> f & 1]);
    }
    slot->trace.push_back(k);
  }
  slot->n_filters = n_rules;
  return *slot;
}

void Install(Classifier* cls, const Workload& w) {
  uint64_t payload = 1;
  for (const ExpandedRule& r : w.rules) cls->Insert(r.match, r.priority, payload++);
  cls->Publish();
}

// ---- Lookup benchmarks ---------------------------------------------------------

void RunSpateLookups(benchmark::State& state, const Workload& w, bool use_wc) {
  Classifier cls;
  Install(&cls, w);
  LookupStats stats;
  size_t i = 0, hits = 0;
  const Version v = cls.domain().visible_version();
  for (auto _ : state) {
    const FlowKey& k = w.trace[i++ & (w.trace.size() - 1)];
    FlowKey wc{};
    const Rule* r = cls.Lookup(k, v, use_wc ? &wc : nullptr, &stats);
    hits += r != nullptr;
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(wc);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["subtables_per_lookup"] =
      static_cast<double>(stats.n_subtables_visited) / std::max<uint64_t>(1, stats.n_lookups);
  state.counters["hit_rate"] = static_cast<double>(hits) / std::max<size_t>(1, i);
  state.counters["n_rules"] = static_cast<double>(cls.n_rules());
  state.counters["n_subtables"] = static_cast<double>(cls.n_subtables());
  state.counters["bytes_per_rule"] =
      static_cast<double>(cls.MemoryBytes()) / std::max<size_t>(1, cls.n_rules());
}

void RunPlainTssLookups(benchmark::State& state, const Workload& w, bool use_wc) {
  PlainTss tss;
  uint64_t payload = 1;
  for (const ExpandedRule& r : w.rules) tss.Insert(r.match, r.priority, payload++);
  size_t i = 0;
  for (auto _ : state) {
    const FlowKey& k = w.trace[i++ & (w.trace.size() - 1)];
    FlowKey wc{};
    benchmark::DoNotOptimize(tss.Lookup(k, use_wc ? &wc : nullptr));
    benchmark::DoNotOptimize(wc);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["subtables_per_lookup"] = static_cast<double>(tss.n_subtables());
  state.counters["n_subtables"] = static_cast<double>(tss.n_subtables());
}

RuleSetKind KindArg(int64_t a) { return static_cast<RuleSetKind>(a); }

void BM_Spate_ClassBench(benchmark::State& state) {
  RuleSetKind kind = KindArg(state.range(0));
  state.SetLabel(RuleSetName(kind));
  RunSpateLookups(state, ClassBench(kind, static_cast<int>(state.range(1))), state.range(2));
}

void BM_PlainTss_ClassBench(benchmark::State& state) {
  RuleSetKind kind = KindArg(state.range(0));
  state.SetLabel(RuleSetName(kind));
  RunPlainTssLookups(state, ClassBench(kind, static_cast<int>(state.range(1))),
                     state.range(2));
}

void BM_Linear_ClassBench(benchmark::State& state) {
  RuleSetKind kind = KindArg(state.range(0));
  state.SetLabel(RuleSetName(kind));
  const Workload& w = ClassBench(kind, static_cast<int>(state.range(1)));
  LinearClassifier lin;
  for (const ExpandedRule& r : w.rules) lin.Add(r.match, r.priority, 1);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(lin.LookupHard(w.trace[i++ & (w.trace.size() - 1)]));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Spate_OvsShape(benchmark::State& state) {
  const Workload& w = OvsShape(static_cast<int>(state.range(0)),
                               static_cast<int>(state.range(1)),
                               static_cast<int>(state.range(2)));
  RunSpateLookups(state, w, state.range(3));
}

void BM_PlainTss_OvsShape(benchmark::State& state) {
  const Workload& w = OvsShape(static_cast<int>(state.range(0)),
                               static_cast<int>(state.range(1)),
                               static_cast<int>(state.range(2)));
  RunPlainTssLookups(state, w, state.range(3));
}

// ---- Inserts and deletes ---------------------------------------------------------

void BM_Spate_Insert(benchmark::State& state) {
  const Workload& w = ClassBench(KindArg(state.range(0)), static_cast<int>(state.range(1)));
  state.SetLabel(RuleSetName(KindArg(state.range(0))));
  for (auto _ : state) {
    auto cls = std::make_unique<Classifier>();
    Install(cls.get(), w);
    state.PauseTiming();
    cls.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.rules.size()));
}

// Each insert published on its own (the cost of making every change visible).
void BM_Spate_InsertPublishEach(benchmark::State& state) {
  const Workload& w = ClassBench(KindArg(state.range(0)), static_cast<int>(state.range(1)));
  state.SetLabel(RuleSetName(KindArg(state.range(0))));
  for (auto _ : state) {
    auto cls = std::make_unique<Classifier>();
    uint64_t payload = 1;
    for (const ExpandedRule& r : w.rules) {
      cls->Insert(r.match, r.priority, payload++);
      cls->Publish();
      cls->Reclaim();
    }
    state.PauseTiming();
    cls.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.rules.size()));
}

void BM_Spate_Delete(benchmark::State& state) {
  const Workload& w = ClassBench(KindArg(state.range(0)), static_cast<int>(state.range(1)));
  state.SetLabel(RuleSetName(KindArg(state.range(0))));
  for (auto _ : state) {
    state.PauseTiming();
    auto cls = std::make_unique<Classifier>();
    std::vector<const Rule*> rules;
    uint64_t payload = 1;
    for (const ExpandedRule& r : w.rules) {
      rules.push_back(cls->Insert(r.match, r.priority, payload++));
    }
    cls->Publish();
    state.ResumeTiming();
    for (const Rule* r : rules) cls->Remove(r);
    cls->Publish();
    cls->domain().Synchronize();  // Unlink and free: the whole cost.
    state.PauseTiming();
    cls.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.rules.size()));
}

void BM_PlainTss_Insert(benchmark::State& state) {
  const Workload& w = ClassBench(KindArg(state.range(0)), static_cast<int>(state.range(1)));
  state.SetLabel(RuleSetName(KindArg(state.range(0))));
  for (auto _ : state) {
    auto tss = std::make_unique<PlainTss>();
    uint64_t payload = 1;
    for (const ExpandedRule& r : w.rules) tss->Insert(r.match, r.priority, payload++);
    state.PauseTiming();
    tss.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.rules.size()));
}

// ---- Megaflow batch lookup -------------------------------------------------------

// Megaflows made by wildcard lookups of the trace in the ClassBench set.
struct Megaflows {
  std::unique_ptr<Classifier> cls;   // Megaflow classifier (disjoint rules).
  std::vector<FlowKey> trace;        // Keys that hit them.
};

const Megaflows& MegaflowSet(RuleSetKind kind, int n) {
  static std::map<std::pair<int, int>, std::unique_ptr<Megaflows>> cache;
  auto& slot = cache[{static_cast<int>(kind), n}];
  if (slot) return *slot;
  slot = std::make_unique<Megaflows>();
  const Workload& w = ClassBench(kind, n);
  Classifier slow;
  Install(&slow, w);
  slot->cls = std::make_unique<Classifier>();
  uint64_t payload = 1;
  for (const FlowKey& k : w.trace) {
    if (slot->cls->Lookup(k)) continue;  // Already covered by a megaflow.
    FlowKey wc{};
    slow.Lookup(k, &wc);
    Match m;
    m.key = k;
    m.mask = wc;
    m.Normalize();
    slot->cls->Insert(m, 0, payload++);
    slot->cls->Publish();
  }
  std::mt19937_64 rng(3);
  slot->trace = w.trace;
  std::shuffle(slot->trace.begin(), slot->trace.end(), rng);
  return *slot;
}

void BM_Spate_MegaflowBatch(benchmark::State& state) {
  RuleSetKind kind = KindArg(state.range(0));
  state.SetLabel(RuleSetName(kind));
  const Megaflows& mf = MegaflowSet(kind, static_cast<int>(state.range(1)));
  BatchRanking ranking;
  const FlowKey* ptrs[Classifier::kMaxBatch];
  const Rule* results[Classifier::kMaxBatch];
  size_t i = 0;
  for (auto _ : state) {
    for (int j = 0; j < Classifier::kMaxBatch; ++j) {
      ptrs[j] = &mf.trace[i++ & (mf.trace.size() - 1)];
    }
    benchmark::DoNotOptimize(mf.cls->LookupBatch(ptrs, Classifier::kMaxBatch, results,
                                                 &ranking));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * Classifier::kMaxBatch));
  state.counters["n_megaflows"] = static_cast<double>(mf.cls->n_rules());
  state.counters["n_subtables"] = static_cast<double>(mf.cls->n_subtables());
}

// Baseline: the same megaflows looked up one key at a time with priorities.
void BM_Spate_MegaflowSingle(benchmark::State& state) {
  RuleSetKind kind = KindArg(state.range(0));
  state.SetLabel(RuleSetName(kind));
  const Megaflows& mf = MegaflowSet(kind, static_cast<int>(state.range(1)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(mf.cls->Lookup(mf.trace[i++ & (mf.trace.size() - 1)]));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void ClassBenchArgs(benchmark::internal::Benchmark* b, bool with_wc) {
  for (int kind = 0; kind < 3; ++kind) {
    for (int n : {1000, 10000, 100000}) {
      b->Args({kind, n, 0});
      if (with_wc) b->Args({kind, n, 1});
    }
  }
}

BENCHMARK(BM_Spate_ClassBench)->Apply([](auto* b) { ClassBenchArgs(b, true); });
BENCHMARK(BM_PlainTss_ClassBench)->Apply([](auto* b) { ClassBenchArgs(b, true); });
BENCHMARK(BM_Linear_ClassBench)->Args({0, 1000})->Args({1, 1000})->Args({2, 1000});
// OVS shape: {n_rules, n_priorities, n_subtables, wildcards}.
BENCHMARK(BM_Spate_OvsShape)
    ->Args({1000, 1, 1, 0})->Args({1000, 1, 1, 1})
    ->Args({8192, 1, 1, 0})->Args({8192, 1, 1, 1})
    ->Args({10000, 10, 50, 0})->Args({10000, 10, 50, 1});
BENCHMARK(BM_PlainTss_OvsShape)
    ->Args({1000, 1, 1, 0})->Args({8192, 1, 1, 0})
    ->Args({10000, 10, 50, 0})->Args({10000, 10, 50, 1});
BENCHMARK(BM_Spate_Insert)->Apply([](auto* b) { ClassBenchArgs(b, false); })
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Spate_InsertPublishEach)->Args({0, 1000, 0})->Args({0, 10000, 0})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Spate_Delete)->Apply([](auto* b) { ClassBenchArgs(b, false); })
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PlainTss_Insert)->Apply([](auto* b) { ClassBenchArgs(b, false); })
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Spate_MegaflowBatch)->Args({0, 10000})->Args({1, 10000})->Args({2, 10000});
BENCHMARK(BM_Spate_MegaflowSingle)->Args({0, 10000})->Args({1, 10000})->Args({2, 10000});

}  // namespace
}  // namespace spate::cls
