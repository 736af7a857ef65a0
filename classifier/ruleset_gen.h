// A 5-tuple rule-set and trace generator in the spirit of ClassBench
// (Taylor and Turner, 2005), written from its published description, not
// from its code (which is licensed for non-commercial use only).
//
// What it makes
//   Three families whose statistics follow the published characterisations
//   of real filter sets:
//   * kAcl (access control lists): mostly specific destinations (/24-/32),
//     sources often wildcarded or /8-/24, exact well-known destination
//     ports, source port wildcarded, TCP-heavy.
//   * kFirewall: many wildcards (source /0 frequent), destination /16-/32,
//     port ranges (ephemeral 1024-65535, privileged 0-1023, small ranges),
//     protocol often wildcarded.
//   * kIpChain: both addresses specific (/24-/32), ports exact or
//     wildcarded, TCP or UDP.
//   Addresses grow from a pool of network blocks so prefixes nest and
//   overlap as in real sets.  Rule i has priority n - i (first rule wins,
//   as in ClassBench's linear order).  Port ranges are expanded to
//   prefix/mask form, so one generated rule may become several Matches.
//   Traces pick a rule at random and a header inside it (plus a share of
//   random headers), as ClassBench's trace generator does.
//
// Thread-safety
//   Pure functions; deterministic for a given seed.
#ifndef SPATE_CLASSIFIER_RULESET_GEN_H
#define SPATE_CLASSIFIER_RULESET_GEN_H

#include <cstdint>
#include <string>
#include <vector>

#include "classifier/flow.h"

namespace spate::cls {

enum class RuleSetKind { kAcl, kFirewall, kIpChain };

// The name used in benchmark labels: "acl", "fw", "ipc".
const char* RuleSetName(RuleSetKind kind);

// One 5-tuple filter before range expansion.
struct FiveTupleRule {
  uint32_t src = 0;        // Source address (host order).
  uint32_t dst = 0;        // Destination address.
  int src_len = 0;         // Source prefix length 0..32.
  int dst_len = 0;         // Destination prefix length 0..32.
  uint16_t sport_lo = 0;   // Source port range, inclusive.
  uint16_t sport_hi = 65535;
  uint16_t dport_lo = 0;   // Destination port range, inclusive.
  uint16_t dport_hi = 65535;
  uint8_t proto = 0;       // IP protocol ...
  bool proto_any = true;   // ... or any.
  int32_t priority = 0;    // Higher wins.
};

// One expanded rule: a Match and its priority.
struct ExpandedRule {
  Match match;         // dl_type=ip plus the 5-tuple in prefix/mask form.
  int32_t priority;    // From the FiveTupleRule.
};

// `n` filters of `kind`.
std::vector<FiveTupleRule> GenerateRuleSet(RuleSetKind kind, int n, uint64_t seed);

// Port range [lo, hi] as (value, mask) prefixes, fewest first-fit.
std::vector<std::pair<uint16_t, uint16_t>> RangeToPrefixes(uint16_t lo, uint16_t hi);

// Every filter expanded into prefix/mask Matches (cross product of ranges).
std::vector<ExpandedRule> ExpandRules(const std::vector<FiveTupleRule>& rules);

// `n` header keys: 90% inside a random filter, 10% random.
std::vector<FlowKey> GenerateTrace(const std::vector<FiveTupleRule>& rules, int n,
                                   uint64_t seed);

}  // namespace spate::cls

#endif  // SPATE_CLASSIFIER_RULESET_GEN_H
