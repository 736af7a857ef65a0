// Classifier reader side: single-key lookup with priorities, wildcard
// tracking and conjunctions, and the megaflow batch lookup.
#include <algorithm>
#include <bit>

#include "classifier/classifier.h"

namespace spate::cls {
namespace {

bool Better(int32_t pa, uint64_t sa, int32_t pb, uint64_t sb) {
  return pa > pb || (pa == pb && sa < sb);
}

// ORs the leading `n` bits of address field `f` into `wc`.
void UnwildcardPrefix(Field f, int n, FlowKey* wc) {
  if (n <= 0) return;
  const FieldInfo& fi = GetFieldInfo(f);
  if (fi.bits == 32) {
    uint64_t m = (n >= 32 ? 0xffffffffULL : ((1ULL << n) - 1) << (32 - n));
    wc->w[fi.word] |= m << fi.shift;
    return;
  }
  wc->w[fi.word] |= n >= 64 ? ~0ULL : ~0ULL << (64 - n);
  if (n > 64) wc->w[fi.word + 1] |= n >= 128 ? ~0ULL : ~0ULL << (128 - n);
}

}  // namespace

// Trie answers for one lookup, computed on first use.
struct Classifier::TrieCache {
  uint8_t done = 0;               // Bit t: results[t] is valid.
  TrieResult results[kNumTries];  // Per trie field (uninitialised until done).
};

bool Classifier::TriesAllow(const Subtable& st, const FlowKey& key, FlowKey* wc,
                            TrieCache* tc) const {
  for (int t = 0; t < kNumTries; ++t) {
    int plen = st.trie_plen(static_cast<TrieField>(t));
    if (!plen) continue;
    Field f = TrieFieldToField(static_cast<TrieField>(t));
    int bits = GetFieldInfo(f).bits;
    if (!(tc->done >> t & 1)) {
      U128 v = key.Get128(f);
      u128 value = bits == 32 ? static_cast<u128>(v.lo) << 96
                              : (static_cast<u128>(v.hi) << 64) | v.lo;
      tc->results[t] = tries_[t].Lookup(value, bits);
      tc->done |= static_cast<uint8_t>(1u << t);
    }
    const TrieResult& r = tc->results[t];
    if (!r.Has(plen)) {
      // Whether any prefix of length plen matches depends only on the first
      // min(checkbits, plen) bits.
      if (wc) UnwildcardPrefix(f, std::min<int>(r.checkbits, plen), wc);
      return false;
    }
  }
  return true;
}

const Rule* Classifier::LookupHard(const FlowKey& key, Version version, FlowKey* wc,
                                   LookupStats* stats,
                                   std::vector<const Rule*>* soft) const {
  const Snapshot* snap = snapshot_.load(std::memory_order_acquire);
  TrieCache tc;
  const Rule* hard = nullptr;
  uint64_t n_visited = 0;
  for (const SubtableRef& ref : snap->refs) {
    if (hard && !Better(ref.max_priority, ref.max_seq, hard->priority_, hard->seq_)) {
      break;
    }
    ++n_visited;
    const Subtable& st = *ref.subtable;
    // Tries only with wildcard tracking, where they keep megaflows wide.
    // (Using them to skip probes without it measured slower on every set
    // of classifier_bench: the trie walks cost more than the probes saved.)
    if (wc && st.has_tries() && !TriesAllow(st, key, wc, &tc)) continue;
    const Entry* e = wc ? st.FindStaged(key, wc) : st.Find(key);
    if (!e) continue;
    for (const Rule* r = e->rules.load(std::memory_order_acquire); r;
         r = r->next_.load(std::memory_order_acquire)) {
      if (!r->VisibleIn(version)) continue;
      if (hard && !Better(r->priority_, r->seq_, hard->priority_, hard->seq_)) break;
      if (r->n_conj_) {
        if (soft) soft->push_back(r);
        continue;
      }
      hard = r;
      break;
    }
  }
  if (stats) {
    ++stats->n_lookups;
    stats->n_subtables_visited += n_visited;
  }
  return hard;
}

const Rule* Classifier::Lookup(const FlowKey& key, Version version, FlowKey* wc,
                               LookupStats* stats) const {
  std::vector<const Rule*> soft;  // Allocates only if conjunctive rules match.
  const Rule* hard = LookupHard(key, version, wc, stats, &soft);
  if (soft.empty()) return hard;
  return ResolveConjunctions(key, version, wc, hard, &soft);
}

const Rule* Classifier::ResolveConjunctions(const FlowKey& key, Version version,
                                            FlowKey* wc, const Rule* hard,
                                            std::vector<const Rule*>* soft) const {
  if (hard) {
    std::erase_if(*soft, [&](const Rule* r) { return r->priority_ <= hard->priority_; });
  }
  std::sort(soft->begin(), soft->end(), [](const Rule* a, const Rule* b) {
    return a->priority_ > b->priority_;
  });
  struct Progress {
    uint32_t id;      // Conjunction id.
    uint8_t n;        // Clauses.
    uint64_t clauses;  // Bit k-1 set: clause k seen.
  };
  std::vector<Progress> progress;
  std::vector<uint32_t> complete;
  for (size_t i = 0; i < soft->size();) {
    int32_t prio = (*soft)[i]->priority_;
    progress.clear();
    for (; i < soft->size() && (*soft)[i]->priority_ == prio; ++i) {
      for (const Conjunction& c : (*soft)[i]->conjunctions()) {
        auto it = std::find_if(progress.begin(), progress.end(), [&](const Progress& p) {
          return p.id == c.id && p.n == c.n_clauses;
        });
        if (it == progress.end()) {
          progress.push_back({c.id, c.n_clauses, 0});
          it = progress.end() - 1;
        }
        it->clauses |= 1ULL << (c.clause - 1);
      }
    }
    complete.clear();
    for (const Progress& p : progress) {
      uint64_t all = p.n == 64 ? ~0ULL : (1ULL << p.n) - 1;
      if (p.clauses == all) complete.push_back(p.id);
    }
    std::sort(complete.begin(), complete.end());
    complete.erase(std::unique(complete.begin(), complete.end()), complete.end());
    for (uint32_t id : complete) {
      FlowKey k2 = key;
      k2.set_conj_id(id);
      const Rule* r = LookupHard(k2, version, wc, nullptr, nullptr);
      if (r) return r;
    }
  }
  return hard;
}

void Classifier::RebuildRanking(const Snapshot* snap, BatchRanking* ranking) const {
  uint32_t max_id = 0;
  for (const SubtableRef& ref : snap->refs) max_id = std::max(max_id, ref.subtable->id());
  if (ranking->hits.size() <= max_id) ranking->hits.resize(max_id + 1, 0);
  ranking->order.clear();
  for (const SubtableRef& ref : snap->refs) ranking->order.push_back(ref.subtable);
  const std::vector<uint64_t>& hits = ranking->hits;
  std::stable_sort(ranking->order.begin(), ranking->order.end(),
                   [&](const Subtable* a, const Subtable* b) {
                     return hits[a->id()] > hits[b->id()];
                   });
  // Decay, so the order follows the traffic of the recent past.
  for (uint64_t& h : ranking->hits) h >>= 1;
  ranking->snapshot_gen = snap->gen;
  ranking->n_batches = 0;
}

int Classifier::LookupBatch(const FlowKey* const* keys, int n, const Rule** results,
                            BatchRanking* ranking) const {
  if (n <= 0) return 0;
  if (n > kMaxBatch) n = kMaxBatch;
  Version version = domain_->visible_version();
  const Snapshot* snap = snapshot_.load(std::memory_order_acquire);
  if (ranking->snapshot_gen != snap->gen || ++ranking->n_batches >= kRerankBatches) {
    RebuildRanking(snap, ranking);
  }
  uint32_t todo = n == 32 ? ~0u : (1u << n) - 1;
  for (const Subtable* st : ranking->order) {
    uint64_t n_hits = 0;
    uint32_t found = 0;
    st->FindBatch(keys, todo, [&](int i, const Entry* e) {
      for (const Rule* r = e->rules.load(std::memory_order_acquire); r;
           r = r->next_.load(std::memory_order_acquire)) {
        if (r->VisibleIn(version)) {
          results[i] = r;
          found |= 1u << i;
          ++n_hits;
          return;
        }
      }
    });
    todo &= ~found;
    ranking->hits[st->id()] += n_hits;
    if (!todo) break;
  }
  // Every key either hit (results[i] set above) or is still in todo.  (A
  // loop clearing results[] first compiled to `rep stos`.)
  for (uint32_t m = todo; m; m &= m - 1) results[std::countr_zero(m)] = nullptr;
  return n - std::popcount(todo);
}

}  // namespace spate::cls
