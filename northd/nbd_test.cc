// Tests of ovn-nbd (the built daemon) against a real ovsdb-server serving
// ovnnb.db and ovn.db on one socket, as the sandbox runs them: ours and
// Debian's /usr/sbin/ovsdb-server 3.1 (the suite is parametrized on the
// server binary).  The test reads and writes both databases through its
// own IDL replicas and waits on conditions with timeouts; raw southbound
// updates go through Debian's ovsdb-client, like the seed's hypervisor.
#include <signal.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/event_loop.h"
#include "common/testing.h"
#include "common/unixctl.h"
#include "expr/expr.h"
#include "northd/logical_flows.h"
#include "ovsdb/idl.h"
#include "ovsdb/idl_txn.h"

namespace spate::northd {
namespace {

using common::testing::ProcessAlive;
using common::testing::ProgramResult;
using common::testing::ReadFile;
using common::testing::RunProgram;
using common::testing::TempDir;
using common::testing::WaitFor;
using ovsdb::Atom;
using ovsdb::Datum;
using ovsdb::Uuid;
using ovsdb::idl::Idl;
using ovsdb::idl::RowView;
using ovsdb::idl::Txn;
using ovsdb::idl::TxnResult;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kWait = seconds(20);

std::string Schema(const char* file) {
  return std::string(SPATE_SOURCE_ROOT) + "/ovsdb/schemas/" + file;
}

// One Bindings row as the test sees it.
struct Binding {
  Uuid datapath;                  // logical_datapath.
  int64_t key = 0;                // tunnel_key.
  std::vector<std::string> macs;  // mac.
  std::vector<std::string> parent;  // parent_port (0 or 1).
  std::vector<int64_t> tag;       // tag (0 or 1).
  std::string chassis;            // chassis.
  Uuid row;                       // _uuid.
};

// What one logical port is made of.
struct PortSpec {
  std::string name;                        // Logical_Port.name.
  std::vector<std::string> macs;           // macs.
  std::vector<std::string> port_security;  // port_security.
  std::optional<std::string> parent;       // parent_name.
  std::optional<int64_t> tag;              // tag.
  std::optional<bool> enabled;             // enabled.
};

Datum Strings(const std::vector<std::string>& values) {
  std::vector<std::string> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  Datum d;
  for (const std::string& v : sorted) d.mutable_keys().emplace_back(v);
  return d;
}

class NbdTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    for (auto [db, schema] : {std::pair{"ovnnb.db", "ovn-nb.ovsschema"},
                              std::pair{"ovn.db", "ovn.ovsschema"}}) {
      ProgramResult r =
          RunProgram({"/usr/bin/ovsdb-tool", "create", dir_.File(db), Schema(schema)});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    ProgramResult r = RunProgram(
        {GetParam(), dir_.File("ovn.db"), dir_.File("ovnnb.db"),
         "--remote=punix:" + dir_.File("db.sock"), "--pidfile=" + dir_.File("server.pid"),
         "--unixctl=" + dir_.File("server.ctl"), "--log-file=" + dir_.File("server.log"),
         "--detach", "--no-chdir"},
        Env());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    server_pid_ = std::atoi(ReadFile(dir_.File("server.pid")).c_str());
    ASSERT_GT(server_pid_, 0);
    nb_ = Connect("OVN_Northbound");
    sb_ = Connect("OVN");
    ASSERT_TRUE(nb_ && sb_);
  }
  void TearDown() override {
    nb_.reset();
    sb_.reset();
    for (int pid : nbd_pids_) Stop(pid);
    Stop(server_pid_);
  }

  std::vector<std::pair<std::string, std::string>> Env() const {
    return {{"OVS_RUNDIR", dir_.path()}, {"OVS_LOGDIR", dir_.path()}};
  }
  void Stop(int pid) {
    if (pid <= 0 || !ProcessAlive(pid)) return;
    ::kill(pid, SIGTERM);
    EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, seconds(10)));
  }
  std::unique_ptr<Idl> Connect(const char* database) {
    auto idl = Idl::Create(loop_, {.remote = "unix:" + dir_.File("db.sock"), .database = database});
    if (!idl.ok()) return nullptr;
    (*idl)->Start();
    if (!(*idl)->WaitSynced(kWait)) return nullptr;
    return std::move(idl).value();
  }

  // Starts ovn-nbd with the sandbox's exact command line (files named
  // after the program in OVS_RUNDIR / OVS_LOGDIR), or, with `name`, with
  // its own pidfile, log and control socket.  Returns the pid.
  int StartNbd(const std::string& name = "") {
    std::vector<std::string> argv{SPATE_OVN_NBD, "--detach", "--no-chdir", "--pidfile",
                                  "-vconsole:off", "--log-file"};
    std::string base = name.empty() ? "ovn-nbd" : name;
    if (!name.empty()) {
      argv[3] = "--pidfile=" + dir_.File(name + ".pid");
      argv[5] = "--log-file=" + dir_.File(name + ".log");
      argv.push_back("--unixctl=" + dir_.File(name + ".ctl"));
    }
    ProgramResult r = RunProgram(argv, Env());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    int pid = std::atoi(ReadFile(dir_.File(base + ".pid")).c_str());
    EXPECT_GT(pid, 0);
    nbd_pids_.push_back(pid);
    ctl_[pid] = name.empty() ? dir_.File("ovn-nbd." + std::to_string(pid) + ".ctl")
                             : dir_.File(name + ".ctl");
    return pid;
  }
  // The daemon's "status" reply ("" if it does not answer).
  std::string Status(int pid) {
    auto r = common::UnixctlTransact(ctl_[pid], "status", {}, seconds(5));
    return r.ok() && !r->is_error ? r->text : "";
  }
  bool IsActive(int pid) { return Status(pid).rfind("Status: active", 0) == 0; }

  // Runs the test's replicas until `done` (or the timeout).
  bool Until(const std::function<bool()>& done, milliseconds timeout = kWait) {
    return loop_.RunUntil(done, timeout);
  }

  // ---- northbound writes through the test's replica ----
  TxnResult Commit(const std::function<void(Txn&)>& build) {
    Txn txn(*nb_);
    build(txn);
    return txn.CommitBlock(kWait);
  }
  Uuid AddSwitch(const std::string& name) {
    Uuid new_row;
    TxnResult r = Commit([&](Txn& t) {
      new_row = t.Insert("Logical_Switch");
      (void)t.SetString("Logical_Switch", new_row, "name", name);
    });
    EXPECT_TRUE(r.ok()) << r.error.ToString();
    return r.Real(new_row);
  }
  Uuid AddPort(const Uuid& sw, const PortSpec& p) {
    Uuid new_row;
    TxnResult r = Commit([&](Txn& t) {
      new_row = t.Insert("Logical_Port");
      (void)t.SetString("Logical_Port", new_row, "name", p.name);
      (void)t.Set("Logical_Port", new_row, "lswitch", Datum(Atom(sw)));
      (void)t.Set("Logical_Port", new_row, "macs", Strings(p.macs));
      (void)t.Set("Logical_Port", new_row, "port_security", Strings(p.port_security));
      if (p.parent) (void)t.SetString("Logical_Port", new_row, "parent_name", *p.parent);
      if (p.tag) (void)t.SetInteger("Logical_Port", new_row, "tag", *p.tag);
      if (p.enabled) (void)t.SetBool("Logical_Port", new_row, "enabled", *p.enabled);
    });
    EXPECT_TRUE(r.ok()) << r.error.ToString();
    return r.Real(new_row);
  }
  Uuid AddAcl(const Uuid& sw, int64_t priority, const std::string& match,
              const std::string& action) {
    Uuid new_row;
    TxnResult r = Commit([&](Txn& t) {
      new_row = t.Insert("ACL");
      (void)t.Set("ACL", new_row, "lswitch", Datum(Atom(sw)));
      (void)t.SetInteger("ACL", new_row, "priority", priority);
      (void)t.SetString("ACL", new_row, "match", match);
      (void)t.SetString("ACL", new_row, "action", action);
    });
    EXPECT_TRUE(r.ok()) << r.error.ToString();
    return r.Real(new_row);
  }
  void Delete(const char* table, const Uuid& row) {
    TxnResult r = Commit([&](Txn& t) { (void)t.Delete(table, row); });
    EXPECT_TRUE(r.ok()) << r.error.ToString();
  }
  Uuid PortUuid(const std::string& name) {
    auto row = nb_->table("Logical_Port")->FindBy("name", Atom(name));
    return row ? row->uuid() : Uuid{};
  }
  // Logical_Port.up of `name`: "[]", "false" or "true".
  std::string Up(const std::string& name) {
    auto row = nb_->table("Logical_Port")->FindBy("name", Atom(name));
    if (!row) return "missing";
    const Datum& d = row->Get("up");
    return d.empty() ? "[]" : d.keys()[0].boolean() ? "true" : "false";
  }

  // ---- southbound reads ----
  std::map<std::string, Binding> Bindings() {
    std::map<std::string, Binding> out;
    for (const RowView& r : sb_->table("Bindings")->All()) {
      out[r.GetString("logical_port")] = {
          r.GetOptionalUuid("logical_datapath").value_or(Uuid{}), r.GetInteger("tunnel_key"),
          r.GetStrings("mac"), r.GetStrings("parent_port"), r.GetIntegers("tag"),
          r.GetString("chassis"), r.uuid()};
    }
    return out;
  }
  // The Pipeline rows of datapath `dp`, sorted, with their row UUIDs.
  std::map<LogicalFlow, Uuid> FlowRows(const Uuid& dp) {
    std::map<LogicalFlow, Uuid> out;
    for (const RowView& r : sb_->table("Pipeline")->All()) {
      if (r.GetOptionalUuid("logical_datapath") != dp) continue;
      out[{r.GetInteger("table_id"), r.GetInteger("priority"), r.GetString("match"),
           r.GetString("actions")}] = r.uuid();
    }
    return out;
  }
  std::vector<LogicalFlow> Flows(const Uuid& dp) {
    std::vector<LogicalFlow> flows;
    for (const auto& [f, row] : FlowRows(dp)) flows.push_back(f);
    return flows;
  }
  // Raw southbound transaction through Debian's ovsdb-client.
  void SbTransact(const std::string& ops) {
    ProgramResult r = RunProgram({"/usr/bin/ovsdb-client", "transact",
                                  "unix:" + dir_.File("db.sock"), "[\"OVN\"," + ops + "]"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.out.find("error"), std::string::npos) << r.out;
  }

  TempDir dir_;                       // Databases, sockets, logs.
  common::EventLoop loop_;            // Runs the test's replicas.
  std::unique_ptr<Idl> nb_;           // OVN_Northbound replica.
  std::unique_ptr<Idl> sb_;           // Southbound replica.
  int server_pid_ = 0;                // ovsdb-server.
  std::vector<int> nbd_pids_;         // ovn-nbd processes started.
  std::map<int, std::string> ctl_;    // pid -> control socket.
};

// Bindings rows follow the ports: columns, unique keys, parent+tag only
// together, keys stable across unrelated changes, stale rows deleted.
TEST_P(NbdTest, BindingsFollowPorts) {
  StartNbd();
  Uuid sw0 = AddSwitch("sw0");
  Uuid sw1 = AddSwitch("sw1");
  AddPort(sw0, {.name = "sw0-port0", .macs = {"00:00:00:00:00:01"}});
  AddPort(sw0, {.name = "sw0-port1", .parent = "vm1", .tag = 42});
  AddPort(sw0, {.name = "sw0-port2", .parent = "vm1"});  // No tag: no parent in SB.
  AddPort(sw1, {.name = "sw1-port0", .macs = {"unknown", "00:00:00:00:00:02"}});
  ASSERT_TRUE(Until([&] { return Bindings().size() == 4; }));
  std::map<std::string, Binding> b = Bindings();
  EXPECT_EQ(b["sw0-port0"].datapath, sw0);
  EXPECT_EQ(b["sw1-port0"].datapath, sw1);
  EXPECT_EQ(b["sw0-port0"].macs, std::vector<std::string>{"00:00:00:00:00:01"});
  EXPECT_EQ(b["sw1-port0"].macs, (std::vector<std::string>{"00:00:00:00:00:02", "unknown"}));
  EXPECT_EQ(b["sw0-port1"].parent, std::vector<std::string>{"vm1"});
  EXPECT_EQ(b["sw0-port1"].tag, std::vector<int64_t>{42});
  EXPECT_TRUE(b["sw0-port2"].parent.empty());
  EXPECT_TRUE(b["sw0-port2"].tag.empty());
  EXPECT_EQ(b["sw0-port0"].chassis, "");
  std::set<int64_t> keys;
  for (const auto& [name, binding] : b) {
    EXPECT_GE(binding.key, 1);
    EXPECT_LE(binding.key, 65535);
    keys.insert(binding.key);
  }
  EXPECT_EQ(keys.size(), 4u);

  // Unrelated changes: a new port, a MAC change.  Keys stay.
  AddPort(sw1, {.name = "sw1-port1"});
  Uuid p0 = PortUuid("sw0-port0");
  ASSERT_TRUE(Commit([&](Txn& t) {
                (void)t.Set("Logical_Port", p0, "macs", Strings({"00:00:00:00:00:09"}));
              }).ok());
  ASSERT_TRUE(Until([&] {
    auto now = Bindings();
    return now.size() == 5 && now["sw0-port0"].macs == std::vector<std::string>{"00:00:00:00:00:09"};
  }));
  std::map<std::string, Binding> after = Bindings();
  for (const auto& [name, binding] : b) {
    EXPECT_EQ(after[name].key, binding.key) << name;
    EXPECT_EQ(after[name].row, binding.row) << name;
  }
  EXPECT_FALSE(keys.contains(after["sw1-port1"].key));

  // Deleting a port deletes its row; deleting a switch's last port and the
  // switch removes its flows too.
  Delete("Logical_Port", PortUuid("sw0-port2"));
  Delete("Logical_Port", PortUuid("sw1-port0"));
  Delete("Logical_Port", PortUuid("sw1-port1"));
  ASSERT_FALSE(Flows(sw1).empty());
  Delete("Logical_Switch", sw1);
  ASSERT_TRUE(Until([&] { return Bindings().size() == 2 && Flows(sw1).empty(); }));
  EXPECT_EQ(Bindings()["sw0-port0"].key, b["sw0-port0"].key);
  EXPECT_EQ(Bindings()["sw0-port1"].key, b["sw0-port1"].key);
}

// Logical_Port.up follows Bindings.chassis, written by a raw transaction
// as the seed's simulated hypervisor does.
TEST_P(NbdTest, UpFollowsChassis) {
  StartNbd();
  Uuid sw0 = AddSwitch("sw0");
  AddPort(sw0, {.name = "sw0-port0"});
  AddPort(sw0, {.name = "sw0-port1"});
  ASSERT_TRUE(Until([&] { return Up("sw0-port0") == "false" && Up("sw0-port1") == "false"; }))
      << Up("sw0-port0");
  SbTransact(R"({"op":"update","table":"Bindings","where":[["logical_port","==","sw0-port0"]],"row":{"chassis":"chassis-1"}})");
  ASSERT_TRUE(Until([&] { return Up("sw0-port0") == "true"; }));
  EXPECT_EQ(Up("sw0-port1"), "false");
  SbTransact(R"({"op":"update","table":"Bindings","where":[["logical_port","==","sw0-port0"]],"row":{"chassis":""}})");
  ASSERT_TRUE(Until([&] { return Up("sw0-port0") == "false"; }));
  // A CMS that writes up=true on an unbound port is corrected.
  Uuid p1 = PortUuid("sw0-port1");
  ASSERT_TRUE(Commit([&](Txn& t) { (void)t.SetBool("Logical_Port", p1, "up", true); }).ok());
  ASSERT_TRUE(Until([&] { return Up("sw0-port1") == "false"; }));
}

// The §4.4 rows of a switch with known ports, MACs, unknown, port
// security, a disabled port and ACLs (one of them malformed).
TEST_P(NbdTest, PipelineContents) {
  StartNbd();
  Uuid sw = AddSwitch("sw0");
  AddPort(sw, {.name = "p1", .macs = {"00:00:00:00:00:01"}, .port_security = {"00:00:00:00:00:01"}});
  AddPort(sw, {.name = "p2", .macs = {"unknown"}});
  AddPort(sw, {.name = "p3", .macs = {"00:00:00:00:00:03"}, .port_security = {"00:00:00:00:00:03"},
               .enabled = false});
  AddAcl(sw, 1000, "tcp.dst == 80", "allow");
  AddAcl(sw, 900, "udp", "drop");
  AddAcl(sw, 800, "ip4 && (", "drop");  // Malformed: skipped.
  AddAcl(sw, 700, "arp", "reject");
  AddAcl(sw, 600, "ip6", "allow-related");
  std::vector<LogicalFlow> want = {
      {0, 0, "1", "drop;"},
      {0, 50, "inport == \"p1\" && eth.src == {00:00:00:00:00:01}", "next;"},
      {0, 50, "inport == \"p2\"", "next;"},
      {0, 50, "inport == \"p3\" && eth.src == {00:00:00:00:00:03}", "drop;"},
      {0, 100, "eth.src[40]", "drop;"},
      {0, 100, "vlan.present", "drop;"},
      {1, 0, "1", "outport = \"p2\"; next;"},
      {1, 50, "eth.dst == 00:00:00:00:00:01", "outport = \"p1\"; next;"},
      {1, 50, "eth.dst == 00:00:00:00:00:03", "outport = \"p3\"; next;"},
      {1, 100, "eth.dst[40]", "outport = \"p1\"; next; outport = \"p2\"; next; outport = \"p3\"; next;"},
      {2, 0, "1", "next;"},
      {2, 600, "ip6", "next;"},
      {2, 700, "arp", "drop;"},
      {2, 900, "udp", "drop;"},
      {2, 1000, "tcp.dst == 80", "next;"},
      {3, 50, "outport == \"p1\" && eth.dst == {00:00:00:00:00:01}", "output;"},
      {3, 50, "outport == \"p2\"", "output;"},
      {3, 50, "outport == \"p3\" && eth.dst == {00:00:00:00:00:03}", "drop;"},
      {3, 100, "eth.dst[40]", "output;"},
  };
  ASSERT_TRUE(Until([&] { return Flows(sw) == want; })) << Flows(sw).size() << " flows";
  EXPECT_NE(ReadFile(dir_.File("ovn-nbd.log")).find("ACL match 'ip4 && (' skipped"),
            std::string::npos);

  // Adding a port rewrites only the rows that change; the rest keep their
  // row UUIDs.
  std::map<LogicalFlow, Uuid> before = FlowRows(sw);
  AddPort(sw, {.name = "p4", .macs = {"00:00:00:00:00:04"}});
  ASSERT_TRUE(Until([&] { return FlowRows(sw).size() == want.size() + 3; }));
  std::map<LogicalFlow, Uuid> after = FlowRows(sw);
  size_t kept = 0;
  for (const auto& [flow, row] : before) {
    auto it = after.find(flow);
    if (it != after.end()) {
      EXPECT_EQ(it->second, row);
      ++kept;
    }
  }
  EXPECT_EQ(kept, want.size() - 1);  // Only the flood flow changed.
}

// A restart on a consistent database writes nothing; keys survive it.
TEST_P(NbdTest, RestartChangesNothing) {
  int first = StartNbd();
  Uuid sw = AddSwitch("sw0");
  for (int i = 0; i < 5; ++i) {
    AddPort(sw, {.name = "p" + std::to_string(i), .macs = {"00:00:00:00:00:1" + std::to_string(i)}});
  }
  AddAcl(sw, 10, "ip4", "drop");
  ASSERT_TRUE(Until([&] {
    return Bindings().size() == 5 && Flows(sw).size() == 7 + 3 * 5 && Up("p4") == "false";
  }));
  std::map<std::string, Binding> bindings = Bindings();
  std::map<LogicalFlow, Uuid> flows = FlowRows(sw);
  ::kill(first, SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(first); }, seconds(10)));

  int second = StartNbd("again");
  ASSERT_TRUE(WaitFor([&] {
    std::string s = Status(second);
    return s.rfind("Status: active", 0) == 0 && s.find(" 1 switch computations") != std::string::npos;
  }, kWait)) << Status(second);
  std::string status = Status(second);
  EXPECT_NE(status.find("bindings: 0 inserted, 0 updated, 0 deleted"), std::string::npos) << status;
  EXPECT_NE(status.find("pipeline: 0 inserted, 0 deleted"), std::string::npos) << status;
  EXPECT_NE(status.find("up: 0 writes"), std::string::npos) << status;
  Until([] { return false; }, milliseconds(200));  // Let any stray update arrive.
  for (const auto& [name, b] : Bindings()) EXPECT_EQ(b.row, bindings[name].row) << name;
  EXPECT_EQ(FlowRows(sw), flows);

  // New ports after the restart get fresh keys; old keys are unchanged.
  AddPort(sw, {.name = "p9"});
  ASSERT_TRUE(Until([&] { return Bindings().size() == 6; }));
  std::map<std::string, Binding> now = Bindings();
  for (const auto& [name, b] : bindings) {
    EXPECT_EQ(now[name].key, b.key);
    EXPECT_NE(now["p9"].key, b.key);
  }
}

// Two ovn-nbd: one active, one on standby; kill -9 the active one and the
// other takes over.
TEST_P(NbdTest, LockFailover) {
  int a = StartNbd("a");
  ASSERT_TRUE(WaitFor([&] { return IsActive(a); }, kWait)) << Status(a);
  int b = StartNbd("b");
  ASSERT_TRUE(WaitFor([&] { return Status(b).rfind("Status: standby", 0) == 0; }, kWait));
  Uuid sw = AddSwitch("sw0");
  AddPort(sw, {.name = "p1"});
  ASSERT_TRUE(Until([&] { return Bindings().size() == 1; }));
  EXPECT_NE(Status(a).find("bindings: 1 inserted"), std::string::npos) << Status(a);
  EXPECT_NE(Status(b).find("bindings: 0 inserted"), std::string::npos) << Status(b);

  ::kill(a, SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return IsActive(b); }, kWait)) << Status(b);
  AddPort(sw, {.name = "p2"});
  ASSERT_TRUE(Until([&] { return Bindings().size() == 2 && Up("p2") == "false"; }));
  EXPECT_NE(Status(b).find("bindings: 1 inserted"), std::string::npos) << Status(b);
}

// Differential: after random northbound changes handled incrementally, the
// southbound database equals what a full computation gives (flows from
// BuildSwitchFlows over the northbound replica, one binding per port), and
// a fresh ovn-nbd started on it finds nothing to write.
TEST_P(NbdTest, IncrementalEqualsFull) {
  int first = StartNbd();
  std::vector<Uuid> switches = {AddSwitch("a"), AddSwitch("b"), AddSwitch("c")};
  std::vector<std::string> ports;
  std::vector<Uuid> acls;
  uint32_t seed = 12345;
  auto rnd = [&](uint32_t n) { seed = seed * 1103515245 + 12345; return (seed >> 8) % n; };
  auto mac = [&] { return "00:00:00:00:00:0" + std::to_string(rnd(8)); };
  for (int step = 0; step < 60; ++step) {
    uint32_t what = rnd(6);
    if (what <= 1 || ports.empty()) {
      std::string name = "p" + std::to_string(step);
      AddPort(switches[rnd(3)], {.name = name, .macs = {rnd(4) == 0 ? "unknown" : mac()},
                                 .port_security = {mac()}, .enabled = rnd(3) != 0});
      ports.push_back(name);
    } else if (what == 2) {
      size_t i = rnd(ports.size());
      Delete("Logical_Port", PortUuid(ports[i]));
      ports.erase(ports.begin() + i);
    } else if (what == 3) {
      Uuid p = PortUuid(ports[rnd(ports.size())]);
      Uuid sw = switches[rnd(3)];
      std::string m = mac();
      ASSERT_TRUE(Commit([&](Txn& t) {
                    (void)t.Set("Logical_Port", p, "lswitch", Datum(Atom(sw)));
                    (void)t.Set("Logical_Port", p, "macs", Strings({m}));
                  }).ok());
    } else if (what == 4 || acls.empty()) {
      acls.push_back(AddAcl(switches[rnd(3)], 1 + rnd(100), rnd(3) ? "tcp" : "tcp &&", "drop"));
    } else {
      Delete("ACL", acls.back());
      acls.pop_back();
    }
  }
  auto expected_flows = [&](const Uuid& sw) {
    SwitchFlowInput in;
    for (const RowView& p : nb_->table("Logical_Port")->All()) {
      if (p.GetOptionalUuid("lswitch") != sw) continue;
      const Datum& e = p.Get("enabled");
      in.ports.push_back({p.GetString("name"), p.GetStrings("macs"), p.GetStrings("port_security"),
                          e.empty() || e.keys()[0].boolean()});
    }
    for (const RowView& a : nb_->table("ACL")->All()) {
      if (a.GetOptionalUuid("lswitch") != sw) continue;
      in.acls.push_back({a.GetInteger("priority"), a.GetString("match"), a.GetString("action")});
    }
    return BuildSwitchFlows(in, expr::ValidateMatch, nullptr);
  };
  auto consistent = [&] {
    std::map<std::string, Binding> b = Bindings();
    if (b.size() != ports.size()) return false;
    for (const std::string& name : ports) {
      auto port = nb_->table("Logical_Port")->FindBy("name", Atom(name));
      if (!b.contains(name) || !port || b[name].datapath != port->GetOptionalUuid("lswitch") ||
          b[name].macs != port->GetStrings("macs") || Up(name) != "false") {
        return false;
      }
    }
    for (const Uuid& sw : switches) {
      if (Flows(sw) != expected_flows(sw)) return false;
    }
    return true;
  };
  ASSERT_TRUE(Until(consistent)) << Bindings().size() << " bindings for " << ports.size();
  std::string log = ReadFile(dir_.File("ovn-nbd.log"));
  EXPECT_EQ(log.find("timed out"), std::string::npos) << log;
  ::kill(first, SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(first); }, seconds(10)));
  int second = StartNbd("again");
  ASSERT_TRUE(WaitFor([&] {
    return Status(second).find(" 3 switch computations") != std::string::npos;
  }, kWait)) << Status(second);
  std::string status = Status(second);
  EXPECT_NE(status.find("bindings: 0 inserted, 0 updated, 0 deleted"), std::string::npos) << status;
  EXPECT_NE(status.find("pipeline: 0 inserted, 0 deleted"), std::string::npos) << status;
}

INSTANTIATE_TEST_SUITE_P(Servers, NbdTest,
                         ::testing::Values(SPATE_OVSDB_SERVER, "/usr/sbin/ovsdb-server"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param) == "/usr/sbin/ovsdb-server"
                                      ? std::string("Debian")
                                      : std::string("Spate");
                         });

// No server: a clear, logged error, and the daemon keeps retrying; a
// malformed remote is refused at once.
TEST(NbdNoServer, UnreachableDatabase) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> env{{"OVS_RUNDIR", dir.path()},
                                                       {"OVS_LOGDIR", dir.path()}};
  ProgramResult r = RunProgram({SPATE_OVN_NBD, "--detach", "--no-chdir", "--pidfile",
                                "-vconsole:off", "--log-file"},
                               env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int pid = std::atoi(ReadFile(dir.File("ovn-nbd.pid")).c_str());
  ASSERT_GT(pid, 0);
  std::string want = "unix:" + dir.File("db.sock") + ": database connection failed (";
  EXPECT_TRUE(WaitFor([&] {
    return ReadFile(dir.File("ovn-nbd.log")).find(want) != std::string::npos;
  }, seconds(10))) << ReadFile(dir.File("ovn-nbd.log"));
  EXPECT_TRUE(ProcessAlive(pid));
  ::kill(pid, SIGTERM);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, seconds(10)));

  r = RunProgram({SPATE_OVN_NBD, "--ovn-db=bogus:x"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("ovn-nbd: --ovn-db=bogus:x: ", 0), 0u) << r.err;
  r = RunProgram({SPATE_OVN_NBD, "--ovnsb-db=unix:"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--ovn-db=unix:"), std::string::npos) << r.err;
  r = RunProgram({SPATE_OVN_NBD, "extra"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "ovn-nbd: too many arguments\n");
}

}  // namespace
}  // namespace spate::northd
