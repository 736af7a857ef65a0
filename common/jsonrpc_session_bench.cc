// End-to-end benchmark of the session stack: one client pipelining small
// "add" requests to a server over a unix socket, both on one EventLoop and
// one core (what an OVSDB server's RPC layer costs per transaction).
//   Session/PipelinedUnix  requests/s through Listener, Session, reader,
//                          dispatch, reply serialization and coalesced writes
//   Baseline/RawSocketpair the same bytes echoed over a socketpair with
//                          plain read()/write() (the kernel's floor)
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "common/jsonrpc_session.h"
#include "common/testing.h"

namespace spate::common {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kBatch = 1000;  // Requests in flight per iteration.

void BM_Session_PipelinedUnix(benchmark::State& state) {
  testing::TempDir dir;
  EventLoop loop;
  std::vector<std::shared_ptr<Session>> server_sessions;
  auto listener = Listener::Create(
      loop, "punix:" + dir.File("b.sock"), {}, {},
      [&](std::shared_ptr<Session> s) {
        s->Start(
            [](Session& session, Message&& m) {
              session.Send(Message::Reply(
                  m.params[0].get<int64_t>() + m.params[1].get<int64_t>(), m.id));
            },
            nullptr);
        server_sessions.push_back(std::move(s));
      });
  if (!listener.ok()) {
    state.SkipWithError("listen failed");
    return;
  }
  std::shared_ptr<Session> client;
  AsyncConnect(loop, "unix:" + dir.File("b.sock"), {}, {},
               [&](Result<std::shared_ptr<Session>> r) {
                 if (r.ok()) client = std::move(r).value();
               });
  loop.RunUntil([&] { return client != nullptr; }, 10s);
  if (!client) {
    state.SkipWithError("connect failed");
    return;
  }
  int64_t n_replies = 0;
  client->Start([&](Session&, Message&&) { n_replies++; }, nullptr);
  int64_t id = 0;
  for (auto _ : state) {
    int64_t target = n_replies + kBatch;
    for (int i = 0; i < kBatch; i++) {
      client->Send(Message::Request("add", json::array({id, 1}), id));
      id++;
    }
    if (!loop.RunUntil([&] { return n_replies >= target; }, 30s)) {
      state.SkipWithError("timed out");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  client->Close();
  loop.Poll();
}
BENCHMARK(BM_Session_PipelinedUnix)->Name("Session/PipelinedUnix")->UseRealTime();

void BM_Baseline_RawSocketpair(benchmark::State& state) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  std::string requests, replies;
  for (int i = 0; i < kBatch; i++) {
    requests += Message::Request("add", json::array({i, 1}), i).ToString();
    replies += Message::Reply(i + 1, i).ToString();
  }
  std::vector<char> buf(64 * 1024);
  // Moves `total` bytes from `data` through the pair in 64 KiB steps.
  auto pump = [&](int from, int to, const std::string& data) {
    size_t sent = 0, received = 0;
    while (received < data.size()) {
      if (sent < data.size()) {
        ssize_t n = write(from, data.data() + sent,
                          std::min(buf.size(), data.size() - sent));
        if (n > 0) sent += n;
      }
      ssize_t n = read(to, buf.data(), buf.size());
      if (n > 0) received += n;
    }
  };
  for (auto _ : state) {
    pump(fds[0], fds[1], requests);
    pump(fds[1], fds[0], replies);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  close(fds[0]);
  close(fds[1]);
}
BENCHMARK(BM_Baseline_RawSocketpair)->Name("Baseline/RawSocketpair")->UseRealTime();

}  // namespace
}  // namespace spate::common
