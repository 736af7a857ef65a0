// Failover test of the OVSDB client library against a 3-server Debian
// ovsdb-server 3.1 Raft cluster on loopback, created with ovsdb-tool
// create-cluster/join-cluster from our OVN_Northbound schema: a writer
// commits a stream of transactions through the library (inserts, and
// mutates without prerequisites, one of them arithmetic), another thread
// kills the leader with SIGKILL while a transaction is in flight, and the
// writer must finish every transaction exactly once -- retrying blindly on
// try-again, which now means "not committed" -- while the replica resumes
// with monitor_cond_since (no full resync).  A one-server cluster behind a
// proxy shows both answers a server gives to an Idl that missed a
// transaction: the changes since our id, or -- Open vSwitch keeps a
// history no larger than the database (idl.md) -- "not found", answered
// by taking the snapshot at once.
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
  // Creates and starts `n` (at most kServers) servers.
  explicit Cluster(int n = kServers) : n_(n) {
    std::string schema = std::string(std::getenv("SPATE_SOURCE_DIR") ? std::getenv("SPATE_SOURCE_DIR")
                                                                      : ".") +
                         "/ovsdb/schemas/ovn-nb.ovsschema";
    std::string first;
    for (int i = 0; i < n_; ++i) {
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
    for (int i = 0; i < n_; ++i) Start(i);
    // Joining completes asynchronously: wait until every server is a member,
    // or killing the leader could leave a cluster without a majority.
    for (int i = 0; i < n_; ++i) {
      EXPECT_TRUE(WaitFor([&] { return Status(i).find("Status: cluster member") != std::string::npos; },
                          seconds(30)))
          << Status(i);
    }
  }
  ~Cluster() {
    for (int i = 0; i < n_; ++i) Kill(i, SIGTERM);
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
    for (int i = 0; i < n_; ++i) {
      if (pid_[i] > 0 && Status(i).find("Role: leader") != std::string::npos) return i;
    }
    return -1;
  }

 private:
  int n_;                    // Servers in the cluster.
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
// Unrelated switches that give the database a realistic size.  Open
// vSwitch drops the oldest transactions from its history while the
// history holds more atoms than the database (every changed row counted
// whole, before and after); the stream's transactions rewrite a switch
// whose map grows to 40 pairs, so without these rows a server keeps just
// its last transaction, and an Idl that missed the in-flight one finds its
// id gone (MissedTransaction below shows that case).  200 rows of 3 atoms
// hold more than the two largest consecutive transactions (~360 atoms).
constexpr int kPadRows = 200;

// Commits `n` switches named "pad<i>" in one transaction.
void Pad(Idl& idl, int n) {
  Txn txn(idl);
  for (int i = 0; i < n; ++i) {
    Uuid sw = txn.Insert("Logical_Switch");
    EXPECT_TRUE(txn.SetString("Logical_Switch", sw, "name", "pad" + std::to_string(i)).ok());
  }
  TxnResult r = txn.CommitBlock(seconds(30));
  EXPECT_TRUE(r.ok()) << r.error.ToString();
}

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
  Pad(*idl, kPadRows);

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
  // The reconnect asked for what it missed and got only that.
  EXPECT_EQ(idl->stats().history_misses, 0u);
  EXPECT_EQ(idl->stats().full_syncs, 1u) << "the reconnect resent the whole database";

  // Exactly once: every inserted switch once, the counter and the keys of
  // the mutate-only transactions counted once each.
  std::multiset<std::string> names;
  for (const RowView& r : idl->table("Logical_Switch")->All()) names.insert(r.GetString("name"));
  int expected_switches = 1 + kPadRows, expected_count = 0;
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

// An Idl behind a proxy misses one transaction that rewrites a switch with
// a 30-pair map.  With `pad` rows the database outweighs that transaction
// and Open vSwitch still has our id: the reconnect gets just the change.
// Without them the server's history has dropped our id ("not found"): the
// Idl takes the snapshot at once -- no wait for a catch-up that cannot
// come -- and its replica equals a fresh client's.
void MissOneTransaction(int pad) {
  SCOPED_TRACE("pad " + std::to_string(pad));
  Cluster cluster(1);
  ASSERT_TRUE(WaitFor([&] { return cluster.Leader() == 0; }, seconds(30)));
  TempDir dir;
  common::EventLoop loop;
  CuttingProxy proxy(loop, "punix:" + dir.File("proxy.sock"), cluster.Remote(0));
  auto writer = MakeIdl(loop, cluster.Remote(0), false);
  ASSERT_TRUE(writer->WaitSynced(seconds(30)));
  Pad(*writer, pad);
  Txn setup(*writer);
  Uuid base = setup.Insert("Logical_Switch");
  ASSERT_TRUE(setup.SetString("Logical_Switch", base, "name", "base").ok());
  std::map<std::string, std::string> ids;
  for (int i = 0; i < 30; ++i) ids["k" + std::to_string(i)] = "v";
  std::vector<Atom> keys, values;
  for (const auto& [k, v] : ids) {
    keys.emplace_back(k);
    values.emplace_back(v);
  }
  const Type& type =
      writer->replica()->schema().FindTable("Logical_Switch")->FindColumn("external_ids")->type;
  Result<Datum> map = Datum::FromAtoms(type, std::move(keys), std::move(values));
  ASSERT_TRUE(map.ok());
  ASSERT_TRUE(setup.Set("Logical_Switch", base, "external_ids", *map).ok());
  ASSERT_TRUE(setup.CommitBlock(seconds(30)).ok());

  auto idl = MakeIdl(loop, proxy.remote(), false);
  ASSERT_TRUE(idl->RunUntil([&] { return idl->synced() && idl->table("Logical_Switch")->Get(base); },
                            seconds(30)));
  proxy.SetOpen(false);
  ASSERT_TRUE(idl->RunUntil([&] { return !idl->synced(); }, seconds(30)));
  Txn missed(*writer);
  ASSERT_TRUE(missed.SetMapEntry("Logical_Switch", base, "external_ids", Atom(std::string("k30")),
                                 Atom(std::string("v"))).ok());
  ASSERT_TRUE(missed.CommitBlock(seconds(30)).ok());
  ids["k30"] = "v";
  proxy.SetOpen(true);
  ASSERT_TRUE(idl->WaitSynced(seconds(30))) << idl->last_error().error().ToString();

  EXPECT_EQ(idl->stats().method, MonitorMethod::kMonitorCondSince);
  EXPECT_EQ(idl->stats().skipped_servers, 0u) << "waited for a server that was not behind";
  EXPECT_EQ(idl->stats().history_misses, pad > 0 ? 0u : 1u);
  EXPECT_EQ(idl->stats().full_syncs, pad > 0 ? 1u : 2u);
  EXPECT_EQ(idl->table("Logical_Switch")->Get(base)->GetStringMap("external_ids"), ids);
  auto fresh = MakeIdl(loop, cluster.Remote(0), false);
  ASSERT_TRUE(fresh->WaitSynced(seconds(30)));
  EXPECT_EQ(Contents(*fresh, "Logical_Switch"), Contents(*idl, "Logical_Switch"));
}

TEST(IdlClusterTest, MissedTransactionResumesFromHistoryOrSnapshot) {
  MissOneTransaction(kPadRows);
  MissOneTransaction(0);
}

}  // namespace
}  // namespace spate::ovsdb::idl
