// Simplify: `!=` and ordering comparisons into `==` tests; see compile.h.
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

int TrailingOnes(Uint128 v) { return TrailingZeros(~v); }

// A subfield x = bits ofs..ofs+n_bits-1 of `field`, as the target of the
// range decomposition.
struct Subfield {
  const Symbol* field;  // The field symbol.
  int ofs;              // LSB of x in the field.
  int n_bits;           // Width of x.

  // `x[b..n_bits-1] == w`.
  Expr HighBitsEqual(int b, Uint128 w) const {
    int shift = ofs + b;
    return Expr::Cmp(field, Relop::kEq, w << shift, AllOnes(n_bits - b) << shift);
  }
};

// x >= v: x's bits from the lowest set bit t of v up equal v's, or at a
// zero bit b > t of v, x has a one and the bits above match.
Expr AtLeast(const Subfield& x, Uint128 v) {
  if (v == 0) return Expr::Bool(true);
  int t = TrailingZeros(v);
  std::vector<Expr> terms;
  terms.push_back(x.HighBitsEqual(t, v >> t));
  for (int b = t + 1; b < x.n_bits; ++b) {
    if (!((v >> b) & 1)) terms.push_back(x.HighBitsEqual(b, (v >> b) | 1));
  }
  return Expr::Or(std::move(terms));
}

// x <= v: the mirror image, over the trailing ones of v.
Expr AtMost(const Subfield& x, Uint128 v) {
  Uint128 max = AllOnes(x.n_bits);
  if (v >= max) return Expr::Bool(true);
  int t = TrailingOnes(v);
  std::vector<Expr> terms;
  terms.push_back(x.HighBitsEqual(t, v >> t));
  for (int b = t + 1; b < x.n_bits; ++b) {
    if ((v >> b) & 1) terms.push_back(x.HighBitsEqual(b, (v >> b) & ~Uint128{1}));
  }
  return Expr::Or(std::move(terms));
}

Expr SimplifyCmp(const Expr& e) {
  if (e.symbol->kind != SymbolKind::kField || e.symbol->is_string || e.relop == Relop::kEq) {
    return e;
  }
  if (e.relop == Relop::kNe) {
    std::vector<Expr> bits;
    for (int b = 0; b < 128; ++b) {
      Uint128 bit = Uint128{1} << b;
      if (e.mask & bit) bits.push_back(Expr::Cmp(e.symbol, Relop::kEq, ~e.value & bit, bit));
    }
    return Expr::Or(std::move(bits));
  }
  Subfield x{e.symbol, TrailingZeros(e.mask), 0};
  Uint128 m = e.mask >> x.ofs;
  while (x.n_bits < 128 && ((m >> x.n_bits) & 1)) ++x.n_bits;
  Uint128 v = e.value >> x.ofs;
  Uint128 max = AllOnes(x.n_bits);
  switch (e.relop) {
    case Relop::kLt: return v == 0 ? Expr::Bool(false) : AtMost(x, v - 1);
    case Relop::kLe: return AtMost(x, v);
    case Relop::kGt: return v >= max ? Expr::Bool(false) : AtLeast(x, v + 1);
    case Relop::kGe: return AtLeast(x, v);
    default: return e;
  }
}

}  // namespace

Expr Simplify(const Expr& annotated) {
  switch (annotated.type) {
    case ExprType::kBoolean:
      return annotated;
    case ExprType::kCmp:
      return SimplifyCmp(annotated);
    case ExprType::kAnd:
    case ExprType::kOr: {
      std::vector<Expr> children;
      children.reserve(annotated.children.size());
      for (const Expr& c : annotated.children) children.push_back(Simplify(c));
      return annotated.type == ExprType::kAnd ? Expr::And(std::move(children))
                                              : Expr::Or(std::move(children));
    }
  }
  return annotated;
}

}  // namespace spate::expr
