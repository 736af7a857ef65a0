// Tests of ovn-nbctl (the built binary) against a real ovsdb-server: ours
// and Debian's /usr/sbin/ovsdb-server 3.1 (the suite is parametrized on the
// server binary).  Each test gets a temp dir with an ovnnb.db made by
// ovsdb-tool from ovsdb/schemas/ovn-nb.ovsschema and one server on
// unix:<dir>/db.sock, found by ovn-nbctl through OVS_RUNDIR as in the seed.
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/testing.h"
#include "northd/nbctl.h"
#include "northd/nbctl_commands.h"
#include "ovsdb/json_codec.h"

namespace spate::northd {
namespace {

using common::testing::ProcessAlive;
using common::testing::ProgramResult;
using common::testing::ReadFile;
using common::testing::RunProgram;
using common::testing::TempDir;
using common::testing::WaitFor;
using std::chrono::seconds;

std::string SchemaPath() {
  return std::string(SPATE_SOURCE_ROOT) + "/ovsdb/schemas/ovn-nb.ovsschema";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The UUID of a `<uuid> (<name>)` line.
std::string UuidOf(const std::string& line) { return line.substr(0, 36); }

class NbctlTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ProgramResult r = RunProgram({"/usr/bin/ovsdb-tool", "create", dir_.File("ovnnb.db"),
                                  SchemaPath()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunProgram({GetParam(), dir_.File("ovnnb.db"), "--remote=punix:" + dir_.File("db.sock"),
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

  // Runs ovn-nbctl with `args`, the database found through OVS_RUNDIR.
  ProgramResult Nbctl(std::vector<std::string> args,
                      std::vector<std::pair<std::string, std::string>> env = {}) {
    args.insert(args.begin(), SPATE_OVN_NBCTL);
    env.emplace_back("OVS_RUNDIR", dir_.path());
    return RunProgram(args, env, seconds(30));
  }
  // Runs a command that must succeed; returns its stdout.
  std::string Ok(std::vector<std::string> args) {
    ProgramResult r = Nbctl(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    EXPECT_EQ(r.err, "") << args[0];
    return r.out;
  }
  // Runs a command that must fail with one "ovn-nbctl: ..." stderr line
  // containing `message`.
  void Fails(std::vector<std::string> args, const std::string& message) {
    ProgramResult r = Nbctl(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(r.out, "") << args[0];
    ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("ovn-nbctl: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
  // Raw transaction through Debian's ovsdb-client.
  void Transact(const std::string& ops) {
    ProgramResult r = RunProgram(
        {"/usr/bin/ovsdb-client", "transact", "unix:" + dir_.File("db.sock"), ops});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.out.find("error"), std::string::npos) << r.out;
  }

  TempDir dir_;  // Database, socket, logs.
  int pid_ = 0;  // The server.
};

const std::regex kListing("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} \\((.*)\\)");

// Checks `<uuid> (<name>)` lines and returns the names in order.
std::vector<std::string> Names(const std::string& out) {
  std::vector<std::string> names;
  for (const std::string& line : Lines(out)) {
    std::smatch m;
    EXPECT_TRUE(std::regex_match(line, m, kListing)) << line;
    names.push_back(m.size() > 1 ? m[1].str() : "");
  }
  return names;
}

// The seed's northbound commands, in order.
TEST_P(NbctlTest, SeedTranscript) {
  EXPECT_EQ(Ok({"lswitch-add", "sw0"}), "");
  EXPECT_EQ(Ok({"lswitch-add", "sw1"}), "");
  std::string switches = Ok({"lswitch-list"});
  EXPECT_EQ(Names(switches), (std::vector<std::string>{"sw0", "sw1"}));
  EXPECT_EQ(Ok({"lport-add", "sw0-port0", "sw0"}), "");
  EXPECT_EQ(Ok({"lport-add", "sw0-port1", "sw0"}), "");
  std::string ports = Ok({"lport-list", "sw0"});
  EXPECT_EQ(Names(ports), (std::vector<std::string>{"sw0-port0", "sw0-port1"}));
  EXPECT_EQ(Ok({"lport-list", "sw1"}), "");
  // The same switch by UUID.
  EXPECT_EQ(Ok({"lport-list", UuidOf(Lines(switches)[0])}), ports);
  EXPECT_EQ(Ok({"lport-get-up", "sw0-port0"}), "down\n");
  // What ovn-nbd does when a chassis binds the port, and back.
  std::string port0 = UuidOf(Lines(ports)[0]);
  Transact(R"(["OVN_Northbound",{"op":"update","table":"Logical_Port","where":[["_uuid","==",["uuid",")" +
           port0 + R"("]]],"row":{"up":true}}])");
  EXPECT_EQ(Ok({"lport-get-up", "sw0-port0"}), "up\n");
  EXPECT_EQ(Ok({"lport-get-up", port0}), "up\n");
  EXPECT_EQ(Ok({"lport-get-up", "sw0-port1"}), "down\n");
  Transact(R"(["OVN_Northbound",{"op":"update","table":"Logical_Port","where":[],"row":{"up":false}}])");
  EXPECT_EQ(Ok({"lport-get-up", "sw0-port0"}), "down\n");
  // Deletion, then the switch is free to go.
  EXPECT_EQ(Ok({"lport-del", "sw0-port0"}), "");
  EXPECT_EQ(Ok({"lport-del", UuidOf(Lines(ports)[1])}), "");
  EXPECT_EQ(Ok({"lswitch-del", "sw0"}), "");
  EXPECT_EQ(Names(Ok({"lswitch-list"})), (std::vector<std::string>{"sw1"}));
}

// Neutron's use: neutron-<uuid> switches with external_ids, ports named by
// Neutron port UUIDs (names that look like UUIDs resolve by name).
TEST_P(NbctlTest, NeutronStyle) {
  const std::string net = "neutron-2637f01e-f41e-4d1b-865f-195253027031";
  const std::string neutron_port = "ff07588c-4b11-4ec8-b7c5-1be64fc0ebac";
  Ok({"lswitch-add", net});
  std::string sw = UuidOf(Ok({"lswitch-list"}));
  EXPECT_EQ(Ok({"lswitch-set-external-id", sw, "neutron:network_name", "private"}), "");
  EXPECT_EQ(Ok({"lswitch-get-external-id", sw}), "neutron:network_name=private\n");
  EXPECT_EQ(Ok({"lswitch-get-external-id", net, "neutron:network_name"}), "private\n");
  EXPECT_EQ(Ok({"lswitch-get-external-id", sw, "missing"}), "");
  Ok({"lswitch-set-external-id", net, "a", "1"});
  EXPECT_EQ(Ok({"lswitch-get-external-id", sw}), "a=1\nneutron:network_name=private\n");
  Ok({"lswitch-set-external-id", net, "a"});
  EXPECT_EQ(Ok({"lswitch-get-external-id", sw}), "neutron:network_name=private\n");

  Ok({"lport-add", neutron_port, sw});
  std::string ports = Ok({"lport-list", sw});
  EXPECT_EQ(Names(ports), (std::vector<std::string>{neutron_port}));
  std::string port = UuidOf(ports);
  EXPECT_EQ(Ok({"lport-get-up", port}), "down\n");
  EXPECT_EQ(Ok({"lport-get-up", neutron_port}), "down\n");
  Ok({"lport-set-external-id", neutron_port, "neutron:port_name", ""});
  EXPECT_EQ(Ok({"lport-get-external-id", port}), "neutron:port_name=\n");
  EXPECT_EQ(Ok({"lport-get-external-id", port, "neutron:port_name"}), "\n");
}

TEST_P(NbctlTest, PortAttributesAndShow) {
  Ok({"lswitch-add", "sw0"});
  Ok({"lswitch-add", "sw1"});
  Ok({"lport-add", "vm1", "sw0"});
  Ok({"lport-add", "c1", "sw0", "vm1", "42"});
  EXPECT_EQ(Ok({"lport-get-parent", "c1"}), "vm1\n");
  EXPECT_EQ(Ok({"lport-get-tag", "c1"}), "42\n");
  EXPECT_EQ(Ok({"lport-get-parent", "vm1"}), "");
  EXPECT_EQ(Ok({"lport-get-tag", "vm1"}), "");
  Ok({"lport-set-macs", "vm1", "00:00:00:00:00:02", "unknown", "00:00:00:00:00:01"});
  EXPECT_EQ(Ok({"lport-get-macs", "vm1"}), "00:00:00:00:00:01\n00:00:00:00:00:02\nunknown\n");
  Ok({"lport-set-port-security", "vm1", "00:00:00:00:00:01"});
  EXPECT_EQ(Ok({"lport-get-port-security", "vm1"}), "00:00:00:00:00:01\n");
  Ok({"lport-set-port-security", "vm1"});
  EXPECT_EQ(Ok({"lport-get-port-security", "vm1"}), "");
  EXPECT_EQ(Ok({"lport-get-enabled", "vm1"}), "enabled\n");
  Ok({"lport-set-enabled", "vm1", "DISABLED"});
  EXPECT_EQ(Ok({"lport-get-enabled", "vm1"}), "disabled\n");
  Ok({"lport-set-enabled", "vm1", "enabled"});
  EXPECT_EQ(Ok({"lport-get-enabled", "vm1"}), "enabled\n");

  std::vector<std::string> sws = Lines(Ok({"lswitch-list"}));
  ASSERT_EQ(sws.size(), 2u);
  std::string expected = "    lswitch " + sws[0] + "\n" +
                         "        lport c1\n"
                         "            parent: vm1, tag:42\n"
                         "        lport vm1\n"
                         "            macs: 00:00:00:00:00:01 00:00:00:00:00:02 unknown\n"
                         "    lswitch " + sws[1] + "\n";
  EXPECT_EQ(Ok({"show"}), expected);
  EXPECT_EQ(Ok({"show", "sw1"}), "    lswitch " + sws[1] + "\n");
  Ok({"lport-set-macs", "vm1"});
  EXPECT_EQ(Ok({"lport-get-macs", "vm1"}), "");
}

TEST_P(NbctlTest, Errors) {
  Ok({"lswitch-add", "sw0"});
  Ok({"lport-add", "p0", "sw0"});
  Fails({"lport-list", "nosuch"}, "lswitch not found for name: 'nosuch'");
  Fails({"lport-list", "11111111-2222-3333-4444-555555555555"},
        "lswitch not found for UUID: '11111111-2222-3333-4444-555555555555'");
  Fails({"lport-get-up", "nosuch"}, "lport not found for name: 'nosuch'");
  Fails({"lport-del", "nosuch"}, "lport not found");
  Fails({"lport-add", "p1", "nosuch"}, "lswitch not found");
  Fails({"lport-add", "p0", "sw0"}, "lport with name 'p0' already exists");
  Fails({"lport-set-macs", "p0", "00:11:22:33:44"}, "invalid MAC address '00:11:22:33:44'");
  Fails({"lport-set-macs", "p0", "00:11:22:33:44:5g"}, "invalid MAC address");
  Fails({"lport-set-port-security", "p0", "unknown"}, "invalid MAC address 'unknown'");
  Fails({"lport-add", "c1", "sw0", "p0", "4096"}, "invalid tag '4096'");
  Fails({"lport-add", "c1", "sw0", "p0", "-1"}, "invalid tag '-1'");
  Fails({"lport-add", "c1", "sw0", "p0", "ten"}, "invalid tag 'ten'");
  Fails({"lport-add", "c1", "sw0", "p0"}, "lport-add takes");
  Fails({"lport-add", "c1"}, "'lport-add' command takes 2 to 4 arguments, but 1 given");
  Fails({"lswitch-list", "extra"}, "'lswitch-list' command takes 0 arguments");
  Fails({"lport-get-up"}, "'lport-get-up' command takes 1 arguments, but 0 given");
  Fails({"lport-set-macs"}, "'lport-set-macs' command takes at least 1 arguments, but 0 given");
  Fails({"lport-set-enabled", "p0", "maybe"}, "invalid state 'maybe'");
  Fails({"no-such-command"}, "unknown command 'no-such-command'");
  Fails({}, "missing command name");
  Fails({"--bogus", "lswitch-list"}, "unrecognized option '--bogus'");
  Fails({"-t", "x", "lswitch-list"}, "invalid for --timeout");
  Fails({"lswitch-del", "sw0"}, "logical switch 'sw0' still has ports; delete them first");
  Ok({"lswitch-add", "acls"});
  Ok({"acl-add", "acls", "1", "1", "drop"});
  Fails({"lswitch-del", "acls"}, "logical switch 'acls' still has ACLs; delete them first");
  Ok({"acl-del", "acls"});
  Ok({"lswitch-del", "acls"});
  // Nothing above changed the database.
  EXPECT_EQ(Names(Ok({"lport-list", "sw0"})), (std::vector<std::string>{"p0"}));
  EXPECT_EQ(Ok({"lport-get-macs", "p0"}), "");
  // Two switches with one name: ambiguous, the message lists both UUIDs.
  Ok({"lswitch-add", "sw0"});
  std::vector<std::string> sws = Lines(Ok({"lswitch-list"}));
  ASSERT_EQ(sws.size(), 2u);
  Fails({"lport-list", "sw0"}, "more than one logical switch named 'sw0'");
  ProgramResult r = Nbctl({"lswitch-get-external-id", "sw0"});
  EXPECT_NE(r.err.find(UuidOf(sws[0])), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(UuidOf(sws[1])), std::string::npos) << r.err;
  // By UUID, each is reachable.
  EXPECT_EQ(Names(Ok({"lport-list", UuidOf(sws[0])})).size() +
                Names(Ok({"lport-list", UuidOf(sws[1])})).size(),
            1u);
}

// ACLs (June 2015, no direction): insertion, listing order and format,
// deletion of one rule and of all, and the rows as the server holds them.
TEST_P(NbctlTest, Acls) {
  Ok({"lswitch-add", "sw0"});
  Ok({"lswitch-add", "sw1"});
  EXPECT_EQ(Ok({"acl-list", "sw0"}), "");
  EXPECT_EQ(Ok({"acl-add", "sw0", "100", "ip4", "allow-related", "log"}), "");
  Ok({"acl-add", "sw0", "1000", "tcp.dst == 80", "drop"});
  Ok({"acl-add", "sw0", "100", "arp", "allow"});
  Ok({"acl-add", "sw0", "65535", "inport == \"p0\"", "reject"});
  Ok({"acl-add", "sw0", "1", "1", "allow"});
  Ok({"acl-add", "sw1", "100", "ip4", "drop"});
  const std::string sw0_acls =
      "65535 (inport == \"p0\") reject\n"
      " 1000 (tcp.dst == 80) drop\n"
      "  100 (arp) allow\n"
      "  100 (ip4) allow-related log\n"
      "    1 (1) allow\n";
  EXPECT_EQ(Ok({"acl-list", "sw0"}), sw0_acls);
  std::string sw1 = UuidOf(Lines(Ok({"lswitch-list"}))[1]);
  EXPECT_EQ(Ok({"acl-list", sw1}), "  100 (ip4) drop\n");
  // What the server stores: one row per ACL, log false unless asked.
  ProgramResult r = RunProgram(
      {"/usr/bin/ovsdb-client", "transact", "unix:" + dir_.File("db.sock"),
       R"(["OVN_Northbound",{"op":"select","table":"ACL","where":[],)"
       R"("columns":["priority","match","action","log"]}])"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Result<ovsdb::Json> reply = ovsdb::ParseJson(r.out);
  ASSERT_TRUE(reply.ok() && reply->is_array() && reply->size() == 1 &&
              (*reply)[0].contains("rows"))
      << r.out;
  std::vector<std::string> rows;
  for (const ovsdb::Json& row : (*reply)[0]["rows"]) {
    rows.push_back(std::to_string(row["priority"].get<int64_t>()) + "|" +
                   row["match"].get<std::string>() + "|" + row["action"].get<std::string>() +
                   "|" + (row["log"].get<bool>() ? "log" : "-"));
  }
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<std::string>{
                      "1000|tcp.dst == 80|drop|-", "100|arp|allow|-",
                      "100|ip4|allow-related|log", "100|ip4|drop|-", "1|1|allow|-",
                      "65535|inport == \"p0\"|reject|-"}))
      << r.out;
  // One exact rule; then the rest of the switch; the other switch untouched.
  Ok({"acl-del", "sw0", "100", "ip4"});
  EXPECT_EQ(Ok({"acl-list", "sw0"}),
            "65535 (inport == \"p0\") reject\n"
            " 1000 (tcp.dst == 80) drop\n"
            "  100 (arp) allow\n"
            "    1 (1) allow\n");
  Ok({"acl-del", "sw0"});
  EXPECT_EQ(Ok({"acl-list", "sw0"}), "");
  EXPECT_EQ(Ok({"acl-list", "sw1"}), "  100 (ip4) drop\n");
  Ok({"acl-del", "sw0"});  // Nothing left to delete is not an error.
  Ok({"lswitch-del", "sw0"});
}

TEST_P(NbctlTest, AclErrors) {
  Ok({"lswitch-add", "sw0"});
  Ok({"acl-add", "sw0", "100", "ip4", "drop"});
  Fails({"acl-add", "nosuch", "100", "ip6", "drop"}, "lswitch not found for name: 'nosuch'");
  Fails({"acl-list", "nosuch"}, "lswitch not found for name: 'nosuch'");
  Fails({"acl-del", "nosuch"}, "lswitch not found for name: 'nosuch'");
  Fails({"acl-del", "11111111-2222-3333-4444-555555555555", "1", "ip4"},
        "lswitch not found for UUID");
  for (const char* bad : {"0", "65536", "-1", "high", "", "1.5", "0x10", " 5"}) {
    Fails({"acl-add", "sw0", bad, "ip6", "drop"}, "invalid priority '" + std::string(bad) +
                                                      "' (must be an integer 1..65535)");
  }
  Fails({"acl-del", "sw0", "65536", "ip4"}, "invalid priority '65536'");
  for (const char* bad : {"accept", "DROP", "", "allow-related-ish"}) {
    Fails({"acl-add", "sw0", "5", "ip6", bad}, "invalid action '" + std::string(bad) + "'");
  }
  Fails({"acl-add", "sw0", "5", "ip6", "drop", "verbose"}, "invalid argument 'verbose'");
  Fails({"acl-add", "sw0", "5", "", "drop"}, "ACL match must not be empty");
  Fails({"acl-add", "sw0", "100", "ip4", "allow"},
        "an ACL with priority 100 and match 'ip4' already exists on lswitch 'sw0'");
  Fails({"acl-del", "sw0", "100", "ip6"}, "no ACL with priority 100 and match 'ip6'");
  Fails({"acl-del", "sw0", "100"}, "acl-del takes LSWITCH or LSWITCH PRIORITY MATCH");
  Fails({"acl-add", "sw0", "100", "ip4"},
        "'acl-add' command takes 4 to 5 arguments, but 3 given");
  Fails({"acl-list"}, "'acl-list' command takes 1 arguments, but 0 given");
  Fails({"acl-del", "sw0", "1", "ip4", "drop"}, "'acl-del' command takes 1 to 3 arguments");
  // Nothing above changed the database.
  EXPECT_EQ(Ok({"acl-list", "sw0"}), "  100 (ip4) drop\n");
}

// Every command that names a switch or a port reports an unknown one the
// same way, and the database is unchanged.
TEST_P(NbctlTest, UnknownSwitchOrPort) {
  Ok({"lswitch-add", "sw0"});
  Ok({"lport-add", "p0", "sw0"});
  const std::vector<std::vector<std::string>> switch_commands = {
      {"show", "X"}, {"lswitch-del", "X"}, {"lswitch-set-external-id", "X", "k", "v"},
      {"lswitch-get-external-id", "X"}, {"lport-add", "p9", "X"}, {"lport-list", "X"},
      {"acl-add", "X", "1", "ip", "drop"}, {"acl-del", "X"}, {"acl-list", "X"}};
  const std::vector<std::vector<std::string>> port_commands = {
      {"lport-del", "X"}, {"lport-get-parent", "X"}, {"lport-get-tag", "X"},
      {"lport-set-external-id", "X", "k"}, {"lport-get-external-id", "X"},
      {"lport-set-macs", "X"}, {"lport-get-macs", "X"}, {"lport-set-port-security", "X"},
      {"lport-get-port-security", "X"}, {"lport-get-up", "X"},
      {"lport-set-enabled", "X", "enabled"}, {"lport-get-enabled", "X"}};
  for (const char* id : {"nosuch", "0a1b2c3d-0000-4000-8000-000000000000"}) {
    const char* kind = std::string(id) == "nosuch" ? "name" : "UUID";
    for (std::vector<std::string> args : switch_commands) {
      std::replace(args.begin(), args.end(), std::string("X"), std::string(id));
      Fails(args, std::string("lswitch not found for ") + kind + ": '" + id + "'");
    }
    for (std::vector<std::string> args : port_commands) {
      std::replace(args.begin(), args.end(), std::string("X"), std::string(id));
      Fails(args, std::string("lport not found for ") + kind + ": '" + id + "'");
    }
  }
  // A switch is not a port and a port is not a switch.
  Fails({"lport-get-up", "sw0"}, "lport not found for name: 'sw0'");
  Fails({"lport-list", "p0"}, "lswitch not found for name: 'p0'");
  EXPECT_EQ(Names(Ok({"lswitch-list"})), (std::vector<std::string>{"sw0"}));
  EXPECT_EQ(Names(Ok({"lport-list", "sw0"})), (std::vector<std::string>{"p0"}));
}

// Bad values for ports: duplicate names (also across switches), MACs and tags.
TEST_P(NbctlTest, BadPortValues) {
  Ok({"lswitch-add", "sw0"});
  Ok({"lswitch-add", "sw1"});
  Ok({"lport-add", "p0", "sw0"});
  Fails({"lport-add", "p0", "sw1"}, "lport with name 'p0' already exists");
  Fails({"lport-add", "p0", "sw1", "vm", "5"}, "lport with name 'p0' already exists");
  for (const char* bad : {"", "00:11:22:33:44:55:66", "001122334455", "00:11:22:33:4:55",
                          "0g:11:22:33:44:55", "00:11:22:33:44:55 ", "UNKNOWN"}) {
    Fails({"lport-set-macs", "p0", "00:00:00:00:00:01", bad},
          "invalid MAC address '" + std::string(bad) + "'");
    Fails({"lport-set-port-security", "p0", bad}, "invalid MAC address '" + std::string(bad) + "'");
  }
  for (const char* bad : {"4096", "-1", "ten", "", "1.0", "0x1", "+5", "99999999999999999999"}) {
    Fails({"lport-add", "c1", "sw0", "p0", bad}, "invalid tag '" + std::string(bad) + "'");
  }
  Ok({"lport-add", "c0", "sw0", "p0", "0"});
  Ok({"lport-add", "c4095", "sw0", "p0", "4095"});
  EXPECT_EQ(Ok({"lport-get-tag", "c4095"}), "4095\n");
  EXPECT_EQ(Names(Ok({"lport-list", "sw0"})),
            (std::vector<std::string>{"c0", "c4095", "p0"}));
  EXPECT_EQ(Ok({"lport-list", "sw1"}), "");
  EXPECT_EQ(Ok({"lport-get-macs", "p0"}), "");
}

TEST_P(NbctlTest, DatabaseSelection) {
  Ok({"lswitch-add", "sw0"});
  std::string db = "unix:" + dir_.File("db.sock");
  // --db, with OVS_RUNDIR pointing nowhere.
  ProgramResult r = RunProgram({SPATE_OVN_NBCTL, "--db=" + db, "lswitch-list"},
                               {{"OVS_RUNDIR", "/nonexistent"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Names(r.out), (std::vector<std::string>{"sw0"}));
  r = RunProgram({SPATE_OVN_NBCTL, "--db", db, "lswitch-list"}, {{"OVS_RUNDIR", "/nonexistent"}});
  EXPECT_EQ(Names(r.out), (std::vector<std::string>{"sw0"}));
  // OVN_NB_DB overrides the default socket.
  r = RunProgram({SPATE_OVN_NBCTL, "lswitch-list"},
                 {{"OVS_RUNDIR", "/nonexistent"}, {"OVN_NB_DB", db}});
  EXPECT_EQ(Names(r.out), (std::vector<std::string>{"sw0"}));
}

INSTANTIATE_TEST_SUITE_P(Servers, NbctlTest,
                         ::testing::Values(SPATE_OVSDB_SERVER, "/usr/sbin/ovsdb-server"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param) == "/usr/sbin/ovsdb-server"
                                      ? std::string("Debian")
                                      : std::string("Spate");
                         });

// No server: a clear error within the timeout.
TEST(NbctlNoServerTest, UnreachableDatabase) {
  TempDir dir;
  ProgramResult r = RunProgram(
      {SPATE_OVN_NBCTL, "--db=unix:" + dir.File("none.sock"), "-t", "1", "lswitch-list"}, {},
      seconds(20));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("ovn-nbctl: unix:" + dir.File("none.sock") +
                       ": database connection failed"),
            std::string::npos)
      << r.err;
  r = RunProgram({SPATE_OVN_NBCTL, "--timeout=1", "lswitch-list"}, {{"OVS_RUNDIR", dir.path()}},
                 seconds(20));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unix:" + dir.path() + "/db.sock: database connection failed"),
            std::string::npos)
      << r.err;
  // Writing commands, ACL ones included, fail the same way.
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"acl-add", "sw0", "1", "ip", "drop"}, {"acl-list", "sw0"}, {"lswitch-add", "sw0"}}) {
    cmd.insert(cmd.begin(), {SPATE_OVN_NBCTL, "-t", "1"});
    r = RunProgram(cmd, {{"OVS_RUNDIR", dir.path()}}, seconds(20));
    EXPECT_EQ(r.exit_code, 1) << cmd[3];
    EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("database connection failed"), std::string::npos) << r.err;
  }
  // A TCP port nobody listens on, with the default timeout: still bounded
  // (RunProgram gives up after 20 s; the default is 5 s).
  r = RunProgram({SPATE_OVN_NBCTL, "--db=tcp:127.0.0.1:1", "lswitch-list"}, {}, seconds(20));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("ovn-nbctl: tcp:127.0.0.1:1: database connection failed"),
            std::string::npos)
      << r.err;
  r = RunProgram({SPATE_OVN_NBCTL, "--db=bogus:x", "lswitch-list"}, {}, seconds(20));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
}

// Every command refuses too few or too many arguments before connecting.
TEST(NbctlNoServerTest, WrongArgumentCount) {
  TempDir dir;
  for (const NbctlCommand& cmd : NbctlCommands()) {
    std::vector<int> counts;
    if (cmd.min_args > 0) counts.push_back(cmd.min_args - 1);
    if (cmd.max_args >= 0) counts.push_back(cmd.max_args + 1);
    for (int n : counts) {
      std::vector<std::string> argv = {SPATE_OVN_NBCTL, std::string(cmd.name)};
      for (int i = 0; i < n; i++) argv.push_back("a" + std::to_string(i));
      ProgramResult r = RunProgram(argv, {{"OVS_RUNDIR", dir.path()}}, seconds(20));
      EXPECT_EQ(r.exit_code, 1) << cmd.name << " " << n;
      EXPECT_EQ(r.out, "");
      EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
      EXPECT_NE(r.err.find("ovn-nbctl: '" + std::string(cmd.name) + "' command takes "),
                std::string::npos)
          << r.err;
    }
  }
}

TEST(NbctlNoServerTest, HelpAndVersion) {
  ProgramResult r = RunProgram({SPATE_OVN_NBCTL, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const NbctlCommand& cmd : NbctlCommands()) {
    EXPECT_NE(r.out.find("  " + std::string(cmd.name) + " "), std::string::npos) << cmd.name;
  }
  EXPECT_NE(r.out.find("Logical port commands:"), std::string::npos);
  r = RunProgram({SPATE_OVN_NBCTL, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, NbctlVersion() + "\n");
}

TEST(NbctlParseTest, Helpers) {
  EXPECT_TRUE(IsEthernetAddress("0a:1B:22:33:44:55"));
  EXPECT_FALSE(IsEthernetAddress("0a:1B:22:33:44:5"));
  EXPECT_FALSE(IsEthernetAddress("0a-1B-22-33-44-55"));
  EXPECT_EQ(ParseTag("0"), 0);
  EXPECT_EQ(ParseTag("4095"), 4095);
  EXPECT_EQ(ParseTag("4096"), std::nullopt);
  EXPECT_EQ(ParseTag("1x"), std::nullopt);
  EXPECT_EQ(ParseTag(""), std::nullopt);
  EXPECT_EQ(ParseAclPriority("1"), 1);
  EXPECT_EQ(ParseAclPriority("65535"), 65535);
  EXPECT_EQ(ParseAclPriority("0"), std::nullopt);
  EXPECT_EQ(ParseAclPriority("65536"), std::nullopt);
  EXPECT_EQ(ParseAclPriority("1e3"), std::nullopt);
  EXPECT_TRUE(IsAclAction("allow-related"));
  EXPECT_FALSE(IsAclAction("Allow"));
  Result<NbctlOptions> o = ParseNbctlArgs({"--db=tcp:127.0.0.1:6641", "-t", "3", "show"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->db, "tcp:127.0.0.1:6641");
  EXPECT_EQ(o->timeout, std::chrono::seconds(3));
  EXPECT_EQ(o->command, (std::vector<std::string>{"show"}));
}

}  // namespace
}  // namespace spate::northd
