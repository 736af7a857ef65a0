// Fuzz target for the lexer, parser, annotation, simplification,
// normalization, conversion to matches and the action parser.  Any input
// must give a result or a "syntax error", never a crash; a parsed match
// must print as text that parses back to the same tree; and every flow
// that carries the actions by itself must only accept keys that satisfy
// the expression (checked on the flow's own key), with the match list and
// the evaluator agreeing on those keys and on the all-zero key.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "expr/actions.h"
#include "expr/compile.h"

namespace {

using spate::Result;
using namespace spate::expr;

std::optional<uint32_t> Ports(std::string_view name) {
  if (name.empty()) return std::nullopt;
  return static_cast<uint32_t>(name.size());  // Any deterministic mapping.
}

void CheckErrorTag(const spate::Error& e) {
  if (e.tag() != "syntax error") std::abort();
}

void CheckMatch(std::string_view text) {
  const SymbolTable& symbols = DefaultSymbols();
  Result<Expr> parsed = ParseMatch(text, symbols);
  if (!parsed.ok()) return CheckErrorTag(parsed.error());
  Result<Expr> back = ParseMatch(parsed->ToString(), symbols);
  if (!back.ok() || !(*back == *parsed)) std::abort();
  Result<Expr> annotated = Annotate(*parsed);
  if (!annotated.ok()) return CheckErrorTag(annotated.error());
  Expr simplified = Simplify(*annotated);
  Result<Expr> normalized = Normalize(simplified);
  if (!normalized.ok()) return CheckErrorTag(normalized.error());
  PortLookup lookup = Ports;
  Result<MatchList> list = ToMatches(*normalized, lookup, 1);
  if (!list.ok()) return CheckErrorTag(list.error());
  spate::cls::FlowKey zero{};
  if (Evaluate(*annotated, zero, lookup) != MatchListAccepts(*list, zero)) std::abort();
  for (const ExprMatch& m : list->matches) {
    if (!m.conjunctions.empty() || m.match.GetMask(spate::cls::Field::kConjId) != 0) continue;
    if (!Evaluate(*annotated, m.match.key, lookup)) std::abort();
    if (!MatchListAccepts(*list, m.match.key)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckMatch(text);
  Result<ActionList> actions = ParseActions(text, DefaultSymbols(), ActionOptions{});
  if (!actions.ok()) CheckErrorTag(actions.error());
  return 0;
}
