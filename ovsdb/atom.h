// Atoms: the scalar values of OVSDB (RFC 7047 §5.1 <atom>).
//
// What: Uuid, the five atomic types (integer, real, boolean, string, uuid),
// and Atom, one value of one of them, with its wire encoding (§8.3 of the
// reference) and Open vSwitch's human-readable form (used in error details
// and by ovsdb-client/ovsdb-tool output).
//
// Design: an Atom is a std::variant; atoms of the same type compare with the
// natural order (strings bytewise, as Open vSwitch's strcmp), which is the
// order in which sets and maps are kept.  ["named-uuid", name] is resolved
// through a caller-supplied NamedUuids table so that atoms stay independent
// of transactions.
//
// Thread-safety: values; Uuid::Random uses a thread-local generator.
#ifndef SPATE_OVSDB_ATOM_H
#define SPATE_OVSDB_ATOM_H

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/result.h"
#include "ovsdb/json_codec.h"

namespace spate::ovsdb {

// A 128-bit UUID, printed as 8-4-4-4-12 lower-case hex.
struct Uuid {
  uint64_t hi = 0;  // First 8 bytes, big-endian order of the text form.
  uint64_t lo = 0;  // Last 8 bytes.

  // A random version-4 UUID.
  static Uuid Random();
  // Parses the 36-character form; nullopt if malformed.
  static std::optional<Uuid> Parse(std::string_view text);
  std::string ToString() const;
  bool IsZero() const { return hi == 0 && lo == 0; }
  auto operator<=>(const Uuid&) const = default;
};

struct UuidHash {
  size_t operator()(const Uuid& u) const {
    return static_cast<size_t>(u.hi ^ (u.lo * 0x9e3779b97f4a7c15ULL));
  }
};

enum class AtomicType { kInteger, kReal, kBoolean, kString, kUuid };

// "integer", "real", "boolean", "string", "uuid".
std::string_view AtomicTypeName(AtomicType type);
// Inverse of AtomicTypeName.
std::optional<AtomicType> AtomicTypeFromName(std::string_view name);

// How the display form decides to quote a string.  kModern is Open
// vSwitch 3.x (a bare word may contain digits after its first character:
// lp1); kClassic2015 is the 2015 rule, which the seed's `ovsdb-client dump`
// shows (only letters, '_', '-', '.': "sw0-port0" is quoted).
enum class StringQuoting { kModern, kClassic2015 };

// Resolves ["named-uuid", name] during parsing: returns the UUID bound to the
// name (creating a binding if the caller allows), or nullopt to reject.
using NamedUuids = std::function<std::optional<Uuid>(const std::string&)>;

// One scalar value.
class Atom {
 public:
  Atom() : v_(int64_t{0}) {}
  explicit Atom(int64_t i) : v_(i) {}
  explicit Atom(double r) : v_(r) {}
  explicit Atom(bool b) : v_(b) {}
  explicit Atom(std::string s) : v_(std::move(s)) {}
  explicit Atom(const Uuid& u) : v_(u) {}

  // The default atom of a type: 0, 0.0, false, "", all-zero UUID.
  static Atom Default(AtomicType type);

  AtomicType type() const { return static_cast<AtomicType>(v_.index()); }
  int64_t integer() const { return std::get<int64_t>(v_); }
  double real() const { return std::get<double>(v_); }
  bool boolean() const { return std::get<bool>(v_); }
  const std::string& string() const { return std::get<std::string>(v_); }
  const Uuid& uuid() const { return std::get<Uuid>(v_); }

  // Parses `json` as an atom of `type`.  Errors are Open vSwitch's:
  // ("syntax error", "expected integer") and so on.
  static Result<Atom> FromJson(AtomicType type, const Json& json,
                               const NamedUuids* names);
  Json ToJson() const;
  // Appends DumpJson(ToJson()) to `out`, byte for byte, without building a
  // Json value (for writers of large records and updates).
  void AppendJson(std::string& out) const;
  // Open vSwitch's display form: strings quoted only when needed.
  std::string ToString(StringQuoting q = StringQuoting::kModern) const;
  // Appends ToString(q) to `out`.
  void AppendString(std::string* out, StringQuoting q = StringQuoting::kModern) const;

  bool operator==(const Atom& o) const { return v_ == o.v_; }
  bool operator<(const Atom& o) const { return v_ < o.v_; }
  size_t Hash() const;

 private:
  std::variant<int64_t, double, bool, std::string, Uuid> v_;  // The value.
};

// True if Open vSwitch would print `s` in double quotes (not a bare word).
bool StringNeedsQuotes(std::string_view s, StringQuoting q = StringQuoting::kModern);
// Number of Unicode code points in a UTF-8 string.
size_t Utf8Length(std::string_view s);
// Formats a real the way Open vSwitch prints it (%.15g).
std::string RealToString(double r);

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_ATOM_H
