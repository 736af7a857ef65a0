#include "ovsdb/atom.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <random>

namespace spate::ovsdb {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Error Expected(AtomicType type, const Json& json) {
  return Error("syntax error",
               "expected " + std::string(AtomicTypeName(type)));
}

Result<Atom> UuidFromJson(const Json& json, const NamedUuids* names) {
  if (!json.is_array() || json.size() != 2 || !json[0].is_string() ||
      !json[1].is_string()) {
    return Error("syntax error", "expected uuid");
  }
  const std::string& kind = json[0].get_ref<const std::string&>();
  const std::string& text = json[1].get_ref<const std::string&>();
  if (kind == "uuid") {
    auto uuid = Uuid::Parse(text);
    if (!uuid) return Error("syntax error", "\"" + text + "\" is not a valid UUID");
    return Atom(*uuid);
  }
  if (kind == "named-uuid") {
    if (names == nullptr || !*names) {
      return Error("syntax error", "named-uuid \"" + text +
                                       "\" is not allowed here");
    }
    auto uuid = (*names)(text);
    if (!uuid) return Error("syntax error", "unknown named-uuid \"" + text + "\"");
    return Atom(*uuid);
  }
  return Error("syntax error", "expected uuid");
}

}  // namespace

Uuid Uuid::Random() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  Uuid u{gen(), gen()};
  u.hi = (u.hi & ~0xf000ULL) | 0x4000ULL;                   // Version 4.
  u.lo = (u.lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // Variant.
  return u;
}

std::optional<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid u;
  int n = 0;
  for (size_t i = 0; i < 36; ++i) {
    char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    int v = HexValue(c);
    if (v < 0) return std::nullopt;
    uint64_t& half = n < 16 ? u.hi : u.lo;
    half = (half << 4) | static_cast<uint64_t>(v);
    ++n;
  }
  return u;
}

std::string Uuid::ToString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t pos = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++pos;  // Skip a dash.
    uint64_t word = i < 8 ? hi : lo;
    auto byte = static_cast<unsigned>((word >> (8 * (7 - i % 8))) & 0xff);
    out[pos++] = kHex[byte >> 4];
    out[pos++] = kHex[byte & 0xf];
  }
  return out;
}

std::string_view AtomicTypeName(AtomicType type) {
  switch (type) {
    case AtomicType::kInteger: return "integer";
    case AtomicType::kReal: return "real";
    case AtomicType::kBoolean: return "boolean";
    case AtomicType::kString: return "string";
    case AtomicType::kUuid: return "uuid";
  }
  return "?";
}

std::optional<AtomicType> AtomicTypeFromName(std::string_view name) {
  if (name == "integer") return AtomicType::kInteger;
  if (name == "real") return AtomicType::kReal;
  if (name == "boolean") return AtomicType::kBoolean;
  if (name == "string") return AtomicType::kString;
  if (name == "uuid") return AtomicType::kUuid;
  return std::nullopt;
}

Atom Atom::Default(AtomicType type) {
  switch (type) {
    case AtomicType::kInteger: return Atom(int64_t{0});
    case AtomicType::kReal: return Atom(0.0);
    case AtomicType::kBoolean: return Atom(false);
    case AtomicType::kString: return Atom(std::string());
    case AtomicType::kUuid: return Atom(Uuid{});
  }
  return Atom();
}

Result<Atom> Atom::FromJson(AtomicType type, const Json& json,
                            const NamedUuids* names) {
  switch (type) {
    case AtomicType::kInteger:
      if (json.is_number_integer()) return Atom(json.get<int64_t>());
      if (json.is_number_unsigned()) return Error("syntax error", "integer out of range");
      return Expected(type, json);
    case AtomicType::kReal:
      if (json.is_number()) return Atom(json.get<double>());
      return Expected(type, json);
    case AtomicType::kBoolean:
      if (json.is_boolean()) return Atom(json.get<bool>());
      return Expected(type, json);
    case AtomicType::kString:
      if (json.is_string()) return Atom(json.get<std::string>());
      return Expected(type, json);
    case AtomicType::kUuid:
      return UuidFromJson(json, names);
  }
  return Expected(type, json);
}

Json Atom::ToJson() const {
  switch (type()) {
    case AtomicType::kInteger: return integer();
    case AtomicType::kReal: return real();
    case AtomicType::kBoolean: return boolean();
    case AtomicType::kString: return string();
    case AtomicType::kUuid: return Json::array({"uuid", uuid().ToString()});
  }
  return nullptr;
}

void Atom::AppendJson(std::string& out) const {
  switch (type()) {
    case AtomicType::kInteger: out += std::to_string(integer()); return;
    case AtomicType::kReal: out += DumpJson(Json(real())); return;  // Rare; nlohmann's form.
    case AtomicType::kBoolean: out += boolean() ? "true" : "false"; return;
    case AtomicType::kString: AppendJsonString(out, string()); return;
    case AtomicType::kUuid:
      out += "[\"uuid\",\"";
      out += uuid().ToString();
      out += "\"]";
      return;
  }
}

std::string RealToString(double r) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", r);
  return buf;
}

void Atom::AppendString(std::string* out, StringQuoting q) const {
  switch (type()) {
    case AtomicType::kInteger: *out += std::to_string(integer()); return;
    case AtomicType::kReal: *out += RealToString(real()); return;
    case AtomicType::kBoolean: *out += boolean() ? "true" : "false"; return;
    case AtomicType::kString:
      if (StringNeedsQuotes(string(), q)) {
        *out += DumpJson(Json(string()));
      } else {
        *out += string();
      }
      return;
    case AtomicType::kUuid: *out += uuid().ToString(); return;
  }
}

std::string Atom::ToString(StringQuoting q) const {
  std::string s;
  AppendString(&s, q);
  return s;
}

size_t Atom::Hash() const {
  switch (type()) {
    case AtomicType::kInteger: return std::hash<int64_t>()(integer());
    case AtomicType::kReal: return std::hash<double>()(real());
    case AtomicType::kBoolean: return boolean() ? 1 : 2;
    case AtomicType::kString: return std::hash<std::string>()(string());
    case AtomicType::kUuid: return UuidHash()(uuid());
  }
  return 0;
}

bool StringNeedsQuotes(std::string_view s, StringQuoting q) {
  if (s.empty()) return true;
  unsigned char c0 = static_cast<unsigned char>(s[0]);
  if (!std::isalpha(c0) && c0 != '_') return true;
  for (char ch : s.substr(1)) {
    unsigned char c = static_cast<unsigned char>(ch);
    bool word = q == StringQuoting::kModern ? std::isalnum(c) : std::isalpha(c);
    if (!word && c != '_' && c != '-' && c != '.') return true;
  }
  if (s == "true" || s == "false") return true;
  return Uuid::Parse(s).has_value();
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char ch : s) {
    if ((static_cast<unsigned char>(ch) & 0xc0) != 0x80) ++n;
  }
  return n;
}

}  // namespace spate::ovsdb
