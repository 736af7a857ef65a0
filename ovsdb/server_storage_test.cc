// Storage behaviour of the server, end to end: database files written by
// our ovsdb-server and by Debian's Open vSwitch 3.1 one are opened by the
// other (contents compared through Debian's ovsdb-client dump, records
// listed by Debian's ovsdb-tool show-log); group commit (one write per
// round, nothing acknowledged lost to kill -9); automatic compaction
// keeping a long stream's file bounded and reopenable; and "wait" on
// _Server re-run by add-db/remove-db.
#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/event_loop.h"
#include "common/testing.h"
#include "common/vlog.h"
#include "ovsdb/file.h"
#include "ovsdb/server.h"
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
using testing::Child;
using testing::RawClient;
using namespace std::chrono_literals;

constexpr const char* kOurServer = SPATE_OVSDB_SERVER;
constexpr const char* kOvsServer = "/usr/sbin/ovsdb-server";
constexpr const char* kOvsTool = "/usr/bin/ovsdb-tool";
constexpr const char* kOvsClient = "/usr/bin/ovsdb-client";
constexpr const char* kOvsAppctl = "/usr/bin/ovs-appctl";

std::string NbSchema() { return std::string(SPATE_SOURCE_ROOT) + "/ovsdb/schemas/ovn-nb.ovsschema"; }

// A server binary serving one database file on DIR/NAME.sock.
class ServerProcess {
 public:
  ServerProcess(const TempDir& dir, const std::string& binary, const std::string& db,
                const std::string& name)
      : sock_(dir.File(name + ".sock")), ctl_(dir.File(name + ".ctl")), out_(dir.File(name + ".out")) {
    child_ = std::make_unique<Child>(
        std::vector<std::string>{binary, db, "--remote=punix:" + sock_, "--unixctl=" + ctl_,
                                 "--no-chdir", "-vconsole:off"},
        out_);
    ready_ = WaitFor([&] { return RawClient(sock_).connected(); }, 10s);
  }
  bool ready() const { return ready_; }
  const std::string& sock() const { return sock_; }
  const std::string& ctl() const { return ctl_; }
  std::string output() const { return ReadFile(out_); }
  int pid() const { return child_->pid(); }
  void Kill(int sig) { child_->Kill(sig); }

 private:
  std::string sock_;             // Unix socket.
  std::string ctl_;              // Control socket.
  std::string out_;              // stdout/stderr.
  std::unique_ptr<Child> child_;  // The process.
  bool ready_ = false;           // Accepted a connection.
};

// Debian's ovsdb-client dump of OVN_Northbound (rows sorted, UUIDs shown).
std::string Dump(const std::string& sock) {
  auto r = RunProgram({kOvsClient, "dump", "unix:" + sock, "OVN_Northbound"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// Runs one transaction; true if every operation succeeded.
bool Transact(RawClient& c, json params, int id) {
  if (!c.Request("transact", params, id)) return false;
  std::optional<Message> m = c.Reply(id);
  if (!m || m->type != MessageType::kReply || !m->result.is_array()) return false;
  for (const json& op : m->result) {
    if (op.is_object() && op.contains("error")) return false;
  }
  return true;
}

json Map(const std::string& k, const std::string& v) {
  return json::array({"map", json::array({json::array({k, v})})});
}

// Transaction `i` of a stream that inserts, updates, mutates and deletes:
// switch i with one port; every third step modifies earlier rows; every
// fifth (with `churn`, every) step deletes switch i-3 with its port.
json StreamTxn(int i, bool churn = false) {
  std::string n = std::to_string(i);
  json ops = json::array({"OVN_Northbound"});
  ops.push_back({{"op", "insert"}, {"table", "Logical_Switch"}, {"uuid-name", "ls"},
                 {"row", {{"name", "ls" + n}, {"external_ids", Map("i", n)}}}});
  ops.push_back({{"op", "insert"}, {"table", "Logical_Port"},
                 {"row", {{"name", "lp" + n}, {"lswitch", {"named-uuid", "ls"}}, {"tag", i % 4096},
                          {"macs", json::array({"set", json::array({"00:00:00:00:00:01"})})}}}});
  if (i % 3 == 2) {
    std::string prev = std::to_string(i - 1);
    ops.push_back({{"op", "mutate"}, {"table", "Logical_Switch"},
                   {"where", {{"name", "==", "ls" + prev}}},
                   {"mutations", {{"external_ids", "insert", Map("x", n)}}}});
    ops.push_back({{"op", "update"}, {"table", "Logical_Port"}, {"where", {{"name", "==", "lp" + prev}}},
                   {"row", {{"enabled", true}, {"macs", json::array({"set", json::array({"a", "b"})})}}}});
  }
  if (i % 5 == 4 || (churn && i >= 3)) {
    std::string old = std::to_string(i - 3);
    ops.push_back({{"op", "delete"}, {"table", "Logical_Port"}, {"where", {{"name", "==", "lp" + old}}}});
    ops.push_back({{"op", "delete"}, {"table", "Logical_Switch"}, {"where", {{"name", "==", "ls" + old}}}});
  }
  return ops;
}

// Runs StreamTxn(from..to-1) on `sock`; false on the first failure.
bool RunStream(const std::string& sock, int from, int to) {
  RawClient c(sock);
  for (int i = from; i < to; ++i) {
    if (!Transact(c, StreamTxn(i), i)) return false;
  }
  return true;
}

// Records listed by Debian's ovsdb-tool show-log.
int ShowLogRecords(const std::string& db) {
  auto r = RunProgram({kOvsTool, "show-log", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.rfind("record ", 0) == 0;
  return n;
}

// Writes a file with `writer` (a stream, a compaction through Debian's
// ovs-appctl, more stream) and opens it with `reader`: both dumps must be
// equal, and Debian's show-log must list schema + snapshot + the 40
// transactions after the compaction.
void WriteWithOneOpenWithOther(const std::string& writer, const std::string& reader) {
  TempDir dir;
  std::string db = dir.File("nb.db");
  ASSERT_EQ(RunProgram({kOvsTool, "create", db, NbSchema()}).exit_code, 0);
  std::string before;
  {
    ServerProcess w(dir, writer, db, "writer");
    ASSERT_TRUE(w.ready()) << w.output();
    ASSERT_TRUE(RunStream(w.sock(), 0, 120));
    auto c = RunProgram({kOvsAppctl, "-t", w.ctl(), "ovsdb-server/compact"});
    ASSERT_EQ(c.exit_code, 0) << c.err;
    ASSERT_TRUE(RunStream(w.sock(), 120, 160));
    before = Dump(w.sock());
    w.Kill(SIGTERM);
  }
  EXPECT_NE(before.find("ls159"), std::string::npos);
  EXPECT_EQ(before.find("ls116"), std::string::npos);  // Deleted at step 119.
  EXPECT_EQ(ShowLogRecords(db), 2 + 40);
  ServerProcess r(dir, reader, db, "reader");
  ASSERT_TRUE(r.ready()) << r.output();
  EXPECT_EQ(Dump(r.sock()), before);
  // The reader appends to what the writer left; the writer reads it back.
  ASSERT_TRUE(RunStream(r.sock(), 160, 170));
  std::string after = Dump(r.sock());
  r.Kill(SIGTERM);
  EXPECT_EQ(ShowLogRecords(db), 2 + 50);
  ServerProcess again(dir, writer, db, "again");
  ASSERT_TRUE(again.ready()) << again.output();
  EXPECT_EQ(Dump(again.sock()), after);
}

TEST(ServerStorageTest, OurServersFileIsReadByOpenVswitch) {
  WriteWithOneOpenWithOther(kOurServer, kOvsServer);
}

TEST(ServerStorageTest, OpenVswitchServersFileIsReadByOurs) {
  WriteWithOneOpenWithOther(kOvsServer, kOurServer);
}

// Write syscalls made by `pid` so far (/proc/PID/io "syscw").
long WriteSyscalls(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/io");
  for (std::string key; in >> key;) {
    long value = 0;
    in >> value;
    if (key == "syscw:") return value;
  }
  return -1;
}

json DurableInsert(int client, int i) {
  return json::array({"OVN_Northbound",
                      {{"op", "insert"}, {"table", "Logical_Switch"},
                       {"row", {{"name", "c" + std::to_string(client) + "-" + std::to_string(i)}}}},
                      {{"op", "commit"}, {"durable", true}}});
}

TEST(ServerStorageTest, GroupCommitWritesOncePerRoundAndLosesNothing) {
  TempDir dir;
  std::string db = dir.File("nb.db");
  ASSERT_EQ(RunProgram({kOvsTool, "create", db, NbSchema()}).exit_code, 0);
  ServerProcess s(dir, kOurServer, db, "ours");
  ASSERT_TRUE(s.ready()) << s.output();
  constexpr int kClients = 3;
  constexpr int kPerClient = 150;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int c = 0; c < kClients; ++c) clients.push_back(std::make_unique<RawClient>(s.sock()));
  long writes_before = WriteSyscalls(s.pid());
  ASSERT_GE(writes_before, 0);
  // Each client sends its whole pipeline in one write: the server reads it
  // in one chunk, so the commits share rounds.
  for (int c = 0; c < kClients; ++c) {
    std::string text;
    for (int i = 0; i < kPerClient; ++i) {
      text += Message::Request("transact", DurableInsert(c, i), i).ToString();
    }
    ASSERT_TRUE(clients[c]->Send(text));
  }
  for (int c = 0; c < kClients; ++c) {
    for (int i = 0; i < kPerClient; ++i) {
      std::optional<Message> m = clients[c]->Reply(i);
      ASSERT_TRUE(m.has_value());
      ASSERT_TRUE(m->result.is_array() && m->result.size() == 2) << m->ToString();
      ASSERT_TRUE(m->result[0].contains("uuid")) << m->ToString();
    }
  }
  long writes = WriteSyscalls(s.pid()) - writes_before;
  // 450 durable commits; one record write per round, not per commit.
  EXPECT_LT(writes, kClients * kPerClient / 5) << writes << " write calls";
  s.Kill(SIGKILL);  // Every acknowledged commit must be on disk.
  Result<std::unique_ptr<DatabaseFile>> f = DatabaseFile::Open(db, FileOptions{.read_only = true});
  ASSERT_TRUE(f.ok()) << f.error().ToString();
  EXPECT_EQ((*f)->recovery_message(), "");
  EXPECT_EQ((*f)->db().FindTable("Logical_Switch")->size(), static_cast<size_t>(kClients * kPerClient));
}

// An in-process server (its loop on a second thread) with a small
// compaction policy, fed a long stream of transactions.
TEST(ServerStorageTest, AutomaticCompactionKeepsTheFileBounded) {
  TempDir dir;
  std::string db = dir.File("nb.db");
  Result<DatabaseSchema> schema = DatabaseSchema::FromFile(NbSchema());
  ASSERT_TRUE(schema.ok());
  ASSERT_TRUE(DatabaseFile::Create(db, *schema).ok());
  common::Vlog vlog("test");
  vlog.SetLevels(nullptr, std::nullopt, common::LogLevel::kOff);
  common::EventLoop loop;
  ServerOptions options;
  options.compaction.min_interval_ms = 0;
  options.compaction.min_transactions = 100;
  options.compaction.min_bytes = 64 * 1024;
  auto server = std::make_unique<OvsdbServer>(loop, vlog, options);
  ASSERT_TRUE(server->AddDatabase(db).ok());
  ASSERT_TRUE(server->AddRemote("punix:" + dir.File("s.sock")).ok());
  std::thread thread([&] { loop.Run(); });
  uint64_t largest = 0;
  bool ok = true;
  {
    RawClient c(dir.File("s.sock"));
    // 3000 transactions; three switches stay alive at any time.
    for (int i = 0; i < 3000 && ok; ++i) {
      ok = Transact(c, StreamTxn(i, /*churn=*/true), i);
      largest = std::max<uint64_t>(largest, std::ifstream(db, std::ios::ate).tellg());
    }
  }
  loop.Stop();
  thread.join();
  server.reset();
  ASSERT_TRUE(ok);
  // Without compaction the log grows past 1.5 MB; with it, it stays near
  // the threshold (64 KiB) plus one round of records.
  EXPECT_LT(largest, 128u * 1024) << largest;
  Result<std::unique_ptr<DatabaseFile>> f = DatabaseFile::Open(db, FileOptions{.read_only = true});
  ASSERT_TRUE(f.ok()) << f.error().ToString();
  EXPECT_EQ((*f)->recovery_message(), "");
  // Step i inserts switch i and deletes switch i-3.
  EXPECT_EQ((*f)->db().FindTable("Logical_Switch")->size(), 3u);
  EXPECT_LT((*f)->n_transactions(), 3000u);  // It was compacted.
  auto r = RunProgram({kOvsTool, "show-log", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// A database over the inline limit is compacted on a thread while the
// stream goes on; the file it leaves holds everything.
TEST(ServerStorageTest, BackgroundCompactionOfALargeDatabase) {
  TempDir dir;
  std::string db = dir.File("nb.db");
  Result<DatabaseSchema> schema = DatabaseSchema::FromFile(NbSchema());
  ASSERT_TRUE(schema.ok());
  ASSERT_TRUE(DatabaseFile::Create(db, *schema).ok());
  common::Vlog vlog("test");
  vlog.SetLevels(nullptr, std::nullopt, common::LogLevel::kOff);
  common::EventLoop loop;
  ServerOptions options;
  options.compaction.min_interval_ms = 0;
  options.compaction.min_transactions = 100;
  options.compaction.min_bytes = 64 * 1024;
  auto server = std::make_unique<OvsdbServer>(loop, vlog, options);
  ASSERT_TRUE(server->AddDatabase(db).ok());
  ASSERT_TRUE(server->AddRemote("punix:" + dir.File("s.sock")).ok());
  std::thread thread([&] { loop.Run(); });
  bool ok = true;
  bool compacted = false;
  int i = 0;
  {
    RawClient c(dir.File("s.sock"));
    json bulk = json::array({"OVN_Northbound"});
    for (int k = 0; k < 6000; ++k) {
      bulk.push_back({{"op", "insert"}, {"table", "Logical_Switch"},
                      {"row", {{"name", "bulk" + std::to_string(k)}}}});
    }
    ok = Transact(c, bulk, -1);
    // Commit until a compacted file (schema + snapshot first) is in place.
    compacted = ok && WaitFor([&] {
      ok = ok && Transact(c, StreamTxn(i, /*churn=*/true), i);
      ++i;
      std::ifstream in(db);
      std::string line;
      for (int n = 0; n < 4 && std::getline(in, line);) ++n;
      return !ok || line.find("compacting database online") != std::string::npos;
    }, 60s);
    for (int end = i + 50; ok && i < end; ++i) ok = Transact(c, StreamTxn(i, true), i);
  }
  loop.Stop();
  thread.join();
  server.reset();
  ASSERT_TRUE(ok);
  EXPECT_TRUE(compacted);
  Result<std::unique_ptr<DatabaseFile>> f = DatabaseFile::Open(db, FileOptions{.read_only = true});
  ASSERT_TRUE(f.ok()) << f.error().ToString();
  EXPECT_EQ((*f)->recovery_message(), "");
  EXPECT_EQ((*f)->db().FindTable("Logical_Switch")->size(), 6000u + 3u);
  EXPECT_FALSE(std::ifstream(db + ".bg.tmp").good());
}

// A "wait" on _Server (what ovsdb-client wait DB added/removed sends) is
// re-run when ovsdb-server/add-db or remove-db changes _Server.
TEST(ServerStorageTest, WaitOnServerDatabaseIsRerunByAddAndRemoveDb) {
  TempDir dir;
  std::string nb = dir.File("nb.db");
  std::string sb = dir.File("sb.db");
  ASSERT_EQ(RunProgram({kOvsTool, "create", nb, NbSchema()}).exit_code, 0);
  ASSERT_EQ(RunProgram({kOvsTool, "create", sb,
                        std::string(SPATE_SOURCE_ROOT) + "/ovsdb/schemas/ovn.ovsschema"})
                .exit_code,
            0);
  ServerProcess s(dir, kOurServer, nb, "ours");
  ASSERT_TRUE(s.ready()) << s.output();
  RawClient c(s.sock());
  ASSERT_TRUE(c.Request("set_db_change_aware", json::array({true}), "aware"));
  ASSERT_TRUE(c.Reply("aware").has_value());
  auto wait = [](const json& rows) {
    return json::array({"_Server",
                        {{"op", "wait"}, {"table", "Database"}, {"timeout", 60000},
                         {"where", {{"name", "==", "OVN"}}}, {"columns", {"name"}},
                         {"until", "=="}, {"rows", rows}}});
  };
  ASSERT_TRUE(c.Request("transact", wait(json::array({{{"name", "OVN"}}})), "added"));
  EXPECT_FALSE(c.Next(300ms).has_value());  // Blocked: OVN is not served.
  auto add = RunProgram({kOvsAppctl, "-t", s.ctl(), "ovsdb-server/add-db", sb});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  std::optional<Message> m = c.Reply("added");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->result, json::array({json::object()}));
  ASSERT_TRUE(c.Request("transact", wait(json::array()), "removed"));
  EXPECT_FALSE(c.Next(300ms).has_value());
  auto remove = RunProgram({kOvsAppctl, "-t", s.ctl(), "ovsdb-server/remove-db", "OVN"});
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  m = c.Reply("removed");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->result, json::array({json::object()}));
}

}  // namespace
}  // namespace spate::ovsdb
