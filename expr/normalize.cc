// Normalize: disjunctive normal form with single-field clauses; see
// compile.h for the algorithm and dnf.h for the representation.
#include <algorithm>
#include <optional>
#include <set>

#include "expr/compile.h"
#include "expr/dnf.h"

namespace spate::expr {
namespace internal {
namespace {

enum class AndResult { kOk, kFalse, kTooBig };

Error TooComplex() {
  return Error("syntax error", "expression too complex to normalize (more than " +
                                   std::to_string(kMaxTerms) + " terms)");
}

std::optional<Alt> Intersect(const Alt& a, const Alt& b, bool is_string) {
  if (is_string) return a.string == b.string ? std::optional<Alt>(a) : std::nullopt;
  if ((a.value ^ b.value) & a.mask & b.mask) return std::nullopt;
  return Alt{a.value | b.value, a.mask | b.mask, {}};
}

void SortUnique(std::vector<Alt>* alts) {
  std::sort(alts->begin(), alts->end());
  alts->erase(std::unique(alts->begin(), alts->end()), alts->end());
}

// *a = *a AND b, intersecting the alternatives of shared fields.
AndResult AndInto(Term* a, const Term& b) {
  for (const auto& [symbol, alts] : b) {
    auto it = a->find(symbol);
    if (it == a->end()) {
      a->emplace(symbol, alts);
      continue;
    }
    if (it->second.size() * alts.size() > kMaxTerms) return AndResult::kTooBig;
    std::vector<Alt> out;
    for (const Alt& x : it->second) {
      for (const Alt& y : alts) {
        if (std::optional<Alt> z = Intersect(x, y, symbol->is_string)) out.push_back(*z);
      }
    }
    SortUnique(&out);
    if (out.empty()) return AndResult::kFalse;
    it->second = std::move(out);
  }
  return AndResult::kOk;
}

// `t` without field `s`.
Term Without(const Term& t, const Symbol* s) {
  Term rest = t;
  rest.erase(s);
  return rest;
}

// Merges terms that differ in only one field into one term with a clause
// on that field: (C && s in A) || (C && s in B) == C && s in (A u B).
// Must-crossproduct fields never become clauses.  `index_` maps (field,
// rest of term) to the term in `out_` it describes; it is kept exact as
// terms grow, so every merge is sound.
class OrMerger {
 public:
  void Add(Term t) {
    for (const auto& [s, alts] : t) {
      if (s->must_crossproduct) continue;
      auto it = index_.find({s, Without(t, s)});
      if (it == index_.end()) continue;
      size_t target = it->second;
      Unindex(target, s);
      std::vector<Alt>& dst = out_[target][s];
      dst.insert(dst.end(), alts.begin(), alts.end());
      SortUnique(&dst);
      Index(target);
      return;
    }
    out_.push_back(std::move(t));
    Index(out_.size() - 1);
  }

  Dnf Finish() {
    Dnf unique;
    std::set<Term> seen;
    for (Term& t : out_) {
      if (seen.insert(t).second) unique.push_back(std::move(t));
    }
    return unique;
  }

 private:
  using Key = std::pair<const Symbol*, Term>;

  // Drops the entries for out_[i] keyed on fields other than `keep`.
  void Unindex(size_t i, const Symbol* keep) {
    for (const auto& [s, alts] : out_[i]) {
      if (s == keep || s->must_crossproduct) continue;
      auto it = index_.find({s, Without(out_[i], s)});
      if (it != index_.end() && it->second == i) index_.erase(it);
    }
  }
  void Index(size_t i) {
    for (const auto& [s, alts] : out_[i]) {
      if (!s->must_crossproduct) index_.emplace(Key{s, Without(out_[i], s)}, i);
    }
  }

  Dnf out_;
  std::map<Key, size_t> index_;
};

// Simplifies a disjunction: a true term absorbs all; terms differing in one
// field merge (OrMerger); duplicates go.  Order is otherwise kept.
Dnf MergeOr(Dnf terms) {
  for (const Term& t : terms) {
    if (t.empty()) return Dnf{Term{}};
  }
  OrMerger merger;
  for (Term& t : terms) merger.Add(std::move(t));
  return merger.Finish();
}

Result<Dnf> AndDnf(const Expr& e) {
  Dnf acc{Term{}};
  for (const Expr& child : e.children) {
    Result<Dnf> d = ToDnf(child);
    if (!d.ok()) return d.error();
    Dnf next;
    for (const Term& t : acc) {
      for (const Term& u : *d) {
        Term x = t;
        AndResult r = AndInto(&x, u);
        if (r == AndResult::kTooBig) return TooComplex();
        if (r == AndResult::kOk) next.push_back(std::move(x));
        if (next.size() > kMaxTerms) return TooComplex();
      }
    }
    acc = MergeOr(std::move(next));
    if (acc.empty()) break;
  }
  return acc;
}

}  // namespace

Result<Dnf> ToDnf(const Expr& e) {
  switch (e.type) {
    case ExprType::kBoolean:
      return e.boolean ? Dnf{Term{}} : Dnf{};
    case ExprType::kCmp: {
      if (e.relop != Relop::kEq || e.symbol->kind != SymbolKind::kField) {
        return Error("syntax error", "cannot normalize `" + e.ToString() +
                                         "': annotate and simplify first");
      }
      Term t;
      t[e.symbol].push_back(Alt{e.value, e.mask, e.string});
      return Dnf{std::move(t)};
    }
    case ExprType::kOr: {
      Dnf all;
      for (const Expr& child : e.children) {
        Result<Dnf> d = ToDnf(child);
        if (!d.ok()) return d.error();
        for (Term& t : *d) all.push_back(std::move(t));
        if (all.size() > kMaxTerms) return TooComplex();
      }
      return MergeOr(std::move(all));
    }
    case ExprType::kAnd:
      return AndDnf(e);
  }
  return Dnf{};
}

Expr FromDnf(const Dnf& dnf) {
  std::vector<Expr> terms;
  for (const Term& t : dnf) {
    std::vector<Expr> fields;
    for (const auto& [symbol, alts] : t) {
      std::vector<Expr> cmps;
      for (const Alt& a : alts) {
        cmps.push_back(symbol->is_string ? Expr::StringCmp(symbol, Relop::kEq, a.string)
                                         : Expr::Cmp(symbol, Relop::kEq, a.value, a.mask));
      }
      fields.push_back(Expr::Or(std::move(cmps)));
    }
    terms.push_back(Expr::And(std::move(fields)));
  }
  return Expr::Or(std::move(terms));
}

}  // namespace internal

Result<Expr> Normalize(const Expr& simplified) {
  Result<internal::Dnf> dnf = internal::ToDnf(simplified);
  if (!dnf.ok()) return dnf.error();
  return internal::FromDnf(*dnf);
}

}  // namespace spate::expr
