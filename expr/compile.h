// From an annotated match expression to classifier matches (reference 5.4).
//
// What it is
//   The back half of ovn-controller's match pipeline:
//     ParseMatch -> AND action prerequisites -> Annotate   (expr.h)
//     -> Simplify -> Normalize -> ToMatches                (this header)
//   ToMatches yields cls::Match values ready for the classifier, using
//   conjunctive matches (`conjunction(id, k/n)`) where a cross product of
//   independent sets would explode, as OVN does.  CompileMatch runs the
//   whole pipeline.  Evaluate tests an expression directly against a flow
//   key: the reference semantics the model test holds ToMatches to.
//
// Design
//   Simplify rewrites every `!=` and ordering comparison on integer fields
//   into `==` tests: `x != v/m` becomes the OR over each masked bit b of
//   `x[b] == !v[b]`; `x < v`, `x >= v` etc. become an OR of masked-prefix
//   equalities (the bitwise range decomposition; at most n terms for an
//   n-bit subfield; an impossible range is `0`, a full one `1`).
//
//   Normalize computes a disjunction of terms.  A term maps each field to a
//   set of alternative value/mask pairs (one: a plain comparison; several:
//   a "clause", an OR on that one field).  ANDing terms intersects the
//   alternatives field by field (a contradiction drops the term); in an OR,
//   terms that differ in one field only merge into one term with a clause
//   on that field, (C && x == a) || (C && x == b) -> C && x in {a, b},
//   unless the field is must-crossproduct (eth.type, ip.proto, icmp6.*);
//   ORs that cannot merge are distributed over the AND.  The result prints
//   as an OR of ANDs of comparisons and single-field ORs.  More than
//   kMaxTerms terms is an error rather than an unbounded expansion.
//
//   ToMatches turns each term into flows: no clause -> one flow; one clause
//   -> one flow per alternative; n >= 2 clauses -> conjunction id
//   `conj_id_base + i`: each alternative of clause k becomes a flow with
//   Conjunction{id, k, n} (plus the term's plain comparisons), and one flow
//   matching only `conj_id == id` carries the actions.  Flows with equal
//   matches are merged: conjunction lists concatenate, and a flow without
//   conjunctions (it carries the actions by itself) wins.  String fields
//   (inport/outport) go through the caller's PortLookup; an unknown name
//   makes that comparison false (its flows are omitted).
//
// Thread-safety
//   Pure functions.  PortLookup is called on the caller's thread.
#ifndef SPATE_EXPR_COMPILE_H
#define SPATE_EXPR_COMPILE_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "classifier/classifier.h"
#include "classifier/flow.h"
#include "common/result.h"
#include "expr/expr.h"

namespace spate::expr {

// Limit on the number of terms Normalize may produce.
inline constexpr size_t kMaxTerms = 1 << 13;

// Resolves a logical port name (the value of an inport/outport comparison)
// to its number in the key (log_inport / log_outport); nullopt if unknown.
using PortLookup = std::function<std::optional<uint32_t>(std::string_view name)>;

// One classifier rule produced from a match.
struct ExprMatch {
  cls::Match match;                            // What the rule matches.
  std::vector<cls::Conjunction> conjunctions;  // Empty: the rule carries the
                                               // flow's actions; else it is
                                               // conjunctive (these clauses).
};

// The rules of one logical flow's match.
struct MatchList {
  std::vector<ExprMatch> matches;  // In a deterministic order.
  uint32_t n_conj_ids = 0;         // Conjunction ids used: conj_id_base ..
                                   // conj_id_base + n_conj_ids - 1.
};

// Rewrites `!=` and ordering comparisons on integer fields of an annotated
// expression into `==` tests (see above).  Other nodes are kept.
Expr Simplify(const Expr& annotated);

// The normal form of a simplified expression (see above).  Errors (tag
// "syntax error"): a comparison other than `==` remains, or more than
// kMaxTerms terms.
Result<Expr> Normalize(const Expr& simplified);

// Classifier matches for a simplified or normalized expression.  Conjunction
// ids start at `conj_id_base` (>= 1 when conjunctions are needed).
// `lookup` resolves port names.  Errors: as Normalize; base 0 with a
// conjunction; more than 64 clauses in one term.
Result<MatchList> ToMatches(const Expr& expr, const PortLookup& lookup,
                            uint32_t conj_id_base);

// The whole pipeline: parse `match` with `symbols`, AND `prerequisites`
// (e.g. from ParseActions; Expr::Bool(true) for none), annotate, simplify,
// normalize, convert.  Errors: those of each stage.
Result<MatchList> CompileMatch(std::string_view match, const Expr& prerequisites,
                               const SymbolTable& symbols, const PortLookup& lookup,
                               uint32_t conj_id_base);

// True when `key` satisfies `e` (any stage: fields, subfields, predicates,
// strings through `lookup`, all operators).  Prerequisites are only checked
// if `e` was annotated.
bool Evaluate(const Expr& e, const cls::FlowKey& key, const PortLookup& lookup);

// True when the rules in `list` accept `key` under OVS conjunction
// semantics: some rule without conjunctions matches (other than the
// conj_id rules), or for some id every clause 1..n has a matching rule.
bool MatchListAccepts(const MatchList& list, const cls::FlowKey& key);

}  // namespace spate::expr

#endif  // SPATE_EXPR_COMPILE_H
