#include "ovsdb/condition.h"

#include <cmath>
#include <limits>

namespace spate::ovsdb {
namespace {

Error Syntax(std::string d) { return Error("syntax error", std::move(d)); }

std::string Plural(const BaseType& b) {
  if (!b.ref_table.empty()) return b.ref_table + "s";
  return std::string(AtomicTypeName(b.type)) + "s";
}

std::string Singular(const BaseType& b) {
  if (!b.ref_table.empty()) return b.ref_table;
  return std::string(AtomicTypeName(b.type));
}

std::string Count(const Type& t) {
  if (t.n_min == 0 && t.n_max == kUnlimited) return "";
  if (t.n_min == 0) return "up to " + std::to_string(t.n_max) + " ";
  if (t.n_max == kUnlimited) return std::to_string(t.n_min) + " or more ";
  if (t.n_min == t.n_max) return std::to_string(t.n_min) + " ";
  return std::to_string(t.n_min) + " to " + std::to_string(t.n_max) + " ";
}

std::optional<Function> ParseFunction(const std::string& s) {
  static const std::pair<const char*, Function> kNames[] = {
      {"<", Function::kLess},     {"<=", Function::kLessEq},
      {"==", Function::kEq},      {"!=", Function::kNotEq},
      {">=", Function::kGreaterEq}, {">", Function::kGreater},
      {"includes", Function::kIncludes}, {"excludes", Function::kExcludes}};
  for (auto& [n, f] : kNames) {
    if (s == n) return f;
  }
  return std::nullopt;
}

bool IsNumber(AtomicType t) { return t == AtomicType::kInteger || t == AtomicType::kReal; }

Result<const ColumnSchema*> LookupColumn(const TableSchema& table, const Json& name) {
  if (!name.is_string()) return Syntax("Parse error in condition.");
  const ColumnSchema* c = table.FindColumn(name.get<std::string>());
  if (c == nullptr) {
    return Error("unknown column", "No column " + name.get<std::string>() +
                                       " in table " + table.name + ".");
  }
  return c;
}

Error TypeMismatch(const std::string& op, const ColumnSchema& c) {
  return Syntax("Type mismatch: \"" + op + "\" operator may not be applied to column " +
                c.name + " of type " + TypeToEnglish(c.type) + ".");
}

Result<Clause> ParseClause(const TableSchema& table, const Json& json,
                           const NamedUuids* names) {
  if (json.is_boolean()) {
    return Clause{json.get<bool>() ? Function::kTrue : Function::kFalse, -1, {}};
  }
  if (!json.is_array() || json.size() != 3 || !json[1].is_string()) {
    return Syntax("Parse error in condition.");
  }
  auto col = LookupColumn(table, json[0]);
  if (!col) return col.error();
  const ColumnSchema& c = **col;
  std::string fname = json[1].get<std::string>();
  auto f = ParseFunction(fname);
  if (!f) return Error("unknown function", "No function named " + fname + ".");
  Type type = c.type;
  switch (*f) {
    case Function::kLess: case Function::kLessEq:
    case Function::kGreater: case Function::kGreaterEq:
      if (!IsNumber(c.type.key.type) || c.type.IsMap() || c.type.n_max != 1) {
        return TypeMismatch(fname, c);
      }
      type.n_min = 1;
      break;
    case Function::kIncludes: case Function::kExcludes:
      if (!c.type.IsScalar()) {
        type.n_min = 0;
        type.n_max = kUnlimited;
      }
      break;
    default:
      break;
  }
  auto value = Datum::FromJson(type, json[2], names);
  if (!value) return value.error();
  return Clause{*f, c.index, std::move(*value)};
}

bool Compare(Function f, const Atom& a, const Atom& b) {
  switch (f) {
    case Function::kLess: return a < b;
    case Function::kLessEq: return !(b < a);
    case Function::kGreater: return b < a;
    case Function::kGreaterEq: return !(a < b);
    default: return false;
  }
}

template <typename T>
std::optional<T> Arith(Mutator m, T a, T b) {
  T r{};
  if constexpr (std::is_integral_v<T>) {
    switch (m) {
      case Mutator::kAdd: if (__builtin_add_overflow(a, b, &r)) return std::nullopt; return r;
      case Mutator::kSub: if (__builtin_sub_overflow(a, b, &r)) return std::nullopt; return r;
      case Mutator::kMul: if (__builtin_mul_overflow(a, b, &r)) return std::nullopt; return r;
      case Mutator::kDiv:
        if (a == std::numeric_limits<T>::min() && b == -1) return std::nullopt;
        return a / b;
      case Mutator::kMod:
        if (b == -1) return T{0};
        return a % b;
      default: return std::nullopt;
    }
  } else {
    switch (m) {
      case Mutator::kAdd: r = a + b; break;
      case Mutator::kSub: r = a - b; break;
      case Mutator::kMul: r = a * b; break;
      case Mutator::kDiv: r = a / b; break;
      default: return std::nullopt;
    }
    if (!std::isfinite(r)) return std::nullopt;
    return r;
  }
}

Status ApplyArith(const Mutation& m, Datum* datum) {
  const Atom& arg = m.value.keys()[0];
  bool is_int = arg.type() == AtomicType::kInteger;
  if ((m.mutator == Mutator::kDiv || m.mutator == Mutator::kMod) &&
      (is_int ? arg.integer() == 0 : arg.real() == 0.0)) {
    return Error("domain error", "Division by zero.");
  }
  for (Atom& a : datum->mutable_keys()) {
    if (is_int) {
      auto r = Arith<int64_t>(m.mutator, a.integer(), arg.integer());
      if (!r) return Error("range error", "Result of \"" + m.name + "\" operation is out of range.");
      a = Atom(*r);
    } else {
      auto r = Arith<double>(m.mutator, a.real(), arg.real());
      if (!r) return Error("range error", "Result of \"" + m.name + "\" operation is out of range.");
      a = Atom(*r);
    }
  }
  if (!datum->Sort(false)) {
    return Error("constraint violation",
                 "Result of \"" + m.name + "\" operation contains duplicates.");
  }
  return Status::Ok();
}

}  // namespace

std::string TypeToEnglish(const Type& t) {
  if (t.IsScalar()) return Singular(t.key);
  if (t.IsOptional() && !t.IsMap()) return "optional " + Singular(t.key);
  if (t.IsMap()) {
    return "map of " + Count(t) + "(" + Singular(t.key) + ", " + Singular(t.value) +
           ") pairs";
  }
  return "set of " + Count(t) + Plural(t.key);
}

Result<Condition> Condition::FromJson(const TableSchema& table, const Json& json,
                                      const NamedUuids* names) {
  if (!json.is_array()) return Syntax("Parse error in condition.");
  Condition cond;
  cond.clauses.reserve(json.size());
  for (const Json& j : json) {
    auto clause = ParseClause(table, j, names);
    if (!clause) return clause.error();
    cond.clauses.push_back(std::move(*clause));
  }
  return cond;
}

bool Condition::Evaluate(const TableSchema& table, const RowView& row) const {
  for (const Clause& c : clauses) {
    bool ok = true;
    switch (c.function) {
      case Function::kTrue: ok = true; break;
      case Function::kFalse: ok = false; break;
      case Function::kEq: ok = row(c.column) == c.value; break;
      case Function::kNotEq: ok = !(row(c.column) == c.value); break;
      case Function::kIncludes: ok = row(c.column).Includes(c.value); break;
      case Function::kExcludes: ok = row(c.column).Excludes(c.value); break;
      default: {
        const Datum& d = row(c.column);
        ok = !d.empty() && Compare(c.function, d.keys()[0], c.value.keys()[0]);
      }
    }
    if (!ok) return false;
  }
  return true;
}

const Uuid* Condition::UuidLookup() const {
  for (const Clause& c : clauses) {
    if (c.function == Function::kEq && c.column == kUuidColumn && c.value.size() == 1) {
      return &c.value.keys()[0].uuid();
    }
  }
  return nullptr;
}

Result<Mutation> Mutation::FromJson(const TableSchema& table, const Json& json,
                                    const NamedUuids* names) {
  if (!json.is_array() || json.size() != 3 || !json[1].is_string()) {
    return Syntax("Parse error in mutation.");
  }
  auto col = LookupColumn(table, json[0]);
  if (!col) return col.error();
  const ColumnSchema& c = **col;
  Mutation m;
  m.column = c.index;
  m.name = json[1].get<std::string>();
  static const std::pair<const char*, Mutator> kNames[] = {
      {"+=", Mutator::kAdd}, {"-=", Mutator::kSub}, {"*=", Mutator::kMul},
      {"/=", Mutator::kDiv}, {"%=", Mutator::kMod}, {"insert", Mutator::kInsert},
      {"delete", Mutator::kDelete}};
  bool found = false;
  for (auto& [n, mu] : kNames) {
    if (m.name == n) { m.mutator = mu; found = true; }
  }
  if (!found) return Error("unknown mutator", "No mutator named " + m.name + ".");
  if (!c.mutable_) {
    return Error("constraint violation",
                 "Cannot mutate immutable column " + c.name + " in table " + table.name + ".");
  }
  Type type = c.type;
  if (m.mutator == Mutator::kInsert || m.mutator == Mutator::kDelete) {
    if (c.type.IsScalar()) return TypeMismatch(m.name, c);
    type.n_min = 0;  // Open vSwitch keeps n_max: a larger argument is a syntax error.
    if (m.mutator == Mutator::kDelete && type.IsMap() &&
        !(json[2].is_array() && json[2].size() == 2 && json[2][0] == "map")) {
      type.has_value = false;  // A set of keys to delete.
    }
  } else {
    bool numeric = IsNumber(c.type.key.type) && !c.type.IsMap();
    if (!numeric || (m.mutator == Mutator::kMod && c.type.key.type != AtomicType::kInteger)) {
      return TypeMismatch(m.name, c);
    }
    type = Type::Scalar(c.type.key.type);
  }
  auto value = Datum::FromJson(type, json[2], names);
  if (!value) return value.error();
  m.value = std::move(*value);
  return m;
}

Status Mutation::Apply(const ColumnSchema& column, Datum* datum) const {
  switch (mutator) {
    case Mutator::kInsert:
      datum->Union(value);
      break;
    case Mutator::kDelete:
      if (value.is_map()) {
        datum->SubtractPairs(value);
      } else {
        datum->SubtractKeys(value);
      }
      break;
    default:
      if (Status s = ApplyArith(*this, datum); !s) return s;
  }
  if (datum->size() < column.type.n_min || datum->size() > column.type.n_max) {
    return Error("constraint violation", "Attempted to store " +
                                             std::to_string(datum->size()) +
                                             " elements in " + TypeToEnglish(column.type) + ".");
  }
  return datum->CheckConstraints(column.type);
}

}  // namespace spate::ovsdb
