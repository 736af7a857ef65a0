// Tests of ovs-vsctl (the built binary) against a real ovsdb-server, ours
// and Debian's /usr/sbin/ovsdb-server 3.1 (the suite is parametrized on the
// server), on a conf.db made by Debian's ovsdb-tool from our
// ovsdb/schemas/vswitch.ovsschema.  Where both tools can run, the output
// of Debian's /usr/bin/ovs-vsctl 3.1 is the oracle: show, get, list, find,
// the bridge/port listings and error messages are compared byte for byte.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/testing.h"

namespace spate::vsctl {
namespace {

using common::testing::ProcessAlive;
using common::testing::ProgramResult;
using common::testing::ReadFile;
using common::testing::RunProgram;
using common::testing::TempDir;
using common::testing::WaitFor;
using std::chrono::seconds;

constexpr const char* kDebianVsctl = "/usr/bin/ovs-vsctl";

std::string SchemaPath() {
  return std::string(SPATE_SOURCE_ROOT) + "/ovsdb/schemas/vswitch.ovsschema";
}

size_t CountLines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

class VsctlTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ProgramResult r =
        RunProgram({"/usr/bin/ovsdb-tool", "create", dir_.File("conf.db"), SchemaPath()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunProgram({GetParam(), dir_.File("conf.db"), "--remote=punix:" + dir_.File("db.sock"),
                    "--pidfile=" + dir_.File("pid"), "--unixctl=" + dir_.File("ctl"),
                    "--log-file=" + dir_.File("log"), "--detach", "--no-chdir"},
                   {{"OVS_RUNDIR", dir_.path()}, {"OVS_LOGDIR", dir_.path()}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    pid_ = std::atoi(ReadFile(dir_.File("pid")).c_str());
    ASSERT_GT(pid_, 0);
  }
  void TearDown() override {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid_); }, seconds(10)));
  }

  // Runs `tool` (ours by default) with `args`; the database is found
  // through OVS_RUNDIR, as in the sandbox.
  ProgramResult Run(std::vector<std::string> args, const char* tool = SPATE_OVS_VSCTL) {
    if (std::string(tool) == kDebianVsctl) args.insert(args.begin(), "-vovsdb_idl:off");
    args.insert(args.begin(), tool);
    return RunProgram(args, {{"OVS_RUNDIR", dir_.path()}}, seconds(30));
  }
  // Runs our tool with --no-wait; the command must succeed.  Returns stdout.
  std::string Ok(std::vector<std::string> args) {
    args.insert(args.begin(), "--no-wait");
    ProgramResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << args[1] << ": " << r.err;
    EXPECT_EQ(r.err, "") << args[1];
    return r.out;
  }
  // Runs our tool; it must fail with exactly `message` on one stderr line.
  void Fails(std::vector<std::string> args, const std::string& message) {
    args.insert(args.begin(), "--no-wait");
    ProgramResult r = Run(args);
    EXPECT_EQ(r.exit_code, 1) << message;
    EXPECT_EQ(r.out, "") << message;
    EXPECT_EQ(r.err, "ovs-vsctl: " + message + "\n");
  }
  // Runs `args` with both tools (read-only commands); both must give the
  // same exit status, stdout and stderr.
  void SameAsDebian(std::vector<std::string> args) {
    ProgramResult ours = Run(args);
    ProgramResult theirs = Run(args, kDebianVsctl);
    std::string what;
    for (const std::string& a : args) what += a + " ";
    EXPECT_EQ(ours.exit_code, theirs.exit_code) << what << ours.err << theirs.err;
    EXPECT_EQ(ours.out, theirs.out) << what;
    EXPECT_EQ(ours.err, theirs.err) << what;
  }

  TempDir dir_;  // Database, socket, logs.
  int pid_ = 0;  // The server.
};

// A small configuration: two bridges, ports with tags/trunks, interface
// options, external_ids with quoting, ovs_version.
void Populate(VsctlTest& t, const std::function<std::string(std::vector<std::string>)>& ok) {
  (void)t;
  ok({"init"});
  ok({"add-br", "br-int"});
  ok({"add-br", "br0", "--", "set", "bridge", "br0", "fail_mode=secure", "datapath_type=netdev",
      "external_ids:owner=\"x y\""});
  ok({"add-port", "br-int", "vif1", "tag=5", "--", "set", "interface", "vif1",
      "external_ids:iface-id=lp1"});
  ok({"add-port", "br-int", "tun0", "trunks=1,2,3", "--", "set", "interface", "tun0",
      "type=geneve", "options:remote_ip=10.0.0.2", "options:key=flow"});
  ok({"add-port", "br0", "eth0"});
  ok({"set", "open", ".", "ovs_version=3.1.0", "external_ids:system-id=chassis-1",
      "external_ids:ovn-encap-type=geneve"});
}

TEST_P(VsctlTest, BridgeAndPortCommands) {
  Populate(*this, [&](std::vector<std::string> a) { return Ok(std::move(a)); });
  EXPECT_EQ(Ok({"list-br"}), "br-int\nbr0\n");
  EXPECT_EQ(Ok({"list-ports", "br-int"}), "tun0\nvif1\n");
  EXPECT_EQ(Ok({"list-ifaces", "br-int"}), "tun0\nvif1\n");
  EXPECT_EQ(Ok({"port-to-br", "eth0"}), "br0\n");
  EXPECT_EQ(Ok({"iface-to-br", "vif1"}), "br-int\n");
  EXPECT_EQ(Ok({"br-exists", "br0"}), "");
  ProgramResult r = Run({"br-exists", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "");
  Fails({"add-br", "br0"},
        "cannot create a bridge named br0 because a bridge named br0 already exists");
  Fails({"add-br", "vif1"},
        "cannot create a bridge named vif1 because a port named vif1 already exists on bridge "
        "br-int");
  Fails({"add-port", "br0", "vif1"},
        "cannot create a port named vif1 because a port named vif1 already exists on bridge "
        "br-int");
  Fails({"add-port", "nope", "p"}, "no bridge named nope");
  Fails({"del-br", "nope"}, "no bridge named nope");
  Fails({"del-port", "nope"}, "no port named nope");
  Fails({"del-port", "br0", "vif1"}, "bridge br0 does not have a port vif1");
  Fails({"port-to-br", "nope"}, "no port named nope");
  Fails({"iface-to-br", "nope"}, "no interface named nope");
  EXPECT_EQ(Ok({"--may-exist", "add-br", "br0"}), "");
  EXPECT_EQ(Ok({"--may-exist", "add-port", "br-int", "vif1"}), "");
  EXPECT_EQ(Ok({"--if-exists", "del-br", "nope"}), "");
  EXPECT_EQ(Ok({"--if-exists", "del-port", "nope"}), "");
  EXPECT_EQ(Ok({"del-port", "br-int", "vif1"}), "");
  EXPECT_EQ(Ok({"list-ports", "br-int"}), "tun0\n");
  EXPECT_EQ(Ok({"find", "interface", "name=vif1"}), "");  // Gone with its port.
  EXPECT_EQ(Ok({"del-br", "br-int"}), "");
  EXPECT_EQ(Ok({"list-br"}), "br0\n");
  EXPECT_EQ(Ok({"--bare", "--columns=name", "list", "port", "br0", "eth0"}), "br0\n\neth0\n");
}

TEST_P(VsctlTest, ReadsMatchDebianByteForByte) {
  Populate(*this, [&](std::vector<std::string> a) { return Ok(std::move(a)); });
  SameAsDebian({"show"});
  SameAsDebian({"list-br"});
  SameAsDebian({"list-ports", "br-int"});
  SameAsDebian({"list-ifaces", "br-int"});
  SameAsDebian({"get", "bridge", "br0", "name", "fail_mode", "external_ids", "ports"});
  SameAsDebian({"get", "interface", "tun0", "options:remote_ip", "options"});
  SameAsDebian({"get", "open", ".", "external_ids:system-id", "ovs_version", "bridges"});
  SameAsDebian({"get", "port", "vif1", "tag", "trunks", "--", "get", "port", "tun0", "trunks"});
  const std::string cols = "--columns=name,tag,trunks,external_ids,interfaces";
  SameAsDebian({cols, "list", "port", "vif1"});
  SameAsDebian({"--format=table", cols, "list", "port", "tun0"});
  SameAsDebian({"--format=csv", cols, "list", "port", "tun0"});
  SameAsDebian({"--format=json", cols, "list", "port", "tun0"});
  SameAsDebian({"--data=json", cols, "list", "port", "tun0"});
  SameAsDebian({"--bare", cols, "list", "port", "tun0"});
  SameAsDebian({"--no-headings", "--format=table", cols, "list", "port", "vif1"});
  SameAsDebian({"--columns=name,type,options", "find", "interface", "type=geneve"});
  SameAsDebian({"--columns=name", "find", "interface", "external_ids:iface-id=lp1"});
  SameAsDebian({"--columns=name", "find", "port", "tag{>=}5"});
  SameAsDebian({"--columns=name", "find", "port", "trunks{>=}[1,2]"});
  SameAsDebian({"--columns=_uuid,name", "find", "bridge", "fail_mode=secure"});
  // Errors, word for word.
  SameAsDebian({"get", "bridge", "nope", "name"});
  SameAsDebian({"get", "nosuchtable", "br0", "name"});
  SameAsDebian({"get", "bridge", "br0", "nosuchcolumn"});
  SameAsDebian({"get", "interface", "tun0", "options:nokey"});
  SameAsDebian({"nosuchcommand"});
  SameAsDebian({"list-ports"});
  SameAsDebian({"br-exists", "a", "b"});
  SameAsDebian({"--if-exists", "list-br"});
  SameAsDebian({"list-ports", "nope"});
  SameAsDebian({"br-exists", "nope"});
}

// Fake (VLAN) bridges: a Port with fake_bridge=true and a tag on its
// parent; ports tagged with that VLAN belong to the fake bridge.
TEST_P(VsctlTest, FakeBridgesMatchDebian) {
  Ok({"init"});
  Ok({"add-br", "br0"});
  Ok({"add-br", "fk", "br0", "10"});
  Ok({"add-port", "fk", "fp1"});
  Ok({"add-port", "br0", "tp", "tag=10"});
  Ok({"add-port", "br0", "eth0"});
  EXPECT_EQ(Ok({"get", "port", "fp1", "tag"}), "10\n");
  EXPECT_EQ(Ok({"list-ports", "fk"}), "fp1\ntp\n");
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"list-br"}, {"--real", "list-br"}, {"--fake", "list-br"}, {"list-ports", "fk"},
           {"list-ports", "br0"}, {"list-ifaces", "fk"}, {"port-to-br", "tp"},
           {"iface-to-br", "fp1"}, {"br-to-vlan", "fk"}, {"br-to-parent", "fk"},
           {"br-to-vlan", "br0"}, {"br-to-parent", "br0"}, {"br-exists", "fk"}, {"show"},
           {"add-br", "fk2", "fk", "5"}, {"add-br", "fk3", "br0", "5000"},
           {"add-br", "fk3", "br0"}, {"--may-exist", "add-br", "fk", "br0", "11"},
           {"--may-exist", "add-br", "br0", "br0", "3"}, {"--may-exist", "add-br", "fk"},
           {"del-port", "br0", "fp1"}, {"del-port", "fk", "eth0"}, {"del-port", "fk", "fk"},
           {"add-port", "br0", "fp1"}, {"list-br", "--real"}}) {
    args.insert(args.begin(), "--no-wait");
    SameAsDebian(args);
  }
  EXPECT_EQ(Ok({"--may-exist", "add-br", "fk", "br0", "10"}), "");
  EXPECT_EQ(Ok({"del-port", "fk", "tp"}), "");
  EXPECT_EQ(Ok({"del-br", "fk"}), "");
  EXPECT_EQ(Ok({"list-ports", "br0"}), "eth0\n");
  EXPECT_EQ(Ok({"list-br"}), "br0\n");
}

// Debian's ovs-vsctl 3.1 writes, ours reads the same.  Our tool creates
// the Open_vSwitch row first: on an empty database Debian's tool sends a
// "wait" without "columns", which our server refuses (README.md, "Open
// vSwitch's ovs-vsctl against our server").
TEST_P(VsctlTest, DebianWritesOursReads) {
  Ok({"init"});
  Populate(*this, [&](std::vector<std::string> a) {
    a.insert(a.begin(), "--no-wait");
    ProgramResult r = Run(a, kDebianVsctl);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  });
  SameAsDebian({"show"});
  SameAsDebian({"list-ports", "br-int"});
  SameAsDebian({"--columns=name,options,type", "list", "interface", "tun0"});
}

TEST_P(VsctlTest, DatabaseCommands) {
  Populate(*this, [&](std::vector<std::string> a) { return Ok(std::move(a)); });
  EXPECT_EQ(Ok({"set", "port", "vif1", "tag=7", "other_config:a=1", "other_config:b=2"}), "");
  EXPECT_EQ(Ok({"get", "port", "vif1", "tag", "other_config"}), "7\n{a=\"1\", b=\"2\"}\n");
  EXPECT_EQ(Ok({"add", "bridge", "br0", "flood_vlans", "1", "3-5"}), "");
  EXPECT_EQ(Ok({"remove", "bridge", "br0", "flood_vlans", "4"}), "");
  EXPECT_EQ(Ok({"get", "bridge", "br0", "flood_vlans"}), "[1, 3, 5]\n");
  EXPECT_EQ(Ok({"remove", "port", "vif1", "other_config", "a", "b=wrong"}), "");
  EXPECT_EQ(Ok({"get", "port", "vif1", "other_config"}), "{b=\"2\"}\n");
  EXPECT_EQ(Ok({"add", "port", "vif1", "other_config", "b=9", "c=3"}), "");
  EXPECT_EQ(Ok({"get", "port", "vif1", "other_config"}), "{b=\"2\", c=\"3\"}\n");
  EXPECT_EQ(Ok({"clear", "port", "vif1", "tag", "other_config"}), "");
  EXPECT_EQ(Ok({"get", "port", "vif1", "tag", "other_config"}), "[]\n{}\n");
  EXPECT_EQ(Ok({"--if-exists", "get", "interface", "tun0", "options:nokey"}), "");
  EXPECT_EQ(Ok({"--if-exists", "set", "bridge", "nope", "stp_enable=true"}), "");
  // create with --id, referenced from a later command; the printed UUIDs
  // are the server's.
  std::string out = Ok({"--", "--id=@i", "create", "interface", "name=x1", "--", "--id=@p",
                        "create", "port", "name=x1", "interfaces=@i", "--", "add", "bridge",
                        "br0", "ports", "@p"});
  ASSERT_EQ(CountLines(out), 2u) << out;
  std::string port_uuid = out.substr(37, 36);
  EXPECT_EQ(Ok({"get", "port", "x1", "_uuid"}), port_uuid + "\n");
  EXPECT_EQ(Ok({"list-ports", "br0"}), "eth0\nx1\n");
  // A forward reference: the symbol is used before the row is created.
  EXPECT_EQ(CountLines(Ok({"add", "bridge", "br0", "ports", "@q", "--", "--id=@q", "create",
                           "port", "name=x2", "interfaces=@j", "--", "--id=@j", "create",
                           "interface", "name=x2"})),
            2u);
  EXPECT_EQ(Ok({"port-to-br", "x2"}), "br0\n");
  // Records by UUID and by a UUID prefix.
  EXPECT_EQ(Ok({"get", "port", port_uuid, "name"}), "x1\n");
  EXPECT_EQ(Ok({"get", "port", port_uuid.substr(0, 8), "name"}), "x1\n");
  // get --id binds a symbol; destroy after removing the last reference.
  EXPECT_EQ(Ok({"--", "--id=@x", "get", "port", "x2", "--", "remove", "bridge", "br0", "ports",
                "@x", "--", "destroy", "port", "x2"}),
            "");
  EXPECT_EQ(Ok({"list-ports", "br0"}), "eth0\nx1\n");
  EXPECT_EQ(Ok({"--if-exists", "destroy", "port", "nope"}), "");
  Fails({"destroy", "port", "nope"}, "no row \"nope\" in table Port");
  // A row of a non-root table that nothing references: Open vSwitch's
  // warning, and the server drops it.
  ProgramResult r = Run({"--no-wait", "create", "bridge", "name=brc"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 37u) << r.out;
  EXPECT_EQ(r.err, "ovs-vsctl: applying \"create\" command to table Bridge without --id option "
                   "will have no effect\n");
  EXPECT_EQ(Ok({"--columns=name", "find", "bridge", "name=brc"}), "");
  // Prefix matches for tables and columns, as Open vSwitch.
  EXPECT_EQ(Ok({"get", "Open_vS", ".", "ext:system-id"}), "chassis-1\n");
}

TEST_P(VsctlTest, FailingCommandInChainCommitsNothing) {
  Populate(*this, [&](std::vector<std::string> a) { return Ok(std::move(a)); });
  std::string before = Ok({"show"});
  Fails({"add-br", "br1", "--", "add-port", "br1", "p9", "--", "set", "port", "p9", "tag=99999"},
        "constraint violation: 99999 is not in the valid range 0 to 4095 (inclusive)");
  Fails({"add-br", "br1", "--", "add-port", "nope", "p9"}, "no bridge named nope");
  Fails({"del-br", "br0", "--", "get", "bridge", "br0", "name"}, "no row \"br0\" in table Bridge");
  EXPECT_EQ(Ok({"show"}), before);
  // A chain sees its own changes.
  EXPECT_EQ(Ok({"add-br", "br1", "--", "add-port", "br1", "p9", "--", "list-ports", "br1"}),
            "p9\n");
}

TEST_P(VsctlTest, BadInputIsOneLineError) {
  Populate(*this, [&](std::vector<std::string> a) { return Ok(std::move(a)); });
  Fails({"frobnicate"}, "unknown command 'frobnicate'; use --help for help");
  Fails({}, "missing command name (use --help for help)");
  Fails({"add-br"}, "'add-br' command requires at least 1 arguments");
  Fails({"list-br", "x"}, "'list-br' command takes at most 0 arguments");
  Fails({"--may-exist", "list-br"}, "'list-br' command has no '--may-exist' option");
  Fails({"--frob", "list-br"}, "unrecognized option '--frob'");
  Fails({"get", "nosuch", "x", "y"}, "unknown table \"nosuch\"");
  Fails({"get", "bridge", "br0", "nosuch"},
        "Bridge does not contain a column whose name matches \"nosuch\"");
  Fails({"set", "bridge", "br0", "stp_enable=maybe"},
        "\"maybe\" is not a valid boolean (use \"true\" or \"false\")");
  Fails({"set", "port", "vif1", "tag=abc"}, "\"abc\" is not a valid integer or range");
  Fails({"set", "bridge", "br0", "fail_mode=bogus"},
        "constraint violation: bogus is not one of the allowed values ([secure, standalone])");
  Fails({"clear", "port", "vif1", "interfaces"},
        "\"clear\" operation cannot be applied to column interfaces of table Port, which is not "
        "allowed to be empty");
  Fails({"set", "bridge", "br0", "ports=@nope"},
        "row id \"@nope\" is referenced but never created (e.g. with \"-- --id=@nope create "
        "...\")");
  Fails({"set", "bridge", "br0", "stp_enable"},
        "stp_enable: argument does not end in \"=\" followed by a value.");
  Fails({"set", "bridge", "br0", "name=other"}, "cannot modify read-only column name in table Bridge");
  Fails({"-t", "x", "list-br"}, "value x on -t or --timeout is invalid");
  Fails({"--format=xml", "list-br"}, "unknown output format \"xml\"");
  SameAsDebian({"--db=unix:" + dir_.File("none.sock"), "list-br"});
  SameAsDebian({"--db=tcp:127.0.0.1:1", "list-br"});
}

// Unless --no-wait, a changing chain bumps next_cfg and waits for cur_cfg;
// read-only commands and init do not wait.
TEST_P(VsctlTest, WaitsForCurCfg) {
  ProgramResult r = Run({"-t", "10", "init"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Run({"-t", "10", "list-br"}).exit_code, 0);
  r = Run({"-t", "1", "add-br", "br0"});
  EXPECT_EQ(r.exit_code, 142);
  EXPECT_EQ(CountLines(r.err), 1u) << r.err;
  EXPECT_EQ(Ok({"get", "open", ".", "next_cfg", "cur_cfg"}), "1\n0\n");
  EXPECT_EQ(Ok({"list-br"}), "br0\n");  // Committed before the wait.
  // A stand-in for the daemon: copies next_cfg to cur_cfg once it moves.
  std::atomic<bool> stop{false};
  std::thread daemon([&] {
    while (!stop.load()) {
      ProgramResult next = Run({"--no-wait", "get", "open", ".", "next_cfg"});
      if (next.exit_code == 0 && next.out != "1\n") {
        Run({"--no-wait", "set", "open", ".", "cur_cfg=" + next.out.substr(0, next.out.size() - 1)});
        return;
      }
    }
  });
  r = Run({"-t", "20", "add-port", "br0", "p1"});
  stop = true;
  daemon.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Ok({"get", "open", ".", "next_cfg", "cur_cfg"}), "2\n2\n");
  // Nothing changed: no increment, no wait.
  r = Run({"-t", "1", "--may-exist", "add-br", "br0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Ok({"get", "open", ".", "next_cfg"}), "2\n");
}

TEST(VsctlCli, HelpAndVersion) {
  ProgramResult r = RunProgram({SPATE_OVS_VSCTL, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("add-port BRIDGE PORT"), std::string::npos);
  r = RunProgram({SPATE_OVS_VSCTL, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("ovs-vsctl (Spate) ", 0), 0u);
}

INSTANTIATE_TEST_SUITE_P(Servers, VsctlTest,
                         ::testing::Values(SPATE_OVSDB_SERVER, "/usr/sbin/ovsdb-server"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param).find("/usr/sbin/") == 0 ? "Debian"
                                                                                  : "Spate";
                         });

}  // namespace
}  // namespace spate::vsctl
