// The OVN match-expression language: AST, parser, validation, annotation.
//
// What it is
//   OVN's logical flows carry a `match` such as
//     inport == "sw0-port1" && eth.src == {00:00:00:00:00:01}
//   (reference section 5).  This header parses such text against a
//   SymbolTable into an Expr tree, validates it, and annotates it
//   (prerequisites ANDed in, subfields and predicates expanded).
//   ovn-nbd calls ValidateMatch() to reject ACLs with a bad match;
//   ovn-controller continues with compile.h (simplify, normalize, convert to
//   classifier matches) and actions.h.
//
// Design
//   Expr is a value type: CMP (symbol, relational operator, value/mask or
//   string), AND and OR (two or more children), BOOLEAN.  Invariants, kept
//   by every function here: an AND never has an AND child, nor an OR an OR
//   child; a CMP's mask is nonzero and its value has no bits outside the
//   mask.  A CMP on a symbol of width w with mask bits lo..hi compares the
//   subfield symbol[lo..hi]; ordering operators (< <= > >=) are only built
//   with contiguous masks.  A predicate CMP always has value = mask = 1 and
//   relop == or != (positive / negated test).  There is no NOT node: the
//   parser pushes `!` inward (De Morgan, operator inversion), as OVN does.
//
//   Errors have tag "syntax error" and details naming the problem and the
//   1-based column where it was found, e.g.
//     "column 1: unknown field `eht.src'".
//
// Thread-safety
//   Pure functions; Expr values are plain data.  A SymbolTable must outlive
//   the Exprs built from it (they point at its symbols).
#ifndef SPATE_EXPR_EXPR_H
#define SPATE_EXPR_EXPR_H

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "expr/lexer.h"
#include "expr/symbols.h"

namespace spate::expr {

// Relational operators.
enum class Relop : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

enum class ExprType : uint8_t { kCmp, kAnd, kOr, kBoolean };

// A node of the expression tree (see the invariants above).
struct Expr {
  ExprType type = ExprType::kBoolean;  // Which of the members below apply.
  bool boolean = true;                 // kBoolean: the constant.
  const Symbol* symbol = nullptr;      // kCmp: what is compared.
  Relop relop = Relop::kEq;            // kCmp: how.
  Uint128 value = 0;                   // kCmp, integer symbol: the value.
  Uint128 mask = 0;                    // kCmp, integer symbol: compared bits.
  std::string string;                  // kCmp, string symbol: the name.
  std::vector<Expr> children;          // kAnd / kOr: two or more operands.

  // Constructors for each node type.
  static Expr Bool(bool b);
  static Expr Cmp(const Symbol* symbol, Relop relop, Uint128 value, Uint128 mask);
  static Expr StringCmp(const Symbol* symbol, Relop relop, std::string s);
  // AND / OR of `operands`, flattened (an AND operand of an AND is merged)
  // and folded (true/false operands absorbed or dropped); zero operands
  // give the identity, one gives itself.
  static Expr And(std::vector<Expr> operands);
  static Expr Or(std::vector<Expr> operands);

  // Text in the language, e.g. "eth.type == 0x800 && vlan.tci[12..15] == 0x3".
  // Integers print in hexadecimal; the text parses back to an equal Expr.
  std::string ToString() const;

  bool operator==(const Expr&) const = default;
};

// The logical negation of `e` (De Morgan, inverted operators).
Expr Not(Expr e);

// Parses `text` against `symbols`.  Checks syntax, symbol names, subfield
// ranges, constant types and widths, and which operators each symbol allows
// (reference 5.3).  Errors: tag "syntax error", details with the column.
Result<Expr> ParseMatch(std::string_view text, const SymbolTable& symbols);

// Expands `e`: every comparison gets its symbol's prerequisites ANDed in
// (recursively annotated; once for an AND/OR of comparisons on one symbol,
// e.g. a set), subfields become comparisons on their fields,
// predicates are replaced by their (negated when tested negatively)
// expansion.  The result mentions only field symbols.  Errors (tag
// "syntax error"): recursive expansion.
Result<Expr> Annotate(const Expr& e);

// Validates a match as ovn-nbd must before accepting an ACL: parses it
// against DefaultSymbols(), annotates it, and checks that it normalizes
// within compile.h's kMaxTerms (so ovn-controller can compile it).  Ok, or
// an Error whose details say what is wrong and where (column).
Status ValidateMatch(std::string_view match);

}  // namespace spate::expr

#endif  // SPATE_EXPR_EXPR_H
