#include "ovsdb/datum.h"

#include <algorithm>
#include <numeric>

namespace spate::ovsdb {
namespace {

Error SizeError(const Type& type, size_t n) {
  return Error("syntax error", std::string(type.IsMap() ? "map" : "set") +
                                   " must have " + std::to_string(type.n_min) +
                                   " to " + std::to_string(type.n_max) +
                                   " members but " + std::to_string(n) +
                                   " are present");
}

Result<Datum> SetFromJson(const Type& type, const Json& json,
                          const NamedUuids* names) {
  std::vector<Atom> keys;
  if (json.is_array() && json.size() == 2 && json[0] == "set") {
    if (!json[1].is_array()) return Error("syntax error", "set value must be an array");
    if (json[1].size() < type.n_min || json[1].size() > type.n_max) {
      return SizeError(type, json[1].size());
    }
    keys.reserve(json[1].size());
    for (const Json& j : json[1]) {
      auto a = Atom::FromJson(type.key.type, j, names);
      if (!a) return a.error();
      keys.push_back(std::move(*a));
    }
  } else {
    if (type.n_max < 1) return SizeError(type, 1);
    auto a = Atom::FromJson(type.key.type, json, names);
    if (!a) return a.error();
    keys.push_back(std::move(*a));
  }
  return Datum::FromAtoms(type, std::move(keys), {});
}

Result<Datum> MapFromJson(const Type& type, const Json& json,
                          const NamedUuids* names) {
  if (!json.is_array() || json.size() != 2 || json[0] != "map" || !json[1].is_array()) {
    return Error("syntax error", "expected map");
  }
  const Json& pairs = json[1];
  if (pairs.size() < type.n_min || pairs.size() > type.n_max) {
    return SizeError(type, pairs.size());
  }
  std::vector<Atom> keys, values;
  keys.reserve(pairs.size());
  values.reserve(pairs.size());
  for (const Json& p : pairs) {
    if (!p.is_array() || p.size() != 2) return Error("syntax error", "expected map pair");
    auto k = Atom::FromJson(type.key.type, p[0], names);
    if (!k) return k.error();
    auto v = Atom::FromJson(type.value.type, p[1], names);
    if (!v) return v.error();
    keys.push_back(std::move(*k));
    values.push_back(std::move(*v));
  }
  return Datum::FromAtoms(type, std::move(keys), std::move(values));
}

}  // namespace

Datum Datum::Default(const Type& type) {
  Datum d;
  d.map_ = type.IsMap();
  if (type.n_min > 0) {
    d.keys_.push_back(Atom::Default(type.key.type));
    if (d.map_) d.values_.push_back(Atom::Default(type.value.type));
  }
  return d;
}

namespace {

// True if `a` == Atom::Default(type).
bool IsDefaultAtom(const Atom& a, AtomicType type) {
  if (a.type() != type) return false;
  switch (type) {
    case AtomicType::kInteger: return a.integer() == 0;
    case AtomicType::kReal: return a.real() == 0.0;
    case AtomicType::kBoolean: return !a.boolean();
    case AtomicType::kString: return a.string().empty();
    case AtomicType::kUuid: return a.uuid().IsZero();
  }
  return false;
}

}  // namespace

bool Datum::IsDefault(const Type& type) const {
  if (type.n_min == 0) return keys_.empty() && values_.empty();
  if (keys_.size() != 1 || !IsDefaultAtom(keys_[0], type.key.type)) return false;
  if (!type.IsMap()) return values_.empty();
  return values_.size() == 1 && IsDefaultAtom(values_[0], type.value.type);
}

Result<Datum> Datum::FromJson(const Type& type, const Json& json,
                              const NamedUuids* names) {
  if (type.IsMap()) return MapFromJson(type, json, names);
  return SetFromJson(type, json, names);
}

Result<Datum> Datum::FromAtoms(const Type& type, std::vector<Atom> keys,
                               std::vector<Atom> values) {
  Datum d;
  d.map_ = type.IsMap();
  d.keys_ = std::move(keys);
  d.values_ = std::move(values);
  if (Status s = d.Sort(d.map_); !s) return s.error();
  return d;
}

Status Datum::Sort(bool is_map) {
  map_ = is_map;
  size_t n = keys_.size();
  bool sorted = true;
  for (size_t i = 1; i < n && sorted; ++i) sorted = keys_[i - 1] < keys_[i];
  if (sorted) return Status::Ok();
  if (!is_map) {
    std::sort(keys_.begin(), keys_.end());
  } else {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return keys_[a] < keys_[b]; });
    std::vector<Atom> k, v;
    k.reserve(n);
    v.reserve(n);
    for (size_t i : order) {
      k.push_back(std::move(keys_[i]));
      v.push_back(std::move(values_[i]));
    }
    keys_ = std::move(k);
    values_ = std::move(v);
  }
  for (size_t i = 1; i < n; ++i) {
    if (keys_[i - 1] == keys_[i]) {
      return Error("constraint violation",
                   is_map ? "map contains duplicate key" : "set contains duplicate value");
    }
  }
  return Status::Ok();
}

Json Datum::ToJson(const Type& type) const {
  if (type.IsMap()) {
    Json pairs = Json::array();
    for (size_t i = 0; i < keys_.size(); ++i) {
      pairs.push_back(Json::array({keys_[i].ToJson(), values_[i].ToJson()}));
    }
    return Json::array({"map", std::move(pairs)});
  }
  if (keys_.size() == 1) return keys_[0].ToJson();
  Json elems = Json::array();
  for (const Atom& a : keys_) elems.push_back(a.ToJson());
  return Json::array({"set", std::move(elems)});
}

void Datum::AppendJson(const Type& type, std::string& out) const {
  if (type.IsMap()) {
    out += "[\"map\",[";
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (i) out += ',';
      out += '[';
      keys_[i].AppendJson(out);
      out += ',';
      values_[i].AppendJson(out);
      out += ']';
    }
    out += "]]";
    return;
  }
  if (keys_.size() == 1) {
    keys_[0].AppendJson(out);
    return;
  }
  out += "[\"set\",[";
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (i) out += ',';
    keys_[i].AppendJson(out);
  }
  out += "]]";
}

std::string Datum::ToString(const Type& type, StringQuoting q) const {
  // Brackets only when the column can hold several values or is empty.
  bool brackets = type.n_max > 1 || keys_.empty();
  bool is_map = type.IsMap();
  std::string s;
  if (brackets) s += is_map ? '{' : '[';
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (i) s += ", ";
    keys_[i].AppendString(&s, q);
    if (is_map) {
      s += '=';
      values_[i].AppendString(&s, q);
    }
  }
  if (brackets) s += is_map ? '}' : ']';
  return s;
}

Status Datum::CheckConstraints(const Type& type) const {
  for (const Atom& a : keys_) {
    if (Status s = type.key.Check(a); !s) return s;
  }
  for (const Atom& a : values_) {
    if (Status s = type.value.Check(a); !s) return s;
  }
  return Status::Ok();
}

Status Datum::CheckSize(const Type& type) const {
  if (keys_.size() < type.n_min || keys_.size() > type.n_max) {
    std::string max = type.n_max == kUnlimited ? std::string("unlimited")
                                               : std::to_string(type.n_max);
    return Error("constraint violation",
                 "Attempted to store " + std::to_string(keys_.size()) +
                     " elements in " + (type.IsMap() ? "map" : "set") +
                     " of " + std::to_string(type.n_min) + " to " + max +
                     " elements.");
  }
  return Status::Ok();
}

ptrdiff_t Datum::Find(const Atom& key) const {
  auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
  if (it == keys_.end() || !(*it == key)) return -1;
  return it - keys_.begin();
}

void Datum::Union(const Datum& other) {
  std::vector<Atom> k, v;
  k.reserve(keys_.size() + other.keys_.size());
  size_t i = 0, j = 0;
  bool m = map_ || other.map_;
  while (i < keys_.size() || j < other.keys_.size()) {
    if (j == other.keys_.size() ||
        (i < keys_.size() && keys_[i] < other.keys_[j])) {
      k.push_back(std::move(keys_[i]));
      if (m) v.push_back(std::move(values_[i]));
      ++i;
    } else if (i == keys_.size() || other.keys_[j] < keys_[i]) {
      k.push_back(other.keys_[j]);
      if (m) v.push_back(other.values_[j]);
      ++j;
    } else {
      k.push_back(std::move(keys_[i]));
      if (m) v.push_back(std::move(values_[i]));
      ++i;
      ++j;
    }
  }
  keys_ = std::move(k);
  values_ = std::move(v);
  map_ = m;
}

void Datum::SubtractKeys(const Datum& other) {
  RemoveIf([&](const Atom& k, const Atom*) { return other.Find(k) >= 0; });
}

void Datum::SubtractPairs(const Datum& other) {
  RemoveIf([&](const Atom& k, const Atom* v) {
    ptrdiff_t i = other.Find(k);
    return i >= 0 && v != nullptr && other.values_[i] == *v;
  });
}

bool Datum::Includes(const Datum& other) const {
  for (size_t j = 0; j < other.keys_.size(); ++j) {
    ptrdiff_t i = Find(other.keys_[j]);
    if (i < 0) return false;
    if (map_ && other.map_ && !(values_[i] == other.values_[j])) return false;
  }
  return true;
}

bool Datum::Excludes(const Datum& other) const {
  for (size_t j = 0; j < other.keys_.size(); ++j) {
    ptrdiff_t i = Find(other.keys_[j]);
    if (i < 0) continue;
    if (!map_ || !other.map_ || values_[i] == other.values_[j]) return false;
  }
  return true;
}

Datum Datum::Diff(const Datum& old, const Datum& next) {
  Datum d;
  d.map_ = old.map_ || next.map_;
  size_t i = 0, j = 0;
  while (i < old.keys_.size() || j < next.keys_.size()) {
    if (j == next.keys_.size() ||
        (i < old.keys_.size() && old.keys_[i] < next.keys_[j])) {
      d.keys_.push_back(old.keys_[i]);
      if (d.map_) d.values_.push_back(old.values_[i]);
      ++i;
    } else if (i == old.keys_.size() || next.keys_[j] < old.keys_[i]) {
      d.keys_.push_back(next.keys_[j]);
      if (d.map_) d.values_.push_back(next.values_[j]);
      ++j;
    } else {
      if (d.map_ && !(old.values_[i] == next.values_[j])) {
        d.keys_.push_back(next.keys_[j]);
        d.values_.push_back(next.values_[j]);
      }
      ++i;
      ++j;
    }
  }
  return d;
}

void Datum::ApplyDiff(const Datum& diff) {
  Datum out;
  out.map_ = map_ || diff.map_;
  size_t i = 0, j = 0;
  while (i < keys_.size() || j < diff.keys_.size()) {
    if (j == diff.keys_.size() || (i < keys_.size() && keys_[i] < diff.keys_[j])) {
      out.keys_.push_back(std::move(keys_[i]));
      if (out.map_) out.values_.push_back(std::move(values_[i]));
      ++i;
    } else if (i == keys_.size() || diff.keys_[j] < keys_[i]) {
      out.keys_.push_back(diff.keys_[j]);
      if (out.map_) out.values_.push_back(diff.values_[j]);
      ++j;
    } else {
      // Present on both sides: a set element or an equal pair is removed;
      // a map key with a different value takes the diff's value.
      if (out.map_ && !(values_[i] == diff.values_[j])) {
        out.keys_.push_back(std::move(keys_[i]));
        out.values_.push_back(diff.values_[j]);
      }
      ++i;
      ++j;
    }
  }
  *this = std::move(out);
}

bool Datum::operator<(const Datum& o) const {
  if (keys_ != o.keys_) return keys_ < o.keys_;
  return values_ < o.values_;
}

size_t Datum::Hash() const {
  size_t h = keys_.size();
  for (const Atom& a : keys_) h = h * 31 + a.Hash();
  for (const Atom& a : values_) h = h * 37 + a.Hash();
  return h;
}

}  // namespace spate::ovsdb
