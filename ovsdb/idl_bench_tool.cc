// idl-bench: the C++ side of perf/idl-bench.sh, which runs the same three
// client workloads through this library and through Open vSwitch's Python
// IDL (perf/idl_bench_py.py, same command line, same output) against one
// ovsdb-server.  Each command prints one JSON object on stdout.
//
//   idl-bench sync REMOTE TABLE
//       Replicates TABLE (every column) and reports the time from creating
//       the Idl to a synced replica, the CPU time used, and VmRSS before
//       and after.
//   idl-bench follow REMOTE TABLE MARKER TOKEN
//       Replicates TABLE, prints "ready" once synced, then waits until row
//       MARKER's "ip" column equals TOKEN (the last of a stream of updates
//       another client sends).  Reports the time from the first change to
//       the marker, the CPU time used meanwhile, and the changes seen.
//   idl-bench commit REMOTE TABLE N
//       Replicates TABLE and commits N transactions one after the other,
//       each setting "ip" of one existing row (round robin); each waits for
//       the reply and the replica (CommitBlock).  Reports time and CPU.
//
// Errors (usage, connection, failed commit) go to stderr, exit status 1.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "ovsdb/idl.h"
#include "ovsdb/idl_txn.h"

namespace spate::ovsdb::idl {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

constexpr auto kTimeout = seconds(600);

long RssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int Fail(const std::string& what) {
  std::cerr << "idl-bench: " << what << "\n";
  return 1;
}

Result<std::unique_ptr<Idl>> Connect(common::EventLoop& loop, const std::string& remote,
                                     const std::string& table) {
  IdlOptions o{.remote = remote, .database = "OVN_Northbound", .tables = {{table, {}, nullptr}}};
  auto idl = Idl::Create(loop, std::move(o));
  if (!idl.ok()) return idl.error();
  (*idl)->Start();
  if (!(*idl)->WaitSynced(kTimeout)) {
    return Error("not synced", (*idl)->last_error().ok() ? std::string("timeout")
                                                          : (*idl)->last_error().error().ToString());
  }
  return idl;
}

int Sync(const std::string& remote, const std::string& table) {
  long rss_base = RssKb();
  common::EventLoop loop;
  Clock::time_point t0 = Clock::now();
  double cpu0 = CpuSeconds();
  auto idl = Connect(loop, remote, table);
  if (!idl.ok()) return Fail(idl.error().ToString());
  double secs = Since(t0);
  std::printf(
      "{\"rows\": %zu, \"seconds\": %.4f, \"cpu\": %.4f, \"rss_base_kb\": %ld, \"rss_kb\": %ld}\n",
      (*idl)->table(table)->size(), secs, CpuSeconds() - cpu0, rss_base, RssKb());
  return 0;
}

int Follow(const std::string& remote, const std::string& table, const std::string& marker,
           const std::string& token) {
  std::optional<Uuid> marker_uuid = Uuid::Parse(marker);
  if (!marker_uuid) return Fail("bad marker UUID " + marker);
  common::EventLoop loop;
  auto idl = Connect(loop, remote, table);
  if (!idl.ok()) return Fail(idl.error().ToString());
  ReplicaTable* t = (*idl)->table(table);
  (void)t->TakeChanges();
  size_t changes = 0;
  std::optional<Clock::time_point> first;
  double cpu0 = CpuSeconds();
  (*idl)->SetChangeHandler([&] {
    if (!first && t->has_changes()) first = Clock::now();
    changes += t->TakeChanges().size();
  });
  std::printf("ready\n");
  std::fflush(stdout);
  bool done = (*idl)->RunUntil(
      [&] {
        auto row = t->Get(*marker_uuid);
        return row && row->GetString("ip") == token;
      },
      kTimeout);
  if (!done) return Fail("the marker update never arrived");
  double secs = first ? Since(*first) : 0.0;
  std::printf("{\"seconds\": %.4f, \"cpu\": %.4f, \"changes\": %zu}\n", secs,
              CpuSeconds() - cpu0, changes);
  return 0;
}

int Commit(const std::string& remote, const std::string& table, long n) {
  common::EventLoop loop;
  auto idl = Connect(loop, remote, table);
  if (!idl.ok()) return Fail(idl.error().ToString());
  std::vector<Uuid> rows;
  for (const auto& [uuid, row] : (*idl)->table(table)->rows()) rows.push_back(uuid);
  if (rows.empty()) return Fail("table " + table + " is empty");
  Clock::time_point t0 = Clock::now();
  double cpu0 = CpuSeconds();
  for (long i = 0; i < n; ++i) {
    Txn txn(**idl);
    Status s = txn.SetString(table, rows[i % rows.size()], "ip", "c" + std::to_string(i));
    if (!s.ok()) return Fail(s.error().ToString());
    TxnResult r = txn.CommitBlock(seconds(60));
    if (!r.ok()) return Fail("commit " + std::to_string(i) + ": " + r.error.ToString());
  }
  std::printf("{\"seconds\": %.4f, \"cpu\": %.4f}\n", Since(t0), CpuSeconds() - cpu0);
  return 0;
}

int Main(const std::vector<std::string>& args) {
  const char* usage =
      "usage: idl-bench sync REMOTE TABLE | follow REMOTE TABLE MARKER TOKEN | "
      "commit REMOTE TABLE N";
  if (args.size() == 3 && args[0] == "sync") return Sync(args[1], args[2]);
  if (args.size() == 5 && args[0] == "follow") return Follow(args[1], args[2], args[3], args[4]);
  if (args.size() == 4 && args[0] == "commit") {
    char* end = nullptr;
    long n = std::strtol(args[3].c_str(), &end, 10);
    if (*end != '\0' || n <= 0) return Fail(std::string("bad count \"") + args[3] + "\"");
    return Commit(args[1], args[2], n);
  }
  return Fail(usage);
}

}  // namespace
}  // namespace spate::ovsdb::idl

int main(int argc, char** argv) {
  return spate::ovsdb::idl::Main(std::vector<std::string>(argv + 1, argv + argc));
}
