// Stream names: see stream.h.
#include "common/stream.h"

#include <arpa/inet.h>

#include <charconv>

#include "common/daemon.h"

namespace spate::common {
namespace {

Error Usage(std::string_view name, const std::string& what) {
  return Error("usage", std::string(name) + ": " + what);
}

bool IsIp(const std::string& host, bool* v6) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) {
    *v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    *v6 = true;
    return true;
  }
  return false;
}

// Splits "IP[:PORT]" or "[IP6][:PORT]" into host and port text.
void SplitHostPort(std::string_view s, std::string* host, std::string* port) {
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) {
      *host = std::string(s);
      return;
    }
    *host = std::string(s.substr(1, close - 1));
    if (close + 1 < s.size() && s[close + 1] == ':') {
      *port = std::string(s.substr(close + 2));
    } else if (close + 1 < s.size()) {
      *host = std::string(s);  // Junk after ']': reported as a bad IP.
    }
    return;
  }
  size_t colon = s.find(':');
  *host = std::string(s.substr(0, colon));
  if (colon != std::string_view::npos) *port = std::string(s.substr(colon + 1));
}

Status ParsePort(std::string_view name, const std::string& text,
                 uint16_t default_port, uint16_t* port) {
  if (text.empty()) {
    *port = default_port;
    return Status::Ok();
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return Usage(name, "bad port number \"" + text + "\"");
  }
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

Status ParseHost(std::string_view name, const std::string& host) {
  bool v6;
  if (!IsIp(host, &v6)) return Usage(name, "bad IP address \"" + host + "\"");
  return Status::Ok();
}

}  // namespace

std::string StreamAddress::ToString() const {
  std::string prefix = kind == StreamKind::kUnix  ? "unix"
                       : kind == StreamKind::kTcp ? "tcp"
                                                  : "ssl";
  if (passive) prefix = "p" + prefix;
  if (kind == StreamKind::kUnix) return prefix + ":" + path;
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (passive) return prefix + ":" + std::to_string(port) + ":" + h;
  return prefix + ":" + h + ":" + std::to_string(port);
}

bool IsStreamName(std::string_view name) {
  for (std::string_view p : {"unix:", "tcp:", "ssl:", "punix:", "ptcp:", "pssl:"}) {
    if (name.substr(0, p.size()) == p) return true;
  }
  return false;
}

Result<StreamAddress> ParseStreamAddress(std::string_view name,
                                         uint16_t default_port) {
  size_t colon = name.find(':');
  if (colon == std::string_view::npos) {
    return Usage(name, "not a stream name (expected TYPE:ARGS)");
  }
  std::string_view type = name.substr(0, colon);
  std::string_view rest = name.substr(colon + 1);
  StreamAddress a;
  a.passive = !type.empty() && type[0] == 'p';
  std::string_view base = a.passive ? type.substr(1) : type;
  if (base == "unix") {
    a.kind = StreamKind::kUnix;
    if (rest.empty()) return Usage(name, "missing socket path");
    a.path = AbsFileName(OvsRundir(), std::string(rest));
    return a;
  }
  if (base == "tcp") {
    a.kind = StreamKind::kTcp;
  } else if (base == "ssl") {
    a.kind = StreamKind::kSsl;
  } else {
    return Usage(name, "unknown stream type \"" + std::string(type) + "\"");
  }
  std::string host, port;
  if (a.passive) {
    // PORT[:IP]
    size_t c = rest.find(':');
    port = std::string(rest.substr(0, c));
    host = c == std::string_view::npos ? "0.0.0.0" : std::string(rest.substr(c + 1));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
  } else {
    SplitHostPort(rest, &host, &port);
    if (host.empty()) return Usage(name, "missing IP address");
  }
  Status s = ParsePort(name, port, default_port, &a.port);
  if (!s.ok()) return s.error();
  s = ParseHost(name, host);
  if (!s.ok()) return s.error();
  a.host = host;
  return a;
}

Status SslConfig::Validate() const {
  if (private_key.empty()) {
    return Error("usage", "Private key must be configured to use SSL (--private-key)");
  }
  if (certificate.empty()) {
    return Error("usage", "Certificate must be configured to use SSL (--certificate)");
  }
  if (ca_cert.empty()) {
    return Error("usage", "CA certificate must be configured to use SSL (--ca-cert)");
  }
  return Status::Ok();
}

}  // namespace spate::common
