// BlockingClient: a synchronous JSON-RPC client for command-line tools
// (ovs-appctl, ovsdb-client, ovn-nbctl).
//
// Design
//   Owns a private EventLoop and one Session, and runs the loop only while
//   a call waits, so a tool reads top to bottom: Connect(), Transact(),
//   print.  Echo requests from the server are answered by the Session even
//   while the tool waits.  Messages that are not the awaited reply
//   (notifications such as "update", server requests other than echo)
//   go to the notification handler if one is set, else into a queue that
//   Receive() drains; replies to other ids are dropped.
//
// Thread-safety
//   One thread uses a BlockingClient.  Do not create one inside a running
//   EventLoop callback (it runs its own loop).
#ifndef SPATE_COMMON_JSONRPC_CLIENT_H
#define SPATE_COMMON_JSONRPC_CLIENT_H

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/event_loop.h"
#include "common/jsonrpc.h"
#include "common/jsonrpc_session.h"
#include "common/result.h"
#include "common/stream.h"

namespace spate::common {

class BlockingClient {
 public:
  // A timeout long enough to mean "wait forever".
  static constexpr std::chrono::milliseconds kForever{
      std::chrono::hours(24 * 365)};

  // Connects to an active stream name (unix:PATH, tcp:IP:PORT, ssl:...).
  // Errors (tag "I/O error"): unreachable ("unix:/x: connection attempt
  // failed (No such file or directory)"), timeout, bad name or SSL files.
  [[nodiscard]] static Result<std::unique_ptr<BlockingClient>> Connect(
      std::string_view name, const SslConfig& ssl,
      std::chrono::milliseconds timeout, const SessionOptions& options = {});
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  // Sends a request with a fresh integer id and waits for the reply with
  // that id.  Returns the reply or error-reply Message (check .type).
  // Errors: the connection closed or failed first, or `timeout` passed.
  [[nodiscard]] Result<Message> Transact(std::string method,
                                         nlohmann::json params,
                                         std::chrono::milliseconds timeout = kForever);
  // Same, for a request built by the caller (its id is used as is).
  [[nodiscard]] Result<Message> TransactMessage(
      const Message& request, std::chrono::milliseconds timeout = kForever);
  // Sends without waiting (notifications, replies to server requests).
  void Send(const Message& message);
  // Waits for the next message that is not a reply to a Transact.
  // Errors: connection closed, timeout.
  [[nodiscard]] Result<Message> Receive(
      std::chrono::milliseconds timeout = kForever);
  // Routes unsolicited messages to `handler` instead of Receive()'s queue.
  void SetNotificationHandler(std::function<void(Message&&)> handler);

  // False once the connection has closed.
  bool is_open() const;
  // The remote's name as given to Connect().
  const std::string& name() const { return name_; }

 private:
  BlockingClient() = default;
  void OnMessage(Message&& message);

  std::unique_ptr<EventLoop> loop_;          // Private loop.
  std::shared_ptr<Session> session_;         // The connection.
  std::string name_;                         // Remote name.
  std::deque<Message> inbox_;                // Unsolicited messages.
  std::function<void(Message&&)> on_notification_;  // Optional router.
  nlohmann::json awaited_id_;                // Id Transact waits for.
  std::optional<Message> reply_;             // The awaited reply, once in.
  Status close_reason_;                      // Why the session closed.
  bool closed_ = false;                      // Session ended.
  int64_t next_id_ = 0;                      // Next request id.
};

}  // namespace spate::common

#endif  // SPATE_COMMON_JSONRPC_CLIENT_H
