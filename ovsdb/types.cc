#include "ovsdb/types.h"

#include <algorithm>

namespace spate::ovsdb {
namespace {

Error Syntax(std::string details) { return Error("syntax error", std::move(details)); }

Result<std::vector<Atom>> ParseEnum(AtomicType type, const Json& json) {
  std::vector<Atom> atoms;
  auto add = [&](const Json& j) -> Status {
    auto atom = Atom::FromJson(type, j, nullptr);
    if (!atom) return atom.error();
    atoms.push_back(std::move(*atom));
    return Status::Ok();
  };
  if (json.is_array() && json.size() == 2 && json[0] == "set") {
    if (!json[1].is_array()) return Syntax("enum: set value must be an array");
    for (const Json& j : json[1]) {
      if (Status s = add(j); !s) return s.error();
    }
  } else if (Status s = add(json); !s) {
    return s.error();
  }
  std::sort(atoms.begin(), atoms.end());
  atoms.erase(std::unique(atoms.begin(), atoms.end()), atoms.end());
  if (atoms.empty()) return Syntax("enum must have at least one value");
  return atoms;
}

// Reads an optional integer member; ok with nullopt if absent.
Result<std::optional<int64_t>> IntMember(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return std::optional<int64_t>();
  if (!it->is_number_integer()) {
    return Syntax(std::string("\"") + name + "\" must be an integer");
  }
  return std::optional<int64_t>(it->get<int64_t>());
}

Result<std::optional<double>> RealMember(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return std::optional<double>();
  if (!it->is_number()) return Syntax(std::string("\"") + name + "\" must be a number");
  return std::optional<double>(it->get<double>());
}

Status ParseConstraints(const Json& json, BaseType* b) {
  static const char* const kKnown[] = {"type",      "enum",      "minInteger",
                                       "maxInteger", "minReal",  "maxReal",
                                       "minLength",  "maxLength", "refTable",
                                       "refType"};
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (std::find(std::begin(kKnown), std::end(kKnown), it.key()) == std::end(kKnown)) {
      return Syntax("unknown base type member \"" + it.key() + "\"");
    }
  }
  if (json.contains("enum")) {
    auto e = ParseEnum(b->type, json["enum"]);
    if (!e) return e.error();
    b->enum_values = std::move(*e);
    b->has_enum = true;
  }
  bool is_int = b->type == AtomicType::kInteger;
  bool is_real = b->type == AtomicType::kReal;
  bool is_str = b->type == AtomicType::kString;
  bool is_uuid = b->type == AtomicType::kUuid;
  auto misplaced = [&](const char* m, bool ok) -> Status {
    if (json.contains(m) && !ok) {
      return Syntax(std::string("\"") + m + "\" not allowed for type " +
                    std::string(AtomicTypeName(b->type)));
    }
    return Status::Ok();
  };
  for (auto [m, ok] : {std::pair{"minInteger", is_int}, {"maxInteger", is_int},
                       {"minReal", is_real}, {"maxReal", is_real},
                       {"minLength", is_str}, {"maxLength", is_str},
                       {"refTable", is_uuid}, {"refType", is_uuid}}) {
    if (Status s = misplaced(m, ok); !s) return s;
  }
  auto mini = IntMember(json, "minInteger");
  auto maxi = IntMember(json, "maxInteger");
  auto minl = IntMember(json, "minLength");
  auto maxl = IntMember(json, "maxLength");
  auto minr = RealMember(json, "minReal");
  auto maxr = RealMember(json, "maxReal");
  for (auto* r : {&mini, &maxi, &minl, &maxl}) {
    if (!*r) return r->error();
  }
  if (!minr) return minr.error();
  if (!maxr) return maxr.error();
  if (*mini) b->min_integer = **mini;
  if (*maxi) b->max_integer = **maxi;
  if (*minr) b->min_real = **minr;
  if (*maxr) b->max_real = **maxr;
  if ((*minl && **minl < 0) || (*maxl && **maxl < 0)) {
    return Syntax("string length bounds must be non-negative");
  }
  if (*minl) b->min_length = static_cast<size_t>(**minl);
  if (*maxl) b->max_length = static_cast<size_t>(**maxl);
  if (b->min_integer > b->max_integer) return Syntax("minInteger exceeds maxInteger");
  if (b->min_real > b->max_real) return Syntax("minReal exceeds maxReal");
  if (b->min_length > b->max_length) return Syntax("minLength exceeds maxLength");
  if (json.contains("refTable")) {
    if (!json["refTable"].is_string()) return Syntax("refTable must be a string");
    b->ref_table = json["refTable"].get<std::string>();
  }
  if (json.contains("refType")) {
    const Json& rt = json["refType"];
    if (rt == "strong") {
      b->ref_type = RefType::kStrong;
    } else if (rt == "weak") {
      b->ref_type = RefType::kWeak;
    } else {
      return Syntax("refType must be \"strong\" or \"weak\" (not " + DumpJson(rt) + ")");
    }
    if (b->ref_table.empty()) return Syntax("refType requires refTable");
  }
  return Status::Ok();
}

std::string IntRangeText(const BaseType& b, int64_t v) {
  constexpr auto kMin = std::numeric_limits<int64_t>::min();
  constexpr auto kMax = std::numeric_limits<int64_t>::max();
  std::string s = std::to_string(v);
  if (b.min_integer != kMin && b.max_integer != kMax) {
    return s + " is not in the valid range " + std::to_string(b.min_integer) +
           " to " + std::to_string(b.max_integer) + " (inclusive)";
  }
  if (b.min_integer != kMin) {
    return s + " is less than minimum allowed value " + std::to_string(b.min_integer);
  }
  return s + " is greater than maximum allowed value " + std::to_string(b.max_integer);
}

std::string RealRangeText(const BaseType& b, double v) {
  constexpr double kMax = std::numeric_limits<double>::max();
  std::string s = RealToString(v);
  if (b.min_real != -kMax && b.max_real != kMax) {
    return s + " is not in the valid range " + RealToString(b.min_real) + " to " +
           RealToString(b.max_real) + " (inclusive)";
  }
  if (b.min_real != -kMax) {
    return s + " is less than minimum allowed value " + RealToString(b.min_real);
  }
  return s + " is greater than maximum allowed value " + RealToString(b.max_real);
}

}  // namespace

Result<BaseType> BaseType::FromJson(const Json& json) {
  BaseType b;
  if (json.is_string()) {
    auto t = AtomicTypeFromName(json.get<std::string>());
    if (!t) return Syntax("unknown atomic type " + DumpJson(json));
    b.type = *t;
    return b;
  }
  if (!json.is_object() || !json.contains("type") || !json["type"].is_string()) {
    return Syntax("base type must be a type name or an object with \"type\" (got " +
                  DumpJson(json) + ")");
  }
  auto t = AtomicTypeFromName(json["type"].get<std::string>());
  if (!t) return Syntax("unknown atomic type " + DumpJson(json["type"]));
  b.type = *t;
  if (Status s = ParseConstraints(json, &b); !s) return s.error();
  return b;
}

bool BaseType::IsUnconstrained() const {
  BaseType plain;
  plain.type = type;
  return !has_enum && min_integer == plain.min_integer &&
         max_integer == plain.max_integer && min_real == plain.min_real &&
         max_real == plain.max_real && min_length == plain.min_length &&
         max_length == plain.max_length && ref_table.empty();
}

Json BaseType::ToJson() const {
  if (IsUnconstrained()) return std::string(AtomicTypeName(type));
  BaseType plain;
  Json j = Json::object();
  j["type"] = std::string(AtomicTypeName(type));
  if (has_enum) {
    Json arr = Json::array();
    for (const Atom& a : enum_values) arr.push_back(a.ToJson());
    j["enum"] = enum_values.size() == 1 ? arr[0] : Json::array({"set", arr});
  }
  if (min_integer != plain.min_integer) j["minInteger"] = min_integer;
  if (max_integer != plain.max_integer) j["maxInteger"] = max_integer;
  if (min_real != plain.min_real) j["minReal"] = min_real;
  if (max_real != plain.max_real) j["maxReal"] = max_real;
  if (min_length != plain.min_length) j["minLength"] = min_length;
  if (max_length != plain.max_length) j["maxLength"] = max_length;
  if (!ref_table.empty()) {
    j["refTable"] = ref_table;
    if (ref_type == RefType::kWeak) j["refType"] = "weak";
  }
  return j;
}

Status BaseType::Check(const Atom& atom) const {
  if (has_enum) {
    if (!std::binary_search(enum_values.begin(), enum_values.end(), atom)) {
      std::string allowed = "[";
      for (size_t i = 0; i < enum_values.size(); ++i) {
        if (i) allowed += ", ";
        enum_values[i].AppendString(&allowed);
      }
      allowed += "]";
      return Error("constraint violation",
                   atom.ToString() + " is not one of the allowed values (" + allowed + ")");
    }
    return Status::Ok();
  }
  switch (type) {
    case AtomicType::kInteger:
      if (atom.integer() < min_integer || atom.integer() > max_integer) {
        return Error("constraint violation", IntRangeText(*this, atom.integer()));
      }
      break;
    case AtomicType::kReal:
      if (atom.real() < min_real || atom.real() > max_real) {
        return Error("constraint violation", RealRangeText(*this, atom.real()));
      }
      break;
    case AtomicType::kString: {
      size_t n = Utf8Length(atom.string());
      if (n < min_length) {
        return Error("constraint violation",
                     "\"" + atom.string() + "\" length " + std::to_string(n) +
                         " is less than minimum allowed length " +
                         std::to_string(min_length));
      }
      if (n > max_length) {
        return Error("constraint violation",
                     "\"" + atom.string() + "\" length " + std::to_string(n) +
                         " is greater than maximum allowed length " +
                         std::to_string(max_length));
      }
      break;
    }
    default:
      break;
  }
  return Status::Ok();
}

Type Type::Scalar(AtomicType t) {
  Type type;
  type.key.type = t;
  return type;
}

Result<Type> Type::FromJson(const Json& json) {
  Type t;
  if (json.is_string()) {
    auto k = BaseType::FromJson(json);
    if (!k) return k.error();
    t.key = std::move(*k);
    return t;
  }
  if (!json.is_object() || !json.contains("key")) {
    return Syntax("ovsdb type must be a type name or an object with \"key\" (got " +
                  DumpJson(json) + ")");
  }
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& k = it.key();
    if (k != "key" && k != "value" && k != "min" && k != "max") {
      return Syntax("unknown type member \"" + k + "\"");
    }
  }
  auto key = BaseType::FromJson(json["key"]);
  if (!key) return key.error();
  t.key = std::move(*key);
  if (json.contains("value")) {
    auto value = BaseType::FromJson(json["value"]);
    if (!value) return value.error();
    t.value = std::move(*value);
    t.has_value = true;
  }
  if (json.contains("min")) {
    const Json& m = json["min"];
    if (!m.is_number_integer() || m.get<int64_t>() < 0 || m.get<int64_t>() > 1) {
      return Syntax("\"min\" must be 0 or 1 (got " + DumpJson(m) + ")");
    }
    t.n_min = m.get<unsigned>();
  }
  if (json.contains("max")) {
    const Json& m = json["max"];
    if (m == "unlimited") {
      t.n_max = kUnlimited;
    } else if (m.is_number_integer() && m.get<int64_t>() >= 1 &&
               m.get<int64_t>() < kUnlimited) {
      t.n_max = m.get<unsigned>();
    } else {
      return Syntax("\"max\" must be a positive integer or \"unlimited\" (got " +
                    DumpJson(m) + ")");
    }
  }
  if (t.n_min > t.n_max) return Syntax("ovsdb type fails constraint checks: min > max");
  return t;
}

Json Type::ToJson() const {
  if (IsScalar() && key.IsUnconstrained()) return key.ToJson();
  Json j = Json::object();
  j["key"] = key.ToJson();
  if (has_value) j["value"] = value.ToJson();
  if (n_min != 1) j["min"] = n_min;
  if (n_max == kUnlimited) {
    j["max"] = "unlimited";
  } else if (n_max != 1) {
    j["max"] = n_max;
  }
  return j;
}

}  // namespace spate::ovsdb
