// Conditions and mutations (RFC 7047 §5.1 <condition>, <mutation>).
//
// What: parsing of [column, function, value] (and Open vSwitch's literal
// true/false) and [column, mutator, value] against a table schema, with
// Open vSwitch's error wording; evaluation of a condition list on a row;
// application of a mutation to a column value.
//
// Design: a RowView abstracts "the current value of column i", so the same
// code evaluates committed rows and rows changed inside a transaction.
//
// Thread-safety: values; evaluation is pure.
#ifndef SPATE_OVSDB_CONDITION_H
#define SPATE_OVSDB_CONDITION_H

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "ovsdb/datum.h"
#include "ovsdb/schema.h"

namespace spate::ovsdb {

// Reads column values of one row.
using RowView = std::function<const Datum&(int column)>;

enum class Function {
  kTrue, kFalse, kLess, kLessEq, kEq, kNotEq, kGreaterEq, kGreater,
  kIncludes, kExcludes
};

struct Clause {
  Function function = Function::kTrue;  // Test to apply.
  int column = -1;                      // Column index (unused for literals).
  Datum value;                          // Right-hand side.
};

// A conjunction of clauses.
struct Condition {
  std::vector<Clause> clauses;  // All must hold; empty = true.

  // Parses a <where> array.  Errors: ("syntax error"|"unknown column"|
  // "unknown function", Open vSwitch's details).
  static Result<Condition> FromJson(const TableSchema& table, const Json& json,
                                    const NamedUuids* names);
  bool Evaluate(const TableSchema& table, const RowView& row) const;
  // If some clause is ["_uuid", "==", uuid], that UUID (a fast path).
  const Uuid* UuidLookup() const;
};

enum class Mutator { kAdd, kSub, kMul, kDiv, kMod, kInsert, kDelete };

struct Mutation {
  Mutator mutator = Mutator::kAdd;  // Operation.
  int column = -1;                  // Column index.
  Datum value;                      // Argument.
  std::string name;                 // Mutator as written ("+=").

  // Parses [column, mutator, value].  Errors as Open vSwitch words them.
  static Result<Mutation> FromJson(const TableSchema& table, const Json& json,
                                   const NamedUuids* names);
  // Applies to `datum` (a value of the column) and checks the result
  // against the column type.  Errors: ("domain error", "Division by
  // zero."), ("range error", ...), ("constraint violation", ...).
  Status Apply(const ColumnSchema& column, Datum* datum) const;
};

// Open vSwitch's English description of a type ("set of up to 2 integers").
std::string TypeToEnglish(const Type& type);

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_CONDITION_H
