// Listener and AsyncConnect over Asio: see jsonrpc_session.h.
#include <sys/stat.h>
#include <unistd.h>

#include "common/internal/asio_glue.h"
#include "common/jsonrpc_session.h"

namespace spate::common {
namespace {

using SslContextPtr = std::shared_ptr<asio::ssl::context>;

std::string Failure(std::string_view name, const char* what,
                    const std::error_code& ec) {
  return std::string(name) + ": " + what + " (" + ec.message() + ")";
}

// Builds an SSL context that presents our certificate and verifies the
// peer's against the CA, for either side of the handshake.
Result<SslContextPtr> MakeSslContext(const SslConfig& config) {
  Status valid = config.Validate();
  if (!valid.ok()) return valid.error();
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls);
  ctx->set_options(asio::ssl::context::default_workarounds |
                   asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                   asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  std::error_code ec;
  if (ctx->use_certificate_chain_file(config.certificate, ec); ec) {
    return Error("I/O error", Failure(config.certificate,
                                      "could not load certificate", ec));
  }
  if (ctx->use_private_key_file(config.private_key, asio::ssl::context::pem,
                                ec);
      ec) {
    return Error("I/O error", Failure(config.private_key,
                                      "could not load private key", ec));
  }
  if (ctx->load_verify_file(config.ca_cert, ec); ec) {
    return Error("I/O error", Failure(config.ca_cert,
                                      "could not load CA certificate", ec));
  }
  ctx->set_verify_mode(asio::ssl::verify_peer |
                       asio::ssl::verify_fail_if_no_peer_cert);
  return ctx;
}

std::string TcpName(const char* prefix, const asio::ip::tcp::endpoint& ep) {
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return std::string(prefix) + ":" + host + ":" + std::to_string(ep.port());
}

// State shared between a listener and its pending accept handlers, so
// that destroying the Listener never leaves a handler with a dangling
// pointer.
template <class Acceptor>
struct ListenCore {
  ListenCore(EventLoop& l, Acceptor a) : loop(l), acceptor(std::move(a)) {}
  EventLoop& loop;                   // Owner of every callback.
  Acceptor acceptor;                 // Listening socket.
  Listener::AcceptHandler on_accept; // Upcall per session.
  SessionOptions options;            // For accepted sessions.
  SslContextPtr ssl;                 // pssl: only.
  std::string name;                  // Bound name.
  uint64_t n_accepted = 0;           // For "unix#N" names.
  bool closed = false;               // Listener destroyed.
};

using UnixCore = ListenCore<asio::local::stream_protocol::acceptor>;
using TcpCore = ListenCore<asio::ip::tcp::acceptor>;

void AcceptUnix(std::shared_ptr<UnixCore> core) {
  core->acceptor.async_accept(
      [core](const std::error_code& ec, UnixSocket socket) {
        if (core->closed) return;
        if (!ec) {
          auto s = std::make_shared<Session>(
              core->loop,
              std::make_unique<StreamTransport<UnixSocket>>(std::move(socket)),
              "unix#" + std::to_string(++core->n_accepted), core->options);
          core->on_accept(std::move(s));
        }
        AcceptUnix(core);
      });
}

void HandshakeServer(std::shared_ptr<TcpCore> core, TcpSocket socket,
                     std::string name) {
  auto stream = std::make_shared<SslStream>(std::move(socket), *core->ssl);
  stream->async_handshake(
      asio::ssl::stream_base::server,
      [core, stream, name](const std::error_code& ec) {
        if (core->closed || ec) return;  // A failed handshake is dropped.
        auto s = std::make_shared<Session>(
            core->loop,
            std::make_unique<StreamTransport<SslStream>>(std::move(*stream),
                                                         core->ssl),
            name, core->options);
        core->on_accept(std::move(s));
      });
}

void AcceptTcp(std::shared_ptr<TcpCore> core) {
  core->acceptor.async_accept([core](const std::error_code& ec,
                                     TcpSocket socket) {
    if (core->closed) return;
    if (!ec) {
      std::error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      auto peer = socket.remote_endpoint(ignored);
      if (core->ssl) {
        HandshakeServer(core, std::move(socket), TcpName("ssl", peer));
      } else {
        auto s = std::make_shared<Session>(
            core->loop,
            std::make_unique<StreamTransport<TcpSocket>>(std::move(socket)),
            TcpName("tcp", peer), core->options);
        core->on_accept(std::move(s));
      }
    }
    AcceptTcp(core);
  });
}

class UnixListener final : public Listener {
 public:
  explicit UnixListener(std::shared_ptr<UnixCore> core, std::string path)
      : core_(std::move(core)), path_(std::move(path)) {}
  ~UnixListener() override {
    core_->closed = true;
    std::error_code ignored;
    core_->acceptor.close(ignored);
    unlink(path_.c_str());
  }
  std::string name() const override { return core_->name; }
  uint16_t port() const override { return 0; }

 private:
  std::shared_ptr<UnixCore> core_;  // Shared with the accept handler.
  std::string path_;                // Socket file to remove.
};

class TcpListener final : public Listener {
 public:
  explicit TcpListener(std::shared_ptr<TcpCore> core) : core_(std::move(core)) {}
  ~TcpListener() override {
    core_->closed = true;
    std::error_code ignored;
    core_->acceptor.close(ignored);
  }
  std::string name() const override { return core_->name; }
  uint16_t port() const override {
    std::error_code ignored;
    return core_->acceptor.local_endpoint(ignored).port();
  }

 private:
  std::shared_ptr<TcpCore> core_;  // Shared with the accept handler.
};

Result<std::unique_ptr<Listener>> ListenUnix(EventLoop& loop,
                                             const StreamAddress& a,
                                             const SessionOptions& options,
                                             Listener::AcceptHandler on_accept) {
  struct stat st;
  if (lstat(a.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    unlink(a.path.c_str());
  }
  asio::local::stream_protocol::acceptor acceptor(IoContext(loop));
  std::error_code ec;
  std::string name = a.ToString();
  if (a.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return Error("I/O error", name + ": socket path too long");
  }
  asio::local::stream_protocol::endpoint ep(a.path);
  if (acceptor.open(ep.protocol(), ec); ec) {
    return Error("I/O error", Failure(name, "socket failed", ec));
  }
  if (acceptor.bind(ep, ec); ec) {
    return Error("I/O error", Failure(name, "bind failed", ec));
  }
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Error("I/O error", Failure(name, "listen failed", ec));
  }
  auto core = std::make_shared<UnixCore>(loop, std::move(acceptor));
  core->on_accept = std::move(on_accept);
  core->options = options;
  core->name = name;
  AcceptUnix(core);
  return std::unique_ptr<Listener>(new UnixListener(core, a.path));
}

Result<std::unique_ptr<Listener>> ListenTcp(EventLoop& loop,
                                            const StreamAddress& a,
                                            SslContextPtr ssl,
                                            const SessionOptions& options,
                                            Listener::AcceptHandler on_accept) {
  std::error_code ec;
  asio::ip::tcp::endpoint ep(asio::ip::make_address(a.host, ec), a.port);
  std::string name = a.ToString();
  if (ec) return Error("usage", Failure(name, "bad IP address", ec));
  asio::ip::tcp::acceptor acceptor(IoContext(loop));
  if (acceptor.open(ep.protocol(), ec); ec) {
    return Error("I/O error", Failure(name, "socket failed", ec));
  }
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (acceptor.bind(ep, ec); ec) {
    return Error("I/O error", Failure(name, "bind failed", ec));
  }
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Error("I/O error", Failure(name, "listen failed", ec));
  }
  auto core = std::make_shared<TcpCore>(loop, std::move(acceptor));
  core->on_accept = std::move(on_accept);
  core->options = options;
  core->ssl = std::move(ssl);
  StreamAddress bound = a;
  bound.port = core->acceptor.local_endpoint(ec).port();
  core->name = bound.ToString();
  AcceptTcp(core);
  return std::unique_ptr<Listener>(new TcpListener(core));
}

using ConnectDone = std::function<void(Result<std::shared_ptr<Session>>)>;

void ConnectUnix(EventLoop& loop, const StreamAddress& a,
                 const SessionOptions& options, ConnectDone done) {
  auto socket = std::make_shared<UnixSocket>(IoContext(loop));
  std::string name = a.ToString();
  if (a.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    loop.Post([done, name]() {
      done(Error("I/O error", name + ": socket path too long"));
    });
    return;
  }
  socket->async_connect(
      asio::local::stream_protocol::endpoint(a.path),
      [&loop, socket, name, options, done](const std::error_code& ec) {
        if (ec) {
          done(Error("I/O error", Failure(name, "connection attempt failed", ec)));
          return;
        }
        done(std::make_shared<Session>(
            loop, std::make_unique<StreamTransport<UnixSocket>>(std::move(*socket)),
            name, options));
      });
}

void ConnectTcp(EventLoop& loop, const StreamAddress& a, SslContextPtr ssl,
                const SessionOptions& options, ConnectDone done) {
  auto socket = std::make_shared<TcpSocket>(IoContext(loop));
  std::string name = a.ToString();
  std::error_code ec;
  asio::ip::tcp::endpoint ep(asio::ip::make_address(a.host, ec), a.port);
  socket->async_connect(ep, [&loop, socket, ssl, name, options,
                             done](const std::error_code& ec) {
    if (ec) {
      done(Error("I/O error", Failure(name, "connection attempt failed", ec)));
      return;
    }
    std::error_code ignored;
    socket->set_option(asio::ip::tcp::no_delay(true), ignored);
    if (!ssl) {
      done(std::make_shared<Session>(
          loop, std::make_unique<StreamTransport<TcpSocket>>(std::move(*socket)),
          name, options));
      return;
    }
    auto stream = std::make_shared<SslStream>(std::move(*socket), *ssl);
    stream->async_handshake(
        asio::ssl::stream_base::client,
        [&loop, stream, ssl, name, options, done](const std::error_code& ec) {
          if (ec) {
            done(Error("I/O error", Failure(name, "SSL handshake failed", ec)));
            return;
          }
          done(std::make_shared<Session>(
              loop,
              std::make_unique<StreamTransport<SslStream>>(std::move(*stream), ssl),
              name, options));
        });
  });
}

}  // namespace

Listener::~Listener() = default;

Result<std::unique_ptr<Listener>> Listener::Create(
    EventLoop& loop, std::string_view name, const SslConfig& ssl,
    const SessionOptions& options, AcceptHandler on_accept) {
  Result<StreamAddress> a = ParseStreamAddress(name);
  if (!a.ok()) return a.error();
  if (!a->passive) {
    return Error("usage", std::string(name) +
                              ": not a passive stream (punix:, ptcp:, pssl:)");
  }
  if (a->kind == StreamKind::kUnix) {
    return ListenUnix(loop, *a, options, std::move(on_accept));
  }
  SslContextPtr ctx;
  if (a->kind == StreamKind::kSsl) {
    Result<SslContextPtr> c = MakeSslContext(ssl);
    if (!c.ok()) return c.error();
    ctx = *c;
  }
  return ListenTcp(loop, *a, std::move(ctx), options, std::move(on_accept));
}

void AsyncConnect(EventLoop& loop, std::string_view name, const SslConfig& ssl,
                  const SessionOptions& options, ConnectDone done) {
  Result<StreamAddress> a = ParseStreamAddress(name);
  Status error;
  if (!a.ok()) {
    error = a.error();
  } else if (a->passive) {
    error = Error("usage", std::string(name) +
                               ": not an active stream (unix:, tcp:, ssl:)");
  }
  if (!error.ok()) {
    loop.Post([done, error]() { done(error.error()); });
    return;
  }
  if (a->kind == StreamKind::kUnix) {
    ConnectUnix(loop, *a, options, std::move(done));
    return;
  }
  SslContextPtr ctx;
  if (a->kind == StreamKind::kSsl) {
    Result<SslContextPtr> c = MakeSslContext(ssl);
    if (!c.ok()) {
      loop.Post([done, e = c.error()]() { done(e); });
      return;
    }
    ctx = *c;
  }
  ConnectTcp(loop, *a, std::move(ctx), options, std::move(done));
}

}  // namespace spate::common
