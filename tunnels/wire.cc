#include "tunnels/wire.h"

#include <arpa/inet.h>

#include <cstdio>

namespace spate::tunnels {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string MacAddr::ToString() const {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]);
  return text;
}

std::optional<MacAddr> MacAddr::Parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  MacAddr mac;
  for (int i = 0; i < 6; ++i) {
    const int hi = HexDigit(text[i * 3]);
    const int lo = HexDigit(text[i * 3 + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i < 5 && text[i * 3 + 2] != ':') return std::nullopt;
    mac.bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return mac;
}

bool IpAddr::IsZero() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

bool IpAddr::IsUnspecified() const {
  if (IsZero()) return true;
  const uint8_t* v4 = V4Bytes();
  return IsV4() && (v4[0] | v4[1] | v4[2] | v4[3]) == 0;
}

std::string IpAddr::ToString() const {
  char text[INET6_ADDRSTRLEN];
  if (IsV4()) {
    inet_ntop(AF_INET, V4Bytes(), text, sizeof text);
  } else {
    inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  }
  return text;
}

std::optional<IpAddr> IpAddr::Parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  uint8_t raw[16];
  if (inet_pton(AF_INET, s.c_str(), raw) == 1) return FromV4Bytes(raw);
  if (inet_pton(AF_INET6, s.c_str(), raw) == 1) return FromV6Bytes(raw);
  return std::nullopt;
}

uint64_t PseudoHeaderSum(const IpAddr& src, const IpAddr& dst, uint8_t proto,
                         uint32_t l4_bytes) {
  uint64_t acc = 0;
  if (src.IsV4()) {
    acc = SumBytes(src.V4Bytes(), 4, acc);
    acc = SumBytes(dst.V4Bytes(), 4, acc);
  } else {
    acc = SumBytes(src.bytes.data(), 16, acc);
    acc = SumBytes(dst.bytes.data(), 16, acc);
  }
  uint8_t tail[8];
  Store32(tail, l4_bytes);
  Store32(tail + 4, proto);
  return SumBytes(tail, 8, acc);
}

}  // namespace spate::tunnels
