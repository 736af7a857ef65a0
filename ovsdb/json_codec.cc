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
