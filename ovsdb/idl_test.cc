// Tests of the OVSDB client library against Debian's /usr/sbin/ovsdb-server
// 3.1, started in a temporary directory on our OVN_Northbound schema.
// Other clients are Debian's ovsdb-client / ovsdb-tool.
#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "common/testing.h"
#include "ovsdb/idl.h"
#include "ovsdb/idl_test_proxy.h"
#include "ovsdb/idl_txn.h"

namespace spate::ovsdb::idl {
namespace {

using common::testing::ProcessAlive;
using common::testing::ReadFile;
using common::testing::RunProgram;
using common::testing::TempDir;
using common::testing::WaitFor;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string SchemaPath(const char* file = "ovn-nb.ovsschema") {
  const char* src = std::getenv("SPATE_SOURCE_DIR");
  return std::string(src ? src : ".") + "/ovsdb/schemas/" + file;
}

// One Debian ovsdb-server on a database file in a temp dir.
class Server {
 public:
  explicit Server(const std::string& schema = SchemaPath()) {
    auto r = RunProgram({"/usr/bin/ovsdb-tool", "create", db(), schema});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Start();
  }
  ~Server() { Kill(SIGTERM); }

  std::string db() const { return dir_.File("nb.db"); }
  std::string sock() const { return dir_.File("db.sock"); }
  std::string remote() const { return "unix:" + sock(); }

  void Start() {
    // SPATE_IDL_OVSDB_SERVER runs the same tests against another server
    // (e.g. our own build/bin/ovsdb-server).
    const char* server = std::getenv("SPATE_IDL_OVSDB_SERVER");
    auto r = RunProgram({server ? server : "/usr/sbin/ovsdb-server", db(), "--remote=punix:" + sock(),
                         "--pidfile=" + dir_.File("pid"), "--unixctl=" + dir_.File("ctl"),
                         "--log-file=" + dir_.File("log"), "--detach", "--no-chdir"},
                        {{"OVS_RUNDIR", dir_.path()}, {"OVS_LOGDIR", dir_.path()}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    pid_ = std::atoi(ReadFile(dir_.File("pid")).c_str());
    ASSERT_GT(pid_, 0);
  }
  void Kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid_); }, seconds(10)));
    pid_ = 0;
  }
  // Runs ovsdb-client transact with `ops` (a JSON array text, db included).
  std::string Transact(const std::string& ops) {
    auto r = RunProgram({"/usr/bin/ovsdb-client", "transact", remote(), ops});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("\"error\""), std::string::npos) << r.out;
    return r.out;
  }

 private:
  TempDir dir_;  // Database, socket, pidfile, log.
  int pid_ = 0;  // Server process.
};

std::unique_ptr<Idl> MakeIdl(common::EventLoop& loop, const std::string& remote,
                             std::vector<TableRequest> tables = {},
                             std::string database = "OVN_Northbound") {
  IdlOptions o;
  o.remote = remote;
  o.database = std::move(database);
  o.tables = std::move(tables);
  o.min_backoff = milliseconds(50);
  o.max_backoff = milliseconds(200);
  auto idl = Idl::Create(loop, std::move(o));
  EXPECT_TRUE(idl.ok());
  (*idl)->Start();
  return std::move(idl).value();
}

std::string InsertSwitch(const std::string& name) {
  return R"(["OVN_Northbound",{"op":"insert","table":"Logical_Switch","row":{"name":")" + name +
         R"("}}])";
}

// Sorted names of the replica's switches.
std::vector<std::string> SwitchNames(Idl& idl) {
  std::vector<std::string> names;
  for (const RowView& r : idl.table("Logical_Switch")->All()) names.push_back(r.GetString("name"));
  std::sort(names.begin(), names.end());
  return names;
}

// Table contents as uuid -> field values, for comparing replicas.
std::map<std::string, std::vector<Datum>> Contents(const ReplicaTable& t) {
  std::map<std::string, std::vector<Datum>> out;
  for (const auto& [uuid, row] : t.rows()) {
    std::vector<Datum> fields;
    for (int c : t.columns()) fields.push_back(row->fields[c]);
    out[uuid.ToString()] = std::move(fields);
  }
  return out;
}

TEST(ParseRemotesTest, AcceptsOvsDbStrings) {
  auto r = ParseRemotes("unix:/tmp/a.sock, tcp:127.0.0.1:6641,ssl:[::1]");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"unix:/tmp/a.sock", "tcp:127.0.0.1:6641",
                                          "ssl:[::1]:6640"}));
  EXPECT_FALSE(ParseRemotes("").ok());
  EXPECT_FALSE(ParseRemotes("tcp:foo").ok());
  EXPECT_FALSE(ParseRemotes("punix:/tmp/x").ok());
  EXPECT_FALSE(ParseRemotes("bogus:1").ok());
  common::EventLoop loop;
  EXPECT_FALSE(Idl::Create(loop, {.remote = "unix:/x", .database = "bad name"}).ok());
}

TEST(IdlTest, CommitWithoutServer) {
  TempDir dir;
  common::EventLoop loop;
  auto idl = MakeIdl(loop, "unix:" + dir.File("missing.sock"));
  EXPECT_FALSE(idl->WaitSynced(milliseconds(300)));
  EXPECT_FALSE(idl->last_error().ok());
  Txn empty(*idl);
  EXPECT_EQ(empty.CommitBlock(seconds(5)).status, TxnStatus::kTryAgain);
  Txn insert(*idl);
  Uuid sw = insert.Insert("Logical_Switch");
  EXPECT_FALSE(insert.SetString("Logical_Switch", sw, "name", "x").ok());
  TxnResult r = insert.CommitBlock(seconds(5));
  EXPECT_EQ(r.status, TxnStatus::kError);
  EXPECT_EQ(r.error.tag(), "not connected");
}

TEST(IdlTest, InitialSyncAndChangeTracking) {
  Server server;
  server.Transact(InsertSwitch("sw0"));
  server.Transact(InsertSwitch("sw1"));
  common::EventLoop loop;
  auto idl = MakeIdl(loop, server.remote());
  ASSERT_TRUE(idl->WaitSynced(seconds(10))) << idl->last_error().error().ToString();
  EXPECT_EQ(idl->stats().method, MonitorMethod::kMonitorCondSince);
  EXPECT_EQ(SwitchNames(*idl), (std::vector<std::string>{"sw0", "sw1"}));
  ReplicaTable* ls = idl->table("Logical_Switch");
  auto initial = ls->TakeChanges();
  ASSERT_EQ(initial.size(), 2u);
  EXPECT_EQ(initial[0].kind, ChangeKind::kInserted);
  EXPECT_FALSE(ls->has_changes());

  Uuid sw0 = ls->FindBy("name", Atom(std::string("sw0")))->uuid();
  Uuid sw1 = ls->FindBy("name", Atom(std::string("sw1")))->uuid();
  server.Transact(InsertSwitch("sw2"));
  server.Transact(R"(["OVN_Northbound",{"op":"update","table":"Logical_Switch",)"
                  R"("where":[["name","==","sw0"]],"row":{"name":"sw0-renamed"}},)"
                  R"({"op":"delete","table":"Logical_Switch","where":[["name","==","sw1"]]}])");
  ASSERT_TRUE(idl->RunUntil([&] { return SwitchNames(*idl) == std::vector<std::string>{
                                               "sw0-renamed", "sw2"}; },
                            seconds(10)));
  auto changes = ls->TakeChanges();
  ASSERT_EQ(changes.size(), 3u);
  int name_col = ls->schema().FindColumn("name")->index;
  for (const RowChange& c : changes) {
    if (c.uuid == sw0) {
      EXPECT_EQ(c.kind, ChangeKind::kModified);
      EXPECT_EQ(c.columns, std::vector<int>{name_col});
    } else if (c.uuid == sw1) {
      ASSERT_EQ(c.kind, ChangeKind::kDeleted);
      EXPECT_EQ(RowView(&ls->schema(), c.deleted_row.get()).GetString("name"), "sw1");
    } else {
      EXPECT_EQ(c.kind, ChangeKind::kInserted);
      EXPECT_EQ(ls->Get(c.uuid)->GetString("name"), "sw2");
    }
  }
}

TEST(IdlTest, TransactionsInsertReferenceAndMutate) {
  Server server;
  common::EventLoop loop;
  auto idl = MakeIdl(loop, server.remote());
  ASSERT_TRUE(idl->WaitSynced(seconds(10)));

  Txn txn(*idl);
  Uuid sw = txn.Insert("Logical_Switch");
  ASSERT_TRUE(txn.SetString("Logical_Switch", sw, "name", "sw0").ok());
  Uuid lp = txn.Insert("Logical_Port");
  ASSERT_TRUE(txn.SetString("Logical_Port", lp, "name", "lp0").ok());
  ASSERT_TRUE(txn.Set("Logical_Port", lp, "lswitch", Datum(Atom(sw))).ok());
  txn.AddComment("idl test");
  TxnResult r = txn.CommitBlock(seconds(10));
  ASSERT_TRUE(r.ok()) << r.error.ToString();
  EXPECT_TRUE(r.replica_seen);
  Uuid real_sw = r.Real(sw);
  EXPECT_EQ(real_sw, sw);  // Client-chosen UUIDs: the server keeps ours.
  auto port = idl->table("Logical_Port")->Get(r.Real(lp));
  ASSERT_TRUE(port.has_value());
  EXPECT_EQ(port->GetOptionalUuid("lswitch"), real_sw);
  EXPECT_EQ(idl->table("Logical_Switch")->Get(real_sw)->GetString("name"), "sw0");

  // A large set, then one element added by mutate while another client adds
  // one too: a rewrite of the set would lose the other client's element.
  Datum macs;
  for (int i = 0; i < 1000; ++i) macs.mutable_keys().push_back(Atom("mac" + std::to_string(i)));
  ASSERT_TRUE(macs.Sort(false).ok());
  Txn big(*idl);
  ASSERT_TRUE(big.Set("Logical_Port", r.Real(lp), "macs", macs).ok());
  ASSERT_TRUE(big.CommitBlock(seconds(10)).ok());
  server.Transact(R"(["OVN_Northbound",{"op":"mutate","table":"Logical_Port",)"
                  R"("where":[["name","==","lp0"]],"mutations":[["macs","insert","other"]]}])");
  Txn add(*idl);
  ASSERT_TRUE(add.InsertToSet("Logical_Port", r.Real(lp), "macs", Atom(std::string("mine"))).ok());
  ASSERT_TRUE(add.SetMapEntry("Logical_Port", r.Real(lp), "external_ids", Atom(std::string("k")),
                              Atom(std::string("v"))).ok());
  TxnResult ar = add.CommitBlock(seconds(10));
  ASSERT_TRUE(ar.ok()) << ar.error.ToString();
  EXPECT_TRUE(ar.replica_seen) << "SetMapEntry's effect was not recognised";
  ASSERT_TRUE(idl->RunUntil([&] {
    return idl->table("Logical_Port")->Get(r.Real(lp))->GetStrings("macs").size() == 1002;
  }, seconds(10)));
  auto p = idl->table("Logical_Port")->Get(r.Real(lp));
  auto set = p->GetStrings("macs");
  EXPECT_TRUE(std::count(set.begin(), set.end(), "other"));
  EXPECT_TRUE(std::count(set.begin(), set.end(), "mine"));
  EXPECT_EQ(p->GetStringMap("external_ids"), (std::map<std::string, std::string>{{"k", "v"}}));

  // Overwriting the key (delete + insert in one mutate) is recognised too,
  // and so is a lone map insert of a key that exists (a no-op).
  Txn overwrite(*idl);
  ASSERT_TRUE(overwrite.SetMapEntry("Logical_Port", r.Real(lp), "external_ids",
                                    Atom(std::string("k")), Atom(std::string("w"))).ok());
  ASSERT_TRUE(overwrite.Mutate("Logical_Port", r.Real(lp), "macs", "delete",
                               Datum(Atom(std::string("mac7")))).ok());
  TxnResult ow = overwrite.CommitBlock(seconds(10));
  ASSERT_TRUE(ow.ok()) << ow.error.ToString();
  EXPECT_TRUE(ow.replica_seen);
  EXPECT_EQ(idl->table("Logical_Port")->Get(r.Real(lp))->GetStringMap("external_ids"),
            (std::map<std::string, std::string>{{"k", "w"}}));
  Datum pair = *Datum::FromAtoms(
      idl->replica()->schema().FindTable("Logical_Port")->FindColumn("external_ids")->type,
      {Atom(std::string("k"))}, {Atom(std::string("ignored"))});
  Txn noop(*idl);
  ASSERT_TRUE(noop.Mutate("Logical_Port", r.Real(lp), "external_ids", "insert", pair).ok());
  TxnResult nr = noop.CommitBlock(seconds(10));
  ASSERT_TRUE(nr.ok()) << nr.error.ToString();
  EXPECT_TRUE(nr.replica_seen);
}

// The number of switches named `name` in the replica.
int CountSwitches(Idl& idl, const std::string& name) {
  auto names = SwitchNames(idl);
  return static_cast<int>(std::count(names.begin(), names.end(), name));
}

// Lost replies, made deterministic by a proxy that cuts the connection
// before the server sees the transaction or after it committed: the Txn
// resends behind guards and reports success exactly once, with the inserts
// and the arithmetic mutation applied once.
TEST(IdlTest, LostReplyIsResolvedExactlyOnce) {
  Server server;
  common::EventLoop loop;
  TempDir dir;
  CuttingProxy proxy(loop, "punix:" + dir.File("proxy.sock"), server.remote());
  auto idl = MakeIdl(loop, proxy.remote());
  ASSERT_TRUE(idl->WaitSynced(seconds(10)));
  Txn setup(*idl);
  Uuid sw = setup.Insert("Logical_Switch");
  ASSERT_TRUE(setup.SetString("Logical_Switch", sw, "name", "base").ok());
  Uuid lp = setup.Insert("Logical_Port");
  ASSERT_TRUE(setup.SetString("Logical_Port", lp, "name", "counter").ok());
  ASSERT_TRUE(setup.Set("Logical_Port", lp, "lswitch", Datum(Atom(sw))).ok());
  ASSERT_TRUE(setup.SetInteger("Logical_Port", lp, "tag", 0).ok());
  ASSERT_TRUE(setup.CommitBlock(seconds(10)).ok());

  struct Case {
    CuttingProxy::Cut cut;  // Where the connection breaks.
    bool insert;            // The transaction inserts a switch.
    TxnRecovery expected;   // How the outcome must be found.
  };
  const Case cases[] = {
      {CuttingProxy::Cut::kAfterReply, true, TxnRecovery::kFoundCommitted},
      {CuttingProxy::Cut::kBeforeRequest, true, TxnRecovery::kResent},
      {CuttingProxy::Cut::kAfterReply, false, TxnRecovery::kFoundCommitted},
      {CuttingProxy::Cut::kBeforeRequest, false, TxnRecovery::kResent},
  };
  int n = 0;
  for (const Case& c : cases) {
    ++n;
    proxy.CutNext(c.cut);
    Txn txn(*idl);
    std::string name = "sw" + std::to_string(n);
    if (c.insert) {
      Uuid s = txn.Insert("Logical_Switch");
      ASSERT_TRUE(txn.SetString("Logical_Switch", s, "name", name).ok());
    }
    ASSERT_TRUE(txn.Mutate("Logical_Port", lp, "tag", "+=", Datum(Atom(int64_t{1}))).ok());
    ASSERT_TRUE(txn.InsertToSet("Logical_Port", lp, "macs", Atom(name)).ok());
    TxnResult r = txn.CommitBlock(seconds(20));
    ASSERT_TRUE(r.ok()) << n << ": " << r.error.ToString();
    EXPECT_TRUE(proxy.cut_done()) << n;
    EXPECT_EQ(r.recovery, c.expected) << n;
    EXPECT_TRUE(r.replica_seen) << n;
    EXPECT_EQ(idl->table("Logical_Port")->Get(lp)->GetInteger("tag"), n) << n;
    EXPECT_EQ(CountSwitches(*idl, name), c.insert ? 1 : 0) << n;
  }
  EXPECT_EQ(proxy.cuts(), 4);
  EXPECT_GE(idl->stats().connects, 5u);

  // A fresh client straight on the server sees the same: each effect once.
  auto fresh = MakeIdl(loop, server.remote());
  ASSERT_TRUE(fresh->WaitSynced(seconds(10)));
  EXPECT_EQ(fresh->table("Logical_Port")->Get(lp)->GetInteger("tag"), 4);
  EXPECT_EQ(SwitchNames(*fresh), (std::vector<std::string>{"base", "sw1", "sw2"}));
  EXPECT_EQ(Contents(*fresh->table("Logical_Port")), Contents(*idl->table("Logical_Port")));
}

TEST(IdlTest, VerifyConflictGivesTryAgainThenSucceeds) {
  Server server;
  server.Transact(InsertSwitch("sw0"));
  common::EventLoop loop;
  auto idl = MakeIdl(loop, server.remote());
  ASSERT_TRUE(idl->WaitSynced(seconds(10)));
  Uuid sw = idl->table("Logical_Switch")->All().at(0).uuid();

  // The replica is stale: the loop does not run while the other client writes.
  server.Transact(R"(["OVN_Northbound",{"op":"update","table":"Logical_Switch",)"
                  R"("where":[["name","==","sw0"]],"row":{"name":"theirs"}}])");
  Txn txn(*idl);
  ASSERT_TRUE(txn.Verify("Logical_Switch", sw, "name").ok());
  ASSERT_TRUE(txn.SetString("Logical_Switch", sw, "name", "mine").ok());
  TxnResult r = txn.CommitBlock(seconds(10));
  EXPECT_EQ(r.status, TxnStatus::kTryAgain) << r.error.ToString();

  ASSERT_TRUE(idl->RunUntil([&] { return SwitchNames(*idl)[0] == "theirs"; }, seconds(10)));
  Txn again(*idl);
  ASSERT_TRUE(again.Verify("Logical_Switch", sw, "name").ok());
  ASSERT_TRUE(again.SetString("Logical_Switch", sw, "name", "mine").ok());
  TxnResult r2 = again.CommitBlock(seconds(10));
  ASSERT_TRUE(r2.ok()) << r2.error.ToString();
  EXPECT_EQ(SwitchNames(*idl)[0], "mine");  // Replica already updated.
}

TEST(IdlTest, ErrorsAreClear) {
  Server server;
  common::EventLoop loop;
  auto idl = MakeIdl(loop, server.remote());
  ASSERT_TRUE(idl->WaitSynced(seconds(10)));
  Txn bad(*idl);
  Uuid lp = bad.Insert("Logical_Port");
  EXPECT_FALSE(bad.SetInteger("Logical_Port", lp, "tag", 5000).ok());  // > 4095.
  EXPECT_FALSE(bad.SetString("Logical_Port", lp, "no_such_column", "x").ok());
  TxnResult r = bad.CommitBlock(seconds(10));
  EXPECT_EQ(r.status, TxnStatus::kError);
  EXPECT_EQ(r.error.tag(), "constraint violation");

  Txn dangling(*idl);
  Uuid lp2 = dangling.Insert("Logical_Port");
  ASSERT_TRUE(dangling.Set("Logical_Port", lp2, "lswitch", Datum(Atom(Uuid::Random()))).ok());
  TxnResult r2 = dangling.CommitBlock(seconds(10));
  EXPECT_EQ(r2.status, TxnStatus::kError);
  EXPECT_EQ(r2.error.tag(), "referential integrity violation") << r2.error.ToString();

  // A database the server does not have: the _Server check refuses it.
  IdlOptions o{.remote = server.remote(), .database = "Nope"};
  o.min_backoff = milliseconds(50);
  auto nope = Idl::Create(loop, o);
  ASSERT_TRUE(nope.ok());
  (*nope)->Start();
  EXPECT_TRUE((*nope)->RunUntil([&] { return (*nope)->stats().skipped_servers > 0; }, seconds(10)));
  EXPECT_FALSE((*nope)->synced());
  EXPECT_EQ((*nope)->last_error().error().tag(), "server unusable");
}

TEST(IdlTest, ResumesAfterServerRestartAndMatchesFreshReplica) {
  Server server;
  server.Transact(InsertSwitch("sw0"));
  server.Transact(InsertSwitch("sw1"));
  common::EventLoop loop;
  auto idl = MakeIdl(loop, server.remote());
  ASSERT_TRUE(idl->WaitSynced(seconds(10)));
  (void)idl->table("Logical_Switch")->TakeChanges();

  server.Kill(SIGKILL);
  ASSERT_TRUE(idl->RunUntil([&] { return !idl->synced(); }, seconds(10)));
  // Changes made while the server is down, straight into the file.
  auto t = RunProgram({"/usr/bin/ovsdb-tool", "transact", server.db(),
                       R"(["OVN_Northbound",{"op":"insert","table":"Logical_Switch",)"
                       R"("row":{"name":"offline"}},{"op":"delete","table":"Logical_Switch",)"
                       R"("where":[["name","==","sw1"]]}])"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  server.Start();
  ASSERT_TRUE(idl->RunUntil([&] { return idl->synced(); }, seconds(20)));
  EXPECT_EQ(idl->stats().connects, 2u);
  // A standalone server keeps no history across a restart: monitor_cond_since
  // answers with a snapshot, merged into the replica.
  EXPECT_EQ(idl->stats().method, MonitorMethod::kMonitorCondSince);
  EXPECT_EQ(idl->stats().full_syncs, 2u);
  EXPECT_EQ(SwitchNames(*idl), (std::vector<std::string>{"offline", "sw0"}));
  auto changes = idl->table("Logical_Switch")->TakeChanges();
  ASSERT_EQ(changes.size(), 2u);  // Only what differs: sw0 is untouched.
  int inserted = 0, deleted = 0;
  for (const RowChange& c : changes) {
    inserted += c.kind == ChangeKind::kInserted;
    deleted += c.kind == ChangeKind::kDeleted;
  }
  EXPECT_EQ(inserted, 1);
  EXPECT_EQ(deleted, 1);

  auto fresh = MakeIdl(loop, server.remote());
  ASSERT_TRUE(fresh->WaitSynced(seconds(10)));
  for (const auto& table : idl->replica()->tables()) {
    EXPECT_EQ(Contents(*table), Contents(*fresh->table(table->name()))) << table->name();
  }
}

TEST(IdlTest, ConditionsSelectRowsAndCanChange) {
  Server server;
  server.Transact(InsertSwitch("a"));
  server.Transact(InsertSwitch("b"));
  common::EventLoop loop;
  auto idl = MakeIdl(loop, server.remote(),
                     {{"Logical_Switch", {"name"}, Json::parse(R"([["name","==","a"]])")}});
  ASSERT_TRUE(idl->WaitSynced(seconds(10)));
  EXPECT_EQ(SwitchNames(*idl), std::vector<std::string>{"a"});
  (void)idl->table("Logical_Switch")->TakeChanges();
  ASSERT_TRUE(idl->SetCondition("Logical_Switch", Json::parse(R"([["name","==","b"]])")).ok());
  ASSERT_TRUE(idl->RunUntil([&] { return SwitchNames(*idl) == std::vector<std::string>{"b"}; },
                            seconds(10)));
  auto changes = idl->table("Logical_Switch")->TakeChanges();
  ASSERT_EQ(changes.size(), 2u);  // a left the view, b entered it.
  EXPECT_FALSE(idl->SetCondition("Nope", nullptr).ok());
}

TEST(IdlTest, LocksBetweenTwoClients) {
  Server server;
  common::EventLoop loop;
  auto a = MakeIdl(loop, server.remote(), {{"Logical_Switch", {"name"}, nullptr}});
  auto b = MakeIdl(loop, server.remote(), {{"Logical_Switch", {"name"}, nullptr}});
  ASSERT_TRUE(a->WaitSynced(seconds(10)));
  ASSERT_TRUE(b->WaitSynced(seconds(10)));
  a->SetLock("northd");
  ASSERT_TRUE(a->RunUntil([&] { return a->has_lock(); }, seconds(10)));
  b->SetLock("northd");
  ASSERT_TRUE(b->RunUntil([&] { return b->lock_contended(); }, seconds(10)));
  EXPECT_FALSE(b->has_lock());

  b->StealLock();
  ASSERT_TRUE(b->RunUntil([&] { return b->has_lock() && !a->has_lock(); }, seconds(10)));
  Txn txn(*a);
  Uuid sw = txn.Insert("Logical_Switch");
  ASSERT_TRUE(txn.SetString("Logical_Switch", sw, "name", "x").ok());
  TxnResult r = txn.CommitBlock(seconds(10));
  EXPECT_EQ(r.status, TxnStatus::kError);
  EXPECT_EQ(r.error.tag(), "not owner");

  b->SetLock("");  // Releases: a, still waiting, gets it.
  ASSERT_TRUE(a->RunUntil([&] { return a->has_lock(); }, seconds(10)));
}

// An Open_vSwitch database (root table Open_vSwitch; Bridge, Port and
// Interface are garbage-collected when unreferenced) with one root row, one
// bridge and one port (tag 5); returns the root row, bridge and port.
struct VswitchRows {
  Uuid ovs, bridge, port;  // The rows created.
};
VswitchRows MakeVswitchRows(Idl& idl) {
  Txn txn(idl);
  VswitchRows v{txn.Insert("Open_vSwitch"), txn.Insert("Bridge"), txn.Insert("Port")};
  Uuid iface = txn.Insert("Interface");
  EXPECT_TRUE(txn.SetString("Interface", iface, "name", "p0").ok());
  EXPECT_TRUE(txn.SetString("Port", v.port, "name", "p0").ok());
  EXPECT_TRUE(txn.Set("Port", v.port, "interfaces", Datum(Atom(iface))).ok());
  EXPECT_TRUE(txn.SetInteger("Port", v.port, "tag", 5).ok());
  EXPECT_TRUE(txn.SetString("Bridge", v.bridge, "name", "br0").ok());
  EXPECT_TRUE(txn.Set("Bridge", v.bridge, "ports", Datum(Atom(v.port))).ok());
  EXPECT_TRUE(txn.Set("Open_vSwitch", v.ovs, "bridges", Datum(Atom(v.bridge))).ok());
  TxnResult r = txn.CommitBlock(seconds(10));
  EXPECT_TRUE(r.ok()) << r.error.ToString();
  EXPECT_TRUE(r.replica_seen);
  return v;
}

// Clearing an optional column (Port "tag", min 0 max 1) arrives from Open
// vSwitch's server as the new value ["set",[]]: the replica shows it empty,
// so the commit that cleared it completes, and so does a clear by another
// client.
TEST(IdlTest, ClearingAnOptionalColumnEmptiesIt) {
  Server server(SchemaPath("vswitch.ovsschema"));
  common::EventLoop loop;
  auto idl = MakeIdl(loop, server.remote(), {}, "Open_vSwitch");
  ASSERT_TRUE(idl->WaitSynced(seconds(10)));
  VswitchRows v = MakeVswitchRows(*idl);
  auto tag = [&] { return idl->table("Port")->Get(v.port)->GetOptionalInteger("tag"); };
  ASSERT_EQ(tag(), 5);

  Txn change(*idl);
  ASSERT_TRUE(change.SetInteger("Port", v.port, "tag", 7).ok());
  TxnResult cr = change.CommitBlock(seconds(10));
  ASSERT_TRUE(cr.ok()) << cr.error.ToString();
  EXPECT_TRUE(cr.replica_seen);
  EXPECT_EQ(tag(), 7);

  Txn clear(*idl);
  ASSERT_TRUE(clear.Set("Port", v.port, "tag", Datum()).ok());
  TxnResult r = clear.CommitBlock(seconds(10));
  ASSERT_TRUE(r.ok()) << r.error.ToString();
  EXPECT_TRUE(r.replica_seen) << "the cleared column still shows its old value";
  EXPECT_EQ(tag(), std::nullopt);

  server.Transact(R"(["Open_vSwitch",{"op":"update","table":"Port","where":[["name","==","p0"]],)"
                  R"("row":{"tag":9}}])");
  ASSERT_TRUE(idl->RunUntil([&] { return tag() == 9; }, seconds(10)));
  server.Transact(R"(["Open_vSwitch",{"op":"update","table":"Port","where":[["name","==","p0"]],)"
                  R"("row":{"tag":["set",[]]}}])");
  EXPECT_TRUE(idl->RunUntil([&] { return tag() == std::nullopt; }, seconds(10)));
}

// A row of a non-root table inserted without a reference is garbage-
// collected by the server and never appears in the replica: the commit
// must not wait for it.
TEST(IdlTest, GarbageCollectedInsertDoesNotBlockCommit) {
  Server server(SchemaPath("vswitch.ovsschema"));
  common::EventLoop loop;
  auto idl = MakeIdl(loop, server.remote(), {}, "Open_vSwitch");
  ASSERT_TRUE(idl->WaitSynced(seconds(10)));
  VswitchRows v = MakeVswitchRows(*idl);

  Txn txn(*idl);
  Uuid orphan = txn.Insert("Bridge");
  ASSERT_TRUE(txn.SetString("Bridge", orphan, "name", "orphan").ok());
  ASSERT_TRUE(txn.SetInteger("Open_vSwitch", v.ovs, "next_cfg", 1).ok());
  TxnResult r = txn.CommitBlock(seconds(10));
  ASSERT_TRUE(r.ok()) << r.error.ToString();
  EXPECT_TRUE(r.replica_seen) << "the commit waited for a garbage-collected row";
  EXPECT_FALSE(idl->table("Bridge")->Get(orphan).has_value());
  EXPECT_EQ(idl->table("Open_vSwitch")->Get(v.ovs)->GetInteger("next_cfg"), 1);
}

// An operation built before the insert of the row it refers to (an update
// and a mutate of the root row, created first, then given references to
// bridges inserted later) refers to the client-chosen UUID, so the
// reference resolves to the inserted row.
TEST(IdlTest, ReferenceBuiltBeforeItsInsertResolves) {
  Server server(SchemaPath("vswitch.ovsschema"));
  common::EventLoop loop;
  auto idl = MakeIdl(loop, server.remote(), {}, "Open_vSwitch");
  ASSERT_TRUE(idl->WaitSynced(seconds(10)));
  VswitchRows v = MakeVswitchRows(*idl);

  Txn txn(*idl);
  ASSERT_TRUE(txn.SetInteger("Open_vSwitch", v.ovs, "next_cfg", 2).ok());  // First op.
  ASSERT_TRUE(txn.Mutate("Open_vSwitch", v.ovs, "cur_cfg", "+=", Datum(Atom(int64_t{1}))).ok());
  Uuid br1 = txn.Insert("Bridge");
  Uuid br2 = txn.Insert("Bridge");
  ASSERT_TRUE(txn.SetString("Bridge", br1, "name", "br1").ok());
  ASSERT_TRUE(txn.SetString("Bridge", br2, "name", "br2").ok());
  Datum three;
  three.mutable_keys() = {Atom(v.bridge), Atom(br1)};
  ASSERT_TRUE(three.Sort(false).ok());
  ASSERT_TRUE(txn.Set("Open_vSwitch", v.ovs, "bridges", three).ok());  // Into the first op.
  ASSERT_TRUE(txn.InsertToSet("Open_vSwitch", v.ovs, "bridges", Atom(br2)).ok());
  TxnResult r = txn.CommitBlock(seconds(10));
  ASSERT_TRUE(r.ok()) << r.error.ToString();
  EXPECT_TRUE(r.replica_seen);
  auto ovs = idl->table("Open_vSwitch")->Get(v.ovs);
  std::vector<Uuid> bridges = ovs->GetUuids("bridges");
  std::vector<Uuid> want = {v.bridge, br1, br2};
  std::sort(bridges.begin(), bridges.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(bridges, want);
  EXPECT_EQ(idl->table("Bridge")->Get(br1)->GetString("name"), "br1");
  EXPECT_EQ(idl->table("Bridge")->Get(br2)->GetString("name"), "br2");
}

}  // namespace
}  // namespace spate::ovsdb::idl
