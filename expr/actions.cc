// Parser of the action language; see actions.h.
#include "expr/actions.h"

#include <optional>

namespace spate::expr {
namespace {

Uint128 AllOnes(int bits) {
  if (bits >= 128) return ~Uint128{0};
  return bits <= 0 ? 0 : (Uint128{1} << bits) - 1;
}

int BitWidth(Uint128 v) {
  int n = 0;
  for (; v != 0; v >>= 1) ++n;
  return n;
}

int TrailingZeros(Uint128 v) {
  int n = 0;
  for (; n < 128 && !(v & 1); v >>= 1) ++n;
  return n;
}

class ActionParser {
 public:
  ActionParser(std::string_view text, const SymbolTable& symbols, const ActionOptions& options)
      : text_(text), symbols_(symbols), options_(options), tokens_(Tokenize(text)) {}

  Result<ActionList> Run();

 private:
  const Token& tok() const { return tokens_[i_]; }
  void Advance() {
    if (tok().type != TokenType::kEnd) ++i_;
  }
  Error FailAt(size_t offset, const std::string& msg) const {
    return Error("syntax error", "column " + std::to_string(offset + 1) + ": " + msg);
  }
  Error FailExpecting(const char* what) const {
    if (tok().type == TokenType::kError) return FailAt(tok().offset, tok().text);
    return FailAt(tok().offset, "syntax error at " + DescribeToken(tok(), text_) +
                                    " expecting " + what);
  }
  std::optional<Error> ExpectSemicolon() {
    if (tok().type != TokenType::kSemicolon) return FailExpecting("`;'");
    Advance();
    return std::nullopt;
  }
  std::optional<Error> ParseAssignment(ActionList* list);
  std::optional<Error> ParseSubscript(const Symbol* s, int* ofs, int* n_bits);
  void AddPrerequisites(const Symbol* s, std::vector<Expr>* prereqs) const;

  std::string_view text_;
  const SymbolTable& symbols_;
  const ActionOptions& options_;
  std::vector<Token> tokens_;
  size_t i_ = 0;
  std::vector<Expr> prereqs_;
};

Result<ActionList> ActionParser::Run() {
  ActionList list;
  bool dropped = false;
  while (tok().type != TokenType::kEnd) {
    size_t offset = tok().offset;
    if (dropped) return FailAt(offset, "`drop;' must be the only action");
    std::optional<Error> err;
    std::string word = tok().type == TokenType::kIdentifier ? tok().text : "";
    if (word == "drop" || word == "next" || word == "output") {
      Advance();
      err = ExpectSemicolon();
      if (!err && word == "drop") {
        if (!list.actions.empty()) return FailAt(offset, "`drop;' must be the only action");
        dropped = true;
      } else if (!err && word == "next") {
        if (!options_.has_next_table) {
          return FailAt(offset, "`next;' is not allowed in the last logical table");
        }
        list.actions.push_back(Action{.type = ActionType::kNext});
      } else if (!err) {
        list.actions.push_back(Action{.type = ActionType::kOutput});
      }
    } else if (tok().type == TokenType::kIdentifier) {
      err = ParseAssignment(&list);
    } else {
      err = FailExpecting("action");
    }
    if (err) return *err;
  }
  list.prerequisites = Expr::And(std::move(prereqs_));
  return list;
}

std::optional<Error> ActionParser::ParseSubscript(const Symbol* s, int* ofs, int* n_bits) {
  size_t offset = tok().offset;
  Advance();  // '['
  auto index = [&](Uint128* out) -> std::optional<Error> {
    if (tok().type != TokenType::kInteger || tok().format != IntFormat::kDecimal) {
      return FailExpecting("decimal bit index");
    }
    *out = tok().value;
    Advance();
    return std::nullopt;
  };
  Uint128 lo = 0, hi = 0;
  if (std::optional<Error> e = index(&lo)) return e;
  hi = lo;
  if (tok().type == TokenType::kEllipsis) {
    Advance();
    if (std::optional<Error> e = index(&hi)) return e;
  }
  if (tok().type != TokenType::kRSquare) return FailExpecting("`]'");
  Advance();
  if (lo > hi || hi >= static_cast<Uint128>(s->width)) {
    return FailAt(offset, "invalid bit range for " + std::to_string(s->width) + "-bit field " +
                              s->name);
  }
  *ofs = static_cast<int>(lo);
  *n_bits = static_cast<int>(hi - lo) + 1;
  return std::nullopt;
}

void ActionParser::AddPrerequisites(const Symbol* s, std::vector<Expr>* prereqs) const {
  for (; s != nullptr; s = s->parent) {
    if (s->prereqs) prereqs->push_back(*s->prereqs);
  }
}

std::optional<Error> ActionParser::ParseAssignment(ActionList* list) {
  size_t offset = tok().offset;
  const Symbol* s = symbols_.Find(tok().text);
  if (s == nullptr) return FailAt(offset, "unknown action or field `" + tok().text + "'");
  Advance();
  if (s->kind == SymbolKind::kPredicate) {
    return FailAt(offset, "predicate " + s->name + " cannot be used in an assignment");
  }
  if (!s->writable) return FailAt(offset, "field " + s->name + " is not modifiable");
  int ofs = 0, n_bits = s->width;
  if (tok().type == TokenType::kLSquare) {
    if (s->is_string) return FailAt(offset, "cannot select a subfield of string field " + s->name);
    if (std::optional<Error> e = ParseSubscript(s, &ofs, &n_bits)) return e;
  }
  if (tok().type != TokenType::kEquals) return FailExpecting("`='");
  Advance();
  const Token& c = tok();
  if (c.type == TokenType::kLCurly) return FailAt(c.offset, "assignments require a single value");
  Action a{.type = ActionType::kSetField, .symbol = s, .field = s};
  if (c.type == TokenType::kString) {
    if (!s->is_string) {
      return FailAt(c.offset, "integer field " + s->name + " cannot be assigned a string");
    }
    a.string = c.text;
  } else if (c.type == TokenType::kInteger || c.type == TokenType::kMaskedInteger) {
    if (s->is_string) {
      return FailAt(c.offset, "string field " + s->name + " cannot be assigned an integer");
    }
    Uint128 mask = c.type == TokenType::kMaskedInteger ? c.mask : AllOnes(n_bits);
    if (BitWidth(c.type == TokenType::kMaskedInteger ? c.mask : c.value) > n_bits) {
      return FailAt(c.offset, "constant is wider than the " + std::to_string(n_bits) +
                                  "-bit field " + s->name);
    }
    if (mask == 0) return FailAt(c.offset, "assignment with an all-zero mask");
    int shift = ofs + (s->kind == SymbolKind::kSubfield ? s->parent_offset : 0);
    if (s->kind == SymbolKind::kSubfield) a.field = s->parent;
    a.value = (c.value & mask) << shift;
    a.mask = mask << shift;
  } else {
    return FailExpecting("constant");
  }
  Advance();
  if (std::optional<Error> e = ExpectSemicolon()) return e;
  AddPrerequisites(s, &prereqs_);
  list->actions.push_back(std::move(a));
  return std::nullopt;
}

std::string ActionToString(const Action& a) {
  switch (a.type) {
    case ActionType::kNext: return "next;";
    case ActionType::kOutput: return "output;";
    case ActionType::kSetField: break;
  }
  const Symbol* f = a.field;
  if (f->is_string) return f->name + " = " + QuoteString(a.string) + ";";
  if (a.mask == AllOnes(f->width)) return f->name + " = " + FormatHex(a.value) + ";";
  int lo = TrailingZeros(a.mask);
  Uint128 m = a.mask >> lo;
  if ((m & (m + 1)) == 0) {
    int hi = lo + BitWidth(m) - 1;
    std::string range = lo == hi ? std::to_string(lo)
                                 : std::to_string(lo) + ".." + std::to_string(hi);
    return f->name + "[" + range + "] = " + FormatHex(a.value >> lo) + ";";
  }
  return f->name + " = " + FormatHex(a.value) + "/" + FormatHex(a.mask) + ";";
}

}  // namespace

std::string ActionList::ToString() const {
  if (actions.empty()) return "drop;";
  std::string out;
  for (const Action& a : actions) {
    if (!out.empty()) out += " ";
    out += ActionToString(a);
  }
  return out;
}

Result<ActionList> ParseActions(std::string_view text, const SymbolTable& symbols,
                                const ActionOptions& options) {
  return ActionParser(text, symbols, options).Run();
}

}  // namespace spate::expr
