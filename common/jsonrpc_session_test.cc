// Tests for Session, Listener, AsyncConnect, ReconnectingSession and
// BlockingClient over real unix, tcp (loopback) and ssl sockets.
#include "common/jsonrpc_session.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/jsonrpc_client.h"
#include "common/testing.h"

namespace spate::common {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::TempDir;
using namespace std::chrono_literals;

// Generates a self-signed certificate (its own CA) with the openssl CLI.
SslConfig MakeCertificate(const TempDir& dir) {
  SslConfig c{dir.File("key.pem"), dir.File("cert.pem"), dir.File("cert.pem")};
  auto r = testing::RunProgram(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", c.private_key,
       "-out", c.certificate, "-days", "1", "-subj", "/CN=spate-test"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return c;
}

// A server on one EventLoop that answers "add" requests and records the
// rest.
struct EchoServer {
  EchoServer(EventLoop& loop, const std::string& name, const SslConfig& ssl,
             SessionOptions options = {}) {
    auto l = Listener::Create(loop, name, ssl, options,
                              [this](std::shared_ptr<Session> s) { Accept(s); });
    EXPECT_TRUE(l.ok()) << (l.ok() ? "" : l.error().ToString());
    if (l.ok()) listener = std::move(l).value();
  }
  void Accept(std::shared_ptr<Session> s) {
    sessions[s.get()] = s;
    s->Start(
        [this](Session& session, Message&& m) {
          received.push_back(m.method);
          if (m.type == MessageType::kRequest && m.method == "add") {
            session.Send(Message::Reply(
                m.params[0].get<int>() + m.params[1].get<int>(), m.id));
          }
        },
        [this](Session& session, const Status& reason) {
          close_reasons.push_back(reason.ok() ? "ok" : reason.error().details());
          sessions.erase(&session);
        });
  }
  std::unique_ptr<Listener> listener;                     // Bound listener.
  std::map<Session*, std::shared_ptr<Session>> sessions;  // Connected.
  std::vector<std::string> received;                      // Methods seen.
  std::vector<std::string> close_reasons;                 // Per close.
};

// Connects from the same loop and returns the started client session.
std::shared_ptr<Session> ConnectClient(EventLoop& loop, const std::string& name,
                                       const SslConfig& ssl,
                                       std::vector<Message>* inbox,
                                       Status* closed = nullptr,
                                       SessionOptions options = {}) {
  std::optional<Result<std::shared_ptr<Session>>> r;
  AsyncConnect(loop, name, ssl, options,
               [&](Result<std::shared_ptr<Session>> x) { r = std::move(x); });
  EXPECT_TRUE(loop.RunUntil([&] { return r.has_value(); }, 10s));
  if (!r || !r->ok()) {
    ADD_FAILURE() << (r ? r->error().ToString() : "timeout");
    return nullptr;
  }
  auto s = std::move(*r).value();
  s->Start([inbox](Session&, Message&& m) { inbox->push_back(std::move(m)); },
           [closed](Session&, const Status& reason) {
             if (closed) *closed = reason.ok() ? Status(Error("closed")) : reason;
           });
  return s;
}

void ExchangeMany(EventLoop& loop, const std::string& listen_name,
                  const SslConfig& ssl, std::string connect_name = "") {
  EchoServer server(loop, listen_name, ssl);
  ASSERT_TRUE(server.listener);
  if (connect_name.empty()) {
    connect_name = server.listener->name();
    connect_name = connect_name.substr(1);  // punix: -> unix:, ptcp: -> tcp:
    if (server.listener->port() != 0) {
      std::string type = connect_name.substr(0, connect_name.find(':'));
      connect_name = type + ":127.0.0.1:" + std::to_string(server.listener->port());
    }
  }
  std::vector<Message> inbox;
  auto client = ConnectClient(loop, connect_name, ssl, &inbox);
  ASSERT_TRUE(client);
  constexpr int kN = 2000;
  for (int i = 0; i < kN; i++) {
    client->Send(Message::Request("add", json::array({i, 1}), i));
  }
  ASSERT_TRUE(loop.RunUntil([&] { return inbox.size() == kN; }, 20s));
  for (int i = 0; i < kN; i++) {
    ASSERT_EQ(inbox[i].id, i);
    ASSERT_EQ(inbox[i].result, i + 1);
  }
  client->Close();
  ASSERT_TRUE(loop.RunUntil([&] { return server.sessions.empty(); }, 10s));
  EXPECT_EQ(server.close_reasons, std::vector<std::string>{"ok"});
}

TEST(Session, UnixRoundTrips) {
  TempDir dir;
  EventLoop loop;
  ExchangeMany(loop, "punix:" + dir.File("s.sock"), {});
}

TEST(Session, TcpLoopbackRoundTrips) {
  EventLoop loop;
  ExchangeMany(loop, "ptcp:0:127.0.0.1", {});
}

TEST(Session, TcpIpv6LoopbackRoundTrips) {
  EventLoop loop;
  EchoServer server(loop, "ptcp:0:[::1]", {});
  ASSERT_TRUE(server.listener);
  EXPECT_THAT(server.listener->name(), HasSubstr(":[::1]"));
  std::vector<Message> inbox;
  auto c = ConnectClient(
      loop, "tcp:[::1]:" + std::to_string(server.listener->port()), {}, &inbox);
  ASSERT_TRUE(c);
  c->Send(Message::Request("add", json::array({2, 3}), "a"));
  ASSERT_TRUE(loop.RunUntil([&] { return inbox.size() == 1; }, 10s));
  EXPECT_EQ(inbox[0].result, 5);
}

TEST(Session, SslRoundTrips) {
  TempDir dir;
  SslConfig ssl = MakeCertificate(dir);
  EventLoop loop;
  ExchangeMany(loop, "pssl:0:127.0.0.1", ssl);
}

TEST(Session, SslRefusesWithoutConfiguration) {
  EventLoop loop;
  auto l = Listener::Create(loop, "pssl:0:127.0.0.1", SslConfig{}, {},
                            [](std::shared_ptr<Session>) {});
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(l.error().details(), HasSubstr("--private-key"));
}

TEST(Session, SslRejectsUntrustedPeer) {
  TempDir server_dir, client_dir;
  SslConfig server_ssl = MakeCertificate(server_dir);
  SslConfig client_ssl = MakeCertificate(client_dir);  // Different CA.
  EventLoop loop;
  EchoServer server(loop, "pssl:0:127.0.0.1", server_ssl);
  ASSERT_TRUE(server.listener);
  std::optional<Result<std::shared_ptr<Session>>> r;
  AsyncConnect(loop, "ssl:127.0.0.1:" + std::to_string(server.listener->port()),
               client_ssl, {}, [&](auto x) { r = std::move(x); });
  ASSERT_TRUE(loop.RunUntil([&] { return r.has_value(); }, 10s));
  ASSERT_FALSE(r->ok());
  EXPECT_THAT(r->error().details(), HasSubstr("SSL handshake failed"));
}

TEST(Session, UnreachableIsAClearError) {
  TempDir dir;
  EventLoop loop;
  std::optional<Result<std::shared_ptr<Session>>> r;
  AsyncConnect(loop, "unix:" + dir.File("missing.sock"), {}, {},
               [&](auto x) { r = std::move(x); });
  ASSERT_TRUE(loop.RunUntil([&] { return r.has_value(); }, 10s));
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->error().details(), "unix:" + dir.File("missing.sock") +
                                      ": connection attempt failed (No such "
                                      "file or directory)");
}

TEST(Session, AnswersEchoAndHidesIt) {
  TempDir dir;
  EventLoop loop;
  EchoServer server(loop, "punix:" + dir.File("s.sock"), {});
  std::vector<Message> inbox;
  auto c = ConnectClient(loop, "unix:" + dir.File("s.sock"), {}, &inbox);
  ASSERT_TRUE(c);
  c->Send(Message::Request("echo", json::array({"ping", 1}), 99));
  ASSERT_TRUE(loop.RunUntil([&] { return !inbox.empty(); }, 10s));
  EXPECT_EQ(inbox[0].type, MessageType::kReply);
  EXPECT_EQ(inbox[0].result, json::array({"ping", 1}));
  EXPECT_TRUE(server.received.empty());  // The server's handler never saw it.
}

TEST(Session, ProbeKeepsAnsweringPeerConnected) {
  TempDir dir;
  EventLoop loop;
  EchoServer server(loop, "punix:" + dir.File("s.sock"), {});
  std::vector<Message> inbox;
  Status closed;
  SessionOptions opts;
  opts.probe_interval = 100ms;  // Generous: a stall must not look silent.
  auto c = ConnectClient(loop, "unix:" + dir.File("s.sock"), {}, &inbox,
                         &closed, opts);
  ASSERT_TRUE(c);
  // Several probe rounds: the server answers each echo, so we stay up.
  ASSERT_TRUE(loop.RunUntil([&] { return c->n_sent() >= 4; }, 10s));
  EXPECT_TRUE(c->is_open());
  EXPECT_TRUE(closed.ok());
  EXPECT_TRUE(inbox.empty());  // Echo replies are swallowed.
}

TEST(Session, ProbeDisconnectsSilentPeer) {
  TempDir dir;
  EventLoop loop;
  std::vector<std::shared_ptr<Session>> silent;  // Accepted, never started.
  auto l = Listener::Create(loop, "punix:" + dir.File("s.sock"), {}, {},
                            [&](std::shared_ptr<Session> s) { silent.push_back(s); });
  ASSERT_TRUE(l.ok());
  std::vector<Message> inbox;
  Status closed;
  SessionOptions opts;
  opts.probe_interval = 20ms;
  auto c = ConnectClient(loop, "unix:" + dir.File("s.sock"), {}, &inbox,
                         &closed, opts);
  ASSERT_TRUE(c);
  ASSERT_TRUE(loop.RunUntil([&] { return !c->is_open(); }, 10s));
  ASSERT_TRUE(loop.RunUntil([&] { return !closed.ok(); }, 10s));
  EXPECT_THAT(closed.error().details(),
              HasSubstr("no response to inactivity probe after 0.02 seconds"));
}

TEST(Session, BacklogLimitClosesSession) {
  TempDir dir;
  EventLoop loop;
  SessionOptions server_opts;
  server_opts.max_backlog_bytes = 4096;
  EchoServer server(loop, "punix:" + dir.File("s.sock"), {}, server_opts);
  std::vector<Message> inbox;
  auto c = ConnectClient(loop, "unix:" + dir.File("s.sock"), {}, &inbox);
  ASSERT_TRUE(c);
  c->Send(Message::Notification("hello", json::array()));
  ASSERT_TRUE(loop.RunUntil([&] { return server.sessions.size() == 1; }, 10s));
  Session* s = server.sessions.begin()->second.get();
  s->SendText(std::string(R"({"id":null,"method":"x","params":[")") +
              std::string(8192, 'y') + "\"]}");
  ASSERT_TRUE(loop.RunUntil([&] { return !server.close_reasons.empty(); }, 10s));
  EXPECT_THAT(server.close_reasons[0], HasSubstr("exceeds limit of 4096"));
}

TEST(Session, MalformedInputClosesWithProtocolError) {
  TempDir dir;
  EventLoop loop;
  EchoServer server(loop, "punix:" + dir.File("s.sock"), {});
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir.File("s.sock");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const char bad[] = "{\"method\":\"add\",\"params\":[1,2],\"id\":1}{oops}";
  ASSERT_EQ(write(fd, bad, sizeof bad - 1), static_cast<ssize_t>(sizeof bad - 1));
  ASSERT_TRUE(loop.RunUntil([&] { return !server.close_reasons.empty(); }, 10s));
  EXPECT_THAT(server.close_reasons[0], HasSubstr("syntax error"));
  EXPECT_EQ(server.received, std::vector<std::string>{"add"});
  close(fd);
}

TEST(Session, WhenFlushedRunsAfterWrite) {
  TempDir dir;
  EventLoop loop;
  EchoServer server(loop, "punix:" + dir.File("s.sock"), {});
  std::vector<Message> inbox;
  auto c = ConnectClient(loop, "unix:" + dir.File("s.sock"), {}, &inbox);
  ASSERT_TRUE(c);
  bool flushed = false;
  c->Send(Message::Notification("n", json::array({std::string(100000, 'z')})));
  c->WhenFlushed([&] { flushed = true; });
  EXPECT_FALSE(flushed);
  ASSERT_TRUE(loop.RunUntil([&] { return flushed; }, 10s));
  EXPECT_EQ(c->backlog_bytes(), 0u);
  ASSERT_TRUE(loop.RunUntil([&] { return server.received.size() == 1; }, 10s));
}

// SendTextNow on `name`: an idle plain socket takes a small text at once
// (nothing left queued, no loop run needed); a text larger than the socket
// buffer is finished asynchronously; texts and later Sends keep their order.
void SendTextNowKeepsOrder(const std::string& listen_name, const SslConfig& ssl,
                           bool direct) {
  EventLoop loop;
  EchoServer server(loop, listen_name, ssl);
  ASSERT_TRUE(server.listener);
  std::string active = server.listener->name().substr(1);  // punix: -> unix:
  if (server.listener->port() != 0) {
    active = "ssl:127.0.0.1:" + std::to_string(server.listener->port());
  }
  std::vector<Message> inbox;
  auto c = ConnectClient(loop, active, ssl, &inbox);
  ASSERT_TRUE(c);
  c->SendTextNow(R"({"id":null,"method":"small","params":[]})");
  EXPECT_EQ(c->backlog_bytes() == 0, direct);
  c->SendTextNow(std::string(R"({"id":null,"method":"big","params":[")") +
                 std::string(4 << 20, 'b') + "\"]}");
  c->SendTextNow(R"({"id":null,"method":"after","params":[]})");
  c->Send(Message::Request("add", json::array({20, 22}), "a"));
  ASSERT_TRUE(loop.RunUntil([&] { return inbox.size() == 1; }, 20s));
  EXPECT_EQ(inbox[0].result, 42);
  EXPECT_EQ(server.received, (std::vector<std::string>{"small", "big", "after", "add"}));
  EXPECT_EQ(c->backlog_bytes(), 0u);
  EXPECT_EQ(c->n_sent(), 4u);
}

TEST(Session, SendTextNowWritesAtOnceOnUnix) {
  TempDir dir;
  SendTextNowKeepsOrder("punix:" + dir.File("s.sock"), {}, true);
}

TEST(Session, SendTextNowFallsBackToQueueOnSsl) {
  TempDir dir;
  SendTextNowKeepsOrder("pssl:0:127.0.0.1", MakeCertificate(dir), false);
}

// BatchSocket/FinishBatchWrite: a write made beside the session on an
// idle unix session; what the socket did not take (a prefix taken, or
// -EAGAIN) is queued and flushed in order before later sends; while
// anything is queued there is no batch socket; an error closes.
TEST(Session, BatchWriteRemainderIsQueuedInOrder) {
  TempDir dir;
  EventLoop loop;
  EchoServer server(loop, "punix:" + dir.File("s.sock"), {});
  ASSERT_TRUE(server.listener);
  std::vector<Message> inbox;
  Status closed = Status::Ok();
  auto c = ConnectClient(loop, server.listener->name().substr(1), {}, &inbox, &closed);
  ASSERT_TRUE(c);
  int fd = c->BatchSocket();
  ASSERT_GE(fd, 0);
  std::string one = R"({"id":null,"method":"one","params":[]})";
  std::string two = R"({"id":null,"method":"two","params":[]})";
  // Pretend the socket took the first 5 bytes of `one` and nothing of `two`.
  ASSERT_EQ(write(fd, one.data(), 5), 5);
  c->FinishBatchWrite(one, 5);
  EXPECT_EQ(c->BatchSocket(), -1);  // Output queued: not idle.
  c->FinishBatchWrite(two, -EAGAIN);
  c->Send(Message::Request("add", json::array({1, 2}), "a"));
  ASSERT_TRUE(loop.RunUntil([&] { return inbox.size() == 1; }, 10s));
  EXPECT_EQ(inbox[0].result, 3);
  EXPECT_EQ(server.received, (std::vector<std::string>{"one", "two", "add"}));
  EXPECT_EQ(c->n_sent(), 3u);
  EXPECT_GE(c->BatchSocket(), 0);  // Idle again.
  c->FinishBatchWrite(one, -EPIPE);
  EXPECT_FALSE(c->is_open());
  EXPECT_EQ(c->BatchSocket(), -1);
  ASSERT_TRUE(loop.RunUntil([&] { return !closed.ok(); }, 10s));
  EXPECT_NE(closed.error().details().find("Broken pipe"), std::string::npos)
      << closed.error().ToString();
}

TEST(ReconnectingSession, ConnectsWhenServerAppearsAndAfterLoss) {
  TempDir dir;
  EventLoop loop;
  std::string sock = dir.File("s.sock");
  int n_connected = 0, n_failures = 0;
  ReconnectingSession::Options opts;
  opts.remotes = {"unix:" + sock};
  opts.min_backoff = 5ms;
  opts.max_backoff = 20ms;
  ReconnectingSession rs(loop, opts,
                         {[&](Session&) { n_connected++; }, nullptr,
                          [&](const Status&) { n_failures++; }});
  rs.Start();
  ASSERT_TRUE(loop.RunUntil([&] { return n_failures >= 2; }, 10s));
  EXPECT_EQ(rs.session(), nullptr);
  EXPECT_FALSE(rs.Send(Message::Notification("x", json::array())));

  auto server = std::make_unique<EchoServer>(loop, "punix:" + sock, SslConfig{});
  ASSERT_TRUE(loop.RunUntil([&] { return n_connected == 1; }, 10s));
  ASSERT_TRUE(rs.Send(Message::Notification("hello", json::array())));
  ASSERT_TRUE(loop.RunUntil([&] { return server->received.size() == 1; }, 10s));

  // Drop the server's side: the client notices and comes back.
  server->sessions.begin()->second->Close();
  ASSERT_TRUE(loop.RunUntil([&] { return n_connected == 2; }, 10s));
  EXPECT_EQ(rs.n_connects(), 2u);
}

// A server running on its own thread, for the blocking client.
class ThreadedServer {
 public:
  explicit ThreadedServer(const std::string& name)
      : server_(loop_, name, SslConfig{}), thread_([this] { loop_.Run(); }) {}
  ~ThreadedServer() {
    loop_.Stop();
    thread_.join();
  }
  void PostNotification() {
    loop_.Post([this] {
      for (auto& [raw, s] : server_.sessions) {
        s->Send(Message::Notification("update", json::array({"hi"})));
      }
    });
  }

 private:
  EventLoop loop_;
  EchoServer server_;
  std::thread thread_;
};

TEST(BlockingClient, TransactAndNotifications) {
  TempDir dir;
  ThreadedServer server("punix:" + dir.File("s.sock"));
  auto c = BlockingClient::Connect("unix:" + dir.File("s.sock"), {}, 5s);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  auto r = (*c)->Transact("add", json::array({40, 2}), 5s);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->type, MessageType::kReply);
  EXPECT_EQ(r->result, 42);
  server.PostNotification();
  auto n = (*c)->Receive(5s);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->method, "update");
  // No reply ever comes for an unknown method here: a timeout, clearly.
  auto t = (*c)->Transact("nothing", json::array(), 50ms);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.error().details(), HasSubstr("timed out waiting for a reply"));
}

TEST(BlockingClient, UnreachableServer) {
  TempDir dir;
  auto c = BlockingClient::Connect("unix:" + dir.File("none.sock"), {}, 5s);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().details(), HasSubstr("No such file or directory"));
  auto t = BlockingClient::Connect("tcp:127.0.0.1:1", {}, 5s);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.error().details(), HasSubstr("Connection refused"));
  auto bad = BlockingClient::Connect("bogus:x", {}, 5s);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().details(), HasSubstr("unknown stream type"));
}

}  // namespace
}  // namespace spate::common
