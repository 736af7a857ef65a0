// Failover test of the OVSDB client library against a 3-server Debian
// ovsdb-server 3.1 Raft cluster on loopback, created with ovsdb-tool
// create-cluster/join-cluster from our OVN_Northbound schema: a writer
// commits a stream of transactions through the library (inserts, and
// mutates without prerequisites, one of them arithmetic), another thread
// kills the leader with SIGKILL while a transaction is in flight, and the
// writer must finish every transaction exactly once -- retrying blindly on
// try-again, which now means "not committed" -- while the replica resumes
// with monitor_cond_since (no full resync).
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>

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
  int pid(int i) const { return pid_[i]; }
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
  o.tables = {{"Logical_Switch", {"name", "external_ids"}, nullptr},
              {"Logical_Port", {"name", "lswitch", "tag"}, nullptr}};
  o.leader_only = leader_only;
  o.min_backoff = milliseconds(50);
  o.max_backoff = milliseconds(400);
  o.probe_interval = milliseconds(1000);
  auto idl = Idl::Create(loop, std::move(o));
  EXPECT_TRUE(idl.ok());
  (*idl)->Start();
  return std::move(idl).value();
}

constexpr int kTxns = 60;      // Transactions in the writer's stream.
constexpr int kKillAfter = 20;  // Leader killed once this many committed.

// Outcomes seen by the writer.
struct Tally {
  int retries = 0;          // Try-again results (not committed).
  int found_committed = 0;  // Lost replies whose first attempt committed.
  int resent = 0;           // Lost replies resent and committed then.
};

// Transaction `i` of the stream: "sw<i>" inserted unless i % 3 == 1; the
// counter port's tag += 1 and external_ids k<i> on the base switch unless
// i % 3 == 0.  No prerequisites.
void BuildTxn(Txn& txn, int i, const Uuid& base, const Uuid& counter) {
  if (i % 3 != 1) {
    Uuid sw = txn.Insert("Logical_Switch");
    EXPECT_TRUE(txn.SetString("Logical_Switch", sw, "name", "sw" + std::to_string(i)).ok());
  }
  if (i % 3 != 0) {
    EXPECT_TRUE(txn.Mutate("Logical_Port", counter, "tag", "+=", Datum(Atom(int64_t{1}))).ok());
    EXPECT_TRUE(txn.SetMapEntry("Logical_Switch", base, "external_ids",
                                Atom("k" + std::to_string(i)), Atom(std::string("v"))).ok());
  }
}

// Commits transaction `i` until it succeeds; a try-again is retried as is
// (after waiting for a synced replica), without looking at the database.
bool CommitOnce(Idl& idl, int i, const Uuid& base, const Uuid& counter, Tally* tally) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (!idl.WaitSynced(seconds(30))) {
      ADD_FAILURE() << "no synced replica: " << idl.last_error().error().ToString();
      return false;
    }
    Txn txn(idl);
    BuildTxn(txn, i, base, counter);
    TxnResult r = txn.CommitBlock(seconds(30));
    if (r.ok()) {
      EXPECT_TRUE(r.replica_seen) << i;
      tally->found_committed += r.recovery == TxnRecovery::kFoundCommitted;
      tally->resent += r.recovery == TxnRecovery::kResent;
      return r.replica_seen;
    }
    EXPECT_EQ(r.status, TxnStatus::kTryAgain) << r.error.ToString();
    ++tally->retries;
  }
  return false;
}

// Rows of `table` as uuid -> replicated fields.
std::map<Uuid, std::vector<Datum>> Contents(Idl& idl, const std::string& table) {
  std::map<Uuid, std::vector<Datum>> out;
  const ReplicaTable* t = idl.table(table);
  for (const auto& [uuid, row] : t->rows()) {
    for (int c : t->columns()) out[uuid].push_back(row->fields[c]);
  }
  return out;
}

TEST(IdlClusterTest, LeaderKilledMidStreamEveryTransactionAppliedExactlyOnce) {
  Cluster cluster;
  common::EventLoop loop;
  auto idl = MakeIdl(loop, cluster.Remotes(), true);
  ASSERT_TRUE(idl->WaitSynced(seconds(30))) << idl->last_error().error().ToString();
  Txn setup(*idl);
  Uuid base = setup.Insert("Logical_Switch");
  ASSERT_TRUE(setup.SetString("Logical_Switch", base, "name", "base").ok());
  Uuid counter = setup.Insert("Logical_Port");
  ASSERT_TRUE(setup.SetString("Logical_Port", counter, "name", "counter").ok());
  ASSERT_TRUE(setup.Set("Logical_Port", counter, "lswitch", Datum(Atom(base))).ok());
  ASSERT_TRUE(setup.SetInteger("Logical_Port", counter, "tag", 0).ok());
  ASSERT_TRUE(setup.CommitBlock(seconds(30)).ok());

  int leader = cluster.Leader();
  ASSERT_GE(leader, 0);
  std::atomic<int> committed{0};
  int leader_pid = cluster.pid(leader);
  std::thread killer([&committed, leader_pid] {
    for (int v = committed.load(); v < kKillAfter; v = committed.load()) committed.wait(v);
    ::kill(leader_pid, SIGKILL);  // The writer is in the middle of the next one.
  });
  Tally tally;
  bool ok = true;
  for (int i = 0; i < kTxns && ok; ++i) {
    ok = CommitOnce(*idl, i, base, counter, &tally);
    committed.fetch_add(1);
    committed.notify_all();
  }
  committed.store(kTxns);
  committed.notify_all();
  killer.join();
  cluster.Kill(leader, SIGKILL);
  ASSERT_TRUE(ok);
  std::printf("retries %d, lost replies found committed %d, resent %d, connects %d\n",
              tally.retries, tally.found_committed, tally.resent,
              static_cast<int>(idl->stats().connects));
  RecordProperty("retries", tally.retries);
  RecordProperty("found_committed", tally.found_committed);
  RecordProperty("resent", tally.resent);
  RecordProperty("connects", static_cast<int>(idl->stats().connects));

  ASSERT_TRUE(idl->WaitSynced(seconds(30)));
  EXPECT_GE(idl->stats().connects, 2u);
  EXPECT_EQ(idl->stats().method, MonitorMethod::kMonitorCondSince);
  // The reconnect asks for what it missed.  About one failover in eight,
  // Debian's new leader answers that it does not know the last transaction
  // id we saw (found=false, after a bounded wait for it to catch up) and so
  // sends everything: only those answers may cause a second full sync.
  RecordProperty("history_misses", static_cast<int>(idl->stats().history_misses));
  EXPECT_EQ(idl->stats().full_syncs, 1u + idl->stats().history_misses)
      << "the reconnect resent the whole database although the server had our history";

  // Exactly once: every inserted switch once, the counter and the keys of
  // the mutate-only transactions counted once each.
  std::multiset<std::string> names;
  for (const RowView& r : idl->table("Logical_Switch")->All()) names.insert(r.GetString("name"));
  int expected_switches = 1, expected_count = 0;
  std::map<std::string, std::string> expected_ids;
  for (int i = 0; i < kTxns; ++i) {
    if (i % 3 != 1) {
      EXPECT_EQ(names.count("sw" + std::to_string(i)), 1u) << i;
      ++expected_switches;
    }
    if (i % 3 != 0) {
      ++expected_count;
      expected_ids["k" + std::to_string(i)] = "v";
    }
  }
  EXPECT_EQ(static_cast<int>(names.size()), expected_switches);
  EXPECT_EQ(idl->table("Logical_Port")->Get(counter)->GetInteger("tag"), expected_count);
  EXPECT_EQ(idl->table("Logical_Switch")->Get(base)->GetStringMap("external_ids"), expected_ids);

  // The replica equals what a fresh client reads from a surviving server.
  int survivor = (leader + 1) % kServers;
  auto fresh = MakeIdl(loop, cluster.Remote(survivor), false);
  ASSERT_TRUE(fresh->WaitSynced(seconds(30)));
  ASSERT_TRUE(fresh->RunUntil(
      [&] {
        auto port = fresh->table("Logical_Port")->Get(counter);
        return static_cast<int>(fresh->table("Logical_Switch")->size()) == expected_switches &&
               port && port->GetInteger("tag") == expected_count;
      },
      seconds(30)));
  EXPECT_EQ(Contents(*fresh, "Logical_Switch"), Contents(*idl, "Logical_Switch"));
  EXPECT_EQ(Contents(*fresh, "Logical_Port"), Contents(*idl, "Logical_Port"));
}

}  // namespace
}  // namespace spate::ovsdb::idl
