// ovsdb-tool: our commands compared with Debian's /usr/bin/ovsdb-tool 3.1.
#include "ovsdb/tool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "ovsdb/file.h"
#include "ovsdb/test_util.h"

namespace spate::ovsdb {
namespace {

using testing::NormalizeUuids;
using testing::RunCommand;
using testing::ShellQuote;
using testing::SourcePath;
using testing::TempDir;
using testing::WriteFile;

struct ToolRun {
  int status;        // Exit code.
  std::string out;   // Standard output.
  std::string err;   // Standard error.
};

ToolRun Ours(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int st = RunTool(args, out, err);
  return {st, out.str(), err.str()};
}

std::string Ovs(const std::string& args) {
  auto r = RunCommand("/usr/bin/ovsdb-tool " + args + " 2>/dev/null");
  return r.out;
}

std::string SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

class ToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_ = SourcePath("ovsdb/schemas/ovn.ovsschema");
    db_ = dir_ / "ovn.db";
    ASSERT_EQ(Ours({"create", db_, schema_}).status, 0);
    const char* txns[] = {
        R"(["OVN",{"op":"insert","table":"Chassis","row":{"name":"hv1","encaps":["named-uuid","e"]}},{"op":"insert","table":"Encap","row":{"type":"geneve","ip":"10.0.0.1"},"uuid-name":"e"},{"op":"comment","comment":"first"}])",
        R"(["OVN",{"op":"insert","table":"Bindings","row":{"logical_port":"lp1","tunnel_key":7,"mac":"00:00:00:00:00:01"}}])",
        R"(["OVN",{"op":"update","table":"Bindings","where":[],"row":{"chassis":"hv1"}}])",
        R"(["OVN",{"op":"delete","table":"Bindings","where":[]}])"};
    for (const char* t : txns) {
      ToolRun r = Ours({"transact", db_, t});
      ASSERT_EQ(r.status, 0) << r.err;
      ASSERT_EQ(r.out.find("error"), std::string::npos) << r.out;
    }
  }

  TempDir dir_;         // Scratch directory.
  std::string schema_;  // Southbound schema path.
  std::string db_;      // Database written by our tool.
};

TEST_F(ToolTest, InfoCommandsMatch) {
  for (const char* cmd : {"db-name", "db-version", "db-cksum"}) {
    EXPECT_EQ(Ours({cmd, db_}).out, Ovs(std::string(cmd) + " " + db_)) << cmd;
  }
  for (const char* cmd : {"schema-name", "schema-version", "schema-cksum"}) {
    EXPECT_EQ(Ours({cmd, schema_}).out, Ovs(std::string(cmd) + " " + schema_)) << cmd;
  }
  EXPECT_EQ(Ours({"db-name", db_}).out, "OVN\n");
}

TEST_F(ToolTest, ShowLogMatches) {
  EXPECT_EQ(Ours({"show-log", db_}).out, Ovs("show-log " + db_));
  EXPECT_EQ(SortedLines(Ours({"-m", "show-log", db_}).out), SortedLines(Ovs("-m show-log " + db_)));
  EXPECT_EQ(SortedLines(Ours({"show-log", "-mm", db_}).out),
            SortedLines(Ovs("-mm show-log " + db_)));
}

TEST_F(ToolTest, ShowLogMatchesOnFilesWrittenByOpenVswitch) {
  std::string db = dir_ / "ovs.db";
  RunCommand("/usr/bin/ovsdb-tool create " + db + " " + schema_);
  const char* txns[] = {
      R"(["OVN",{"op":"insert","table":"Chassis","row":{"name":"hv1","encaps":["named-uuid","e"]}},{"op":"insert","table":"Encap","row":{"type":"stt","ip":"10.0.0.1"},"uuid-name":"e"}])",
      R"(["OVN",{"op":"mutate","table":"Encap","where":[],"mutations":[["options","insert",["map",[["a","b"]]]]]}])",
      R"(["OVN",{"op":"update","table":"Chassis","where":[],"row":{"name":"hv2"}},{"op":"comment","comment":"rename"}])"};
  for (const char* t : txns) RunCommand("/usr/bin/ovsdb-tool transact " + db + " " + ShellQuote(t));
  for (const char* m : {"", "-m", "-mm"}) {
    std::vector<std::string> args = {"show-log", db};
    if (*m) args.insert(args.begin(), m);
    EXPECT_EQ(SortedLines(Ours(args).out), SortedLines(Ovs(std::string(m) + " show-log " + db))) << m;
  }
}

TEST_F(ToolTest, QueryMatchesAndDoesNotWrite) {
  std::string q = R"(["OVN",{"op":"select","table":"Chassis","where":[],"columns":["name","encaps"]}])";
  EXPECT_EQ(NormalizeUuids(Ours({"query", db_, q}).out), NormalizeUuids(Ovs("query " + db_ + " " + ShellQuote(q))));
  std::string ins = R"(["OVN",{"op":"insert","table":"Pipeline","row":{"match":"1"}}])";
  EXPECT_EQ(Ours({"query", db_, ins}).status, 0);
  EXPECT_EQ(Ovs("show-log " + db_).find("record 5"), std::string::npos);
}

TEST_F(ToolTest, CompactAndConvert) {
  std::string before = Ovs("query " + db_ + " " + ShellQuote(R"(["OVN",{"op":"select","table":"Chassis","where":[],"columns":["_uuid","name","encaps"]}])"));
  ASSERT_EQ(Ours({"compact", db_}).status, 0);
  EXPECT_EQ(Ovs("query " + db_ + " " + ShellQuote(R"(["OVN",{"op":"select","table":"Chassis","where":[],"columns":["_uuid","name","encaps"]}])")), before);
  EXPECT_NE(Ovs("show-log " + db_).find("record 1:"), std::string::npos);
  EXPECT_EQ(Ovs("show-log " + db_).find("record 2:"), std::string::npos);
  ASSERT_EQ(Ours({"compact", db_, dir_ / "copy.db"}).status, 0);
  EXPECT_EQ(Ovs("db-name " + dir_ / "copy.db"), "OVN\n");

  auto schema = DatabaseSchema::FromFile(schema_);
  Json j = schema->ToJson();
  j["version"] = "1.1.0";
  j["tables"]["Chassis"]["columns"]["hostname"] = Json{{"type", "string"}};
  WriteFile(dir_ / "new.ovsschema", DumpJson(j));
  EXPECT_EQ(Ours({"needs-conversion", db_, schema_}).out, "no\n");
  EXPECT_EQ(Ours({"needs-conversion", db_, dir_ / "new.ovsschema"}).out, "yes\n");
  ASSERT_EQ(Ours({"convert", db_, dir_ / "new.ovsschema"}).status, 0);
  EXPECT_EQ(Ovs("db-version " + db_), "1.1.0\n");
  EXPECT_NE(Ovs("query " + db_ + " " + ShellQuote(R"(["OVN",{"op":"select","table":"Chassis","where":[],"columns":["name","hostname"]}])")).find("\"hv1\""), std::string::npos);
}

TEST_F(ToolTest, ErrorsAreOneLineAndNonZero) {
  std::vector<std::vector<std::string>> bad = {
      {"bogus"}, {"--bogus"}, {}, {"db-name", dir_ / "missing.db"},
      {"transact"}, {"transact", db_, "[not json"}, {"create", dir_ / "x.db", dir_ / "nope.ovsschema"},
      {"create", db_, schema_}, {"db-name", "a", "b"}};
  WriteFile(dir_ / "bad.ovsschema", R"({"name":"X","version":"1","tables":{}})");
  bad.push_back({"create", dir_ / "y.db", dir_ / "bad.ovsschema"});
  for (const auto& args : bad) {
    ToolRun r = Ours(args);
    EXPECT_NE(r.status, 0) << (args.empty() ? "" : args[0]);
    EXPECT_EQ(r.err.rfind("ovsdb-tool: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(Ours({"--help"}).status, 0);
  EXPECT_NE(Ours({"--version"}).out.find("ovsdb-tool"), std::string::npos);
}

TEST_F(ToolTest, DefaultDbComesFromOvsDbdir) {
  ::setenv("OVS_DBDIR", dir_.path().c_str(), 1);
  ASSERT_EQ(Ours({"create", dir_ / "conf.db", schema_}).status, 0);
  EXPECT_EQ(Ours({"db-name"}).out, "OVN\n");
  ::unsetenv("OVS_DBDIR");
}

TEST_F(ToolTest, BinaryRuns) {
  const char* bin = std::getenv("SPATE_BIN_DIR");
  ASSERT_NE(bin, nullptr);
  auto r = RunCommand(std::string(bin) + "/ovsdb-tool db-name " + db_);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "OVN\n");
}

}  // namespace
}  // namespace spate::ovsdb
