// Asynchronous JSON-RPC sessions over unix, tcp and ssl streams: Session
// (one connection), Listener (accepts them), ReconnectingSession (an
// active connection that comes back after failures) and AsyncConnect.
//
// Design
//   Everything runs on one EventLoop thread.  A Session reads into a
//   64 KiB buffer, splits it with JsonRpcReader and calls the message
//   handler for each message, in order.  Sends append serialized text to
//   one pending buffer; a single write is in flight at a time, and all the
//   text that accumulated while it ran goes out in the next write, so a
//   burst of replies or updates costs one syscall (write coalescing).
//   Replies produced while a read chunk is being dispatched are flushed
//   once after the whole chunk.  A flush first tries one non-blocking
//   write (plain sockets) and starts an asynchronous write only for what
//   the socket did not take.  SendText() takes pre-serialized JSON so a
//   server can encode one update once and send it to many sessions.
//
//   Inactivity probe (as Open vSwitch's reconnect/jsonrpc_session): after
//   probe_interval of receiving nothing, the session sends
//   {"method":"echo","params":[],"id":"echo"}; if another interval passes
//   with nothing received, it closes with an error.  Echo requests from
//   the peer are answered automatically (result = the request's params)
//   and replies to our own echo are swallowed: neither reaches the
//   handler.
//
//   Backlog: when the bytes queued for sending exceed max_backlog_bytes
//   (if non-zero), the session closes with an error, so one slow client
//   cannot make a server buffer without bound.
//
//   Lifetime: Sessions are shared_ptr-owned.  The owner keeps one until
//   the close handler runs; pending I/O holds another, so a Session is
//   destroyed only after its last callback.  Handlers are never called
//   re-entrantly from Send() or Close().
//
// Thread-safety
//   Single-threaded: every function here must be called on the thread
//   running the EventLoop (or before it runs).
#ifndef SPATE_COMMON_JSONRPC_SESSION_H
#define SPATE_COMMON_JSONRPC_SESSION_H

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_loop.h"
#include "common/jsonrpc.h"
#include "common/result.h"
#include "common/stream.h"

namespace spate::common {

// Tunables for one session.
struct SessionOptions {
  size_t max_message_bytes = JsonRpcReader::kDefaultMaxMessageBytes;  // In.
  size_t max_backlog_bytes = 0;  // Queued output limit; 0 = unlimited.
  std::chrono::milliseconds probe_interval{0};  // Inactivity probe; 0 = off.
};

class Transport;  // Defined in common/internal/asio_glue.h.

class Session : public std::enable_shared_from_this<Session> {
 public:
  // Called for each message received (except echo traffic).
  using MessageHandler = std::function<void(Session&, Message&&)>;
  // Called once when the session ends: Ok for a clean end of stream or a
  // local Close(), else why (protocol error, I/O error, probe timeout,
  // backlog).
  using CloseHandler = std::function<void(Session&, const Status&)>;

  // Created by Listener and AsyncConnect, not directly.
  Session(EventLoop& loop, std::unique_ptr<Transport> transport,
          std::string name, const SessionOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Installs the handlers and starts reading.  Call once.
  void Start(MessageHandler on_message, CloseHandler on_close);

  // Queues `message` for sending.  Ignored after close.
  void Send(const Message& message);
  // Queues one pre-serialized JSON text (a complete message).
  void SendText(std::string_view json_text);
  // Like SendText, but when nothing is queued or being written, writes the
  // text at once with one non-blocking write (no copy, no posted flush);
  // only what the socket does not take is queued.  For SSL streams it is
  // SendText.  A write error closes the session (handler posted).
  void SendTextNow(std::string_view json_text);
  // Batched writes beside the session (a server's fan-out, one system
  // call for many sessions; see ovsdb/batch_writer.h).  The socket
  // descriptor when the session is open, a plain socket and idle (nothing
  // queued or being written, no flush waiters), else -1.  A caller that
  // gets a descriptor writes one text to it (non-blocking) and reports the
  // outcome with FinishBatchWrite before anything else is sent on this
  // session.
  int BatchSocket() const;
  // The outcome of writing `json_text` (one or more complete messages) to
  // BatchSocket(): `result` bytes taken (>= 0) or -errno.  What was not
  // taken is queued and flushed as usual (-EAGAIN: all of it); another
  // error closes the session (close handler posted).  Counts as one send.
  void FinishBatchWrite(std::string_view json_text, int64_t result);
  // Closes now, dropping unsent output; the close handler runs (posted)
  // with Ok.  Idempotent.
  void Close();
  // Runs `fn` (posted) once everything queued so far has been written, or
  // when the session closes.
  void WhenFlushed(std::function<void()> fn);

  // Changes the inactivity probe interval (0 disables).
  void SetProbeInterval(std::chrono::milliseconds interval);

  bool is_open() const { return open_; }
  // "unix#N", "tcp:IP:PORT" or "ssl:IP:PORT" of the peer.
  const std::string& name() const { return name_; }
  // Bytes queued and not yet written.
  size_t backlog_bytes() const { return pending_.size() + inflight_.size(); }
  uint64_t n_received() const { return n_received_; }  // Messages in.
  uint64_t n_sent() const { return n_sent_; }          // Messages out.

 private:
  void StartRead();
  void OnRead(size_t n_bytes);
  void Dispatch(Message&& message);
  void ScheduleFlush();
  void Flush();
  void OnWritten();
  void CheckBacklog();
  void ArmProbe();
  void OnProbeTimer();
  void Fail(Status reason);
  void RunFlushWaiters();

  EventLoop& loop_;                          // Runs every callback.
  std::unique_ptr<Transport> transport_;     // The stream.
  std::string name_;                         // Peer name for messages.
  SessionOptions options_;                   // Limits and probe.
  JsonRpcReader reader_;                     // Splits input.
  std::vector<char> read_buffer_;            // Target of reads.
  std::string pending_;                      // Serialized, not yet written.
  std::string inflight_;                     // Being written.
  MessageHandler on_message_;                // Upcall per message.
  CloseHandler on_close_;                    // Upcall on close.
  std::vector<std::function<void()>> flush_waiters_;  // WhenFlushed().
  Timer probe_timer_;                        // Inactivity probe.
  std::chrono::steady_clock::time_point last_rx_;  // Last byte received.
  bool probe_sent_ = false;                  // Echo outstanding.
  bool open_ = true;                         // Not yet closed.
  bool writing_ = false;                     // A write is in flight.
  bool flush_posted_ = false;                // A Flush() is queued.
  bool dispatching_ = false;                 // Inside OnRead's loop.
  uint64_t n_received_ = 0;                  // Messages received.
  uint64_t n_sent_ = 0;                      // Messages queued.
};

// Accepts connections on a passive stream (punix:, ptcp:, pssl:).
class Listener {
 public:
  // Receives each accepted session, not yet started: call Start() on it.
  using AcceptHandler = std::function<void(std::shared_ptr<Session>)>;

  // Binds and listens on `name` (a passive stream name).  For punix: an
  // existing socket file is replaced, and removed again on destruction.
  // `ssl` is required for pssl:.  Errors: bad name, bind/listen failure
  // ("ptcp:6640:127.0.0.1: bind failed: Address already in use"), bad SSL
  // files.
  [[nodiscard]] static Result<std::unique_ptr<Listener>> Create(
      EventLoop& loop, std::string_view name, const SslConfig& ssl,
      const SessionOptions& options, AcceptHandler on_accept);
  virtual ~Listener();

  // The stream name actually bound (with the real port for ptcp:0).
  virtual std::string name() const = 0;
  // The bound TCP port, or 0 for unix sockets.
  virtual uint16_t port() const = 0;

 protected:
  Listener() = default;
};

// One connection attempt to an active stream name (unix:, tcp:, ssl:),
// with the SSL handshake for ssl:.  `done` runs on the loop thread with the
// connected (not yet started) session or an error such as
// "unix:/x.sock: connection attempt failed (No such file or directory)".
void AsyncConnect(EventLoop& loop, std::string_view name, const SslConfig& ssl,
                  const SessionOptions& options,
                  std::function<void(Result<std::shared_ptr<Session>>)> done);

// An active connection that reconnects with exponential backoff, trying
// the remotes in turn (like Open vSwitch's jsonrpc_session with a remote
// list).
class ReconnectingSession {
 public:
  struct Options {
    std::vector<std::string> remotes;  // Active stream names, tried in turn.
    SslConfig ssl;                     // For ssl: remotes.
    SessionOptions session;            // Per-connection options.
    std::chrono::milliseconds min_backoff{1000};  // First retry delay.
    std::chrono::milliseconds max_backoff{8000};  // Delay cap.
  };
  struct Callbacks {
    std::function<void(Session&)> on_connected;             // Now usable.
    Session::MessageHandler on_message;                     // Each message.
    std::function<void(const Status&)> on_disconnected;     // Lost or failed.
  };

  ReconnectingSession(EventLoop& loop, Options options, Callbacks callbacks);
  ~ReconnectingSession();  // Closes the connection; no callbacks after.

  // Starts connecting.  Call once.
  void Start();
  // The connected session, or nullptr while (re)connecting.
  Session* session() const { return session_.get(); }
  // Sends if connected; false (message dropped) otherwise.
  bool Send(const Message& message);
  // Drops the current connection and reconnects at once (next remote).
  void ForceReconnect();
  // Connections made so far.
  uint64_t n_connects() const { return n_connects_; }

 private:
  void Connect();
  void OnConnectDone(Result<std::shared_ptr<Session>> result);
  void OnClosed(const Status& reason);
  void Backoff();

  EventLoop& loop_;                    // Runs everything.
  Options options_;                    // Remotes, backoff.
  Callbacks callbacks_;                // Upcalls.
  std::shared_ptr<Session> session_;   // Current connection.
  std::shared_ptr<bool> alive_;        // Cleared on destruction.
  Timer retry_timer_;                  // Backoff delay.
  std::chrono::milliseconds backoff_;  // Next delay.
  size_t next_remote_ = 0;             // Index into remotes.
  uint64_t n_connects_ = 0;            // Successful connections.
};

}  // namespace spate::common

#endif  // SPATE_COMMON_JSONRPC_SESSION_H
