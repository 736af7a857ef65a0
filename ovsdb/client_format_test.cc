// Tests of ovsdb-client's formats: FormatTable on a small table, and our
// ovsdb-client against Debian's ovsdb-server 3.1 (/usr/sbin), byte for byte against
// Debian's ovsdb-client on the same database.
#include "ovsdb/client_format.h"

#include <signal.h>

#include <gtest/gtest.h>

#include "common/testing.h"
#include "ovsdb/server_test_util.h"

namespace spate::ovsdb {
namespace {

using common::testing::ReadFile;
using common::testing::RunProgram;
using common::testing::TempDir;
using common::testing::WaitFor;
using namespace std::chrono_literals;

OutputTable Small() {
  OutputTable t;
  t.caption = "T table";
  t.headings = {"name", "v"};
  t.rows.push_back({{"a", Json("a")}, {"\"x,y\"", Json("x,y")}});
  t.rows.push_back({{"long-name", Json("long-name")}, {"1", Json(1)}});
  return t;
}

TEST(ClientFormat, EachFormat) {
  OutputTable t = Small();
  EXPECT_EQ(FormatTable(t, {TableFormat::kTable, true}),
            "T table\nname      v\n--------- -----\na         \"x,y\"\nlong-name 1\n");
  EXPECT_EQ(FormatTable(t, {TableFormat::kTable, false}), "T table\na         \"x,y\"\nlong-name 1\n");
  EXPECT_EQ(FormatTable(t, {TableFormat::kList, true}),
            "T table\nname                : a\nv                   : \"x,y\"\n\n"
            "name                : long-name\nv                   : 1\n");
  EXPECT_EQ(FormatTable(t, {TableFormat::kCsv, true}),
            "T table\nname,v\na,\"\"\"x,y\"\"\"\nlong-name,1\n");
  EXPECT_EQ(FormatTable(t, {TableFormat::kJson, false}),
            R"({"caption":"T table","data":[["a","x,y"],["long-name",1]],"headings":["name","v"]})"
            "\n");
  EXPECT_FALSE(ParseTableFormat("xml").ok());
}

// Debian's ovsdb-server on a database with a few rows.
class ClientInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string schema = std::string(SPATE_SOURCE_ROOT) + "/ovsdb/schemas/ovn.ovsschema";
    ASSERT_EQ(RunProgram({"/usr/bin/ovsdb-tool", "create", dir_.File("ovn.db"), schema}).exit_code, 0);
    server_ = std::make_unique<testing::Child>(
        std::vector<std::string>{"/usr/sbin/ovsdb-server", "--remote=punix:" + dir_.File("s.sock"),
                                 "--unixctl=" + dir_.File("ctl"), "--no-chdir", "-vconsole:off",
                                 dir_.File("ovn.db")},
        dir_.File("server.out"));
    ASSERT_TRUE(WaitFor([&] { return testing::RawClient(dir_.File("s.sock")).connected(); }));
    const char* txn = R"(["OVN",
      {"op":"insert","table":"Chassis","row":{"name":"hv 2","encaps":["named-uuid","e1"]}},
      {"op":"insert","table":"Encap","uuid-name":"e1","row":{"type":"geneve","ip":"10.0.0.2"}},
      {"op":"insert","table":"Chassis","row":{"name":"hv1","encaps":["named-uuid","e2"]}},
      {"op":"insert","table":"Encap","uuid-name":"e2","row":{"type":"stt","ip":"10.0.0.1",
        "options":["map",[["csum","true"],["k","a,b"]]]}},
      {"op":"insert","table":"Pipeline","row":{"match":"zz","actions":"drop;","priority":5,
        "table_id":1,"logical_datapath":["uuid","00000000-0000-0000-0000-000000000001"]}},
      {"op":"insert","table":"Pipeline","row":{"match":"aa","actions":"next;","priority":50,
        "table_id":0,"logical_datapath":["uuid","00000000-0000-0000-0000-000000000001"]}}])";
    auto r = RunProgram({"/usr/bin/ovsdb-client", "transact", remote(), txn});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string remote() const { return "unix:" + dir_.File("s.sock"); }

  TempDir dir_;
  std::unique_ptr<testing::Child> server_;
};

TEST_F(ClientInterop, SameOutputAsDebianClient) {
  const std::vector<std::vector<std::string>> cases = {
      {"list-dbs", remote()},
      {"get-schema", remote(), "OVN"},
      {"get-schema-version", remote(), "OVN"},
      {"get-schema-cksum", remote(), "OVN"},
      {"dump", remote(), "OVN"},
      {"dump", remote(), "OVN", "Pipeline", "priority", "match"},
      {"--format=list", "dump", remote(), "OVN"},
      {"--format=csv", "dump", remote(), "OVN"},
      {"--format=json", "dump", remote(), "OVN"},
      {"--no-headings", "dump", remote(), "OVN", "Encap"},
      {"query", remote(), R"(["OVN",{"op":"select","table":"Encap","where":[],"columns":["ip"]}])"},
      {"dump", remote(), "_Server", "Database", "name", "model", "leader"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> ours = {SPATE_OVSDB_CLIENT};
    std::vector<std::string> debian = {"/usr/bin/ovsdb-client"};
    ours.insert(ours.end(), args.begin(), args.end());
    debian.insert(debian.end(), args.begin(), args.end());
    auto a = RunProgram(ours);
    auto b = RunProgram(debian);
    EXPECT_EQ(a.exit_code, b.exit_code) << args[0] << " " << a.err;
    EXPECT_EQ(a.out, b.out) << args[0] << " " << args.back();
  }
}

TEST_F(ClientInterop, MonitorPrintsLikeDebianClient) {
  auto transact = [&](const std::string& op) {
    auto r = RunProgram({"/usr/bin/ovsdb-client", "transact", remote(), "[\"OVN\"," + op + "]"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  transact(R"({"op":"insert","table":"Bindings","row":{"logical_port":"p 1","tunnel_key":1,)"
           R"("mac":["set",["aa","bb"]],"logical_datapath":["uuid",)"
           R"("00000000-0000-0000-0000-000000000001"]}})");
  std::vector<std::string> args = {"monitor", remote(), "OVN", "Bindings", "logical_port,mac",
                                   "chassis"};
  std::vector<std::string> ours = {SPATE_OVSDB_CLIENT};
  std::vector<std::string> debian = {"/usr/bin/ovsdb-client"};
  ours.insert(ours.end(), args.begin(), args.end());
  debian.insert(debian.end(), args.begin(), args.end());
  testing::Child a(ours, dir_.File("ours.out"));
  testing::Child b(debian, dir_.File("debian.out"));
  auto has = [&](const std::string& file, const std::string& what) {
    return ReadFile(dir_.File(file)).find(what) != std::string::npos;
  };
  // Both have subscribed once each printed the initial row.
  ASSERT_TRUE(WaitFor([&] { return has("ours.out", "initial") && has("debian.out", "initial"); }));
  transact(R"({"op":"update","table":"Bindings","where":[],"row":{"chassis":"hv1"}})");
  transact(R"({"op":"insert","table":"Bindings","row":{"logical_port":"p2","tunnel_key":2,)"
           R"("logical_datapath":["uuid","00000000-0000-0000-0000-000000000001"]}})");
  transact(R"({"op":"delete","table":"Bindings","where":[["logical_port","==","p2"]]})");
  ASSERT_TRUE(WaitFor([&] { return has("ours.out", "delete") && has("debian.out", "delete"); }))
      << ReadFile(dir_.File("ours.out")) << ReadFile(dir_.File("debian.out"));
  a.Kill(SIGKILL);
  b.Kill(SIGKILL);
  EXPECT_EQ(ReadFile(dir_.File("ours.out")), ReadFile(dir_.File("debian.out")));
}

TEST_F(ClientInterop, ErrorsAreOneLine) {
  auto r = RunProgram({SPATE_OVSDB_CLIENT, "dump", remote(), "OVN", "Nope"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err, "ovsdb-client: No table \"Nope\" found.\n");
  r = RunProgram({SPATE_OVSDB_CLIENT, "list-dbs", "unix:" + dir_.File("missing.sock")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = RunProgram({SPATE_OVSDB_CLIENT, "--format=xml", "list-dbs", remote()});
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace spate::ovsdb
