// JSON-RPC 1.0 messages as OVSDB uses them, and the incremental reader
// that splits a byte stream into them.
//
// What
//   RFC 7047 §4 (reference/ovn-2015.md §8.1): a request is
//   {"method": M, "params": [...], "id": ID} with a non-null id, a
//   notification the same with "id": null, a reply {"result": R,
//   "error": null, "id": ID} and an error reply {"result": null,
//   "error": E, "id": ID}.  Messages are concatenated JSON texts with no
//   framing.
//
// Design
//   JsonRpcReader scans each incoming chunk once with a small state machine
//   (object/array depth, inside-string, after-backslash) to find where each
//   top-level text ends, then hands exactly that byte range to nlohmann's
//   parser.  Texts that lie wholly inside one chunk are parsed in place,
//   without copying; only a text split across reads is accumulated in a
//   buffer.  A text larger than the maximum, nesting deeper than
//   kMaxDepth, a top-level value that is not an object, malformed JSON or
//   a valid object that is not a JSON-RPC message put the reader in a
//   permanent error state with a clear message (the connection is then
//   closed, as Open vSwitch does).
//
//   Message::AppendTo() serializes straight into the caller's output
//   buffer (the session's send queue), so a reply costs no intermediate
//   string.
//
// Thread-safety
//   Message is a value type.  A JsonRpcReader is used by one thread.
#ifndef SPATE_COMMON_JSONRPC_H
#define SPATE_COMMON_JSONRPC_H

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace spate::common {

// The four kinds of JSON-RPC 1.0 message.
enum class MessageType { kRequest, kNotification, kReply, kError };

// "request", "notification", "reply", "error".
std::string_view MessageTypeName(MessageType type);

// One JSON-RPC message.  Unused members are null.
struct Message {
  MessageType type = MessageType::kNotification;  // Which kind.
  std::string method;       // Request and notification: the method name.
  nlohmann::json params;    // Request and notification: a JSON array.
  nlohmann::json result;    // Reply: the result.
  nlohmann::json error;     // Error: the error (non-null).
  nlohmann::json id;        // Request, reply, error: the id; else null.

  // Constructors for each kind.  `params` must be an array.
  static Message Request(std::string method, nlohmann::json params,
                         nlohmann::json id);
  static Message Notification(std::string method, nlohmann::json params);
  static Message Reply(nlohmann::json result, nlohmann::json id);
  static Message ErrorReply(nlohmann::json error, nlohmann::json id);

  // Validates a parsed JSON value as a message and moves its members out.
  // Errors ("message is not a JSON object", "\"params\" must be JSON
  // array", "message has unexpected member \"foo\"", ...) carry the tag
  // "protocol error".
  [[nodiscard]] static Result<Message> FromJson(nlohmann::json&& json);

  // Appends the message's JSON text to `out` (compact, no newline).
  // Invalid UTF-8 in strings is replaced, never thrown.
  void AppendTo(std::string& out) const;
  // The JSON text.
  std::string ToString() const;
};

// Appends the compact JSON text of `value` to `out` (no exceptions:
// invalid UTF-8 is replaced by U+FFFD).
void AppendJson(std::string& out, const nlohmann::json& value);

// Splits a byte stream into JSON-RPC messages.
class JsonRpcReader {
 public:
  // Default maximum size of one message (OVS has no limit; 64 MiB keeps
  // a misbehaving peer from exhausting memory while allowing large
  // transactions and schemas).
  static constexpr size_t kDefaultMaxMessageBytes = 64u << 20;
  // Deepest nesting accepted (deeper texts are refused before parsing, so
  // no later recursive walk can overflow the stack).
  static constexpr int kMaxDepth = 1000;

  // Called once per complete message.  Return false to stop consuming
  // the current chunk (the rest of it is discarded; the reader must not
  // be used again).
  using MessageCallback = std::function<bool(Message&&)>;

  explicit JsonRpcReader(size_t max_message_bytes = kDefaultMaxMessageBytes);

  // Consumes `data`, calling `on_message` for each message completed by it.
  // Returns an error (tag "protocol error") on malformed input; after an
  // error every later call returns the same error.
  [[nodiscard]] Status Feed(std::string_view data,
                            const MessageCallback& on_message);

  // Bytes of an incomplete message held from earlier chunks.
  size_t buffered_bytes() const { return partial_.size(); }
  // True between messages (nothing partial buffered, not in error).
  bool idle() const { return partial_.empty() && depth_ == 0 && ok_; }

 private:
  // Scans data[pos..) for the end of the current text; returns the index
  // one past its closing bracket, or npos if the text continues.
  size_t Scan(std::string_view data, size_t pos, Status* error);
  [[nodiscard]] Status Deliver(const char* begin, const char* end,
                               const MessageCallback& on_message,
                               bool* keep_going);
  Status Fail(std::string details);

  size_t max_message_bytes_;  // Limit on one text's size.
  std::string partial_;       // Start of a text split across chunks.
  size_t text_bytes_ = 0;     // Bytes of the current text seen so far.
  int depth_ = 0;             // Open brackets in the current text.
  bool in_string_ = false;    // Inside a JSON string.
  bool escape_ = false;       // Just after a backslash in a string.
  bool ok_ = true;            // False after an error.
  std::string error_;         // The error's details once !ok_.
};

}  // namespace spate::common

#endif  // SPATE_COMMON_JSONRPC_H
