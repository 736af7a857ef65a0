// Parser of match expressions (reference 5.3); see expr.h.
//
// Recursive descent over the token vector:
//   expr    := unary (('&&' | '||') unary)*     -- no mixing without parens
//   unary   := '!' primary | primary            -- primary must be atomic
//   primary := '(' expr ')' | field [relop constants]
//            | constants [relop field [relop constants]]
//   field   := identifier ['[' int ['..' int] ']']
// `!` is applied at once (expr.h has no NOT node); `not_` counts the
// enclosing negations so nominal fields can be checked for equality as it
// will end up after negation.
#include <optional>

#include "expr/compile.h"
#include "expr/dnf.h"
#include "expr/expr.h"

namespace spate::expr {
namespace {

constexpr int kMaxDepth = 64;  // Parenthesis nesting limit (stack safety).

Uint128 AllOnes(int bits) {
  if (bits >= 128) return ~Uint128{0};
  return bits <= 0 ? 0 : (Uint128{1} << bits) - 1;
}

int BitWidth(Uint128 v) {
  int n = 0;
  while (v != 0) {
    ++n;
    v >>= 1;
  }
  return n;
}

bool IsRelop(TokenType t) {
  return t == TokenType::kEq || t == TokenType::kNe || t == TokenType::kLt ||
         t == TokenType::kLe || t == TokenType::kGt || t == TokenType::kGe;
}

Relop ToRelop(TokenType t) {
  switch (t) {
    case TokenType::kNe: return Relop::kNe;
    case TokenType::kLt: return Relop::kLt;
    case TokenType::kLe: return Relop::kLe;
    case TokenType::kGt: return Relop::kGt;
    case TokenType::kGe: return Relop::kGe;
    default: return Relop::kEq;
  }
}

// `c OP field` means `field Reverse(OP) c`.
Relop Reverse(Relop r) {
  switch (r) {
    case Relop::kLt: return Relop::kGt;
    case Relop::kLe: return Relop::kGe;
    case Relop::kGt: return Relop::kLt;
    case Relop::kGe: return Relop::kLe;
    default: return r;
  }
}

Relop Invert(Relop r) {
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

// A field reference: a symbol, or bits ofs..ofs+n_bits-1 of it.
struct FieldRef {
  const Symbol* symbol = nullptr;  // The named symbol.
  int ofs = 0;                     // First selected bit.
  int n_bits = 0;                  // Selected width (symbol width if whole).
  bool subscripted = false;        // Written with [..].

  std::string Name() const {
    if (!subscripted) return symbol->name;
    if (n_bits == 1) return symbol->name + "[" + std::to_string(ofs) + "]";
    return symbol->name + "[" + std::to_string(ofs) + ".." +
           std::to_string(ofs + n_bits - 1) + "]";
  }
};

// One constant of a set.
struct Constant {
  bool is_string = false;                  // String or integer.
  std::string s;                           // String value.
  Uint128 value = 0;                       // Integer value.
  Uint128 mask = 0;                        // Integer mask (when masked).
  bool masked = false;                     // Written as value/mask.
  IntFormat format = IntFormat::kDecimal;  // How it was written.
};

// A constant or `{c1, c2, ...}`.
struct ConstantSet {
  std::vector<Constant> values;  // At least one.
  bool in_curlies = false;       // Written with braces.
};

class Parser {
 public:
  Parser(std::string_view text, const SymbolTable& symbols)
      : text_(text), symbols_(symbols), tokens_(Tokenize(text)) {}

  Result<Expr> Run();

 private:
  const Token& tok() const { return tokens_[i_]; }
  void Advance() {
    if (tok().type != TokenType::kEnd) ++i_;
  }
  bool Accept(TokenType t) {
    if (tok().type != t) return false;
    Advance();
    return true;
  }
  std::nullopt_t Fail(std::string msg) { return FailAt(tok().offset, std::move(msg)); }
  std::nullopt_t FailAt(size_t offset, std::string msg);
  std::nullopt_t FailExpecting(const char* what);

  std::optional<Expr> ParseExpr();
  std::optional<Expr> ParseUnary();
  std::optional<Expr> ParsePrimary(bool* atomic);
  std::optional<Expr> ParseFieldPrimary(bool* atomic);
  std::optional<Expr> ParseConstantPrimary(bool* atomic);
  bool ParseField(FieldRef* f);
  bool ParseSubscript(FieldRef* f);
  bool ParseConstantSet(ConstantSet* cs);
  bool ParseConstant(ConstantSet* cs);
  std::optional<Expr> BareField(const FieldRef& f, size_t offset);
  std::optional<Expr> MakeCmp(const FieldRef& f, Relop r, const ConstantSet& cs,
                              size_t offset);
  bool CheckCmp(const FieldRef& f, Relop r, const ConstantSet& cs, size_t offset);
  std::optional<Expr> PredicateCmp(const FieldRef& f, Relop r, const Constant& c,
                                   size_t offset);

  std::string_view text_;
  const SymbolTable& symbols_;
  std::vector<Token> tokens_;
  size_t i_ = 0;
  bool not_ = false;  // An odd number of `!' encloses the current position.
  int depth_ = 0;     // Parenthesis nesting.
  std::optional<Error> error_;
};

std::nullopt_t Parser::FailAt(size_t offset, std::string msg) {
  if (!error_) {
    error_ = Error("syntax error", "column " + std::to_string(offset + 1) + ": " + msg);
  }
  return std::nullopt;
}

std::nullopt_t Parser::FailExpecting(const char* what) {
  if (tok().type == TokenType::kError) return Fail(tok().text);
  return Fail(std::string("syntax error at ") + DescribeToken(tok(), text_) +
              " expecting " + what);
}

Result<Expr> Parser::Run() {
  std::optional<Expr> e = ParseExpr();
  if (e && tok().type != TokenType::kEnd) {
    FailExpecting("`&&' or `||' or end of input");
  }
  if (error_) return *error_;
  return std::move(*e);
}

std::optional<Expr> Parser::ParseExpr() {
  std::optional<Expr> first = ParseUnary();
  if (!first) return std::nullopt;
  std::vector<Expr> operands;
  operands.push_back(std::move(*first));
  TokenType op = TokenType::kEnd;
  while (tok().type == TokenType::kLogAnd || tok().type == TokenType::kLogOr) {
    if (op != TokenType::kEnd && tok().type != op) {
      return Fail("&& and || must be parenthesized when used together");
    }
    op = tok().type;
    Advance();
    std::optional<Expr> next = ParseUnary();
    if (!next) return std::nullopt;
    operands.push_back(std::move(*next));
  }
  if (operands.size() == 1) return std::move(operands[0]);
  return op == TokenType::kLogAnd ? Expr::And(std::move(operands))
                                  : Expr::Or(std::move(operands));
}

std::optional<Expr> Parser::ParseUnary() {
  bool atomic = false;
  if (!Accept(TokenType::kLogNot)) return ParsePrimary(&atomic);
  size_t offset = tok().offset;
  not_ = !not_;
  std::optional<Expr> e = ParsePrimary(&atomic);
  not_ = !not_;
  if (!e) return std::nullopt;
  if (!atomic) return FailAt(offset, "missing parentheses around operand of !");
  return Not(std::move(*e));
}

std::optional<Expr> Parser::ParsePrimary(bool* atomic) {
  *atomic = false;
  switch (tok().type) {
    case TokenType::kLParen: {
      if (depth_ >= kMaxDepth) return Fail("parentheses nested too deeply");
      Advance();
      ++depth_;
      std::optional<Expr> e = ParseExpr();
      --depth_;
      if (!e) return std::nullopt;
      if (!Accept(TokenType::kRParen)) return FailExpecting("`)'");
      *atomic = true;
      return e;
    }
    case TokenType::kIdentifier:
      return ParseFieldPrimary(atomic);
    case TokenType::kString:
    case TokenType::kInteger:
    case TokenType::kMaskedInteger:
    case TokenType::kLCurly:
      return ParseConstantPrimary(atomic);
    default:
      return FailExpecting("field, constant, `(' or `!'");
  }
}

bool Parser::ParseField(FieldRef* f) {
  if (tok().type != TokenType::kIdentifier) {
    FailExpecting("field name");
    return false;
  }
  const Symbol* symbol = symbols_.Find(tok().text);
  if (symbol == nullptr) {
    Fail("unknown field `" + tok().text + "'");
    return false;
  }
  Advance();
  f->symbol = symbol;
  f->ofs = 0;
  f->n_bits = symbol->width;
  f->subscripted = false;
  return tok().type != TokenType::kLSquare || ParseSubscript(f);
}

bool Parser::ParseSubscript(FieldRef* f) {
  const Symbol* symbol = f->symbol;
  size_t offset = tok().offset;
  Advance();
  if (symbol->kind == SymbolKind::kPredicate || symbol->is_string) {
    FailAt(offset, "cannot select a subfield of " +
                       std::string(symbol->is_string ? "string field " : "predicate ") +
                       symbol->name);
    return false;
  }
  auto index = [&](Uint128* out) {
    if (tok().type != TokenType::kInteger || tok().format != IntFormat::kDecimal) {
      FailExpecting("decimal bit index");
      return false;
    }
    *out = tok().value;
    Advance();
    return true;
  };
  Uint128 lo, hi;
  if (!index(&lo)) return false;
  hi = lo;
  if (Accept(TokenType::kEllipsis) && !index(&hi)) return false;
  if (!Accept(TokenType::kRSquare)) {
    FailExpecting("`]'");
    return false;
  }
  if (lo > hi) {
    FailAt(offset, "invalid bit range (lower bound above upper bound)");
    return false;
  }
  if (hi >= static_cast<Uint128>(symbol->width)) {
    FailAt(offset, "bit index out of range for " + std::to_string(symbol->width) +
                       "-bit field " + symbol->name);
    return false;
  }
  f->ofs = static_cast<int>(lo);
  f->n_bits = static_cast<int>(hi - lo) + 1;
  f->subscripted = true;
  if (symbol->level == Level::kNominal && f->n_bits != symbol->width) {
    FailAt(offset, "cannot select subfield of nominal field " + symbol->name);
    return false;
  }
  return true;
}

bool Parser::ParseConstant(ConstantSet* cs) {
  Constant c;
  const Token& t = tok();
  switch (t.type) {
    case TokenType::kString:
      c.is_string = true;
      c.s = t.text;
      break;
    case TokenType::kInteger:
    case TokenType::kMaskedInteger:
      c.value = t.value;
      c.masked = t.type == TokenType::kMaskedInteger;
      c.mask = c.masked ? t.mask : 0;
      c.format = t.format;
      break;
    default:
      FailExpecting("constant");
      return false;
  }
  Advance();
  cs->values.push_back(std::move(c));
  return true;
}

bool Parser::ParseConstantSet(ConstantSet* cs) {
  if (!Accept(TokenType::kLCurly)) return ParseConstant(cs);
  cs->in_curlies = true;
  size_t offset = tok().offset;
  while (!Accept(TokenType::kRCurly)) {
    if (!ParseConstant(cs)) return false;
    Accept(TokenType::kComma);
  }
  if (cs->values.empty()) {
    FailAt(offset, "empty set of values");
    return false;
  }
  return true;
}

std::optional<Expr> Parser::ParseFieldPrimary(bool* atomic) {
  size_t offset = tok().offset;
  FieldRef f;
  if (!ParseField(&f)) return std::nullopt;
  if (!IsRelop(tok().type)) {
    *atomic = true;
    return BareField(f, offset);
  }
  Relop r = ToRelop(tok().type);
  Advance();
  ConstantSet cs;
  if (!ParseConstantSet(&cs)) return std::nullopt;
  return MakeCmp(f, r, cs, offset);
}

std::optional<Expr> Parser::ParseConstantPrimary(bool* atomic) {
  size_t offset = tok().offset;
  ConstantSet cs;
  if (!ParseConstantSet(&cs)) return std::nullopt;
  if (!IsRelop(tok().type)) {
    const Constant& c = cs.values[0];
    if (!cs.in_curlies && !c.is_string && !c.masked && c.format == IntFormat::kDecimal &&
        c.value <= 1) {
      *atomic = true;
      return Expr::Bool(c.value == 1);
    }
    return FailExpecting("relational operator");
  }
  Relop r1 = ToRelop(tok().type);
  Advance();
  FieldRef f;
  if (!ParseField(&f)) return std::nullopt;
  if (!IsRelop(tok().type)) return MakeCmp(f, Reverse(r1), cs, offset);

  // A range: c1 < field < c2 (both `<'/`<=' or both `>'/`>=').
  size_t offset2 = tok().offset;
  Relop r2 = ToRelop(tok().type);
  Advance();
  ConstantSet cs2;
  if (!ParseConstantSet(&cs2)) return std::nullopt;
  bool up = (r1 == Relop::kLt || r1 == Relop::kLe) && (r2 == Relop::kLt || r2 == Relop::kLe);
  bool down =
      (r1 == Relop::kGt || r1 == Relop::kGe) && (r2 == Relop::kGt || r2 == Relop::kGe);
  if (!up && !down) {
    return FailAt(offset2, "range expressions must use `<'/`<=' or `>'/`>=' on both sides");
  }
  std::optional<Expr> lower = MakeCmp(f, Reverse(r1), cs, offset);
  if (!lower) return std::nullopt;
  std::optional<Expr> upper = MakeCmp(f, r2, cs2, offset2);
  if (!upper) return std::nullopt;
  std::vector<Expr> both;
  both.push_back(std::move(*lower));
  both.push_back(std::move(*upper));
  return Expr::And(std::move(both));
}

std::optional<Expr> Parser::BareField(const FieldRef& f, size_t offset) {
  const Symbol* s = f.symbol;
  if (s->kind == SymbolKind::kPredicate) {
    if (s->level == Level::kNominal && not_) {
      return FailAt(offset, "nominal predicate " + s->name +
                                " may only be tested positively, e.g. `" + s->name +
                                "' or `" + s->name + " == 1' but not `!" + s->name +
                                "' or `" + s->name + " == 0'");
    }
    return Expr::Cmp(s, Relop::kEq, 1, 1);
  }
  if (s->is_string) {
    return FailAt(offset, "string field " + s->name + " must be compared to a string");
  }
  if (f.n_bits != 1) {
    return FailAt(offset, "explicit `!= 0' is required for inequality test of multibit "
                          "field " + f.Name() + " against 0");
  }
  Uint128 bit = Uint128{1} << f.ofs;
  return Expr::Cmp(s, Relop::kEq, bit, bit);
}

// Checks that `f r cs` is allowed: types, operators per level, widths.
bool Parser::CheckCmp(const FieldRef& f, Relop r, const ConstantSet& cs, size_t offset) {
  const Symbol* s = f.symbol;
  for (const Constant& c : cs.values) {
    if (s->is_string != c.is_string) {
      FailAt(offset, std::string(s->is_string ? "string" : "integer") + " field " + s->name +
                         " is not compatible with " +
                         (c.is_string ? "string" : "integer") + " constant");
      return false;
    }
  }
  bool any_masked = false;
  for (const Constant& c : cs.values) any_masked |= c.masked;
  if (r != Relop::kEq && r != Relop::kNe) {
    const char* why = cs.in_curlies ? "value sets"
                      : s->kind == SymbolKind::kPredicate ? "predicates"
                      : s->level == Level::kNominal       ? "nominal fields"
                      : any_masked ? "masked constants (use a subfield instead, "
                                     "e.g. eth.src[0..15] > 0x1111)"
                                   : nullptr;
    if (why != nullptr) {
      FailAt(offset, "only == and != operators may be used with " + std::string(why) +
                         " (" + s->name + ")");
      return false;
    }
  }
  if (s->level == Level::kNominal && s->kind != SymbolKind::kPredicate) {
    if (any_masked) {
      FailAt(offset, "nominal field " + s->name + " cannot be compared with a masked constant");
      return false;
    }
    if ((not_ ? Invert(r) : r) != Relop::kEq) {
      FailAt(offset, "nominal field " + s->name + " may only be tested for equality "
                     "(taking enclosing `!' operators into account)");
      return false;
    }
  }
  for (const Constant& c : cs.values) {
    if (c.is_string) continue;
    int bits = BitWidth(c.masked ? c.mask : c.value);
    if (bits > f.n_bits) {
      FailAt(offset, std::to_string(bits) + "-bit constant is not compatible with " +
                         std::to_string(f.n_bits) + "-bit field " + f.Name());
      return false;
    }
  }
  return true;
}

std::optional<Expr> Parser::PredicateCmp(const FieldRef& f, Relop r, const Constant& c,
                                         size_t offset) {
  const Symbol* s = f.symbol;
  if (c.masked && c.mask != 1) {
    return FailAt(offset, "predicate " + s->name + " may only be compared with 0 or 1");
  }
  bool positive = (c.value == 1) == (r == Relop::kEq);
  if (s->level == Level::kNominal && positive == not_) {
    return FailAt(offset, "nominal predicate " + s->name +
                              " may only be tested positively, e.g. `" + s->name +
                              "' or `" + s->name + " == 1' but not `!" + s->name +
                              "' or `" + s->name + " == 0'");
  }
  return Expr::Cmp(s, positive ? Relop::kEq : Relop::kNe, 1, 1);
}

std::optional<Expr> Parser::MakeCmp(const FieldRef& f, Relop r, const ConstantSet& cs,
                                    size_t offset) {
  if (!CheckCmp(f, r, cs, offset)) return std::nullopt;
  const Symbol* s = f.symbol;
  std::vector<Expr> parts;
  for (const Constant& c : cs.values) {
    if (c.is_string) {
      parts.push_back(Expr::StringCmp(s, r, c.s));
    } else if (s->kind == SymbolKind::kPredicate) {
      std::optional<Expr> p = PredicateCmp(f, r, c, offset);
      if (!p) return std::nullopt;
      parts.push_back(std::move(*p));
    } else {
      Uint128 mask = (c.masked ? c.mask : AllOnes(f.n_bits)) << f.ofs;
      if (mask == 0) {
        parts.push_back(Expr::Bool(r == Relop::kEq));  // x == 0/0 is always true.
      } else {
        parts.push_back(Expr::Cmp(s, r, c.value << f.ofs, mask));
      }
    }
  }
  return r == Relop::kNe ? Expr::And(std::move(parts)) : Expr::Or(std::move(parts));
}

}  // namespace

Result<Expr> ParseMatch(std::string_view text, const SymbolTable& symbols) {
  return Parser(text, symbols).Run();
}

Status ValidateMatch(std::string_view match) {
  Result<Expr> e = ParseMatch(match, DefaultSymbols());
  if (!e.ok()) return e.error();
  Result<Expr> annotated = Annotate(*e);
  if (!annotated.ok()) return annotated.error();
  // A match the controller could not compile is rejected here too.
  Result<internal::Dnf> dnf = internal::ToDnf(Simplify(*annotated));
  if (!dnf.ok()) return dnf.error();
  return Status::Ok();
}

}  // namespace spate::expr
