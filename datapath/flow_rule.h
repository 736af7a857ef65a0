// Flow rules and the numbered flow tables of the slow path.
//
// What it is
//   RuleSpec is a rule as a controller or `ovs-ofctl add-flow` states it
//   (table, priority, cookie, match, actions, conjunction clauses).
//   FlowRule is an installed rule: the spec plus the classifier rule that
//   holds it and its packet/byte counters.  FlowTables is the pipeline:
//   up to 255 numbered tables, each a cls::Classifier, all sharing one
//   VersionDomain, so one Publish() makes a whole batch of changes to any
//   number of tables visible at once.
//
// Design
//   A table's classifier is created on first use and lives as long as the
//   FlowTables, so readers may cache the pointer.  FlowRule objects are
//   shared_ptr-owned: the control side holds one reference while the rule
//   is installed, and every megaflow translated through it holds another,
//   so statistics flushed by a PMD long after the rule was deleted still
//   land in live memory.  The classifier payload is the raw FlowRule*,
//   valid while a reader is between quiescent states.
//
// Thread-safety
//   FlowTables::table() and lookups: any registered reader, lock-free.
//   MutableTable(), Insert/Remove on the classifiers, Publish: the one
//   control thread.  FlowRule counters: relaxed atomics, any thread.
#ifndef SPATE_DATAPATH_FLOW_RULE_H
#define SPATE_DATAPATH_FLOW_RULE_H

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "classifier/classifier.h"
#include "datapath/actions.h"

namespace spate::datapath {

inline constexpr int kNumTables = 255;  // Tables 0..254.

// A rule as stated by its author.
struct RuleSpec {
  uint8_t table = 0;                          // Table number.
  int32_t priority = 32768;                   // Higher wins.
  uint64_t cookie = 0;                        // Opaque to the datapath.
  cls::Match match;                           // What it matches.
  std::vector<Action> actions;                // Empty: drop.
  std::vector<cls::Conjunction> conjunctions;  // Non-empty: conjunctive.
};

// What a rule change does.
enum class RuleOpKind : uint8_t {
  kAdd,     // Add spec (replacing a rule with the same table/match/priority).
  kModify,  // Give the matching rules spec.actions.
  kDelete,  // Remove the matching rules.
};

// One rule change of a batch (ovs-ofctl add-flow / mod-flows / del-flows).
struct RuleOp {
  RuleOpKind kind = RuleOpKind::kAdd;  // What to do.
  RuleSpec spec;              // kAdd: the rule.  kModify/kDelete: table,
                              // match, priority (strict), cookie, and for
                              // kModify the new actions.
  bool strict = false;        // kModify/kDelete: same match and priority only
                              // (else every rule at least as specific).
  bool all_tables = false;    // kModify/kDelete: ignore spec.table.
  uint64_t cookie_mask = 0;   // kModify/kDelete: only rules whose cookie
                              // agrees with spec.cookie under this mask.
};

// An installed rule.
class FlowRule : public std::enable_shared_from_this<FlowRule> {
 public:
  // A rule for `spec`, created at `created_ns` (steady clock, for dumps).
  FlowRule(RuleSpec spec, int64_t created_ns)
      : spec_(std::move(spec)), created_ns_(created_ns) {}

  const RuleSpec& spec() const { return spec_; }
  // The classifier rule (set once at install).
  const cls::Rule* cls_rule() const { return cls_rule_; }
  void set_cls_rule(const cls::Rule* r) { cls_rule_ = r; }
  // When it was installed (steady clock ns).
  int64_t created_ns() const { return created_ns_; }
  // Adds traffic flushed from a megaflow (any thread).
  void AddStats(uint64_t n_pkts, uint64_t n_bytes) {
    n_packets_.fetch_add(n_pkts, std::memory_order_relaxed);
    n_bytes_.fetch_add(n_bytes, std::memory_order_relaxed);
  }
  // Traffic flushed so far (live megaflows are summed by the dumper).
  uint64_t n_packets() const { return n_packets_.load(std::memory_order_relaxed); }
  uint64_t n_bytes() const { return n_bytes_.load(std::memory_order_relaxed); }

 private:
  RuleSpec spec_;                           // As installed.
  int64_t created_ns_;                      // Install time.
  const cls::Rule* cls_rule_ = nullptr;     // Its classifier rule.
  std::atomic<uint64_t> n_packets_{0};      // Flushed packet count.
  std::atomic<uint64_t> n_bytes_{0};        // Flushed byte count.
};

// The numbered tables (see the header comment).
class FlowTables {
 public:
  FlowTables();
  ~FlowTables();
  FlowTables(const FlowTables&) = delete;
  FlowTables& operator=(const FlowTables&) = delete;

  cls::VersionDomain& domain() { return domain_; }
  // Table `t` for lookups, or nullptr when it never held a rule.
  const cls::Classifier* table(int t) const {
    return tables_[static_cast<size_t>(t)].load(std::memory_order_acquire);
  }
  // Table `t`, created if needed (control thread).
  cls::Classifier* MutableTable(int t);

 private:
  cls::VersionDomain domain_;                                    // Shared versions.
  std::array<std::atomic<cls::Classifier*>, kNumTables> tables_{};  // By number.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_FLOW_RULE_H
