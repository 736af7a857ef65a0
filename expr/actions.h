// The OVN action language, June-2015 form (reference 5.5).
//
// What it is
//   A logical flow's `actions` column, e.g.
//     outport = "sw0-port2"; next;
//   parsed into a typed list that ovn-controller maps to datapath actions:
//     next;              run the next logical table (resubmit to T+1)
//     output;            deliver to the logical port in `outport`
//     drop;              alone only; an empty action string also drops
//     field = constant;  set a field or subfield (`vlan.pcp = 2;`, masked
//                        `vlan.pcp = 4/4;`), or a string field to a port
//                        name (`outport = "vif0";`)
//   Every action ends with `;`.  An assignment adds its field's
//   prerequisites to the flow's match (`tcp.dst = 80;` requires `tcp`);
//   they are returned for CompileMatch.
//
// Design
//   One pass over the lexer's tokens.  Subfield and subscript assignments
//   are resolved to the underlying field: value and mask are in the field's
//   own bit positions, ready for a masked set-field.  Errors use the match
//   parser's form: tag "syntax error", details "column N: ...".
//
// Thread-safety
//   Pure functions.  The SymbolTable must outlive the returned actions.
#ifndef SPATE_EXPR_ACTIONS_H
#define SPATE_EXPR_ACTIONS_H

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "expr/expr.h"

namespace spate::expr {

enum class ActionType : uint8_t {
  kNext,      // Continue in the next logical table.
  kOutput,    // Output to the logical port in `outport`.
  kSetField,  // Assign value/mask (or a port name) to a field.
};

// One action.  An empty list means drop.
struct Action {
  ActionType type = ActionType::kNext;  // What to do.
  const Symbol* symbol = nullptr;  // kSetField: the symbol as written (may be a subfield).
  const Symbol* field = nullptr;   // kSetField: the underlying field symbol
                                   // (field->field is the key field).
  Uint128 value = 0;               // kSetField, integer: new bits, in field positions.
  Uint128 mask = 0;                // kSetField, integer: which bits are set.
  std::string string;              // kSetField, string field: the port name.

  bool operator==(const Action&) const = default;
};

// Parsed actions.
struct ActionList {
  std::vector<Action> actions;  // In order; empty = drop.
  Expr prerequisites;           // AND of the assigned fields' prerequisites,
                                // unannotated; Expr::Bool(true) when none.

  // Text in the action language, e.g. "outport = \"p\"; next;" ("drop;"
  // for an empty list).  Integer values print as hexadecimal subfields.
  std::string ToString() const;
};

// Context of the table the actions belong to.
struct ActionOptions {
  bool has_next_table = true;  // False in the last logical table: `next;` is an error.
};

// Parses `text` against `symbols`.  Errors (tag "syntax error", with the
// column): unknown action or field, missing `;`, `drop;` combined with other
// actions, `next;` without a next table, assignment to a predicate or a
// read-only field (eth.type, ip.proto, ip.frag, tcp.flags), a set of values,
// a type or width mismatch, a subfield of a string field.
Result<ActionList> ParseActions(std::string_view text, const SymbolTable& symbols,
                                const ActionOptions& options);

}  // namespace spate::expr

#endif  // SPATE_EXPR_ACTIONS_H
