// Evaluate and MatchListAccepts: the direct semantics of expressions and of
// conjunctive rule sets, used as the reference in model tests; see compile.h.
#include <map>
#include <set>

#include "expr/compile.h"

namespace spate::expr {
namespace {

Uint128 AllOnes(int bits) {
  if (bits >= 128) return ~Uint128{0};
  return bits <= 0 ? 0 : (Uint128{1} << bits) - 1;
}

int TrailingZeros(Uint128 v) {
  int n = 0;
  while (n < 128 && !(v & 1)) {
    v >>= 1;
    ++n;
  }
  return n;
}

// The symbol's current value in `key`, in the symbol's own bit positions.
Uint128 SymbolValue(const Symbol* s, const cls::FlowKey& key) {
  if (s->kind == SymbolKind::kSubfield) {
    return (SymbolValue(s->parent, key) >> s->parent_offset) & AllOnes(s->width);
  }
  cls::U128 v = key.Get128(s->field);
  return (Uint128{v.hi} << 64 | v.lo) & AllOnes(s->width);
}

bool EvaluateCmp(const Expr& e, const cls::FlowKey& key, const PortLookup& lookup) {
  const Symbol* s = e.symbol;
  if (s->kind == SymbolKind::kPredicate) {
    bool v = Evaluate(*s->expansion, key, lookup);
    return e.relop == Relop::kEq ? v : !v;
  }
  if (s->is_string) {
    std::optional<uint32_t> port = lookup(e.string);
    bool eq = port && *port == key.Get(s->field);
    return e.relop == Relop::kEq ? eq : !eq;
  }
  Uint128 x = SymbolValue(s, key) & e.mask;
  int ofs = TrailingZeros(e.mask);
  Uint128 xs = ofs < 128 ? x >> ofs : 0;
  Uint128 vs = ofs < 128 ? e.value >> ofs : 0;
  switch (e.relop) {
    case Relop::kEq: return x == e.value;
    case Relop::kNe: return x != e.value;
    case Relop::kLt: return xs < vs;
    case Relop::kLe: return xs <= vs;
    case Relop::kGt: return xs > vs;
    case Relop::kGe: return xs >= vs;
  }
  return false;
}

}  // namespace

bool Evaluate(const Expr& e, const cls::FlowKey& key, const PortLookup& lookup) {
  switch (e.type) {
    case ExprType::kBoolean:
      return e.boolean;
    case ExprType::kCmp:
      return EvaluateCmp(e, key, lookup);
    case ExprType::kAnd:
      for (const Expr& c : e.children) {
        if (!Evaluate(c, key, lookup)) return false;
      }
      return true;
    case ExprType::kOr:
      for (const Expr& c : e.children) {
        if (Evaluate(c, key, lookup)) return true;
      }
      return false;
  }
  return false;
}

bool MatchListAccepts(const MatchList& list, const cls::FlowKey& key) {
  std::map<uint32_t, std::set<int>> clauses_hit;  // conj id -> clauses matched
  std::map<uint32_t, int> n_clauses;
  for (const ExprMatch& m : list.matches) {
    if (m.match.GetMask(cls::Field::kConjId) != 0) continue;  // Action rules.
    if (!m.match.Matches(key)) continue;
    if (m.conjunctions.empty()) return true;
    for (const cls::Conjunction& c : m.conjunctions) {
      clauses_hit[c.id].insert(c.clause);
      n_clauses[c.id] = c.n_clauses;
    }
  }
  for (const auto& [id, hit] : clauses_hit) {
    if (static_cast<int>(hit.size()) == n_clauses[id]) return true;
  }
  return false;
}

}  // namespace spate::expr
