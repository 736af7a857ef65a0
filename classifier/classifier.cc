// Classifier writer side: inserting, removing, publishing and reclaiming.
// The lookup side is in classifier_lookup.cc.
#include "classifier/classifier.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace spate::cls {
namespace {

// True when rank (pa, sa) is better than (pb, sb).
bool Better(int32_t pa, uint64_t sa, int32_t pb, uint64_t sb) {
  return pa > pb || (pa == pb && sa < sb);
}

uint64_t MaskHash(const FlowKey& mask) {
  uint64_t h = 0;
  for (int i = 0; i < kFlowWords; ++i) h = MixHash(h ^ mask.w[i]) + i;
  return h;
}

std::atomic<uint64_t> g_snapshot_gen{1};

}  // namespace

Match Rule::match() const {
  Match m;
  m.mask = subtable_->mask();
  subtable_->EntryKey(entry_, &m.key);
  return m;
}

Classifier::Classifier() : own_domain_(std::make_unique<VersionDomain>()) {
  domain_ = own_domain_.get();
  snapshot_.store(new Snapshot{g_snapshot_gen.fetch_add(1), {}},
                  std::memory_order_relaxed);
  domain_->AddParticipant(this);
}

Classifier::Classifier(VersionDomain* domain) : domain_(domain) {
  snapshot_.store(new Snapshot{g_snapshot_gen.fetch_add(1), {}},
                  std::memory_order_relaxed);
  domain_->AddParticipant(this);
}

Classifier::~Classifier() {
  domain_->RemoveParticipant(this);
  domain_->Synchronize();
  for (auto& st : subtables_) {
    std::vector<Entry*> entries;
    st->ForEachEntry([&](Entry* e) { entries.push_back(e); });
    for (Entry* e : entries) {
      Rule* r = e->rules.load(std::memory_order_relaxed);
      while (r) {
        Rule* next = r->next_.load(std::memory_order_relaxed);
        DeleteRule(r);
        r = next;
      }
      DestroyEntry(e);
    }
  }
  delete snapshot_.load(std::memory_order_relaxed);
}

Subtable* Classifier::GetSubtable(const FlowKey& mask) {
  auto& bucket = by_mask_[MaskHash(mask)];
  for (Subtable* st : bucket) {
    if (st->mask() == mask) return st;
  }
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = next_id_++;
  }
  auto state = std::make_unique<Subtable>(mask, id);
  Subtable* raw = state.get();
  subtables_.push_back(std::move(state));
  bucket.push_back(raw);
  snapshot_dirty_ = true;
  return raw;
}

void Classifier::DeleteRule(Rule* r) {
  if (!r->in_block_) delete r;  // A block rule goes with its entry.
}

void Classifier::DestroyEntry(Entry* e) {
  if (e->suffix_offset) static_cast<Rule*>(e->suffix())->~Rule();
  Entry::Destroy(e);
}

const Rule* Classifier::Insert(const Match& match, int32_t priority,
                               uint64_t payload,
                               std::span<const Conjunction> conjunctions) {
  FlowKey masked = match.key;
  for (int i = 0; i < kFlowWords; ++i) masked.w[i] &= match.mask.w[i];
  Subtable* st = GetSubtable(match.mask);
  Entry* e = st->FindExact(masked);
  Rule* r;
  if (e) {
    r = new Rule;
  } else {
    // New entry: allocate the rule right after it (one block), so a hit
    // reads adjacent cache lines.
    static_assert(sizeof(Rule) % 8 == 0);
    e = st->AddEntry(masked, domain_, sizeof(Rule));
    r = new (e->suffix()) Rule;
    r->in_block_ = true;
  }
  r->priority_ = priority;
  r->payload_ = payload;
  r->seq_ = next_seq_++;
  r->add_version_ = domain_->pending_version();
  size_t n_valid = 0;
  for (const Conjunction& c : conjunctions) {
    if (c.n_clauses >= 2 && c.n_clauses <= 64 && c.clause >= 1 &&
        c.clause <= c.n_clauses) {
      ++n_valid;
    }
  }
  if (n_valid) {
    r->conj_ = std::make_unique<Conjunction[]>(n_valid);
    for (const Conjunction& c : conjunctions) {
      if (c.n_clauses >= 2 && c.n_clauses <= 64 && c.clause >= 1 &&
          c.clause <= c.n_clauses) {
        r->conj_[r->n_conj_++] = c;
      }
    }
  }
  LinkRule(r, st, e);
  TriePrefixes(r, true);
  ++n_rules_;
  return r;
}

void Classifier::LinkRule(Rule* r, Subtable* st, Entry* e) {
  Subtable* sub = st;
  r->entry_ = e;
  r->subtable_ = sub;
  // Insert in descending rank order; readers see the old or the new list.
  std::atomic<Rule*>* link = &e->rules;
  Rule* cur = link->load(std::memory_order_relaxed);
  while (cur && Better(cur->priority_, cur->seq_, r->priority_, r->seq_)) {
    link = &cur->next_;
    cur = link->load(std::memory_order_relaxed);
  }
  r->next_.store(cur, std::memory_order_relaxed);
  link->store(r, std::memory_order_release);
  ++e->n_rules;
  ++sub->n_rules;
  if (Better(r->priority_, r->seq_, st->max_priority, st->max_seq)) {
    st->max_priority = r->priority_;
    st->max_seq = r->seq_;
    snapshot_dirty_ = true;
  }
}

void Classifier::TriePrefixes(const Rule* r, bool add) {
  FlowKey masked;
  r->subtable_->EntryKey(r->entry_, &masked);
  for (int t = 0; t < kNumTries; ++t) {
    int plen = r->subtable_->trie_plen(static_cast<TrieField>(t));
    if (!plen) continue;
    Field f = TrieFieldToField(static_cast<TrieField>(t));
    U128 v = masked.Get128(f);
    u128 value = GetFieldInfo(f).bits == 32
                     ? static_cast<u128>(v.lo) << 96
                     : (static_cast<u128>(v.hi) << 64) | v.lo;
    if (add) {
      tries_[t].Insert(value, plen);
    } else {
      tries_[t].Remove(value, plen);
    }
  }
}

bool Classifier::Remove(const Rule* rule) {
  Rule* r = const_cast<Rule*>(rule);
  if (r->remove_version_.load(std::memory_order_relaxed) != kVersionNever) {
    return false;
  }
  r->remove_version_.store(domain_->pending_version(), std::memory_order_release);
  staged_removals_.push_back(r);
  return true;
}

void Classifier::PrepareCommit() { PublishStructures(); }

void Classifier::AfterCommit() {
  if (staged_removals_.empty()) return;
  std::vector<Rule*> rules;
  rules.swap(staged_removals_);
  // Readers holding an older version may still need these rules: unlink
  // only after a grace period.
  domain_->Defer([this, rules = std::move(rules)] { UnlinkRules(rules); });
}

void Classifier::PublishStructures() {
  for (PrefixTrie& trie : tries_) {
    if (!trie.dirty()) continue;
    std::vector<const PrefixTrie::Node*> old = trie.Publish();
    if (!old.empty()) {
      domain_->Defer([old = std::move(old)] { PrefixTrie::DeleteNodes(old); });
    }
  }
  if (!snapshot_dirty_) return;
  auto* snap = new Snapshot{g_snapshot_gen.fetch_add(1), {}};
  snap->refs.reserve(subtables_.size());
  for (auto& st : subtables_) {
    snap->refs.push_back({st->max_priority, st->max_seq, st.get()});
  }
  std::sort(snap->refs.begin(), snap->refs.end(),
            [](const SubtableRef& a, const SubtableRef& b) {
              if (a.max_priority != b.max_priority || a.max_seq != b.max_seq) {
                return Better(a.max_priority, a.max_seq, b.max_priority, b.max_seq);
              }
              return a.subtable->id() < b.subtable->id();
            });
  const Snapshot* old = snapshot_.exchange(snap, std::memory_order_acq_rel);
  domain_->Defer([old] { delete old; });
  snapshot_dirty_ = false;
}

void Classifier::UnlinkRule(Rule* r, std::vector<Entry*>* dead_entries) {
  TriePrefixes(r, false);
  Entry* e = r->entry_;
  std::atomic<Rule*>* link = &e->rules;
  while (link->load(std::memory_order_relaxed) != r) {
    link = &link->load(std::memory_order_relaxed)->next_;
  }
  // Readers standing on `r` continue through its (unchanged) next pointer.
  link->store(r->next_.load(std::memory_order_relaxed), std::memory_order_release);
  Subtable* sub = r->subtable_;
  --sub->n_rules;
  --n_rules_;
  if (--e->n_rules == 0) {
    sub->RemoveEntry(e);
    dead_entries->push_back(e);
  }
}

void Classifier::RecomputeMax(Subtable* st) {
  int32_t prio = INT32_MIN;
  uint64_t seq = ~0ULL;
  st->ForEachEntry([&](Entry* e) {
    const Rule* head = e->rules.load(std::memory_order_relaxed);
    if (head && Better(head->priority_, head->seq_, prio, seq)) {
      prio = head->priority_;
      seq = head->seq_;
    }
  });
  if (prio != st->max_priority || seq != st->max_seq) snapshot_dirty_ = true;
  st->max_priority = prio;
  st->max_seq = seq;
  st->max_stale = false;
}

void Classifier::UnlinkRules(const std::vector<Rule*>& rules) {
  std::vector<Entry*> dead_entries;
  for (Rule* r : rules) {
    Subtable* st = r->subtable_;
    if (r->priority_ == st->max_priority && r->seq_ == st->max_seq) {
      st->max_stale = true;
    }
    UnlinkRule(r, &dead_entries);
  }
  // Drop empty subtables; refresh the ranks of those that lost their best.
  std::vector<std::unique_ptr<Subtable>> dead_subtables;
  for (size_t i = 0; i < subtables_.size();) {
    Subtable* st = subtables_[i].get();
    if (st->n_rules == 0) {
      auto& bucket = by_mask_[MaskHash(st->mask())];
      bucket.erase(std::find(bucket.begin(), bucket.end(), st));
      dead_subtables.push_back(std::move(subtables_[i]));
      subtables_[i] = std::move(subtables_.back());
      subtables_.pop_back();
      snapshot_dirty_ = true;
      continue;
    }
    if (st->max_stale) RecomputeMax(st);
    ++i;
  }
  PublishStructures();
  auto* dead = new std::vector<std::unique_ptr<Subtable>>(std::move(dead_subtables));
  domain_->Defer([this, rules, dead_entries, dead] {
    for (Rule* r : rules) DeleteRule(r);
    for (Entry* e : dead_entries) DestroyEntry(e);
    for (auto& st : *dead) free_ids_.push_back(st->id());
    delete dead;
  });
}

size_t Classifier::MemoryBytes() const {
  size_t bytes = sizeof(*this);
  for (const auto& st : subtables_) {
    const Subtable& sub = *st;
    bytes += sub.bytes();
    bytes += sub.n_entries() *
             (sizeof(Entry) + sizeof(uint64_t) * (sub.n_words() > 1 ? sub.n_words() - 1 : 0));
    bytes += sub.n_rules * sizeof(Rule);
  }
  for (const PrefixTrie& t : tries_) bytes += t.n_nodes() * sizeof(PrefixTrie::Node);
  bytes += snapshot_.load(std::memory_order_relaxed)->refs.capacity() * sizeof(SubtableRef);
  return bytes;
}

std::vector<const Rule*> Classifier::RulesIn(Version version) const {
  std::vector<const Rule*> out;
  for (const auto& st : subtables_) {
    st->ForEachEntry([&](Entry* e) {
      for (const Rule* r = e->rules.load(std::memory_order_relaxed); r;
           r = r->next_.load(std::memory_order_relaxed)) {
        if (r->VisibleIn(version)) out.push_back(r);
      }
    });
  }
  return out;
}

}  // namespace spate::cls
