// libFuzzer target: parse an arbitrary byte string as a transact params
// array and execute it against a small schema (with references, indexes,
// weak references, maps and constraints), then check the database is
// still consistent.  Any crash, sanitizer report or assertion is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "ovsdb/transaction.h"

namespace {

constexpr const char* kSchema = R"({"name":"F","version":"1.0.0","tables":{
 "R":{"columns":{"name":{"type":{"key":{"type":"string","maxLength":8}}},
   "n":{"type":{"key":{"type":"integer","minInteger":0,"maxInteger":9}}},
   "x":{"type":"real"},"b":{"type":{"key":"boolean","min":0,"max":1}},
   "kids":{"type":{"key":{"type":"uuid","refTable":"K"},"min":0,"max":"unlimited"}},
   "weak":{"type":{"key":{"type":"uuid","refTable":"K","refType":"weak"},"min":0,"max":2}},
   "m":{"type":{"key":"string","value":{"type":"uuid","refTable":"K"},"min":0,"max":"unlimited"}},
   "e":{"type":{"key":{"type":"string","enum":["set",["a","b"]]},"min":0,"max":1}}},
  "isRoot":true,"indexes":[["name"]],"maxRows":20},
 "K":{"columns":{"v":{"type":"integer"},
   "up":{"type":{"key":{"type":"uuid","refTable":"K"},"min":0,"max":1}}}}}})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spate::ovsdb;
  static const auto schema =
      std::make_shared<DatabaseSchema>(*DatabaseSchema::FromJson(Json::parse(kSchema)));
  Database db(schema);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Each line is one transaction, so a corpus entry can build state first.
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    auto params = ParseJson(text.substr(start, nl - start));
    if (params.ok()) {
      TransactOptions opts;
      opts.can_block = (size & 1) != 0;
      TransactResult r = Transact(db, *params, opts);
      (void)DumpJson(r.reply);
    }
    start = nl + 1;
  }
  // The incrementally maintained reference counts must equal a recount,
  // and committed state must satisfy referential integrity.
  std::vector<std::pair<uint32_t, size_t>> counts;
  for (size_t t = 0; t < db.n_tables(); ++t) {
    for (auto& [uuid, row] : db.table(static_cast<int>(t)).rows()) {
      counts.emplace_back(row->n_strong_refs, row->weak_referrers.size());
    }
  }
  if (db.RebuildDerived() != 0) std::abort();
  size_t i = 0;
  for (size_t t = 0; t < db.n_tables(); ++t) {
    for (auto& [uuid, row] : db.table(static_cast<int>(t)).rows()) {
      if (counts[i++] != std::make_pair(row->n_strong_refs, row->weak_referrers.size())) {
        std::abort();
      }
    }
  }
  return 0;
}
