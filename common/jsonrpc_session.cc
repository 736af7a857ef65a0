// Session and ReconnectingSession: see jsonrpc_session.h.  Listener and
// AsyncConnect are in jsonrpc_stream.cc.
#include "common/jsonrpc_session.h"

#include <cerrno>
#include <cstdio>
#include <system_error>

#include "common/internal/asio_glue.h"

namespace spate::common {
namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;
// A send buffer larger than this is released once written (a burst, such
// as one huge monitor update, must not pin its memory for the session).
constexpr size_t kKeptSendBytes = 1024 * 1024;
// Id of our inactivity probes; replies carrying it are swallowed.
constexpr std::string_view kEchoId = "echo";

Status IoError(const std::string& name, const std::error_code& ec) {
  return Error("I/O error", name + ": " + ec.message());
}

}  // namespace

Session::Session(EventLoop& loop, std::unique_ptr<Transport> transport,
                 std::string name, const SessionOptions& options)
    : loop_(loop),
      transport_(std::move(transport)),
      name_(std::move(name)),
      options_(options),
      reader_(options.max_message_bytes),
      read_buffer_(kReadBufferBytes),
      probe_timer_(loop),
      last_rx_(std::chrono::steady_clock::now()) {}

Session::~Session() = default;

void Session::Start(MessageHandler on_message, CloseHandler on_close) {
  on_message_ = std::move(on_message);
  on_close_ = std::move(on_close);
  StartRead();
  ArmProbe();
}

void Session::StartRead() {
  transport_->AsyncReadSome(
      read_buffer_.data(), read_buffer_.size(),
      [self = shared_from_this()](const std::error_code& ec, size_t n) {
        if (!self->open_) return;
        if (ec) {
          // A peer closing an SSL stream without close_notify is treated
          // as a plain end of stream, as Open vSwitch does.
          bool eof = ec == asio::error::eof ||
                     ec == asio::ssl::error::stream_truncated;
          self->Fail(eof ? Status::Ok() : IoError(self->name_, ec));
          return;
        }
        self->OnRead(n);
      });
}

void Session::OnRead(size_t n_bytes) {
  last_rx_ = std::chrono::steady_clock::now();
  probe_sent_ = false;
  dispatching_ = true;
  Status s = reader_.Feed(
      std::string_view(read_buffer_.data(), n_bytes), [this](Message&& m) {
        Dispatch(std::move(m));
        return open_;
      });
  dispatching_ = false;
  if (!open_) return;
  if (!s.ok()) {
    Fail(Error(s.error().tag(), name_ + ": " + s.error().details()));
    return;
  }
  if (!pending_.empty() && !writing_) Flush();
  if (open_) StartRead();
}

void Session::Dispatch(Message&& m) {
  n_received_++;
  if (m.type == MessageType::kRequest && m.method == "echo") {
    Send(Message::Reply(std::move(m.params), std::move(m.id)));
    return;
  }
  if ((m.type == MessageType::kReply || m.type == MessageType::kError) &&
      m.id.is_string() && m.id.get_ref<const std::string&>() == kEchoId) {
    return;
  }
  if (on_message_) on_message_(*this, std::move(m));
}

void Session::Send(const Message& message) {
  if (!open_) return;
  message.AppendTo(pending_);
  n_sent_++;
  ScheduleFlush();
}

void Session::SendText(std::string_view json_text) {
  if (!open_) return;
  pending_.append(json_text);
  n_sent_++;
  ScheduleFlush();
}

void Session::SendTextNow(std::string_view json_text) {
  if (!open_) return;
  if (writing_ || !pending_.empty() || !flush_waiters_.empty()) {
    SendText(json_text);  // Behind what is queued, in order.
    return;
  }
  n_sent_++;
  std::error_code ec;
  size_t n = transport_->TryWrite(json_text.data(), json_text.size(), ec);
  if (ec) {
    Fail(IoError(name_, ec));
    return;
  }
  if (n == json_text.size()) return;
  pending_.append(json_text.substr(n));
  ScheduleFlush();
}

int Session::BatchSocket() const {
  if (!open_ || writing_ || !pending_.empty() || !flush_waiters_.empty()) return -1;
  return transport_->PlainSocket();
}

void Session::FinishBatchWrite(std::string_view json_text, int64_t result) {
  if (!open_) return;
  n_sent_++;
  if (result < 0 && result != -EAGAIN && result != -EWOULDBLOCK) {
    Fail(IoError(name_, std::error_code(static_cast<int>(-result), std::system_category())));
    return;
  }
  size_t n = result < 0 ? 0 : static_cast<size_t>(result);
  if (n >= json_text.size()) return;
  pending_.append(json_text.substr(n));
  ScheduleFlush();
}

void Session::ScheduleFlush() {
  CheckBacklog();
  if (!open_ || writing_ || dispatching_ || flush_posted_) return;
  flush_posted_ = true;
  loop_.Post([self = shared_from_this()]() {
    self->flush_posted_ = false;
    if (self->open_ && !self->writing_) self->Flush();
  });
}

void Session::Flush() {
  if (pending_.empty()) {
    RunFlushWaiters();
    return;
  }
  // Most writes complete at once: no asynchronous operation, no copy.
  std::error_code ec;
  size_t n = transport_->TryWrite(pending_.data(), pending_.size(), ec);
  if (ec) {
    Fail(IoError(name_, ec));
    return;
  }
  if (n == pending_.size()) {
    pending_.clear();
    RunFlushWaiters();
    return;
  }
  writing_ = true;
  inflight_.swap(pending_);
  transport_->AsyncWrite(
      inflight_.data() + n, inflight_.size() - n,
      [self = shared_from_this()](const std::error_code& error, size_t) {
        self->writing_ = false;
        if (!self->open_) return;
        if (error) {
          self->Fail(IoError(self->name_, error));
          return;
        }
        self->OnWritten();
      });
}

void Session::OnWritten() {
  inflight_.clear();
  if (inflight_.capacity() > kKeptSendBytes) std::string().swap(inflight_);
  // Keep the larger buffer's capacity for the next round of appends.
  if (pending_.empty()) {
    pending_.swap(inflight_);
    RunFlushWaiters();
  } else {
    Flush();
  }
}

void Session::CheckBacklog() {
  if (options_.max_backlog_bytes != 0 &&
      backlog_bytes() > options_.max_backlog_bytes) {
    Fail(Error("I/O error", name_ + ": send backlog of " +
                                std::to_string(backlog_bytes()) +
                                " bytes exceeds limit of " +
                                std::to_string(options_.max_backlog_bytes)));
  }
}

void Session::WhenFlushed(std::function<void()> fn) {
  flush_waiters_.push_back(std::move(fn));
  if (!open_ || (!writing_ && pending_.empty())) {
    loop_.Post([self = shared_from_this()]() { self->RunFlushWaiters(); });
  } else {
    ScheduleFlush();
  }
}

void Session::RunFlushWaiters() {
  if (open_ && (writing_ || !pending_.empty())) return;
  std::vector<std::function<void()>> waiters;
  waiters.swap(flush_waiters_);
  for (auto& fn : waiters) fn();
}

void Session::SetProbeInterval(std::chrono::milliseconds interval) {
  options_.probe_interval = interval;
  probe_sent_ = false;
  last_rx_ = std::chrono::steady_clock::now();
  ArmProbe();
}

void Session::ArmProbe() {
  if (!open_ || options_.probe_interval.count() <= 0) {
    probe_timer_.Cancel();
    return;
  }
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - last_rx_);
  auto delay = options_.probe_interval - elapsed;
  if (delay.count() < 1) delay = std::chrono::milliseconds(1);
  std::weak_ptr<Session> weak = weak_from_this();
  probe_timer_.Start(delay, [weak]() {
    if (auto self = weak.lock()) self->OnProbeTimer();
  });
}

void Session::OnProbeTimer() {
  if (!open_) return;
  auto idle = std::chrono::steady_clock::now() - last_rx_;
  if (idle < options_.probe_interval) {
    ArmProbe();
    return;
  }
  if (probe_sent_) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3g",
                  options_.probe_interval.count() / 1000.0);
    Fail(Error("I/O error", name_ + ": no response to inactivity probe after " +
                                secs + " seconds, disconnecting"));
    return;
  }
  Send(Message::Request("echo", nlohmann::json::array(),
                        std::string(kEchoId)));
  probe_sent_ = true;
  last_rx_ = std::chrono::steady_clock::now();  // Wait one more interval.
  ArmProbe();
}

void Session::Close() { Fail(Status::Ok()); }

void Session::Fail(Status reason) {
  if (!open_) return;
  open_ = false;
  probe_timer_.Cancel();
  transport_->Close();
  loop_.Post([self = shared_from_this(), reason = std::move(reason)]() {
    self->RunFlushWaiters();
    CloseHandler on_close = std::move(self->on_close_);
    self->on_message_ = nullptr;
    if (on_close) on_close(*self, reason);
  });
}

// ------------------------------------------------------------ reconnecting

ReconnectingSession::ReconnectingSession(EventLoop& loop, Options options,
                                         Callbacks callbacks)
    : loop_(loop),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      alive_(std::make_shared<bool>(true)),
      retry_timer_(loop),
      backoff_(options_.min_backoff) {}

ReconnectingSession::~ReconnectingSession() {
  *alive_ = false;
  if (session_) session_->Close();
}

void ReconnectingSession::Start() { Connect(); }

void ReconnectingSession::Connect() {
  if (options_.remotes.empty()) {
    if (callbacks_.on_disconnected) {
      callbacks_.on_disconnected(Error("usage", "no remote configured"));
    }
    return;
  }
  const std::string& remote =
      options_.remotes[next_remote_ % options_.remotes.size()];
  std::weak_ptr<bool> alive = alive_;
  AsyncConnect(loop_, remote, options_.ssl, options_.session,
               [this, alive](Result<std::shared_ptr<Session>> r) {
                 auto a = alive.lock();
                 if (!a || !*a) {
                   if (r.ok()) (*r)->Close();
                   return;
                 }
                 OnConnectDone(std::move(r));
               });
}

void ReconnectingSession::OnConnectDone(Result<std::shared_ptr<Session>> r) {
  if (!r.ok()) {
    if (callbacks_.on_disconnected) callbacks_.on_disconnected(r.error());
    next_remote_++;
    Backoff();
    return;
  }
  session_ = std::move(r).value();
  n_connects_++;
  backoff_ = options_.min_backoff;
  std::weak_ptr<bool> alive = alive_;
  session_->Start(
      [this, alive](Session& s, Message&& m) {
        if (alive.lock() && callbacks_.on_message) {
          callbacks_.on_message(s, std::move(m));
        }
      },
      [this, alive](Session& s, const Status& reason) {
        auto a = alive.lock();
        if (!a || !*a || session_.get() != &s) return;
        OnClosed(reason);
      });
  if (callbacks_.on_connected) callbacks_.on_connected(*session_);
}

void ReconnectingSession::OnClosed(const Status& reason) {
  session_.reset();
  if (callbacks_.on_disconnected) {
    callbacks_.on_disconnected(reason.ok() ? Status(Error("I/O error",
                                                          "connection closed"))
                                           : reason);
  }
  Backoff();
}

void ReconnectingSession::Backoff() {
  auto delay = backoff_;
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  retry_timer_.Start(delay, [this]() { Connect(); });
}

bool ReconnectingSession::Send(const Message& message) {
  if (!session_ || !session_->is_open()) return false;
  session_->Send(message);
  return true;
}

void ReconnectingSession::ForceReconnect() {
  retry_timer_.Cancel();
  if (session_) {
    std::shared_ptr<Session> old = std::move(session_);
    old->Close();
  }
  next_remote_++;
  Connect();
}

}  // namespace spate::common
