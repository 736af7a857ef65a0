// Types: base types with their constraints, and column types (RFC 7047
// §3.2 <base-type> and <type>).
//
// What: BaseType = an atomic type plus the constraints Open vSwitch
// supports (enum, minInteger/maxInteger, minReal/maxReal,
// minLength/maxLength in UTF-8 code points, refTable/refType); Type = key
// base type, optional value base type (a map), and the min/max number of
// elements.  Both parse from and print to the schema JSON exactly as Open
// vSwitch does (an unconstrained scalar prints as the bare type name).
//
// Design: constraint checks return Open vSwitch's "constraint violation"
// details word for word (e.g. "11 is not in the valid range 0 to 10
// (inclusive)").  refTable is kept by name; the schema layer resolves it.
//
// Thread-safety: immutable values after parsing.
#ifndef SPATE_OVSDB_TYPES_H
#define SPATE_OVSDB_TYPES_H

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/result.h"
#include "ovsdb/atom.h"

namespace spate::ovsdb {

enum class RefType { kStrong, kWeak };

inline constexpr unsigned kUnlimited = std::numeric_limits<unsigned>::max();

// An atomic type with constraints.
struct BaseType {
  AtomicType type = AtomicType::kInteger;  // The atomic type.
  std::vector<Atom> enum_values;  // Allowed values, sorted; empty = any.
  bool has_enum = false;          // True if "enum" was given.
  int64_t min_integer = std::numeric_limits<int64_t>::min();  // Inclusive.
  int64_t max_integer = std::numeric_limits<int64_t>::max();  // Inclusive.
  double min_real = -std::numeric_limits<double>::max();      // Inclusive.
  double max_real = std::numeric_limits<double>::max();       // Inclusive.
  size_t min_length = 0;                                      // UTF-8 chars.
  size_t max_length = std::numeric_limits<size_t>::max();     // UTF-8 chars.
  std::string ref_table;           // For uuids: referenced table, or "".
  RefType ref_type = RefType::kStrong;  // Meaningful when ref_table is set.

  // Parses a <base-type>.  Errors: ("syntax error"/"ovsdb error", reason).
  static Result<BaseType> FromJson(const Json& json);
  Json ToJson() const;
  // True if there is no constraint (prints as the bare type name).
  bool IsUnconstrained() const;
  // Checks `atom` (already of the right type) against the constraints.
  // Errors: ("constraint violation", Open vSwitch's wording).
  Status Check(const Atom& atom) const;
  bool IsStrongRef() const {
    return type == AtomicType::kUuid && !ref_table.empty() &&
           ref_type == RefType::kStrong;
  }
  bool IsWeakRef() const {
    return type == AtomicType::kUuid && !ref_table.empty() &&
           ref_type == RefType::kWeak;
  }
};

// A column type: a scalar, optional value, set or map.
struct Type {
  BaseType key;          // Key (or element) type.
  bool has_value = false;  // True for maps.
  BaseType value;        // Value type, meaningful when has_value.
  unsigned n_min = 1;    // Minimum number of elements (0 or 1).
  unsigned n_max = 1;    // Maximum, kUnlimited for "unlimited".

  // A plain scalar of `t` (min 1, max 1, no constraints).
  static Type Scalar(AtomicType t);
  // Parses a <type>; validates min/max.  Errors: ("syntax error", reason).
  static Result<Type> FromJson(const Json& json);
  Json ToJson() const;
  bool IsMap() const { return has_value; }
  bool IsSet() const { return !has_value && (n_min != 1 || n_max != 1); }
  bool IsScalar() const { return !has_value && n_min == 1 && n_max == 1; }
  // True when a value may hold several elements.  Open vSwitch diffs only
  // these element by element (update2, "_is_diff" log records); a column
  // of at most one element is sent and logged as its new value.
  bool IsComposite() const { return n_max > 1; }
  // True for a single optional value (min 0, max 1).
  bool IsOptional() const { return n_min == 0 && n_max == 1; }
};

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_TYPES_H
