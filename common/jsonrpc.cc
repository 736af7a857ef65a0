// JSON-RPC messages and reader: see jsonrpc.h.
#include "common/jsonrpc.h"

#include <utility>

namespace spate::common {

using nlohmann::json;

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kRequest: return "request";
    case MessageType::kNotification: return "notification";
    case MessageType::kReply: return "reply";
    case MessageType::kError: return "error";
  }
  return "?";
}

// ------------------------------------------------------------ Message

Message Message::Request(std::string method, json params, json id) {
  Message m;
  m.type = MessageType::kRequest;
  m.method = std::move(method);
  m.params = std::move(params);
  m.id = std::move(id);
  return m;
}

Message Message::Notification(std::string method, json params) {
  Message m;
  m.type = MessageType::kNotification;
  m.method = std::move(method);
  m.params = std::move(params);
  return m;
}

Message Message::Reply(json result, json id) {
  Message m;
  m.type = MessageType::kReply;
  m.result = std::move(result);
  m.id = std::move(id);
  return m;
}

Message Message::ErrorReply(json error, json id) {
  Message m;
  m.type = MessageType::kError;
  m.error = std::move(error);
  m.id = std::move(id);
  return m;
}

namespace {

Error ProtocolError(std::string details) {
  return Error("protocol error", std::move(details));
}

}  // namespace

Result<Message> Message::FromJson(json&& j) {
  if (!j.is_object()) return ProtocolError("message is not a JSON object");
  json* method = nullptr;
  json* params = nullptr;
  json* result = nullptr;
  json* error = nullptr;
  json* id = nullptr;
  for (auto& [key, value] : j.items()) {
    if (key == "method") method = &value;
    else if (key == "params") params = &value;
    else if (key == "result") result = &value;
    else if (key == "error") error = &value;
    else if (key == "id") id = &value;
    else return ProtocolError("message has unexpected member \"" + key + "\"");
  }
  Message m;
  if (error && !error->is_null()) {
    m.type = MessageType::kError;
  } else if (result) {
    m.type = MessageType::kReply;
  } else if (method) {
    m.type = (id && !id->is_null()) ? MessageType::kRequest
                                     : MessageType::kNotification;
  } else {
    return ProtocolError("message has no \"method\", \"result\" or \"error\"");
  }
  if (m.type == MessageType::kRequest || m.type == MessageType::kNotification) {
    if (!method->is_string()) return ProtocolError("method is not a JSON string");
    if (!params || !params->is_array()) {
      return ProtocolError("\"params\" must be JSON array");
    }
    if (result || error) {
      return ProtocolError(std::string(MessageTypeName(m.type)) +
                           " must not have \"result\" or \"error\"");
    }
    m.method = std::move(method->get_ref<std::string&>());
    m.params = std::move(*params);
  } else {
    if (!id) return ProtocolError(std::string(MessageTypeName(m.type)) +
                                  " must have \"id\"");
    if (method || params) {
      return ProtocolError(std::string(MessageTypeName(m.type)) +
                           " must not have \"method\" or \"params\"");
    }
    if (result) m.result = std::move(*result);
    if (error) m.error = std::move(*error);
    if (m.type == MessageType::kError && !m.result.is_null()) {
      return ProtocolError("error reply must have null \"result\"");
    }
  }
  if (id) m.id = std::move(*id);
  return m;
}

void AppendJson(std::string& out, const json& value) {
  // nlohmann's serializer writes straight into `out`; the public dump()
  // would build a separate string first.
  nlohmann::detail::serializer<json> s(
      nlohmann::detail::output_adapter<char, std::string>(out), ' ',
      nlohmann::detail::error_handler_t::replace);
  s.dump(value, false, false, 0);
}

void Message::AppendTo(std::string& out) const {
  switch (type) {
    case MessageType::kRequest:
    case MessageType::kNotification:
      out += "{\"id\":";
      if (type == MessageType::kRequest) {
        AppendJson(out, id);
      } else {
        out += "null";
      }
      out += ",\"method\":";
      AppendJson(out, json(method));
      out += ",\"params\":";
      AppendJson(out, params.is_null() ? json::array() : params);
      out += '}';
      break;
    case MessageType::kReply:
      out += "{\"error\":null,\"id\":";
      AppendJson(out, id);
      out += ",\"result\":";
      AppendJson(out, result);
      out += '}';
      break;
    case MessageType::kError:
      out += "{\"error\":";
      AppendJson(out, error);
      out += ",\"id\":";
      AppendJson(out, id);
      out += ",\"result\":null}";
      break;
  }
}

std::string Message::ToString() const {
  std::string s;
  AppendTo(s);
  return s;
}

// ------------------------------------------------------------ reader

JsonRpcReader::JsonRpcReader(size_t max_message_bytes)
    : max_message_bytes_(max_message_bytes) {}

Status JsonRpcReader::Fail(std::string details) {
  ok_ = false;
  error_ = std::move(details);
  partial_.clear();
  return Error("protocol error", error_);
}

size_t JsonRpcReader::Scan(std::string_view data, size_t pos, Status* error) {
  const char* p = data.data();
  const size_t n = data.size();
  for (size_t i = pos; i < n; i++) {
    char c = p[i];
    if (in_string_) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string_ = true;
        break;
      case '{':
      case '[':
        if (++depth_ > kMaxDepth) {
          *error = Fail("JSON nesting deeper than " +
                        std::to_string(kMaxDepth) + " levels");
          return std::string_view::npos;
        }
        break;
      case '}':
      case ']':
        if (--depth_ == 0) return i + 1;
        break;
      default:
        break;
    }
  }
  return std::string_view::npos;
}

Status JsonRpcReader::Deliver(const char* begin, const char* end,
                              const MessageCallback& on_message,
                              bool* keep_going) {
  json j = json::parse(begin, end, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Fail("syntax error: malformed JSON text (" +
                std::to_string(end - begin) + " bytes)");
  }
  Result<Message> m = Message::FromJson(std::move(j));
  if (!m.ok()) return Fail(m.error().details());
  *keep_going = on_message(std::move(m).value());
  return Status::Ok();
}

Status JsonRpcReader::Feed(std::string_view data,
                           const MessageCallback& on_message) {
  if (!ok_) return Error("protocol error", error_);
  size_t pos = 0;
  bool keep_going = true;
  while (pos < data.size() && keep_going) {
    size_t start = pos;
    if (depth_ == 0) {
      // Between texts: skip whitespace; the next text must be an object.
      char c = data[pos];
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        pos++;
        continue;
      }
      if (c != '{') {
        return Fail(std::string("syntax error: expected '{' at start of "
                                "JSON-RPC message, got '") + c + "'");
      }
    }
    Status error;
    size_t end = Scan(data, pos, &error);
    if (!error.ok()) return error;
    if (end == std::string_view::npos) {
      text_bytes_ += data.size() - start;
      if (text_bytes_ > max_message_bytes_) {
        return Fail("message exceeds " + std::to_string(max_message_bytes_) +
                    " bytes");
      }
      partial_.append(data.data() + start, data.size() - start);
      return Status::Ok();
    }
    text_bytes_ += end - start;
    if (text_bytes_ > max_message_bytes_) {
      return Fail("message exceeds " + std::to_string(max_message_bytes_) +
                  " bytes");
    }
    Status s;
    if (partial_.empty()) {
      s = Deliver(data.data() + start, data.data() + end, on_message,
                  &keep_going);
    } else {
      partial_.append(data.data() + start, end - start);
      std::string text = std::move(partial_);
      partial_.clear();
      s = Deliver(text.data(), text.data() + text.size(), on_message,
                  &keep_going);
    }
    if (!s.ok()) return s;
    text_bytes_ = 0;
    pos = end;
  }
  return Status::Ok();
}

}  // namespace spate::common
