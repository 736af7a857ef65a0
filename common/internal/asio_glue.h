// PRIVATE to common/: the only header that includes Asio.  Included by
// common's own .cc files (event_loop.cc, jsonrpc_session.cc,
// jsonrpc_stream.cc), never by a public header, so no other translation
// unit pays for Asio's compile time.
//
// It defines EventLoop::Impl (the io_context) and Transport, the byte
// stream under a Session, implemented for unix sockets, TCP sockets and
// SSL streams.
#ifndef SPATE_COMMON_INTERNAL_ASIO_GLUE_H
#define SPATE_COMMON_INTERNAL_ASIO_GLUE_H

#include <asio.hpp>
#include <asio/ssl.hpp>

#include <functional>
#include <memory>
#include <system_error>
#include <type_traits>
#include <vector>

#include "common/event_loop.h"

namespace spate::common {

// Calls `fn` for each delivery of the set's signals until destroyed.
struct SignalWatcher {
  SignalWatcher(asio::io_context& io, std::function<void(int)> f)
      : set(io), fn(std::move(f)) {}
  void Arm() {
    set.async_wait([this](const std::error_code& ec, int signal) {
      if (ec) return;
      fn(signal);
      Arm();
    });
  }
  asio::signal_set set;          // The signals watched.
  std::function<void(int)> fn;   // Called on the loop thread.
};

struct EventLoop::Impl {
  asio::io_context io{1};  // Concurrency hint 1: one thread runs it.
  asio::executor_work_guard<asio::io_context::executor_type> work{
      io.get_executor()};  // Keeps Run() going while idle.
  std::vector<std::unique_ptr<SignalWatcher>> signals;  // OnSignals().
};

inline asio::io_context& IoContext(EventLoop& loop) { return loop.impl().io; }

using IoHandler = std::function<void(const std::error_code&, size_t)>;

// The byte stream under a Session.
class Transport {
 public:
  virtual ~Transport() = default;
  // Reads at least one byte into [data, data + size).
  virtual void AsyncReadSome(char* data, size_t size, IoHandler handler) = 0;
  // Writes all of [data, data + size).
  virtual void AsyncWrite(const char* data, size_t size, IoHandler handler) = 0;
  // Writes what the stream takes now of [data, data + size) without
  // blocking and returns the byte count (0: would block).  Streams that
  // cannot write synchronously (SSL) return 0 and leave `ec` clear, so the
  // caller falls back to AsyncWrite.  Sets `ec` on an I/O error.
  virtual size_t TryWrite(const char* data, size_t size, std::error_code& ec) = 0;
  // The socket descriptor of a plain (unix or tcp) stream, for writes made
  // beside the transport (Session::BatchSocket); -1 for SSL or when closed.
  virtual int PlainSocket() = 0;
  // Closes the stream; pending operations complete with an error.
  virtual void Close() = 0;
};

// A Transport over any Asio stream (socket or ssl::stream).  `Keep` holds
// what the stream depends on (the SSL context).
template <class Stream>
class StreamTransport final : public Transport {
 public:
  StreamTransport(Stream stream, std::shared_ptr<void> keep = nullptr)
      : stream_(std::move(stream)), keep_(std::move(keep)) {}

  void AsyncReadSome(char* data, size_t size, IoHandler handler) override {
    stream_.async_read_some(asio::buffer(data, size), std::move(handler));
  }
  void AsyncWrite(const char* data, size_t size, IoHandler handler) override {
    asio::async_write(stream_, asio::buffer(data, size), std::move(handler));
  }
  size_t TryWrite(const char* data, size_t size, std::error_code& ec) override {
    ec.clear();
    if constexpr (std::is_same_v<Stream, asio::ssl::stream<asio::ip::tcp::socket>>) {
      return 0;  // SSL records are written through AsyncWrite only.
    } else {
      if (!non_blocking_) {
        stream_.non_blocking(true, ec);
        if (ec) return 0;
        non_blocking_ = true;
      }
      size_t n = stream_.write_some(asio::buffer(data, size), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) ec.clear();
      return ec ? 0 : n;
    }
  }
  int PlainSocket() override {
    if constexpr (std::is_same_v<Stream, asio::ssl::stream<asio::ip::tcp::socket>>) {
      return -1;
    } else {
      return stream_.is_open() ? stream_.native_handle() : -1;
    }
  }
  void Close() override {
    std::error_code ignored;
    auto& lowest = stream_.lowest_layer();
    lowest.shutdown(asio::socket_base::shutdown_both, ignored);
    lowest.close(ignored);
  }

 private:
  Stream stream_;               // The socket or SSL stream.
  std::shared_ptr<void> keep_;  // Keeps the SSL context alive.
  bool non_blocking_ = false;   // Socket set non-blocking (TryWrite).
};

using UnixSocket = asio::local::stream_protocol::socket;
using TcpSocket = asio::ip::tcp::socket;
using SslStream = asio::ssl::stream<asio::ip::tcp::socket>;

}  // namespace spate::common

#endif  // SPATE_COMMON_INTERNAL_ASIO_GLUE_H
