// End-to-end tests of our ovsdb-server binary over real unix sockets: the
// protocol (raw client), Debian's ovsdb-client, ovs-appctl and
// python3-openvswitch's IDL against it, and kill -9 durability.
#include <signal.h>

#include <algorithm>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing.h"
#include "ovsdb/atom.h"
#include "ovsdb/server_test_util.h"

namespace spate::ovsdb {
namespace {

using common::Message;
using common::MessageType;
using common::testing::ReadFile;
using common::testing::RunProgram;
using common::testing::TempDir;
using common::testing::WaitFor;
using nlohmann::json;
using ::testing::HasSubstr;
using testing::Child;
using testing::RawClient;
using namespace std::chrono_literals;

constexpr const char* kServer = SPATE_OVSDB_SERVER;
constexpr const char* kDebianClient = "/usr/bin/ovsdb-client";

std::string Schema(const std::string& file) {
  return std::string(SPATE_SOURCE_ROOT) + "/ovsdb/schemas/" + file;
}

// Our server on DIR/db.sock serving OVN and OVN_Northbound.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& [db, schema] : {std::pair{"ovn.db", "ovn.ovsschema"},
                                     std::pair{"nb.db", "ovn-nb.ovsschema"}}) {
      auto r = RunProgram({"/usr/bin/ovsdb-tool", "create", dir_.File(db), Schema(schema)});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    Start();
  }
  void Start() {
    server_ = std::make_unique<Child>(
        std::vector<std::string>{kServer, "--remote=punix:" + sock(), "--unixctl=" + ctl(),
                                 "--no-chdir", "-vconsole:off", dir_.File("ovn.db"),
                                 dir_.File("nb.db")},
        dir_.File("server.out"));
    ASSERT_TRUE(WaitFor([&] { return RawClient(sock()).connected(); }, 10s))
        << ReadFile(dir_.File("server.out"));
  }
  std::string sock() const { return dir_.File("db.sock"); }
  std::string ctl() const { return dir_.File("ctl"); }
  std::string remote() const { return "unix:" + sock(); }

  // Runs one transact and returns its reply message.
  Message Transact(RawClient& c, const json& params, int id) {
    EXPECT_TRUE(c.Request("transact", params, id));
    std::optional<Message> m = c.Reply(id);
    EXPECT_TRUE(m.has_value());
    return m ? *m : Message{};
  }

  TempDir dir_;
  std::unique_ptr<Child> server_;
};

json InsertChassis(const std::string& name, bool durable = false) {
  json ops = json::array({"OVN",
                          {{"op", "insert"}, {"table", "Chassis"},
                           {"row", {{"name", name}, {"encaps", {"named-uuid", "e"}}}}},
                          {{"op", "insert"}, {"table", "Encap"}, {"uuid-name", "e"},
                           {"row", {{"type", "geneve"}, {"ip", "10.0.0.1"}}}}});
  if (durable) ops.push_back({{"op", "commit"}, {"durable", true}});
  return ops;
}

TEST_F(ServerTest, ListDbsSchemaAndErrors) {
  RawClient c(sock());
  ASSERT_TRUE(c.Request("list_dbs", json::array(), 1));
  EXPECT_EQ(c.Reply(1)->result, json({"OVN", "OVN_Northbound", "_Server"}));
  ASSERT_TRUE(c.Request("get_schema", json::array({"OVN"}), 2));
  EXPECT_EQ(c.Reply(2)->result["name"], "OVN");
  ASSERT_TRUE(c.Request("get_schema", json::array({"nope"}), 3));
  std::optional<Message> m = c.Reply(3);
  ASSERT_EQ(m->type, MessageType::kError);
  EXPECT_EQ(m->error["error"], "unknown database");
  ASSERT_TRUE(c.Request("frobnicate", json::array(), 4));
  EXPECT_EQ(c.Reply(4)->error, "unknown method");
  ASSERT_TRUE(c.Request("transact", json::array({7}), 5));
  EXPECT_EQ(c.Reply(5)->error["error"], "syntax error");
  ASSERT_TRUE(c.Request("monitor", json::array({"OVN", 1, 2}), 6));
  EXPECT_EQ(c.Reply(6)->error["details"], "monitor-requests must be object");
  ASSERT_TRUE(c.Request("lock", json::array({3}), 7));
  EXPECT_EQ(c.Reply(7)->error["details"], "lock request params must be <id>");
  ASSERT_TRUE(c.Request("get_server_id", json::array(), 8));
  EXPECT_TRUE(Uuid::Parse(c.Reply(8)->result.get<std::string>()).has_value());
  // A bad transaction gets the RFC error inside the result array.
  Message r = Transact(c, {"OVN", {{"op", "insert"}, {"table", "Nope"}, {"row", json::object()}}}, 9);
  EXPECT_EQ(r.result[0]["error"], "syntax error");
}

TEST_F(ServerTest, MalformedJsonClosesOnlyThatClient) {
  RawClient good(sock());
  RawClient bad(sock());
  ASSERT_TRUE(bad.Send("{\"method\":\"echo\",\"params\":[],\"id\":1}{]"));
  EXPECT_TRUE(bad.Closed(5s));
  Message r = Transact(good, InsertChassis("c1"), 1);
  ASSERT_EQ(r.type, MessageType::kReply);
  EXPECT_TRUE(r.result[0].contains("uuid"));
}

TEST_F(ServerTest, OwnUpdateArrivesBeforeReply) {
  RawClient c(sock());
  ASSERT_TRUE(c.Request("monitor_cond",
                        json::array({"OVN", "m", {{"Chassis", json::array({{{"columns", {"name"}}}})}}}),
                        1));
  EXPECT_EQ(c.Reply(1)->result, json::object());
  ASSERT_TRUE(c.Request("transact", InsertChassis("c1"), 2));
  std::optional<Message> first = c.Next();
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->method, "update2");
  const json& rows = first->params[1]["Chassis"];
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.begin().value(), json({{"insert", {{"name", "c1"}}}}));
  std::optional<Message> reply = c.Next();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->id, 2);
}

// A monitoring client that reads nothing while its socket fills up (the
// batched write takes a prefix, then nothing) does not hold up another
// monitor, whose own update still precedes each reply; when it reads, it
// gets every update, whole and in order.
TEST_F(ServerTest, SlowMonitorDoesNotHoldUpOthers) {
  json req = json::array({"OVN", "m", {{"Chassis", json::array({{{"columns", {"name"}}}})}}});
  RawClient slow(sock());
  RawClient fast(sock());
  for (RawClient* c : {&slow, &fast}) {
    ASSERT_TRUE(c->Request("monitor_cond", req, 1));
    EXPECT_EQ(c->Reply(1)->result, json::object());
  }
  constexpr int kTxns = 300;  // 300 updates of 8 KiB: more than a socket holds.
  for (int i = 0; i < kTxns; ++i) {
    std::string name = std::to_string(i) + "-" + std::string(8192, 'x');
    ASSERT_TRUE(fast.Request("transact", InsertChassis(name), 100 + i));
    std::optional<Message> update = fast.Next();
    ASSERT_TRUE(update.has_value());
    ASSERT_EQ(update->method, "update2");
    EXPECT_EQ(update->params[1]["Chassis"].begin().value()["insert"]["name"], name);
    std::optional<Message> reply = fast.Next();
    ASSERT_TRUE(reply.has_value());
    ASSERT_EQ(reply->id, 100 + i);
  }
  for (int i = 0; i < kTxns; ++i) {
    std::optional<Message> update = slow.Next();
    ASSERT_TRUE(update.has_value()) << i;
    ASSERT_EQ(update->method, "update2");
    std::string name = update->params[1]["Chassis"].begin().value()["insert"]["name"];
    ASSERT_EQ(name, std::to_string(i) + "-" + std::string(8192, 'x'));
  }
}

// Monitors with the same request share one encoded update per commit:
// each still gets its own monitor id (any JSON value), monitor_cond_since
// gets update3 with the txn id, a monitor whose conditions changed stops
// sharing, and a request whose monitors all went away starts afresh.
TEST_F(ServerTest, SharedUpdatesKeepEachMonitorsIdAndConditions) {
  json req = {{"Chassis", json::array({{{"columns", {"name"}}}})}};
  std::vector<json> ids = {7, "m", json::array({1, "x"})};
  std::vector<std::unique_ptr<RawClient>> cs;
  for (size_t i = 0; i < ids.size(); ++i) {
    cs.push_back(std::make_unique<RawClient>(sock()));
    ASSERT_TRUE(cs[i]->Request("monitor_cond", json::array({"OVN", ids[i], req}), 1));
    EXPECT_EQ(cs[i]->Reply(1)->result, json::object());
  }
  RawClient v3(sock());
  ASSERT_TRUE(v3.Request("monitor_cond_since",
                         json::array({"OVN", "s", req, "00000000-0000-0000-0000-000000000000"}), 1));
  ASSERT_TRUE(v3.Reply(1).has_value());
  // The third monitor narrows its condition to rows named "z".
  json narrow = {{"Chassis", json::array({{{"where", {{"name", "==", "z"}}}}})}};
  ASSERT_TRUE(cs[2]->Request("monitor_cond_change", json::array({ids[2], ids[2], narrow}), 2));
  EXPECT_EQ(cs[2]->Reply(2)->result, json::object());

  RawClient w(sock());
  Message reply = Transact(w, InsertChassis("c1"), 1);
  std::string uuid = reply.result[0]["uuid"][1].get<std::string>();
  for (size_t i = 0; i < 2; ++i) {
    std::optional<Message> m = cs[i]->Next();
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->method, "update2");
    EXPECT_EQ(m->params[0], ids[i]);
    EXPECT_EQ(m->params[1], json({{"Chassis", {{uuid, {{"insert", {{"name", "c1"}}}}}}}}));
  }
  std::optional<Message> m3 = v3.Next();
  ASSERT_TRUE(m3.has_value());
  EXPECT_EQ(m3->method, "update3");
  EXPECT_EQ(m3->params[0], "s");
  EXPECT_TRUE(Uuid::Parse(m3->params[1].get<std::string>()).has_value());
  EXPECT_EQ(m3->params[2], json({{"Chassis", {{uuid, {{"insert", {{"name", "c1"}}}}}}}}));
  // Nothing for the narrowed monitor: its next message is the "z" row.
  Transact(w, InsertChassis("z"), 2);
  std::optional<Message> mz = cs[2]->Next();
  ASSERT_TRUE(mz.has_value());
  EXPECT_EQ(mz->params[0], ids[2]);
  EXPECT_EQ(mz->params[1]["Chassis"].begin().value(), json({{"insert", {{"name", "z"}}}}));

  // Every monitor of the shared request goes away; a new one still works.
  cs.clear();
  v3.Request("monitor_cancel", json::array({"s"}), 3);
  ASSERT_TRUE(v3.Reply(3).has_value());
  RawClient late(sock());
  ASSERT_TRUE(late.Request("monitor_cond", json::array({"OVN", "late", req}), 1));
  ASSERT_TRUE(late.Reply(1).has_value());
  Transact(w, InsertChassis("c2"), 3);
  std::optional<Message> ml = late.Next();
  ASSERT_TRUE(ml.has_value());
  EXPECT_EQ(ml->params[0], "late");
  EXPECT_EQ(ml->params[1]["Chassis"].begin().value(), json({{"insert", {{"name", "c2"}}}}));
}

TEST_F(ServerTest, ConditionsAndConditionChange) {
  RawClient w(sock());
  Transact(w, InsertChassis("a"), 1);
  Transact(w, InsertChassis("b"), 2);
  RawClient c(sock());
  json req = {{"Chassis", json::array({{{"columns", {"name"}}, {"where", {{"name", "==", "a"}}}}})}};
  ASSERT_TRUE(c.Request("monitor_cond", json::array({"OVN", 5, req}), 1));
  json initial = c.Reply(1)->result["Chassis"];
  ASSERT_EQ(initial.size(), 1u);
  EXPECT_EQ(initial.begin().value()["initial"]["name"], "a");
  // Renaming b to a brings it into the condition: an insert.
  Transact(w, {"OVN", {{"op", "update"}, {"table", "Chassis"}, {"where", {{"name", "==", "b"}}},
                       {"row", {{"name", "a2"}}}}}, 3);
  json change = {{"Chassis", json::array({{{"where", {{"name", "==", "a2"}}}}})}};
  ASSERT_TRUE(c.Request("monitor_cond_change", json::array({5, 5, change}), 2));
  std::vector<Message> notes;
  EXPECT_EQ(c.Reply(2, &notes)->result, json::object());
  ASSERT_EQ(notes.size(), 1u);
  std::set<std::string> kinds;
  for (const auto& [uuid, update] : notes[0].params[1]["Chassis"].items()) {
    kinds.insert(update.begin().key());
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"delete", "insert"}));
}

TEST_F(ServerTest, WaitIsRerunOnChangeAndCancel) {
  RawClient a(sock());
  RawClient b(sock());
  json wait = {"OVN", {{"op", "wait"}, {"timeout", 60000}, {"table", "Chassis"},
                       {"where", {{"name", "==", "x"}}}, {"columns", {"name"}},
                       {"until", "=="}, {"rows", {{{"name", "x"}}}}}};
  ASSERT_TRUE(a.Request("transact", wait, "w1"));
  ASSERT_TRUE(a.Request("transact", wait, "w2"));
  ASSERT_TRUE(a.Send(Message::Notification("cancel", json::array({"w2"})).ToString()));
  std::optional<Message> canceled = a.Next();
  ASSERT_TRUE(canceled.has_value());
  EXPECT_EQ(canceled->id, "w2");
  EXPECT_EQ(canceled->error, "canceled");
  Transact(b, InsertChassis("x"), 1);
  std::optional<Message> done = a.Reply("w1");
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->result, json::array({json::object()}));
  // Unsatisfied until its timeout: answered "timed out" by the timer.
  json never = wait;
  never[1]["timeout"] = 100;
  never[1]["where"] = {{"name", "==", "nobody"}};
  never[1]["rows"] = {{{"name", "nobody"}}};
  ASSERT_TRUE(a.Request("transact", never, "w3"));
  std::optional<Message> timed_out = a.Reply("w3");
  ASSERT_TRUE(timed_out.has_value());
  EXPECT_EQ(timed_out->result[0]["error"], "timed out");
}

TEST_F(ServerTest, LocksNotifyLockedAndStolen) {
  RawClient a(sock());
  RawClient b(sock());
  RawClient c(sock());
  ASSERT_TRUE(a.Request("lock", json::array({"L"}), 1));
  EXPECT_EQ(a.Reply(1)->result, json({{"locked", true}}));
  ASSERT_TRUE(b.Request("lock", json::array({"L"}), 1));
  EXPECT_EQ(b.Reply(1)->result, json({{"locked", false}}));
  json assert_op = {"OVN", {{"op", "assert"}, {"lock", "L"}}};
  EXPECT_EQ(Transact(b, assert_op, 2).result[0]["error"], "not owner");
  EXPECT_EQ(Transact(a, assert_op, 2).result[0], json::object());
  ASSERT_TRUE(a.Request("unlock", json::array({"L"}), 3));
  EXPECT_EQ(a.Reply(3)->result, json::object());
  std::optional<Message> locked = b.Next();
  ASSERT_TRUE(locked.has_value());
  EXPECT_EQ(locked->method, "locked");
  ASSERT_TRUE(c.Request("steal", json::array({"L"}), 1));
  EXPECT_EQ(c.Reply(1)->result, json({{"locked", true}}));
  std::optional<Message> stolen = b.Next();
  ASSERT_TRUE(stolen.has_value());
  EXPECT_EQ(stolen->method, "stolen");
}

TEST_F(ServerTest, MonitorCondSinceSendsOnlyWhatWasMissed) {
  json req = {{"Chassis", json::array({{{"columns", {"name"}}}})}};
  std::string last;
  {
    RawClient c(sock());
    ASSERT_TRUE(c.Request("monitor_cond_since",
                          json::array({"OVN", 1, req, "00000000-0000-0000-0000-000000000000"}), 1));
    EXPECT_EQ(c.Reply(1)->result[0], false);
    Transact(c, InsertChassis("seen"), 2);
    // The update3 (before the reply) carries the transaction id.
    ASSERT_TRUE(c.Request("transact", InsertChassis("seen2"), 3));
    std::optional<Message> u = c.Next();
    ASSERT_TRUE(u.has_value());
    while (u && u->method != "update3") u = c.Next();
    ASSERT_TRUE(u.has_value());
    last = u->params[1].get<std::string>();
  }
  RawClient w(sock());
  Message ins = Transact(w, InsertChassis("missed"), 1);
  RawClient c(sock());
  ASSERT_TRUE(c.Request("monitor_cond_since", json::array({"OVN", 1, req, last}), 1));
  json result = c.Reply(1)->result;
  EXPECT_EQ(result[0], true);
  ASSERT_EQ(result[2]["Chassis"].size(), 1u);
  EXPECT_EQ(result[2]["Chassis"].begin().value(), json({{"insert", {{"name", "missed"}}}}));
}

TEST_F(ServerTest, ServerDatabaseIsMonitorable) {
  RawClient c(sock());
  RawClient unaware(sock());  // Uses no database; still disconnected (as OVS).
  ASSERT_TRUE(c.Request("set_db_change_aware", json::array({true}), 0));
  ASSERT_TRUE(c.Reply(0).has_value());
  json req = {{"Database", json::array({{{"columns", {"name", "model", "connected", "leader"}}}})}};
  ASSERT_TRUE(c.Request("monitor_cond", json::array({"_Server", 1, req}), 1));
  json rows = c.Reply(1)->result["Database"];
  std::set<std::string> names;
  for (const auto& [uuid, u] : rows.items()) {
    names.insert(u["initial"]["name"].get<std::string>());
    EXPECT_EQ(u["initial"]["model"], "standalone");
    EXPECT_EQ(u["initial"]["leader"], true);
  }
  EXPECT_EQ(names, (std::set<std::string>{"OVN", "OVN_Northbound", "_Server"}));
  auto r = RunProgram({"/usr/bin/ovs-appctl", "-t", ctl(), "ovsdb-server/remove-db", "OVN_Northbound"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::optional<Message> u = c.Next();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->method, "update2");
  EXPECT_EQ(u->params[1]["Database"].begin().value(), json({{"delete", nullptr}}));
  EXPECT_TRUE(unaware.Closed(10s));
}

TEST_F(ServerTest, MonitorCancelEchoAndDeepInput) {
  RawClient c(sock());
  json req = {{"Chassis", json::array({{{"columns", {"name"}}}})}};
  ASSERT_TRUE(c.Request("monitor_cond", json::array({"OVN", "m", req}), 1));
  ASSERT_TRUE(c.Reply(1).has_value());
  ASSERT_TRUE(c.Request("monitor_cond_change", json::array({"zz", "zz", req}), 2));
  EXPECT_EQ(c.Reply(2)->error["details"], "unknown monitor session");
  ASSERT_TRUE(c.Request("monitor_cancel", json::array({"m"}), 3));
  EXPECT_EQ(c.Reply(3)->result, json::object());
  ASSERT_TRUE(c.Request("monitor_cancel", json::array({"m"}), 4));
  EXPECT_EQ(c.Reply(4)->error, "unknown monitor");
  // After the cancel, a commit sends this client nothing but its reply.
  ASSERT_TRUE(c.Request("transact", InsertChassis("after"), 5));
  std::optional<Message> next = c.Next();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->id, 5);
  ASSERT_TRUE(c.Request("echo", json::array({"x", 1}), 6));
  EXPECT_EQ(c.Reply(6)->result, json::array({"x", 1}));
  // Nesting deeper than the reader allows: that client only is dropped.
  RawClient deep(sock());
  ASSERT_TRUE(deep.Send("{\"method\":\"echo\",\"params\":" + std::string(5000, '[')));
  EXPECT_TRUE(deep.Closed(5s));
  ASSERT_TRUE(c.Request("list_dbs", json::array(), 7));
  EXPECT_EQ(c.Reply(7)->type, MessageType::kReply);
}

TEST_F(ServerTest, DebianClientCommands) {
  auto r = RunProgram({kDebianClient, "list-dbs", remote()});
  EXPECT_EQ(r.out, "OVN\nOVN_Northbound\n_Server\n");
  r = RunProgram({kDebianClient, "get-schema-version", remote(), "OVN"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1.0.0\n");
  r = RunProgram({kDebianClient, "transact", remote(), InsertChassis("hv1").dump()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"uuid\""));
  r = RunProgram({kDebianClient, "dump", remote(), "OVN", "Chassis", "name"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Chassis table\nname\n----\nhv1\n"));
}

TEST_F(ServerTest, DebianClientMonitorsSeeUpdates) {
  Child mon({kDebianClient, "monitor", remote(), "OVN", "Chassis", "name"}, dir_.File("mon.out"));
  Child cond({kDebianClient, "monitor-cond", remote(), "OVN", R"([["name","==","hv2"]])", "Chassis",
              "name"},
             dir_.File("cond.out"));
  RawClient w(sock());
  // Both clients have subscribed once the server counts two monitors.
  ASSERT_TRUE(WaitFor([&] {
    auto r = RunProgram({"/usr/bin/ovs-appctl", "-t", ctl(), "memory/show"});
    return r.out.find("monitors:2") != std::string::npos;
  }));
  Transact(w, InsertChassis("hv1"), 1);
  Transact(w, InsertChassis("hv2"), 2);
  EXPECT_TRUE(WaitFor([&] { return ReadFile(dir_.File("mon.out")).find("hv2") != std::string::npos; }))
      << ReadFile(dir_.File("mon.out"));
  EXPECT_TRUE(WaitFor([&] { return ReadFile(dir_.File("cond.out")).find("hv2") != std::string::npos; }));
  EXPECT_THAT(ReadFile(dir_.File("mon.out")), HasSubstr("insert hv1"));
  EXPECT_EQ(ReadFile(dir_.File("cond.out")).find("hv1"), std::string::npos);
}

TEST_F(ServerTest, DebianAppctl) {
  auto r = RunProgram({"/usr/bin/ovs-appctl", "-t", ctl(), "list-commands"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("ovsdb-server/compact"));
  EXPECT_THAT(r.out, HasSubstr("ovsdb-server/add-db"));
  r = RunProgram({"/usr/bin/ovs-appctl", "-t", ctl(), "version"});
  EXPECT_THAT(r.out, HasSubstr("ovsdb-server (Spate)"));
  r = RunProgram({"/usr/bin/ovs-appctl", "-t", ctl(), "ovsdb-server/remove-db", "OVN"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunProgram({"/usr/bin/ovs-appctl", "-t", ctl(), "ovsdb-server/list-dbs"});
  EXPECT_EQ(r.out, "OVN_Northbound\n_Server\n");
  r = RunProgram({"/usr/bin/ovs-appctl", "-t", ctl(), "ovsdb-server/add-db", dir_.File("ovn.db")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunProgram({"/usr/bin/ovs-appctl", "-t", ctl(), "ovsdb-server/compact"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunProgram({"/usr/bin/ovs-appctl", "-t", ctl(), "exit"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(WaitFor([&] { return !RawClient(sock()).connected(); }));
}

constexpr const char* kIdlScript = R"(
import sys, time
import ovs.db.idl, ovs.poller
remote, schema = sys.argv[1], sys.argv[2]
def idl():
    h = ovs.db.idl.SchemaHelper(schema); h.register_all()
    return ovs.db.idl.Idl(remote, h)
def run_until(idls, cond):
    deadline = time.time() + 10
    while not cond():
        if time.time() > deadline: sys.exit("timeout")
        p = ovs.poller.Poller()
        for i in idls: i.run(); i.wait(p)
        p.timer_wait(100); p.block()
        for i in idls: i.run()
writer, watcher = idl(), idl()
run_until([writer, watcher], lambda: writer.has_ever_connected() and watcher.has_ever_connected())
def commit(fn):
    txn = ovs.db.idl.Transaction(writer); fn(txn)
    status = txn.commit_block()
    if status != ovs.db.idl.Transaction.SUCCESS: sys.exit("commit: " + status)
def add(txn):
    r = txn.insert(writer.tables["Logical_Switch"]); r.name = "neutron-1"
    r.external_ids = {"neutron:network_name": "private"}
commit(add)
def seen(value):
    rows = watcher.tables["Logical_Switch"].rows.values()
    return any(r.name == "neutron-1" and r.external_ids.get("neutron:network_name") == value for r in rows)
run_until([writer, watcher], lambda: seen("private"))
def upd(txn):
    for r in writer.tables["Logical_Switch"].rows.values(): r.external_ids = {"neutron:network_name": "public"}
commit(upd)
run_until([writer, watcher], lambda: seen("public"))
print("OK")
)";

TEST_F(ServerTest, PythonIdlInsertsUpdatesAndMonitors) {
  std::string script = dir_.File("idl.py");
  FILE* f = std::fopen(script.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(kIdlScript, f);
  std::fclose(f);
  auto r = RunProgram({"/usr/bin/python3", script, remote(), Schema("ovn-nb.ovsschema")}, {}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "OK\n") << r.err;
}

TEST_F(ServerTest, KillNineKeepsEveryAcknowledgedDurableTransaction) {
  std::set<std::string> acked;
  {
    RawClient c(sock());
    constexpr int kSent = 300;
    std::string batch;
    for (int i = 0; i < kSent; ++i) {
      batch += Message::Request("transact", InsertChassis("c" + std::to_string(i), true), i).ToString();
    }
    ASSERT_TRUE(c.Send(batch));
    // Kill the server mid-stream, once a third has been acknowledged.
    while (acked.size() < kSent / 3) {
      std::optional<Message> m = c.Next();
      ASSERT_TRUE(m.has_value());
      ASSERT_EQ(m->type, MessageType::kReply);
      acked.insert("c" + std::to_string(m->id.get<int>()));
    }
    server_->Kill(SIGKILL);
    while (std::optional<Message> m = c.Next(2s)) {
      if (m->type == MessageType::kReply) acked.insert("c" + std::to_string(m->id.get<int>()));
    }
  }
  Start();
  RawClient c(sock());
  Message r = Transact(c, {"OVN", {{"op", "select"}, {"table", "Chassis"}, {"where", json::array()},
                                   {"columns", {"name"}}}}, 1);
  std::set<std::string> present;
  for (const json& row : r.result[0]["rows"]) present.insert(row["name"].get<std::string>());
  for (const std::string& name : acked) EXPECT_EQ(present.count(name), 1u) << name;
  // Nothing half-applied: every chassis kept its encap.
  Message e = Transact(c, {"OVN", {{"op", "select"}, {"table", "Encap"}, {"where", json::array()}}}, 2);
  EXPECT_EQ(e.result[0]["rows"].size(), present.size());
}

// Our server with its own command line (the fixture's is not started).
class RemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = RunProgram({"/usr/bin/ovsdb-tool", "create", dir_.File("ovn.db"), Schema("ovn.ovsschema")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  TempDir dir_;
};

// The port of the first "p{tcp,ssl}:PORT:IP: listening" line in `log`.
std::string ListeningPort(const std::string& log, const std::string& kind) {
  size_t at = log.find(kind + ":");
  if (at == std::string::npos) return "";
  at += kind.size() + 1;
  return log.substr(at, log.find(':', at) - at);
}

TEST_F(RemoteTest, SslAndTcpWithDebianClient) {
  std::string key = dir_.File("key.pem");
  std::string cert = dir_.File("cert.pem");
  auto gen = RunProgram({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                         "-days", "1", "-subj", "/CN=spate-test"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  std::string log = dir_.File("server.log");
  Child server({kServer, "--remote=pssl:0:127.0.0.1", "--remote=ptcp:0:127.0.0.1",
                "--private-key=" + key, "--certificate=" + cert, "--ca-cert=" + cert,
                "--unixctl=" + dir_.File("ctl"), "--no-chdir", "-vconsole:off",
                "--log-file=" + log, dir_.File("ovn.db")},
               dir_.File("server.out"));
  ASSERT_TRUE(WaitFor([&] {
    return !ListeningPort(ReadFile(log), "pssl").empty() &&
           !ListeningPort(ReadFile(log), "ptcp").empty();
  })) << ReadFile(log) << ReadFile(dir_.File("server.out"));
  std::string ssl_port = ListeningPort(ReadFile(log), "pssl");
  std::string tcp_port = ListeningPort(ReadFile(log), "ptcp");
  auto r = RunProgram({kDebianClient, "-p", key, "-c", cert, "-C", cert, "list-dbs",
                       "ssl:127.0.0.1:" + ssl_port});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "OVN\n_Server\n");
  r = RunProgram({kDebianClient, "list-dbs", "tcp:127.0.0.1:" + tcp_port});
  EXPECT_EQ(r.out, "OVN\n_Server\n") << r.err;
}

TEST_F(RemoteTest, ActiveUnixRemoteIsServed) {
  std::string path = dir_.File("active.sock");
  int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(lfd, 1), 0);
  Child server({kServer, "--remote=unix:" + path, "--unixctl=" + dir_.File("ctl"), "--no-chdir",
                "-vconsole:off", dir_.File("ovn.db")},
               dir_.File("server.out"));
  pollfd p{lfd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1);
  int fd = accept(lfd, nullptr, nullptr);
  ASSERT_GE(fd, 0);
  std::string req = Message::Request("list_dbs", json::array(), 1).ToString();
  ASSERT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string got;
  while (got.find('}') == std::string::npos) {
    pollfd q{fd, POLLIN, 0};
    ASSERT_EQ(poll(&q, 1, 10000), 1);
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_THAT(got, HasSubstr("\"result\":[\"OVN\",\"_Server\"]"));
  close(fd);
  close(lfd);
}

TEST_F(RemoteTest, DetachPidfileAndAppctlByName) {
  std::vector<std::pair<std::string, std::string>> env = {{"OVS_RUNDIR", dir_.path()},
                                                          {"OVS_LOGDIR", dir_.path()}};
  auto r = RunProgram({kServer, "--detach", "--pidfile", "--log-file", "--remote=punix:" +
                       dir_.File("db.sock"), dir_.File("ovn.db")}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProgram({"/usr/bin/ovs-appctl", "-t", "ovsdb-server", "version"}, env);
  EXPECT_THAT(r.out, HasSubstr("ovsdb-server (Spate)"));
  EXPECT_THAT(ReadFile(dir_.File("ovsdb-server.log")), HasSubstr("listening"));
  r = RunProgram({"/usr/bin/ovs-appctl", "-t", "ovsdb-server", "exit"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(WaitFor([&] { return ReadFile(dir_.File("ovsdb-server.pid")).empty(); }));
}

TEST_F(RemoteTest, BadCommandLinesFailWithOneLine) {
  auto r = RunProgram({kServer, "--frob", dir_.File("ovn.db")});
  EXPECT_NE(r.exit_code, 0);
  r = RunProgram({kServer, "--unixctl=" + dir_.File("ctl"), dir_.File("missing.db")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("ovsdb-server: "));
  r = RunProgram({kServer, "--unixctl=" + dir_.File("ctl"), "--remote=pssl:0", dir_.File("ovn.db")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace spate::ovsdb
