// ToMatches and CompileMatch: normalized terms to classifier matches; see
// compile.h.
#include <algorithm>
#include <cstring>
#include <map>

#include "expr/compile.h"
#include "expr/dnf.h"

namespace spate::expr {
namespace {

using internal::Alt;
using internal::Dnf;
using internal::Term;

constexpr int kMaxClauses = 64;  // cls::Conjunction::n_clauses limit.

cls::U128 ToU128(Uint128 v) {
  return cls::U128{static_cast<uint64_t>(v >> 64), static_cast<uint64_t>(v)};
}
Uint128 FromU128(cls::U128 v) { return Uint128{v.hi} << 64 | v.lo; }

// ANDs `field == value/mask` into *m; false on a contradiction.
bool AddToMatch(cls::Match* m, cls::Field field, Uint128 value, Uint128 mask) {
  Uint128 old_mask = FromU128(m->GetMask128(field));
  Uint128 old_value = FromU128(m->key.Get128(field)) & old_mask;
  if ((old_value ^ value) & old_mask & mask) return false;
  m->SetMasked128(field, ToU128(old_value | value), ToU128(old_mask | mask));
  return true;
}

// Orders matches bytewise, to merge equal ones.
struct MatchLess {
  bool operator()(const cls::Match& a, const cls::Match& b) const {
    int c = std::memcmp(&a.mask, &b.mask, sizeof a.mask);
    return c != 0 ? c < 0 : std::memcmp(&a.key, &b.key, sizeof a.key) < 0;
  }
};

// A field's alternatives with strings resolved to numbers.
struct Resolved {
  cls::Field field;           // Key field.
  std::vector<Alt> alts;      // Integer alternatives (unknown ports dropped).
};

class Builder {
 public:
  Builder(const PortLookup& lookup, uint32_t conj_id_base)
      : lookup_(lookup), conj_id_base_(conj_id_base) {}

  Status AddTerm(const Term& term);
  MatchList Finish() { return std::move(list_); }

 private:
  Resolved Resolve(const Symbol* symbol, const std::vector<Alt>& alts) const;
  void Add(const cls::Match& m, const std::vector<cls::Conjunction>& conjunctions);

  const PortLookup& lookup_;
  uint32_t conj_id_base_;
  MatchList list_;
  std::map<cls::Match, size_t, MatchLess> index_;  // Match -> position in list_.
};

Resolved Builder::Resolve(const Symbol* symbol, const std::vector<Alt>& alts) const {
  Resolved r{symbol->field, {}};
  for (const Alt& a : alts) {
    if (!symbol->is_string) {
      r.alts.push_back(a);
    } else if (std::optional<uint32_t> port = lookup_(a.string)) {
      r.alts.push_back(Alt{*port, 0xffffffffu, {}});
    }
  }
  if (symbol->is_string) {  // Two names may map to one port number.
    std::sort(r.alts.begin(), r.alts.end());
    r.alts.erase(std::unique(r.alts.begin(), r.alts.end()), r.alts.end());
  }
  return r;
}

void Builder::Add(const cls::Match& m, const std::vector<cls::Conjunction>& conjunctions) {
  auto [it, inserted] = index_.emplace(m, list_.matches.size());
  if (inserted) {
    list_.matches.push_back(ExprMatch{m, conjunctions});
    return;
  }
  std::vector<cls::Conjunction>& existing = list_.matches[it->second].conjunctions;
  if (existing.empty()) return;  // Already unconditional: it wins.
  if (conjunctions.empty()) {
    existing.clear();
  } else {
    for (const cls::Conjunction& c : conjunctions) {
      if (std::find(existing.begin(), existing.end(), c) == existing.end()) {
        existing.push_back(c);
      }
    }
  }
}

Status Builder::AddTerm(const Term& term) {
  cls::Match base;
  std::vector<Resolved> clauses;
  for (const auto& [symbol, alts] : term) {
    Resolved r = Resolve(symbol, alts);
    if (r.alts.empty()) return Status::Ok();  // Unknown port: the term is false.
    if (r.alts.size() > 1) {
      clauses.push_back(std::move(r));
    } else if (!AddToMatch(&base, r.field, r.alts[0].value, r.alts[0].mask)) {
      return Status::Ok();  // Contradiction (fields sharing key storage).
    }
  }
  // Each clause's flows: the base plus one alternative.
  std::vector<std::vector<cls::Match>> flows(clauses.size());
  for (size_t k = 0; k < clauses.size(); ++k) {
    for (const Alt& a : clauses[k].alts) {
      cls::Match m = base;
      if (AddToMatch(&m, clauses[k].field, a.value, a.mask)) flows[k].push_back(m);
    }
    if (flows[k].empty()) return Status::Ok();
  }
  if (clauses.empty()) {
    Add(base, {});
  } else if (clauses.size() == 1) {
    for (const cls::Match& m : flows[0]) Add(m, {});
  } else {
    if (clauses.size() > kMaxClauses) {
      return Error("syntax error", "more than 64 independent clauses in one term");
    }
    if (conj_id_base_ == 0) {
      return Error("syntax error", "conjunction id base must be at least 1");
    }
    uint32_t id = conj_id_base_ + list_.n_conj_ids++;
    uint8_t n = static_cast<uint8_t>(clauses.size());
    for (size_t k = 0; k < flows.size(); ++k) {
      cls::Conjunction c{id, static_cast<uint8_t>(k + 1), n};
      for (const cls::Match& m : flows[k]) Add(m, {c});
    }
    cls::Match actions;
    actions.Set(cls::Field::kConjId, id);
    Add(actions, {});
  }
  return Status::Ok();
}

}  // namespace

Result<MatchList> ToMatches(const Expr& expr, const PortLookup& lookup,
                            uint32_t conj_id_base) {
  Result<Dnf> dnf = internal::ToDnf(expr);
  if (!dnf.ok()) return dnf.error();
  Builder builder(lookup, conj_id_base);
  for (const Term& t : *dnf) {
    Status s = builder.AddTerm(t);
    if (!s.ok()) return s.error();
  }
  return builder.Finish();
}

Result<MatchList> CompileMatch(std::string_view match, const Expr& prerequisites,
                               const SymbolTable& symbols, const PortLookup& lookup,
                               uint32_t conj_id_base) {
  Result<Expr> parsed = ParseMatch(match, symbols);
  if (!parsed.ok()) return parsed.error();
  std::vector<Expr> both;
  both.push_back(std::move(*parsed));
  both.push_back(prerequisites);
  Result<Expr> annotated = Annotate(Expr::And(std::move(both)));
  if (!annotated.ok()) return annotated.error();
  return ToMatches(Simplify(*annotated), lookup, conj_id_base);
}

}  // namespace spate::expr
