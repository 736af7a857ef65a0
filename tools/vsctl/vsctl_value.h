// The command-line value syntax of Open vSwitch's ovs-vsctl: atoms, sets
// and maps as users type them ("br0", 5, 1-4, [a, b], {k=v, "x y"=z},
// @name), "COLUMN[:KEY]OP VALUE" arguments, and the "bare" display form.
//
// What
//   ParseAtom() reads one token as an atom of a base type: integers (and
//   ranges "A-B" where a set is expected), reals, true/false, strings
//   (bare, or double-quoted with JSON escapes), UUIDs or "@name" symbols
//   resolved through a SymbolTable.  ParseDatum() reads a whole value with
//   optional brackets, elements separated by commas or spaces, map pairs
//   as KEY=VALUE.  Base-type constraints (enum, ranges, lengths) are
//   checked; the element count is not (callers check it where OVS does).
//   ParseColumnArg() splits "COLUMN[:KEY][OP VALUE]".  BareString() is
//   ovs-vsctl's --data=bare form ("1 2", "k=v", strings unquoted).
//   Error details are Open vSwitch's wording ("\"abc\" is not a valid
//   integer or range", "\"maybe\" is not a valid boolean (use \"true\" or
//   \"false\")", "constraint violation: ...").
//
// Design
//   A hand-written tokenizer over string_view; quoted strings are decoded
//   by the JSON codec so escapes mean what they mean in JSON.
//
// Thread-safety
//   Pure functions; a SymbolTable belongs to one command run.
#ifndef SPATE_TOOLS_VSCTL_VSCTL_VALUE_H
#define SPATE_TOOLS_VSCTL_VSCTL_VALUE_H

#include <map>
#include <string>
#include <string_view>

#include "common/result.h"
#include "ovsdb/atom.h"
#include "ovsdb/datum.h"
#include "ovsdb/types.h"

namespace spate::vsctl {

// One "@name" of a command chain (--id=@name).
struct Symbol {
  ovsdb::Uuid uuid;      // The row's UUID (as Txn::Insert gave it, for new rows).
  bool created = false;  // Bound by --id on create or get.
  bool referenced = false;  // Used in a value (a strong reference to it).
  bool new_row = false;  // Bound to a row inserted by this chain.
};

// "@name" -> symbol.  Looking up an unknown name creates an unbound
// symbol (created false); the chain checks at the end that every used
// symbol was created.
using SymbolTable = std::map<std::string, Symbol, std::less<>>;

// Parses `token` as an atom of `base`.  `symbols` may be null (then
// "@name" is an error).  Errors: ("syntax error", OVS's wording) for
// malformed atoms, ("constraint violation", ...) for constraints.
[[nodiscard]] Result<ovsdb::Atom> ParseAtom(const ovsdb::BaseType& base, std::string_view token,
                                            SymbolTable* symbols);

// Parses a whole value of `type`: "[a, b]", "{k=v}", "a b", "a", "[]".
// Integer ranges "A-B" expand to every integer between (set keys only).
// Checks base-type constraints and duplicates, not the element count.
[[nodiscard]] Result<ovsdb::Datum> ParseDatum(const ovsdb::Type& type, std::string_view text,
                                              SymbolTable* symbols);

// Parses a value for a set/map element edit (add/remove): like ParseDatum
// but for remove a map may be given as keys only; `keys_only` returns a
// set of keys (of the map's key type).
[[nodiscard]] Result<ovsdb::Datum> ParseKeysOrDatum(const ovsdb::Type& type,
                                                    std::string_view text,
                                                    SymbolTable* symbols, bool* keys_only);

// A parsed "COLUMN[:KEY][OP VALUE]" argument.
struct ColumnArg {
  std::string column;     // Column name as typed (matched later).
  bool has_key = false;   // ":KEY" was given.
  std::string key;        // The key token, unparsed (quotes kept).
  std::string op;         // "=", "!=", "<", ">", "<=", ">=", "{=}", ... or "".
  std::string value;      // Text after the operator.
};

// Splits `arg`.  `ops` lists the accepted operators, longest first ("" if
// none may follow, e.g. for get).  Errors ("syntax error"): missing
// column name, a missing operator when `value_required`, trailing text.
[[nodiscard]] Result<ColumnArg> ParseColumnArg(std::string_view arg,
                                               const std::vector<std::string_view>& ops,
                                               bool value_required);

// ovs-vsctl's bare form of `datum`: elements separated by spaces, map
// pairs as k=v, strings without quotes.
std::string BareString(const ovsdb::Datum& datum);

}  // namespace spate::vsctl

#endif  // SPATE_TOOLS_VSCTL_VSCTL_VALUE_H
