// ovs-vsctl's value syntax (see vsctl_value.h).
#include "tools/vsctl/vsctl_value.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "ovsdb/json_codec.h"

namespace spate::vsctl {
namespace {

using ovsdb::Atom;
using ovsdb::AtomicType;
using ovsdb::BaseType;
using ovsdb::Datum;
using ovsdb::Type;

// The most elements one range may expand to (Open vSwitch's limit).
constexpr int64_t kMaxRangeElements = 4096;

Error Syntax(std::string details) { return Error("syntax error", std::move(details)); }

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* begin = s.data();
  if (*begin == '+') begin++;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && begin != ptr;
}

// Decodes a double-quoted token with JSON escapes.
Result<std::string> Unquote(std::string_view token) {
  Result<ovsdb::Json> json = ovsdb::ParseJson(token);
  if (!json || !json->is_string()) return Syntax(std::string(token) + ": invalid quoted string");
  return json->get<std::string>();
}

Result<Atom> ParseUuidAtom(std::string_view token, SymbolTable* symbols) {
  if (!token.empty() && token[0] == '@') {
    if (!symbols) return Syntax(Quoted(token) + " is not a valid UUID");
    Symbol& symbol = (*symbols)[std::string(token)];
    if (!symbol.created && symbol.uuid.IsZero()) symbol.uuid = ovsdb::Uuid::Random();
    symbol.referenced = true;
    return Atom(symbol.uuid);
  }
  std::optional<ovsdb::Uuid> uuid = ovsdb::Uuid::Parse(token);
  if (!uuid) return Syntax(Quoted(token) + " is not a valid UUID");
  return Atom(*uuid);
}

Result<Atom> ParseUnchecked(const BaseType& base, std::string_view token, SymbolTable* symbols) {
  switch (base.type) {
    case AtomicType::kInteger: {
      int64_t i = 0;
      if (!ParseInt64(token, &i)) return Syntax(Quoted(token) + " is not a valid integer or range");
      return Atom(i);
    }
    case AtomicType::kReal: {
      std::string copy(token);
      char* end = nullptr;
      double r = std::strtod(copy.c_str(), &end);
      if (copy.empty() || *end) return Syntax(Quoted(token) + " is not a valid real number");
      return Atom(r);
    }
    case AtomicType::kBoolean:
      if (token == "true") return Atom(true);
      if (token == "false") return Atom(false);
      return Syntax(Quoted(token) + " is not a valid boolean (use \"true\" or \"false\")");
    case AtomicType::kString:
      if (token.empty()) {
        return Syntax("An empty string is not valid as input; use \"\" to represent the empty string");
      }
      if (token[0] == '"') {
        Result<std::string> s = Unquote(token);
        if (!s) return s.error();
        return Atom(std::move(*s));
      }
      return Atom(std::string(token));
    case AtomicType::kUuid:
      return ParseUuidAtom(token, symbols);
  }
  return Syntax("bad type");
}

// Reads one token starting at text[*pos]: a double-quoted string (kept
// with its quotes) or a run of characters up to a delimiter or a space.
Result<std::string_view> NextToken(std::string_view text, size_t* pos,
                                   std::string_view delimiters) {
  size_t start = *pos;
  size_t i = start;
  if (i < text.size() && text[i] == '"') {
    for (i++; i < text.size() && text[i] != '"'; i++) {
      if (text[i] == '\\' && i + 1 < text.size()) i++;
    }
    if (i >= text.size()) return Syntax(std::string(text) + ": missing quote at end of quoted string");
    i++;
  } else {
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) &&
           delimiters.find(text[i]) == std::string_view::npos) {
      i++;
    }
  }
  if (i == start) {
    if (i >= text.size()) return Syntax(std::string(text) + ": missing token at end of input");
    return Syntax(std::string(text) + ": syntax error at \"" + std::string(1, text[i]) + "\"");
  }
  *pos = i;
  return text.substr(start, i - start);
}

void SkipSpaces(std::string_view text, size_t* pos) {
  while (*pos < text.size() && std::isspace(static_cast<unsigned char>(text[*pos]))) (*pos)++;
}

// Appends the atoms of one key token: a range "A-B" for integer sets.
Status AppendKeys(const BaseType& base, std::string_view token, bool ranges, SymbolTable* symbols,
                  std::vector<Atom>* keys) {
  size_t dash = token.find('-', 1);
  int64_t lo = 0;
  int64_t hi = 0;
  if (ranges && base.type == AtomicType::kInteger && dash != std::string_view::npos &&
      ParseInt64(token.substr(0, dash), &lo) && ParseInt64(token.substr(dash + 1), &hi)) {
    for (int64_t end : {lo, hi}) {
      if (Status s = base.Check(Atom(end)); !s) return s;
    }
    if (hi < lo) {
      return Syntax(Quoted(token) + " is not a valid range. Range end cannot be before start.");
    }
    if (hi - lo >= kMaxRangeElements) {
      return Syntax(Quoted(token) + " is not a valid range. Range size cannot exceed 4096 elements.");
    }
    for (int64_t i = lo; i <= hi; i++) {
      Result<Atom> atom = ParseAtom(base, std::to_string(i), symbols);
      if (!atom) return atom.error();
      keys->push_back(std::move(*atom));
    }
    return Status::Ok();
  }
  Result<Atom> atom = ParseAtom(base, token, symbols);
  if (!atom) return atom.error();
  keys->push_back(std::move(*atom));
  return Status::Ok();
}

// The shared element loop of ParseDatum/ParseKeysOrDatum.  `pairs` says
// whether elements are KEY=VALUE.
Result<Datum> ParseElements(const Type& type, std::string_view text, bool pairs,
                            SymbolTable* symbols) {
  size_t pos = 0;
  SkipSpaces(text, &pos);
  char end_delim = 0;
  if (pos < text.size() && (text[pos] == '[' || text[pos] == '{')) {
    end_delim = text[pos] == '[' ? ']' : '}';
    pos++;
  }
  std::vector<Atom> keys;
  std::vector<Atom> values;
  for (;;) {
    SkipSpaces(text, &pos);
    if (pos >= text.size() || (end_delim && text[pos] == end_delim)) break;
    Result<std::string_view> key = NextToken(text, &pos, pairs ? ":=, []{}" : ", []{}");
    if (!key) return key.error();
    if (Status s = AppendKeys(type.key, *key, !pairs, symbols, &keys); !s) return s.error();
    if (pairs) {
      SkipSpaces(text, &pos);
      if (pos >= text.size() || text[pos] != '=') {
        // Open vSwitch prints the offending character after the quote
        // (nothing at the end of the input) and stops there.
        return Syntax(std::string(text) + ": syntax error at \"" +
                      (pos < text.size() ? std::string(1, text[pos]) : std::string()));
      }
      pos++;
      SkipSpaces(text, &pos);
      Result<std::string_view> value = NextToken(text, &pos, ", []{}");
      if (!value) return value.error();
      Result<Atom> atom = ParseAtom(type.value, *value, symbols);
      if (!atom) return atom.error();
      values.push_back(std::move(*atom));
    }
    SkipSpaces(text, &pos);
    if (pos < text.size() && text[pos] == ',') pos++;
  }
  if (end_delim) {
    if (pos >= text.size()) {
      return Syntax(std::string(text) + ": missing \"" + std::string(1, end_delim) + "\" at end of input");
    }
    pos++;
    SkipSpaces(text, &pos);
  }
  if (pos < text.size()) {
    return Syntax(std::string(text) + ": trailing garbage after \"" + std::string(1, text[pos - 1]) + "\"");
  }
  Type element_type = type;
  if (!pairs) element_type.has_value = false;
  Result<Datum> datum = Datum::FromAtoms(element_type, std::move(keys), std::move(values));
  if (!datum) return Syntax(std::string(text) + ": " + datum.error().details());
  return datum;
}

}  // namespace

Result<Atom> ParseAtom(const BaseType& base, std::string_view token, SymbolTable* symbols) {
  Result<Atom> atom = ParseUnchecked(base, token, symbols);
  if (!atom) return atom;
  if (Status s = base.Check(*atom); !s) return s.error();
  return atom;
}

Result<Datum> ParseDatum(const Type& type, std::string_view text, SymbolTable* symbols) {
  return ParseElements(type, text, type.IsMap(), symbols);
}

Result<Datum> ParseKeysOrDatum(const Type& type, std::string_view text, SymbolTable* symbols,
                               bool* keys_only) {
  *keys_only = false;
  if (!type.IsMap()) return ParseElements(type, text, false, symbols);
  Result<Datum> pairs = ParseElements(type, text, true, symbols);
  if (pairs) return pairs;
  Result<Datum> keys = ParseElements(type, text, false, symbols);
  if (!keys) return pairs.error();
  *keys_only = true;
  return keys;
}

Result<ColumnArg> ParseColumnArg(std::string_view arg, const std::vector<std::string_view>& ops,
                                 bool value_required) {
  ColumnArg out;
  size_t pos = 0;
  while (pos < arg.size() && (std::isalnum(static_cast<unsigned char>(arg[pos])) ||
                              arg[pos] == '_' || arg[pos] == '-')) {
    pos++;
  }
  out.column = std::string(arg.substr(0, pos));
  if (out.column.empty()) return Syntax(std::string(arg) + ": missing column name");
  if (pos < arg.size() && arg[pos] == ':') {
    pos++;
    if (pos == arg.size() || std::string_view(":=!<>{}").find(arg[pos]) != std::string_view::npos) {
      return Syntax("An empty string is not valid as input; use \"\" to represent the empty string");
    }
    Result<std::string_view> key = NextToken(arg, &pos, ":=!<>{}");
    if (!key) return key.error();
    out.has_key = true;
    out.key = std::string(*key);
  }
  for (std::string_view op : ops) {
    if (arg.substr(pos, op.size()) == op && (!value_required || pos + op.size() < arg.size())) {
      out.op = std::string(op);
      out.value = std::string(arg.substr(pos + op.size()));
      return out;
    }
  }
  if (pos < arg.size() && !value_required) {
    return Syntax(std::string(arg) + ": trailing garbage \"" + std::string(arg.substr(pos)) +
                  "\" in argument");
  }
  if (value_required) {
    // Open vSwitch lists the operators in this order.
    static constexpr std::string_view kOrder[] = {
        "=", "!=", "<", ">", "<=", ">=", "{=}", "{!=}", "{<}", "{>}", "{<=}", "{>=}", "{in}", "{not-in}"};
    std::vector<std::string> listed;
    for (std::string_view op : kOrder) {
      if (std::find(ops.begin(), ops.end(), op) != ops.end()) listed.push_back("\"" + std::string(op) + "\"");
    }
    std::string all;
    for (size_t i = 0; i < listed.size(); i++) {
      if (i) all += i + 1 == listed.size() ? ", or " : ", ";
      all += listed[i];
    }
    return Syntax(std::string(arg) + ": argument does not end in " + all + " followed by a value.");
  }
  return out;
}

std::string BareString(const Datum& datum) {
  std::string out;
  for (size_t i = 0; i < datum.size(); i++) {
    if (i) out += ' ';
    auto bare = [](const Atom& a) {
      return a.type() == AtomicType::kString ? a.string() : a.ToString();
    };
    out += bare(datum.keys()[i]);
    if (datum.is_map() && i < datum.values().size()) out += "=" + bare(datum.values()[i]);
  }
  return out;
}

}  // namespace spate::vsctl
