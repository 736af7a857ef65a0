// Internal: the disjunctive normal form shared by Normalize and ToMatches
// (compile.h explains the algorithm).  Not part of the public API.
#ifndef SPATE_EXPR_DNF_H
#define SPATE_EXPR_DNF_H

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "expr/expr.h"

namespace spate::expr::internal {

// One alternative of a field: value/mask (integer fields) or a string.
struct Alt {
  Uint128 value = 0;   // Compared bits' values.
  Uint128 mask = 0;    // Compared bits.
  std::string string;  // String fields: the port name.

  bool operator==(const Alt&) const = default;
  bool operator<(const Alt& o) const {
    if (value != o.value) return value < o.value;
    if (mask != o.mask) return mask < o.mask;
    return string < o.string;
  }
};

// Orders symbols by name, so terms print and convert deterministically.
struct SymbolByName {
  bool operator()(const Symbol* a, const Symbol* b) const { return a->name < b->name; }
};

// A conjunction: every field's value is one of its alternatives.  One
// alternative is a plain comparison, several are a clause.  Empty: true.
using Term = std::map<const Symbol*, std::vector<Alt>, SymbolByName>;

// A disjunction of terms.  Empty: false.
using Dnf = std::vector<Term>;

// The DNF of a simplified expression (only `==` comparisons).  Errors:
// another operator, or more than kMaxTerms terms.
Result<Dnf> ToDnf(const Expr& simplified);

// The expression form of `dnf` (OR of ANDs of CMPs and single-field ORs).
Expr FromDnf(const Dnf& dnf);

}  // namespace spate::expr::internal

#endif  // SPATE_EXPR_DNF_H
