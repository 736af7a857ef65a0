// JSON codec: the one place where OVSDB text meets nlohmann::json.
//
// What: parsing of JSON text into nlohmann::json with a clear error instead
// of an exception, compact serialisation in the form Open vSwitch writes
// (no spaces, members in sorted order because nlohmann::json keeps objects
// sorted), a string-literal writer for code that emits JSON text directly
// (AppendJsonString), and small helpers for the RFC 7047 error objects.
//
// Design: every other OVSDB layer takes and returns nlohmann::json values
// but never parses text or catches nlohmann exceptions itself; the few
// nlohmann calls that can throw (parse, dump of invalid UTF-8) are wrapped
// here.
//
// Thread-safety: all functions are pure and may be called concurrently.
#ifndef SPATE_OVSDB_JSON_CODEC_H
#define SPATE_OVSDB_JSON_CODEC_H

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace spate::ovsdb {

using Json = nlohmann::json;

// Parses one complete JSON text (nesting at most 1000 deep).  Errors:
// Error("syntax error", reason).
Result<Json> ParseJson(std::string_view text);

// Serialises compactly ("a":1,"b":[1,2]) with non-ASCII kept as UTF-8.
// Never throws: invalid UTF-8 inside strings is replaced by U+FFFD.
std::string DumpJson(const Json& json);

// Appends `s` as a JSON string literal (quoted, escaped) to `out`, byte for
// byte what DumpJson(Json(s)) writes: \" \\ \b \f \n \r \t, other control
// characters as \u00xx, UTF-8 kept, invalid UTF-8 replaced by U+FFFD.
// For writers that produce JSON text without building a Json tree.
void AppendJsonString(std::string& out, std::string_view s);

// Builds the RFC 7047 error object {"error": tag, "details": details}; an
// empty details string is omitted.
Json ErrorObject(const Error& error);

// The JSON type name used in Open vSwitch's messages ("string", "array"...).
std::string_view JsonTypeName(const Json& json);

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_JSON_CODEC_H
