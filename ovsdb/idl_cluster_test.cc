// Failover test of the OVSDB client library against a 3-server Debian
// ovsdb-server 3.1 Raft cluster on loopback, created with ovsdb-tool
// create-cluster/join-cluster from our OVN_Northbound schema: a writer
// commits a stream of transactions through the library, the leader is
// killed with SIGKILL, and the writer must finish every transaction exactly
// once while the replica resumes with monitor_cond_since (no full resync).
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "common/testing.h"
#include "ovsdb/idl.h"
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

constexpr int kServers = 3;

// A loopback TCP port that was free a moment ago (for Raft traffic).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

class Cluster {
 public:
  Cluster() {
    std::string schema = std::string(std::getenv("SPATE_SOURCE_DIR") ? std::getenv("SPATE_SOURCE_DIR")
                                                                      : ".") +
                         "/ovsdb/schemas/ovn-nb.ovsschema";
    std::string first;
    for (int i = 0; i < kServers; ++i) {
      std::string raft = "tcp:127.0.0.1:" + std::to_string(FreePort());
      std::vector<std::string> argv =
          i == 0 ? std::vector<std::string>{"/usr/bin/ovsdb-tool", "create-cluster", File(i, "db"),
                                            schema, raft}
                 : std::vector<std::string>{"/usr/bin/ovsdb-tool", "join-cluster", File(i, "db"),
                                            "OVN_Northbound", raft, first};
      if (i == 0) first = raft;
      auto r = RunProgram(argv);
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    for (int i = 0; i < kServers; ++i) Start(i);
    // Joining completes asynchronously: wait until every server is a member,
    // or killing the leader could leave a cluster without a majority.
    for (int i = 0; i < kServers; ++i) {
      EXPECT_TRUE(WaitFor([&] { return Status(i).find("Status: cluster member") != std::string::npos; },
                          seconds(30)))
          << Status(i);
    }
  }
  ~Cluster() {
    for (int i = 0; i < kServers; ++i) Kill(i, SIGTERM);
  }

  std::string File(int i, const std::string& what) const {
    return dir_.File("s" + std::to_string(i) + "." + what);
  }
  std::string Remote(int i) const { return "unix:" + File(i, "sock"); }
  std::string Remotes() const { return Remote(0) + "," + Remote(1) + "," + Remote(2); }

  void Start(int i) {
    auto r = RunProgram({"/usr/sbin/ovsdb-server", File(i, "db"), "--remote=punix:" + File(i, "sock"),
                         "--pidfile=" + File(i, "pid"), "--unixctl=" + File(i, "ctl"),
                         "--log-file=" + File(i, "log"), "--detach", "--no-chdir"},
                        {{"OVS_RUNDIR", dir_.path()}, {"OVS_LOGDIR", dir_.path()}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    pid_[i] = std::atoi(ReadFile(File(i, "pid")).c_str());
  }
  void Kill(int i, int sig) {
    if (pid_[i] <= 0) return;
    ::kill(pid_[i], sig);
    EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid_[i]); }, seconds(10)));
    pid_[i] = 0;
  }
  // ovs-appctl cluster/status of server `i`.
  std::string Status(int i) const {
    return RunProgram({"/usr/bin/ovs-appctl", "-t", File(i, "ctl"), "cluster/status",
                       "OVN_Northbound"}).out;
  }
  // The server that currently says it is the leader, or -1.
  int Leader() const {
    for (int i = 0; i < kServers; ++i) {
      if (pid_[i] > 0 && Status(i).find("Role: leader") != std::string::npos) return i;
    }
    return -1;
  }

 private:
  TempDir dir_;              // Databases, sockets, logs.
  int pid_[kServers] = {};   // Server processes.
};

std::unique_ptr<Idl> MakeIdl(common::EventLoop& loop, const std::string& remote, bool leader_only) {
  IdlOptions o;
  o.remote = remote;
  o.database = "OVN_Northbound";
  o.tables = {{"Logical_Switch", {"name"}, nullptr}};
  o.leader_only = leader_only;
  o.min_backoff = milliseconds(50);
  o.max_backoff = milliseconds(400);
  o.probe_interval = milliseconds(1000);
  auto idl = Idl::Create(loop, std::move(o));
  EXPECT_TRUE(idl.ok());
  (*idl)->Start();
  return std::move(idl).value();
}

bool HasSwitch(Idl& idl, const std::string& name) {
  return idl.table("Logical_Switch")->FindBy("name", Atom(name)).has_value();
}

// Inserts switch `name` exactly once: after an unclear outcome (try again)
// the writer waits for a synced replica and re-checks before re-sending.
bool InsertOnce(Idl& idl, const std::string& name, int* retries) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (!idl.WaitSynced(seconds(30))) {
      ADD_FAILURE() << "no synced replica: " << idl.last_error().error().ToString()
                    << " connects " << idl.stats().connects;
      return false;
    }
    if (HasSwitch(idl, name)) return true;
    Txn txn(idl);
    Uuid sw = txn.Insert("Logical_Switch");
    EXPECT_TRUE(txn.SetString("Logical_Switch", sw, "name", name).ok());
    TxnResult r = txn.CommitBlock(seconds(30));
    if (r.ok()) {
      EXPECT_TRUE(r.replica_seen) << name;
      return r.replica_seen;
    }
    EXPECT_EQ(r.status, TxnStatus::kTryAgain) << r.error.ToString();
    ++*retries;
  }
  return false;
}

TEST(IdlClusterTest, LeaderKilledWriterCompletesOnceReplicaResumesIncrementally) {
  Cluster cluster;
  common::EventLoop loop;
  auto idl = MakeIdl(loop, cluster.Remotes(), true);
  ASSERT_TRUE(idl->WaitSynced(seconds(30))) << idl->last_error().error().ToString();
  int retries = 0;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(InsertOnce(*idl, "sw" + std::to_string(i), &retries));
  EXPECT_EQ(idl->stats().full_syncs, 1u);

  int leader = cluster.Leader();
  ASSERT_GE(leader, 0);
  cluster.Kill(leader, SIGKILL);
  for (int i = 20; i < 40; ++i) ASSERT_TRUE(InsertOnce(*idl, "sw" + std::to_string(i), &retries));

  ASSERT_TRUE(idl->WaitSynced(seconds(30)));
  EXPECT_GE(idl->stats().connects, 2u);
  EXPECT_EQ(idl->stats().method, MonitorMethod::kMonitorCondSince);
  EXPECT_EQ(idl->stats().full_syncs, 1u) << "the reconnect resent the whole database";
  RecordProperty("connects", static_cast<int>(idl->stats().connects));
  RecordProperty("skipped_servers", static_cast<int>(idl->stats().skipped_servers));
  RecordProperty("retries", retries);
  std::multiset<std::string> names;
  for (const RowView& r : idl->table("Logical_Switch")->All()) names.insert(r.GetString("name"));
  EXPECT_EQ(names.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(names.count("sw" + std::to_string(i)), 1u) << i;

  // The replica equals what a fresh client reads from a surviving server.
  int survivor = (leader + 1) % kServers;
  auto fresh = MakeIdl(loop, cluster.Remote(survivor), false);
  ASSERT_TRUE(fresh->WaitSynced(seconds(30)));
  ASSERT_TRUE(fresh->RunUntil([&] { return fresh->table("Logical_Switch")->size() == 40; },
                              seconds(30)));
  for (const auto& [uuid, row] : idl->table("Logical_Switch")->rows()) {
    auto other = fresh->table("Logical_Switch")->Get(uuid);
    ASSERT_TRUE(other.has_value()) << uuid.ToString();
    EXPECT_EQ(other->row().fields, row->fields);
  }
}

}  // namespace
}  // namespace spate::ovsdb::idl
