// BlockingClient: see jsonrpc_client.h.
#include "common/jsonrpc_client.h"

#include <optional>

namespace spate::common {
namespace {

Status ClosedError(const std::string& name, const Status& reason) {
  if (!reason.ok()) return reason;
  return Error("I/O error", name + ": connection closed by peer");
}

}  // namespace

Result<std::unique_ptr<BlockingClient>> BlockingClient::Connect(
    std::string_view name, const SslConfig& ssl,
    std::chrono::milliseconds timeout, const SessionOptions& options) {
  std::unique_ptr<BlockingClient> c(new BlockingClient());
  c->loop_ = std::make_unique<EventLoop>();
  c->name_ = std::string(name);
  std::optional<Result<std::shared_ptr<Session>>> connected;
  // The flag outlives a timed-out attempt whose callback runs later.
  auto abandoned = std::make_shared<bool>(false);
  AsyncConnect(*c->loop_, name, ssl, options,
               [&connected, abandoned](Result<std::shared_ptr<Session>> r) {
                 if (*abandoned) {
                   if (r.ok()) (*r)->Close();
                   return;
                 }
                 connected = std::move(r);
               });
  if (!c->loop_->RunUntil([&] { return connected.has_value(); }, timeout)) {
    *abandoned = true;
    return Error("I/O error", std::string(name) + ": connection timed out");
  }
  if (!connected->ok()) return connected->error();
  c->session_ = std::move(*connected).value();
  BlockingClient* self = c.get();
  c->session_->Start(
      [self](Session&, Message&& m) { self->OnMessage(std::move(m)); },
      [self](Session&, const Status& reason) {
        self->closed_ = true;
        self->close_reason_ = reason;
      });
  return c;
}

BlockingClient::~BlockingClient() {
  if (session_) {
    session_->Close();
    loop_->Poll();  // Let the close handler run while `this` is alive.
  }
}

void BlockingClient::OnMessage(Message&& m) {
  bool is_reply = m.type == MessageType::kReply || m.type == MessageType::kError;
  if (is_reply) {
    if (!reply_ && m.id == awaited_id_) reply_ = std::move(m);
    return;
  }
  if (on_notification_) {
    on_notification_(std::move(m));
  } else {
    inbox_.push_back(std::move(m));
  }
}


Result<Message> BlockingClient::TransactMessage(
    const Message& request, std::chrono::milliseconds timeout) {
  if (closed_) return ClosedError(name_, close_reason_).error();
  awaited_id_ = request.id;
  reply_.reset();
  session_->Send(request);
  bool done = loop_->RunUntil([&] { return reply_.has_value() || closed_; },
                              timeout);
  awaited_id_ = nullptr;
  if (reply_) {
    Message m = std::move(*reply_);
    reply_.reset();
    return m;
  }
  if (closed_) return ClosedError(name_, close_reason_).error();
  (void)done;
  return Error("I/O error", name_ + ": timed out waiting for a reply to \"" +
                                request.method + "\"");
}

Result<Message> BlockingClient::Transact(std::string method,
                                         nlohmann::json params,
                                         std::chrono::milliseconds timeout) {
  return TransactMessage(
      Message::Request(std::move(method), std::move(params), next_id_++),
      timeout);
}

void BlockingClient::Send(const Message& message) {
  if (!closed_) session_->Send(message);
}

Result<Message> BlockingClient::Receive(std::chrono::milliseconds timeout) {
  loop_->RunUntil([&] { return !inbox_.empty() || closed_; }, timeout);
  if (!inbox_.empty()) {
    Message m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }
  if (closed_) return ClosedError(name_, close_reason_).error();
  return Error("I/O error", name_ + ": timed out waiting for a message");
}

void BlockingClient::SetNotificationHandler(
    std::function<void(Message&&)> handler) {
  on_notification_ = std::move(handler);
}

bool BlockingClient::is_open() const { return !closed_; }

}  // namespace spate::common
