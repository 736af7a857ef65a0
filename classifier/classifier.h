// Classifier: a versioned tuple-space search classifier over FlowKey.
//
// What it is
//   A set of rules, each a Match, a priority, an opaque 64-bit payload and
//   optionally a list of conjunction clauses.  Lookup(key) returns the
//   highest-ranked rule matching `key`, where rank is priority and, among
//   equal priorities, earlier insertion wins (the tie-break is part of the
//   contract: rules with equal priority and overlapping matches resolve to
//   the one inserted first).  It serves the slow path's flow tables (with
//   priorities, conjunctive matches and wildcard tracking) and the megaflow
//   cache (LookupBatch: up to 32 keys, no priorities).
//
// Design (tuple-space search, as Open vSwitch's lib/classifier.c, plus)
//   * One Subtable per distinct mask (subtable.h), ordered by the highest
//     rank they hold; a lookup stops as soon as no remaining subtable can
//     hold a better rule than the best found.
//   * Staged lookup: metadata, L2, L3, L4 word ranges are hashed one after
//     another and checked against per-stage indexes, so a miss early in the
//     key stops the probe and leaves later fields wildcarded.
//   * Prefix tries (trie.h) on nw_src, nw_dst, ipv6_src, ipv6_dst: when a
//     subtable's prefix length on such a field cannot match the key, the
//     subtable is skipped and only the leading address bits the trie needed
//     are unwildcarded, keeping megaflows wide.
//   * Wildcard tracking: Lookup(key, .., wc) ORs into *wc every key bit the
//     result depended on; every key that agrees with `key` on those bits
//     gets the same result (the megaflow property, tested).
//   * Versions (versioning.h): Insert/Remove stage changes at the pending
//     version; Publish() makes them visible atomically; removed rules stay
//     linked until no reader can see them and are freed a grace period
//     after being unlinked.
//   * Conjunctive matches (Open vSwitch's conjunction(id, k/n)): see
//     "Conjunctions" below.
//   * A rule that creates an entry is allocated in one block with it, so a
//     hit touches adjacent cache lines.
//   * LookupBatch: up to 32 keys per call, subtables visited in the order of
//     their hit counts (kept per caller in a BatchRanking), slot prefetching.
//
// Conjunctions
//   A rule with clauses {(id, k, n), ...} is "conjunctive": it never matches
//   by itself.  Let H be the best non-conjunctive rule matching key K.  The
//   conjunctive rules matching K with priority above H's (all of them if
//   there is no H) are grouped by priority, highest first; within a
//   priority, a conjunction (id, n) is complete when clauses 1..n each have
//   at least one such rule.  For each complete id, ascending, the classifier
//   looks K up again with conj_id = id, among non-conjunctive rules only;
//   the first rule found is the result.  If none is found at any priority,
//   the result is H (or none).  Clause numbers k are 1-based; n is 2..64.
//   A rule's clauses with different n for the same id count as different
//   conjunctions.
//
// Thread-safety
//   * Lookups (Lookup, LookupBatch, visible rules' accessors) are lock-free
//     and may run concurrently with one writer, from threads registered
//     with the VersionDomain (reporting quiescent states), or from the
//     writer thread itself.  A Rule pointer returned by a lookup stays valid
//     until the reader's next quiescent state.
//   * Writers (Insert, Remove, Publish via the domain, Reclaim) must be
//     serialised: one writer thread at a time per VersionDomain.
#ifndef SPATE_CLASSIFIER_CLASSIFIER_H
#define SPATE_CLASSIFIER_CLASSIFIER_H

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "classifier/flow.h"
#include "classifier/subtable.h"
#include "classifier/trie.h"
#include "classifier/versioning.h"

namespace spate::cls {

class Classifier;

// One clause of a conjunctive match: this rule is clause `clause` of
// `n_clauses` of conjunction `id` (OVS: conjunction(id, clause/n_clauses)).
struct Conjunction {
  uint32_t id = 0;         // Conjunction id (matched as conj_id).
  uint8_t clause = 0;      // 1-based clause number k.
  uint8_t n_clauses = 0;   // Number of clauses n (2..64).
  bool operator==(const Conjunction&) const = default;
};

// A rule owned by a Classifier.  Immutable once inserted except for its
// removal version.
class Rule {
 public:
  int32_t priority() const { return priority_; }
  uint64_t payload() const { return payload_; }
  // Insertion sequence number: among equal priorities, lower wins.
  uint64_t sequence() const { return seq_; }
  Version add_version() const { return add_version_; }
  Version remove_version() const {
    return remove_version_.load(std::memory_order_acquire);
  }
  bool VisibleIn(Version v) const { return add_version_ <= v && v < remove_version(); }
  // The rule's conjunction clauses (empty for an ordinary rule).
  std::span<const Conjunction> conjunctions() const {
    return {conj_.get(), n_conj_};
  }
  bool is_conjunctive() const { return n_conj_ != 0; }
  // The match, rebuilt from the subtable mask and entry values.
  Match match() const;

 private:
  friend class Classifier;
  Rule() = default;

  // What a lookup reads comes first: an entry of two words (40 bytes) in
  // its 64-byte aligned block (subtable.h) then holds the first rule's
  // versions and payload in the same cache line.
  Version add_version_ = 0;                    // First visible version.
  std::atomic<Version> remove_version_{kVersionNever};  // First invisible.
  uint64_t payload_ = 0;                       // Caller's opaque value.
  int32_t priority_ = 0;                       // Priority; higher wins.
  uint32_t n_conj_ = 0;                        // Entries in conj_.
  uint64_t seq_ = 0;                           // Insertion sequence.
  std::atomic<Rule*> next_{nullptr};           // Next in entry (lower rank).
  Entry* entry_ = nullptr;                     // Where it is linked.
  bool in_block_ = false;                      // Allocated with entry_
                                               // (freed with the entry).
  Subtable* subtable_ = nullptr;               // Its subtable.
  std::unique_ptr<Conjunction[]> conj_;        // Clauses, or null.
};

// Per-lookup counters (optional).
struct LookupStats {
  uint64_t n_lookups = 0;            // Lookups counted.
  uint64_t n_subtables_visited = 0;  // Subtables probed (incl. trie skips).
};

// Per-caller (per PMD thread) state of LookupBatch: subtable hit counts
// and the visiting order derived from them.  Not shared between threads.
struct BatchRanking {
  uint64_t snapshot_gen = 0;            // Snapshot the order was built for.
  uint32_t n_batches = 0;               // Batches since the last re-rank.
  std::vector<const Subtable*> order;   // Subtables, most hits first.
  std::vector<uint64_t> hits;           // Hits by subtable id.
};

class Classifier final : private PublishParticipant {
 public:
  static constexpr int kMaxBatch = 32;   // LookupBatch capacity.
  static constexpr int kRerankBatches = 1024;  // Batches between re-ranks.

  // A classifier with its own VersionDomain.
  Classifier();
  // A classifier sharing `domain` (which must outlive it).
  explicit Classifier(VersionDomain* domain);
  // Waits for deferred reclamation (readers must be quiescing or offline)
  // and frees every rule.
  ~Classifier() override;
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  VersionDomain& domain() { return *domain_; }
  const VersionDomain& domain() const { return *domain_; }

  // ---- Writers (serialised) -----------------------------------------------

  // Stages a rule, visible from the pending version on (after Publish()).
  // Conjunction clauses are copied; invalid clauses (k not in 1..n, n not in
  // 2..64) are dropped.  Returns the rule, owned by the classifier.
  const Rule* Insert(const Match& match, int32_t priority, uint64_t payload,
                     std::span<const Conjunction> conjunctions = {});
  // Stages removal of `rule`, invisible from the pending version on.
  // Returns false when it was already removed.
  bool Remove(const Rule* rule);
  // Publishes staged changes (same as domain().Publish()).
  Version Publish() { return domain_->Publish(); }
  // Runs reclamation whose grace period has passed (domain().Reclaim()).
  size_t Reclaim() { return domain_->Reclaim(); }
  // Rules linked (including staged and not yet reclaimed ones).
  size_t n_rules() const { return n_rules_; }
  size_t n_subtables() const { return subtables_.size(); }
  // Approximate bytes used by rules, entries, tables and tries.
  size_t MemoryBytes() const;
  // Every rule visible in `version` (writer thread; for dumps and tests).
  std::vector<const Rule*> RulesIn(Version version) const;

  // ---- Readers (lock-free) --------------------------------------------------

  // Best rule for `key` at `version` (see the rank and conjunction rules
  // above), or null.  When `wc` is not null, ORs into it the bits examined.
  const Rule* Lookup(const FlowKey& key, Version version, FlowKey* wc = nullptr,
                     LookupStats* stats = nullptr) const;
  // The same at the newest published version.
  const Rule* Lookup(const FlowKey& key, FlowKey* wc = nullptr) const {
    return Lookup(key, domain_->visible_version(), wc);
  }
  // Megaflow lookup of n <= 32 keys at the newest version, without
  // priorities: results[i] is some visible rule matching *keys[i] (the only
  // one when visible rules do not overlap, as megaflows do not), or null.
  // Conjunctive rules are returned like any other.  Returns the number of
  // keys matched.  `ranking` is the caller's own (see BatchRanking).
  int LookupBatch(const FlowKey* const* keys, int n, const Rule** results,
                  BatchRanking* ranking) const;

 private:
  struct SubtableRef {
    int32_t max_priority;   // Best rank held: priority ...
    uint64_t max_seq;       // ... and lowest sequence at that priority.
    const Subtable* subtable;  // The subtable.
  };
  struct Snapshot {
    uint64_t gen;                    // Unique per snapshot.
    std::vector<SubtableRef> refs;   // Descending max rank.
  };
  struct TrieCache;

  void PrepareCommit() override;
  void AfterCommit() override;
  Subtable* GetSubtable(const FlowKey& mask);
  void LinkRule(Rule* rule, Subtable* st, Entry* entry);
  static void DeleteRule(Rule* rule);
  static void DestroyEntry(Entry* entry);
  void UnlinkRules(const std::vector<Rule*>& rules);
  void UnlinkRule(Rule* rule, std::vector<Entry*>* dead_entries);
  void RecomputeMax(Subtable* st);
  void PublishStructures();
  void TriePrefixes(const Rule* rule, bool add);
  const Rule* LookupHard(const FlowKey& key, Version version, FlowKey* wc,
                         LookupStats* stats,
                         std::vector<const Rule*>* soft) const;
  const Rule* ResolveConjunctions(const FlowKey& key, Version version,
                                  FlowKey* wc, const Rule* hard,
                                  std::vector<const Rule*>* soft) const;
  // False when the tries prove `st` cannot match `key` (ORing the bits
  // that proof needed into `wc`).
  bool TriesAllow(const Subtable& st, const FlowKey& key, FlowKey* wc,
                  TrieCache* tries) const;
  void RebuildRanking(const Snapshot* snap, BatchRanking* ranking) const;

  std::unique_ptr<VersionDomain> own_domain_;   // When not shared.
  VersionDomain* domain_;                       // Versions and QSBR.
  std::atomic<const Snapshot*> snapshot_;       // Published subtable order.
  PrefixTrie tries_[kNumTries];                 // nw_src, nw_dst, ipv6 src/dst.
  // Writer-side state.
  std::vector<std::unique_ptr<Subtable>> subtables_;  // All subtables.
  std::unordered_map<uint64_t, std::vector<Subtable*>> by_mask_;  // By mask hash.
  std::vector<uint32_t> free_ids_;              // Reusable subtable ids.
  uint32_t next_id_ = 0;                        // Next fresh subtable id.
  uint64_t next_seq_ = 1;                       // Next rule sequence.
  uint64_t next_gen_ = 1;                       // Next snapshot generation.
  bool snapshot_dirty_ = false;                 // Order/max ranks changed.
  size_t n_rules_ = 0;                          // Rules linked.
  std::vector<Rule*> staged_removals_;          // Removed, not yet published.
};

}  // namespace spate::cls

#endif  // SPATE_CLASSIFIER_CLASSIFIER_H
