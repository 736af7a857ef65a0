#include "ovsdb/json_codec.h"

namespace spate::ovsdb {

namespace {

// Deepest nesting accepted; deeper input would make recursive consumers
// (printing, destruction) use unbounded stack.
constexpr int kMaxDepth = 1000;

// True if arrays/objects in `text` nest deeper than kMaxDepth.
bool TooDeep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// The escape sequence for an ASCII byte that JSON strings may not hold
// as is, or nullptr.
const char* Escape(unsigned char c, char (&buf)[7]) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: break;
  }
  if (c >= 0x20) return nullptr;
  buf[0] = '\\';
  buf[1] = 'u';
  buf[2] = '0';
  buf[3] = '0';
  buf[4] = kHex[c >> 4];
  buf[5] = kHex[c & 0xf];
  buf[6] = '\0';
  return buf;
}

}  // namespace

Result<Json> ParseJson(std::string_view text) {
  if (TooDeep(text)) return Error("syntax error", "JSON nesting too deep");
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    return Error("syntax error", e.what());
  }
}

std::string DumpJson(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void AppendJsonString(std::string& out, std::string_view s) {
  size_t start = out.size();
  out += '"';
  size_t run = 0;  // First byte not yet copied.
  char buf[7];
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Non-ASCII: nlohmann's writer validates (and repairs) the UTF-8.
      out.resize(start);
      out += DumpJson(Json(std::string(s)));
      return;
    }
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    out += Escape(c, buf);
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

Json ErrorObject(const Error& error) {
  Json out = Json::object();
  out["error"] = error.tag();
  if (!error.details().empty()) out["details"] = error.details();
  return out;
}

std::string_view JsonTypeName(const Json& json) {
  switch (json.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::string: return "string";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "real";
    default: return "unknown";
  }
}

}  // namespace spate::ovsdb
