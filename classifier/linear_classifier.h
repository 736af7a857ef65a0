// LinearClassifier: the naive reference model of Classifier, for the model
// tests and as the benchmark's baseline for small rule sets.
//
// Design
//   A vector of rules kept in rank order (priority descending, then
//   insertion order); a lookup scans it.  Conjunctions follow the rules
//   written in classifier.h, implemented as literally as possible.
//
// Thread-safety
//   None; single-threaded.
#ifndef SPATE_CLASSIFIER_LINEAR_CLASSIFIER_H
#define SPATE_CLASSIFIER_LINEAR_CLASSIFIER_H

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "classifier/classifier.h"
#include "classifier/flow.h"

namespace spate::cls {

class LinearClassifier {
 public:
  struct ModelRule {
    Match match;                            // What it matches.
    int32_t priority = 0;                   // Priority.
    uint64_t seq = 0;                       // Insertion order.
    uint64_t payload = 0;                   // Caller's value.
    std::vector<Conjunction> conjunctions;  // Clauses (empty: ordinary).
  };

  // Adds a rule; returns its sequence number (the handle for Remove).
  uint64_t Add(const Match& match, int32_t priority, uint64_t payload,
               std::vector<Conjunction> conjunctions = {}) {
    ModelRule r{match, priority, next_seq_++, payload, std::move(conjunctions)};
    r.match.Normalize();
    auto pos = std::find_if(rules_.begin(), rules_.end(), [&](const ModelRule& o) {
      return o.priority < priority;
    });
    rules_.insert(pos, std::move(r));
    return next_seq_ - 1;
  }
  // Removes the rule with sequence `seq`; false when absent.
  bool Remove(uint64_t seq) {
    auto it = std::find_if(rules_.begin(), rules_.end(),
                           [&](const ModelRule& r) { return r.seq == seq; });
    if (it == rules_.end()) return false;
    rules_.erase(it);
    return true;
  }
  size_t size() const { return rules_.size(); }
  const std::vector<ModelRule>& rules() const { return rules_; }

  // Best ordinary rule matching `key`, ignoring conjunctive rules.
  const ModelRule* LookupHard(const FlowKey& key) const {
    for (const ModelRule& r : rules_) {
      if (r.conjunctions.empty() && r.match.Matches(key)) return &r;
    }
    return nullptr;
  }

  // The full lookup, conjunctions included (classifier.h's rules).
  const ModelRule* Lookup(const FlowKey& key) const {
    const ModelRule* hard = LookupHard(key);
    // priority -> (id, n) -> clauses seen
    std::map<int32_t, std::map<std::pair<uint32_t, int>, std::set<int>>, std::greater<>> soft;
    for (const ModelRule& r : rules_) {
      if (r.conjunctions.empty() || !r.match.Matches(key)) continue;
      if (hard && r.priority <= hard->priority) continue;
      for (const Conjunction& c : r.conjunctions) {
        soft[r.priority][{c.id, c.n_clauses}].insert(c.clause);
      }
    }
    for (const auto& [prio, conj] : soft) {
      std::set<uint32_t> complete;
      for (const auto& [idn, clauses] : conj) {
        if (static_cast<int>(clauses.size()) == idn.second) complete.insert(idn.first);
      }
      for (uint32_t id : complete) {
        FlowKey k2 = key;
        k2.set_conj_id(id);
        if (const ModelRule* r = LookupHard(k2)) return r;
      }
    }
    return hard;
  }

 private:
  std::vector<ModelRule> rules_;  // Rank order.
  uint64_t next_seq_ = 1;         // Next sequence.
};

}  // namespace spate::cls

#endif  // SPATE_CLASSIFIER_LINEAR_CLASSIFIER_H
