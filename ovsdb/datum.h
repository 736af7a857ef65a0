// Datum: the value of one column (RFC 7047 <value>): a set of atoms or a map
// from atoms to atoms, always kept sorted and duplicate-free (canonical), so
// equality, hashing and "includes" are linear merges.
//
// What: construction of defaults, wire decoding (a bare atom, ["set", [...]],
// ["map", [[k, v], ...]], atoms may be ["named-uuid", n]) with Open vSwitch's
// size errors, constraint checks, wire encoding (a one-element set is sent as
// the bare atom), the display form used in error messages and tables, set
// and map algebra for mutations, and the diff form of Open vSwitch's
// "_is_diff" log records and update2 "modify".
//
// Design: two parallel vectors (keys, values; values empty for sets).  A
// scalar column is simply a one-element set.  Sorting uses Atom::operator<.
//
// Thread-safety: a value type.
#ifndef SPATE_OVSDB_DATUM_H
#define SPATE_OVSDB_DATUM_H

#include <string>
#include <vector>

#include "common/result.h"
#include "ovsdb/atom.h"
#include "ovsdb/types.h"

namespace spate::ovsdb {

class Datum {
 public:
  Datum() = default;
  // A one-element set.
  explicit Datum(Atom a) { keys_.push_back(std::move(a)); }

  // The default value of `type`: empty if n_min == 0, else one default atom
  // (and a default value atom for maps).
  static Datum Default(const Type& type);
  // Decodes `json` as a value of `type`, checking the element count (but not
  // base-type constraints; see CheckConstraints).  Errors: ("syntax error",
  // ...), ("constraint violation", "set contains duplicate value") ...
  static Result<Datum> FromJson(const Type& type, const Json& json,
                                const NamedUuids* names);
  // Builds a datum from unsorted keys/values; duplicates are an error.
  static Result<Datum> FromAtoms(const Type& type, std::vector<Atom> keys,
                                 std::vector<Atom> values);

  Json ToJson(const Type& type) const;
  // Appends DumpJson(ToJson(type)) to `out`, byte for byte, without
  // building a Json value.
  void AppendJson(const Type& type, std::string& out) const;
  // Open vSwitch's display form: "a", "[a, b]", "{k=v}", "[]" / "{}".
  std::string ToString(const Type& type, StringQuoting q = StringQuoting::kModern) const;

  // Checks every key (and value) against the base-type constraints.
  Status CheckConstraints(const Type& type) const;
  // Checks n_min <= size <= n_max.  Errors: ("constraint violation", ...).
  Status CheckSize(const Type& type) const;

  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }
  bool is_map() const { return !values_.empty() || map_; }
  const std::vector<Atom>& keys() const { return keys_; }
  const std::vector<Atom>& values() const { return values_; }
  // Index of `key`, or -1.
  ptrdiff_t Find(const Atom& key) const;
  bool IsDefault(const Type& type) const;  // == Default(type), without building it.

  // Set/map algebra (both datums of the same type).  Union keeps this
  // datum's value for keys present in both.
  void Union(const Datum& other);
  // Removes keys present in `other` (for maps `other` may be a set of keys).
  void SubtractKeys(const Datum& other);
  // Map only: removes pairs present with an equal value in `other`.
  void SubtractPairs(const Datum& other);
  // True if every element (pair, for maps) of `other` is in this datum.
  bool Includes(const Datum& other) const;
  // True if no element (pair) of `other` is in this datum.
  bool Excludes(const Datum& other) const;
  // Removes elements for which pred(key, value_or_null) is true; returns
  // the number removed.
  template <typename Pred>
  size_t RemoveIf(Pred pred);

  // The diff from `old` to `next` in Open vSwitch's format: for sets the
  // symmetric difference; for maps removed keys (old value), added keys and
  // changed values (new value).
  static Datum Diff(const Datum& old, const Datum& next);
  // Applies a diff produced by Diff (or read from an "_is_diff" record).
  void ApplyDiff(const Datum& diff);

  // Mutable access for mutations; callers must keep the order (Sort()).
  std::vector<Atom>& mutable_keys() { return keys_; }
  std::vector<Atom>& mutable_values() { return values_; }
  // Re-sorts after element-wise arithmetic; fails on duplicate keys.
  Status Sort(bool is_map);

  bool operator==(const Datum& o) const {
    return keys_ == o.keys_ && values_ == o.values_;
  }
  bool operator<(const Datum& o) const;
  size_t Hash() const;

 private:
  std::vector<Atom> keys_;    // Sorted, unique.
  std::vector<Atom> values_;  // Parallel to keys_ for maps; empty for sets.
  bool map_ = false;          // True if this is a (possibly empty) map.
};

template <typename Pred>
size_t Datum::RemoveIf(Pred pred) {
  size_t out = 0;
  size_t n = keys_.size();
  for (size_t i = 0; i < n; ++i) {
    const Atom* v = map_ ? &values_[i] : nullptr;
    if (pred(keys_[i], v)) continue;
    if (out != i) {
      keys_[out] = std::move(keys_[i]);
      if (map_) values_[out] = std::move(values_[i]);
    }
    ++out;
  }
  keys_.resize(out);
  if (map_) values_.resize(out);
  return n - out;
}

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_DATUM_H
