// Expr construction, printing, negation and annotation; see expr.h.
#include "expr/expr.h"

#include <algorithm>

namespace spate::expr {
namespace {

int TrailingZeros(Uint128 v) {
  int n = 0;
  while (n < 128 && !(v & 1)) {
    v >>= 1;
    ++n;
  }
  return n;
}

Uint128 AllOnes(int bits) {
  if (bits >= 128) return ~Uint128{0};
  return bits <= 0 ? 0 : (Uint128{1} << bits) - 1;
}

const char* RelopText(Relop r) {
  switch (r) {
    case Relop::kEq: return "==";
    case Relop::kNe: return "!=";
    case Relop::kLt: return "<";
    case Relop::kLe: return "<=";
    case Relop::kGt: return ">";
    case Relop::kGe: return ">=";
  }
  return "?";
}

Relop InvertRelop(Relop r) {
  switch (r) {
    case Relop::kEq: return Relop::kNe;
    case Relop::kNe: return Relop::kEq;
    case Relop::kLt: return Relop::kGe;
    case Relop::kLe: return Relop::kGt;
    case Relop::kGt: return Relop::kLe;
    case Relop::kGe: return Relop::kLt;
  }
  return r;
}

std::string CmpToString(const Expr& e) {
  const Symbol* s = e.symbol;
  if (s->kind == SymbolKind::kPredicate) {
    return e.relop == Relop::kEq ? s->name : "!" + s->name;
  }
  std::string op = std::string(" ") + RelopText(e.relop) + " ";
  if (s->is_string) return s->name + op + QuoteString(e.string);
  if (e.mask == AllOnes(s->width)) return s->name + op + FormatHex(e.value);
  int lo = TrailingZeros(e.mask);
  Uint128 shifted = e.mask >> lo;
  if ((shifted & (shifted + 1)) == 0) {  // Contiguous: a subfield.
    int hi = lo;
    while (hi < 127 && ((e.mask >> (hi + 1)) & 1)) ++hi;
    std::string range = lo == hi ? std::to_string(lo)
                                 : std::to_string(lo) + ".." + std::to_string(hi);
    return s->name + "[" + range + "]" + op + FormatHex(e.value >> lo);
  }
  return s->name + op + FormatHex(e.value) + "/" + FormatHex(e.mask);
}

// Flattens `operands` into an AND (is_and) or OR node, folding constants.
Expr Combine(std::vector<Expr> operands, bool is_and) {
  ExprType type = is_and ? ExprType::kAnd : ExprType::kOr;
  std::vector<Expr> out;
  out.reserve(operands.size());
  for (Expr& e : operands) {
    if (e.type == ExprType::kBoolean) {
      if (e.boolean != is_and) return Expr::Bool(!is_and);  // Absorbing.
      continue;                                             // Identity.
    }
    if (e.type == type) {
      for (Expr& c : e.children) out.push_back(std::move(c));
    } else {
      out.push_back(std::move(e));
    }
  }
  if (out.empty()) return Expr::Bool(is_and);
  if (out.size() == 1) return std::move(out[0]);
  Expr e;
  e.type = type;
  e.children = std::move(out);
  return e;
}

Result<Expr> AnnotateRec(const Expr& e, std::vector<const Symbol*>* nesting);

// Annotates one comparison; its symbol's own prerequisites are ANDed in
// unless `add_prereqs` is false (the caller hoisted them).
Result<Expr> AnnotateCmp(const Expr& e, std::vector<const Symbol*>* nesting,
                         bool add_prereqs) {
  const Symbol* s = e.symbol;
  if (std::find(nesting->begin(), nesting->end(), s) != nesting->end()) {
    return Error("syntax error", "recursive expansion of symbol `" + s->name + "'");
  }
  nesting->push_back(s);
  Result<Expr> out = e;
  if (s->kind == SymbolKind::kSubfield) {
    Expr c = e;
    c.symbol = s->parent;
    c.value <<= s->parent_offset;
    c.mask <<= s->parent_offset;
    out = AnnotateRec(c, nesting);
  } else if (s->kind == SymbolKind::kPredicate) {
    Expr x = *s->expansion;
    out = AnnotateRec(e.relop == Relop::kEq ? x : Not(std::move(x)), nesting);
  }
  if (out.ok() && s->prereqs && add_prereqs) {
    Result<Expr> p = AnnotateRec(*s->prereqs, nesting);
    if (!p.ok()) {
      out = p.error();
    } else {
      std::vector<Expr> both;
      both.push_back(std::move(*out));
      both.push_back(std::move(*p));
      out = Expr::And(std::move(both));
    }
  }
  nesting->pop_back();
  return out;
}

Result<Expr> AnnotateRec(const Expr& e, std::vector<const Symbol*>* nesting) {
  switch (e.type) {
    case ExprType::kBoolean:
      return e;
    case ExprType::kCmp:
      return AnnotateCmp(e, nesting, true);
    case ExprType::kAnd:
    case ExprType::kOr: {
      // A set on one symbol (`tcp.dst == {80, 443}`) gets the symbol's
      // prerequisites once: (a && P) || (b && P) == (a || b) && P.
      const Symbol* shared = e.children[0].symbol;
      for (const Expr& c : e.children) {
        if (c.type != ExprType::kCmp || c.symbol != shared) shared = nullptr;
      }
      std::vector<Expr> children;
      children.reserve(e.children.size());
      for (const Expr& c : e.children) {
        Result<Expr> a = c.type == ExprType::kCmp ? AnnotateCmp(c, nesting, shared == nullptr)
                                                  : AnnotateRec(c, nesting);
        if (!a.ok()) return a.error();
        children.push_back(std::move(*a));
      }
      Expr combined = Combine(std::move(children), e.type == ExprType::kAnd);
      if (shared == nullptr || !shared->prereqs) return combined;
      Result<Expr> p = AnnotateRec(*shared->prereqs, nesting);
      if (!p.ok()) return p.error();
      std::vector<Expr> both;
      both.push_back(std::move(combined));
      both.push_back(std::move(*p));
      return Combine(std::move(both), true);
    }
  }
  return e;
}

}  // namespace

Expr Expr::Bool(bool b) {
  Expr e;
  e.type = ExprType::kBoolean;
  e.boolean = b;
  return e;
}

Expr Expr::Cmp(const Symbol* symbol, Relop relop, Uint128 value, Uint128 mask) {
  Expr e;
  e.type = ExprType::kCmp;
  e.symbol = symbol;
  e.relop = relop;
  e.value = value & mask;
  e.mask = mask;
  return e;
}

Expr Expr::StringCmp(const Symbol* symbol, Relop relop, std::string s) {
  Expr e;
  e.type = ExprType::kCmp;
  e.symbol = symbol;
  e.relop = relop;
  e.string = std::move(s);
  return e;
}

Expr Expr::And(std::vector<Expr> operands) { return Combine(std::move(operands), true); }
Expr Expr::Or(std::vector<Expr> operands) { return Combine(std::move(operands), false); }

std::string Expr::ToString() const {
  switch (type) {
    case ExprType::kBoolean:
      return boolean ? "1" : "0";
    case ExprType::kCmp:
      return CmpToString(*this);
    case ExprType::kAnd:
    case ExprType::kOr: {
      std::string out;
      for (const Expr& c : children) {
        if (!out.empty()) out += type == ExprType::kAnd ? " && " : " || ";
        bool paren = c.type == ExprType::kAnd || c.type == ExprType::kOr;
        out += paren ? "(" + c.ToString() + ")" : c.ToString();
      }
      return out;
    }
  }
  return "";
}

Expr Not(Expr e) {
  switch (e.type) {
    case ExprType::kBoolean:
      e.boolean = !e.boolean;
      return e;
    case ExprType::kCmp:
      e.relop = InvertRelop(e.relop);
      return e;
    case ExprType::kAnd:
    case ExprType::kOr: {
      std::vector<Expr> children;
      children.reserve(e.children.size());
      for (Expr& c : e.children) children.push_back(Not(std::move(c)));
      return e.type == ExprType::kAnd ? Expr::Or(std::move(children))
                                      : Expr::And(std::move(children));
    }
  }
  return e;
}

Result<Expr> Annotate(const Expr& e) {
  std::vector<const Symbol*> nesting;
  return AnnotateRec(e, &nesting);
}

}  // namespace spate::expr
