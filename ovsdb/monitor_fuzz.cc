// libFuzzer target: the first line of the input is a <monitor-requests>
// object, the second a monitor_cond_change request; both are parsed against
// the southbound OVN schema (with rows present) for every monitor version,
// and the initial contents and condition change are computed.  Any crash
// or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ovsdb/json_codec.h"
#include "ovsdb/monitor.h"
#include "ovsdb/transaction.h"

namespace {

using namespace spate::ovsdb;

constexpr const char* kSchema = R"({"name":"S","version":"1.0.0","tables":{
 "T":{"columns":{"name":{"type":"string"},"n":{"type":{"key":"integer","min":0,"max":1}},
   "m":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}},
   "r":{"type":{"key":{"type":"uuid","refTable":"T"},"min":0,"max":"unlimited"}}},"isRoot":true}}})";

Database* MakeDb() {
  static const auto schema =
      std::make_shared<DatabaseSchema>(*DatabaseSchema::FromJson(Json::parse(kSchema)));
  auto* db = new Database(schema);
  TransactOptions opts;
  (void)Transact(*db, Json::parse(R"(["S",{"op":"insert","table":"T","row":{"name":"a","n":1,
      "m":["map",[["k","v"]]]}},{"op":"insert","table":"T","row":{"name":"b"}}])"), opts);
  return db;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using spate::Result;
  static Database* db = MakeDb();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  Result<Json> request = ParseJson(text.substr(0, nl));
  if (!request.ok()) return 0;
  Result<Json> change = nl == std::string_view::npos ? Result<Json>(Json::object())
                                                     : ParseJson(text.substr(nl + 1));
  for (MonitorVersion v : {MonitorVersion::kV1, MonitorVersion::kV2, MonitorVersion::kV3}) {
    Result<std::unique_ptr<Monitor>> m = Monitor::Parse(*db, *request, v);
    if (!m.ok()) continue;
    (void)DumpJson((*m)->Initial(*db));
    if (change.ok()) {
      Result<Json> updates = (*m)->ChangeConditions(*db, *change);
      if (updates.ok()) (void)DumpJson(*updates);
    }
  }
  return 0;
}
