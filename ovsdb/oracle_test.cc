// Differential test: the same transactions run through Open vSwitch's
// ovsdb-tool (the reference) and through our engine must give the same
// replies, modulo UUIDs (and the informational "syntax" member).
#include <gtest/gtest.h>

#include "ovsdb/file.h"
#include "ovsdb/test_util.h"

namespace spate::ovsdb {
namespace {

using testing::NormalizeUuids;
using testing::RunCommand;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

constexpr const char* kSchema = R"({"name":"T","version":"1.0.0","tables":{
 "A":{"columns":{"name":{"type":"string"},
   "n":{"type":{"key":{"type":"integer","minInteger":0,"maxInteger":10}}},
   "b":{"type":{"key":{"type":"uuid","refTable":"B"},"min":0,"max":"unlimited"}},
   "w":{"type":{"key":{"type":"uuid","refTable":"B","refType":"weak"},"min":1,"max":"unlimited"}},
   "s":{"type":{"key":"integer","min":0,"max":2}},
   "r":{"type":"real"},
   "m":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}},
   "im":{"type":"string","mutable":false}},
  "indexes":[["name"]],"isRoot":true,"maxRows":3},
 "B":{"columns":{"x":{"type":"integer"},
   "s":{"type":{"key":{"type":"string","enum":["set",["a","b"]]}}}}}}})";

// Each step is one transaction; the sequence builds on earlier steps.
const char* kSteps[] = {
    R"({"op":"insert","table":"Z","row":{}})",
    R"({"op":"insert","table":"A","row":{"zz":1}})",
    R"({"op":"insert","table":"A","row":{"n":11}})",
    R"({"op":"insert","table":"A","row":{"n":"x"}})",
    R"({"op":"insert","table":"B","row":{"s":"c"}})",
    R"({"op":"insert","table":"B","row":{"x":1}})",
    R"({"op":"insert","table":"A","row":{"name":"a"}})",
    R"({"op":"insert","table":"B","row":{"x":1,"s":"a"},"uuid-name":"b"},{"op":"insert","table":"A","row":{"name":"x","b":["named-uuid","b"],"w":["named-uuid","b"]}},{"op":"comment","comment":"hi"},{"op":"commit","durable":true})",
    R"({"op":"insert","table":"A","row":{"name":"x","w":["set",[]]}})",
    R"({"op":"insert","table":"B","row":{"x":1,"s":"a"},"uuid-name":"b"},{"op":"insert","table":"A","row":{"name":"y","w":["named-uuid","b"]}})",
    R"({"op":"delete","table":"B","where":[]})",
    R"({"op":"insert","table":"B","row":{"s":"a"},"uuid-name":"b"},{"op":"insert","table":"B","row":{"s":"a"},"uuid-name":"b"})",
    R"({"op":"insert","table":"A","row":{"name":"x","w":["named-uuid","b"],"b":["named-uuid","b"]}},{"op":"insert","table":"B","row":{"s":"a"},"uuid-name":"b"})",
    R"({"op":"insert","table":"A","row":{"name":"q","w":["named-uuid","b"],"b":["named-uuid","b"]}},{"op":"insert","table":"B","row":{"s":"b"},"uuid-name":"b"})",
    R"({"op":"update","table":"A","where":[["name","==","q"]],"row":{"name":"x"}})",
    R"({"op":"insert","table":"A","row":{"name":"q2","w":["named-uuid","b"],"b":["named-uuid","b"]}},{"op":"insert","table":"A","row":{"name":"q3","w":["named-uuid","b"],"b":["named-uuid","b"]}},{"op":"insert","table":"B","row":{"s":"b"},"uuid-name":"b"})",
    R"({"op":"wait","timeout":0,"table":"A","where":[],"columns":["name"],"until":"==","rows":[{"name":"zz"}]})",
    R"({"op":"wait","timeout":0,"table":"A","where":[["name","==","x"]],"columns":["name"],"until":"==","rows":[{"name":"x"}]})",
    R"({"op":"wait","timeout":50,"table":"A","where":[],"columns":["name"],"until":"!=","rows":[]})",
    R"({"op":"select","table":"A","where":[["name","foo","x"]]})",
    R"({"op":"select","table":"A","where":[["name","<","x"]]})",
    R"({"op":"select","table":"A","where":[["q","==",1]]})",
    R"({"op":"select","table":"A","where":[["name","==","x"]],"columns":["zz"]})",
    R"({"op":"select","table":"A"})",
    R"({"op":"select","table":"A","where":[["name","==","x"],["n","<=",0],["s","includes",["set",[]]],["m","excludes",["map",[["k","v"]]]],true],"columns":["name","n","s","m"]})",
    R"({"op":"mutate","table":"A","where":[["name","==","x"]],"mutations":[["name","+=","x"]]})",
    R"({"op":"mutate","table":"A","where":[["name","==","x"]],"mutations":[["im","insert","x"]]})",
    R"({"op":"mutate","table":"A","where":[["name","==","x"]],"mutations":[["n","/=",0]]})",
    R"({"op":"mutate","table":"A","where":[["name","==","x"]],"mutations":[["n","+=",100]]})",
    R"({"op":"mutate","table":"A","where":[["name","==","x"]],"mutations":[["n","foo",1]]})",
    R"({"op":"mutate","table":"A","where":[["name","==","x"]],"mutations":[["r","%=",1]]})",
    R"({"op":"mutate","table":"A","where":[["name","==","x"]],"mutations":[["m","+=",1]]})",
    R"({"op":"mutate","table":"A","where":[["name","==","x"]],"mutations":[["s","insert",["set",[1,2,3]]]]})",
    R"({"op":"mutate","table":"A","where":[["name","==","x"]],"mutations":[["s","insert",["set",[1,2]]],["m","insert",["map",[["k","v"]]]]]})",
    R"({"op":"mutate","table":"A","where":[["name","==","x"]],"mutations":[["s","*=",0]]})",
    R"({"op":"update","table":"A","where":[],"row":{"im":"x"}})",
    R"({"op":"update","table":"A","where":[],"row":{"_uuid":["uuid","12345678-1234-1234-1234-123456789012"]}})",
    R"({"op":"insert","table":"A","row":{"name":"z","b":["uuid","12345678-1234-1234-1234-123456789012"]}})",
    R"({"op":"insert","table":"A","row":{"name":"z","b":["named-uuid","nope"]}})",
    R"({"op":"insert","table":"B","row":{"x":1,"s":"a"},"uuid-name":"1b"})",
    R"({"op":"insert","table":"B","row":{"x":1.5}})",
    R"({"op":"insert","table":"B","row":{"x":1},"uuid":"zz"})",
    R"({"op":"assert","lock":"x"})",
    R"({"op":"bogus"})",
    R"({"op":"select","table":"A","where":[],"columns":["name"]},{"op":"abort"},{"op":"select","table":"A","where":[]})",
    R"({"op":"delete","table":"A","where":[["name","==","x"]]},{"op":"select","table":"B","where":[],"columns":["x","s"]})",
    R"({"op":"select","table":"B","where":[],"columns":["x","s"]})",
};

// Open vSwitch names the two rows of a unique-index conflict in hash
// order; put the two descriptions in a canonical order.
std::string OrderIndexRows(const std::string& details) {
  size_t first = details.find("  First row, ");
  size_t second = details.find("  Second row, ");
  if (first == std::string::npos || second == std::string::npos) return details;
  std::string a = details.substr(first + 13, second - first - 13);
  std::string b = details.substr(second + 14);
  if (NormalizeUuids(b) < NormalizeUuids(a)) std::swap(a, b);
  return details.substr(0, first) + "  First row, " + a + "  Second row, " + b;
}

// Drops the informational "syntax" members, which we do not produce, and
// sorts selected rows (both servers return them in hash order).
Json Strip(Json reply) {
  if (reply.is_object()) reply.erase("syntax");
  if (reply.is_array()) {
    for (Json& e : reply) {
      if (!e.is_object()) continue;
      e.erase("syntax");
      if (e.contains("details")) e["details"] = OrderIndexRows(e["details"]);
      if (e.contains("rows")) {
        std::vector<Json> rows(e["rows"].begin(), e["rows"].end());
        std::sort(rows.begin(), rows.end(),
                  [](const Json& a, const Json& b) { return DumpJson(a) < DumpJson(b); });
        e["rows"] = rows;
      }
    }
  }
  return reply;
}

TEST(OracleTest, RepliesMatchOpenVswitchModuloUuids) {
  TempDir dir;
  WriteFile(dir / "s.ovsschema", kSchema);
  auto c = RunCommand("/usr/bin/ovsdb-tool create " + dir / "ovs.db" + " " + dir / "s.ovsschema 2>&1");
  ASSERT_EQ(c.status, 0) << c.out;
  auto schema = DatabaseSchema::FromFile(dir / "s.ovsschema");
  ASSERT_TRUE(schema.ok());
  ASSERT_TRUE(DatabaseFile::Create(dir / "ours.db", *schema).ok());
  auto ours = DatabaseFile::Open(dir / "ours.db");
  ASSERT_TRUE(ours.ok());
  for (const char* step : kSteps) {
    std::string params = std::string("[\"T\",") + step + "]";
    auto ovs = RunCommand("/usr/bin/ovsdb-tool transact " + dir / "ovs.db" + " " + ShellQuote(params));
    ASSERT_EQ(ovs.status, 0) << step;
    Json expected = Strip(Json::parse(ovs.out));
    Json got = Strip((*ours)->Transact(Json::parse(params), {}).reply);
    EXPECT_EQ(NormalizeUuids(DumpJson(got)), NormalizeUuids(DumpJson(expected))) << step;
  }
}

}  // namespace
}  // namespace spate::ovsdb
