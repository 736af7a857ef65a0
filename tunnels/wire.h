// Wire-format basics shared by every tunnel format: big-endian loads and
// stores, header sizes and field offsets, addresses, and the Internet
// checksum (RFC 1071).
//
// Design: headers are read and written through byte offsets with memcpy
// loads and stores, never through packed structs, so unaligned packets are
// well defined and the compiler emits single moves.  Checksum partial sums
// are kept in *memory order* (the sum of 16-bit words as loaded natively
// from network-order bytes); RFC 1071's byte-order independence makes the
// folded result correct to store with a native 16-bit store.  Host-order
// numbers are added to such a sum as HostToNet16(value).
//
// Thread-safety: pure functions and value types.
#ifndef SPATE_TUNNELS_WIRE_H
#define SPATE_TUNNELS_WIRE_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace spate::tunnels {

// ---- Byte order -----------------------------------------------------------

inline uint16_t Load16(const uint8_t* p) {  // Big-endian 16-bit load.
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
inline uint32_t Load32(const uint8_t* p) {  // Big-endian 32-bit load.
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t Load64(const uint8_t* p) {  // Big-endian 64-bit load.
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}
inline void Store16(uint8_t* p, uint16_t v) {  // Big-endian 16-bit store.
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, 2);
}
inline void Store32(uint8_t* p, uint32_t v) {  // Big-endian 32-bit store.
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void Store64(uint8_t* p, uint64_t v) {  // Big-endian 64-bit store.
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
inline uint16_t HostToNet16(uint16_t v) { return __builtin_bswap16(v); }

// ---- Header sizes, offsets and constants ----------------------------------

inline constexpr uint32_t kEthHeaderBytes = 14;
inline constexpr uint32_t kIpv4HeaderBytes = 20;  // Without options.
inline constexpr uint32_t kIpv6HeaderBytes = 40;
inline constexpr uint32_t kUdpHeaderBytes = 8;
inline constexpr uint32_t kTcpHeaderBytes = 20;  // STT: no TCP options.
inline constexpr uint32_t kGeneveHeaderBytes = 8;  // Without options.
inline constexpr uint32_t kGeneveMaxOptionBytes = 63 * 4;
inline constexpr uint32_t kVxlanHeaderBytes = 8;
inline constexpr uint32_t kSttHeaderBytes = 18;  // Including 2 pad bytes.

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeTeb = 0x6558;  // Transparent Ethernet.
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;

inline constexpr uint16_t kGenevePort = 6081;  // IANA, RFC 8926.
inline constexpr uint16_t kVxlanPort = 4789;   // IANA, RFC 7348.
inline constexpr uint16_t kSttPort = 7471;     // IANA, draft-davie-stt.

// ---- Addresses -------------------------------------------------------------

// An Ethernet address.
struct MacAddr {
  std::array<uint8_t, 6> bytes{};  // Network order.

  bool operator==(const MacAddr&) const = default;
  // "aa:bb:cc:dd:ee:ff".
  std::string ToString() const;
  // Parses "aa:bb:cc:dd:ee:ff"; nullopt on any other text.
  static std::optional<MacAddr> Parse(std::string_view text);
};

// An IPv4 or IPv6 address, IPv4 stored IPv4-mapped (::ffff:a.b.c.d) as in
// Open vSwitch, so one type and one prefix length space (0..128) serve both.
struct IpAddr {
  std::array<uint8_t, 16> bytes{};  // Network order; IPv4 is mapped.

  bool operator==(const IpAddr&) const = default;
  auto operator<=>(const IpAddr&) const = default;
  // True for an IPv4-mapped address.
  bool IsV4() const {
    uint64_t lo;
    uint32_t mid;
    std::memcpy(&lo, bytes.data(), 8);
    std::memcpy(&mid, bytes.data() + 8, 4);
    return lo == 0 && mid == __builtin_bswap32(0xffffu);
  }
  // True when every byte is zero (the unspecified IPv6 address).
  bool IsZero() const;
  // True for :: and for 0.0.0.0 (mapped).
  bool IsUnspecified() const;
  // The IPv4 address as 4 network-order bytes (only when IsV4()).
  const uint8_t* V4Bytes() const { return bytes.data() + 12; }
  // Builds an IPv4-mapped address from 4 network-order bytes.
  static IpAddr FromV4Bytes(const uint8_t* p) {
    IpAddr ip;
    const uint32_t mid = __builtin_bswap32(0xffffu);
    std::memcpy(ip.bytes.data() + 8, &mid, 4);
    std::memcpy(ip.bytes.data() + 12, p, 4);
    return ip;
  }
  // Builds an IPv6 address from 16 network-order bytes.
  static IpAddr FromV6Bytes(const uint8_t* p) {
    IpAddr ip;
    std::memcpy(ip.bytes.data(), p, 16);
    return ip;
  }
  // Dotted quad for IPv4, RFC 5952 text for IPv6.
  std::string ToString() const;
  // Parses either family's text form; nullopt on anything else.
  static std::optional<IpAddr> Parse(std::string_view text);
};

// Copies `n` bytes (a multiple of 4, at most 252: Geneve options) with
// constant-size copies for the common lengths.  A variable-length memcpy
// compiles to `rep movs`, whose start-up cost was half of Geneve's
// per-packet encapsulation time with OVN's 8-byte option.
inline void CopyOptionBytes(uint8_t* dst, const uint8_t* src, uint32_t n) {
  switch (n) {
    case 0:
      break;
    case 4:
      std::memcpy(dst, src, 4);
      break;
    case 8:
      std::memcpy(dst, src, 8);
      break;
    case 12:
      std::memcpy(dst, src, 12);
      break;
    case 16:
      std::memcpy(dst, src, 16);
      break;
    default:
      std::memcpy(dst, src, n);
      break;
  }
}

// ---- Internet checksum (RFC 1071) ----------------------------------------

// Adds the bytes [p, p+n) to the memory-order partial sum `acc`, treating
// them as 16-bit words starting at an even offset (a trailing odd byte is
// padded with zero).  Returns the new (unfolded) sum.
inline uint64_t SumBytes(const uint8_t* p, size_t n, uint64_t acc = 0) {
  while (n >= 8) {
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + 4, 4);
    acc += a;
    acc += b;
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    uint32_t a;
    std::memcpy(&a, p, 4);
    acc += a;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t a;
    std::memcpy(&a, p, 2);
    acc += a;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    const uint8_t pad[2] = {p[0], 0};
    uint16_t a;
    std::memcpy(&a, pad, 2);
    acc += a;
  }
  return acc;
}

// Folds a memory-order partial sum to 16 bits (not complemented).
inline uint16_t FoldSum(uint64_t acc) {
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

// The checksum field value (memory order) for partial sum `acc`.
inline uint16_t FinishChecksum(uint64_t acc) {
  return static_cast<uint16_t>(~FoldSum(acc));
}

// Stores a memory-order checksum value at `p`.
inline void StoreChecksum(uint8_t* p, uint16_t csum) {
  std::memcpy(p, &csum, 2);
}

// Memory-order sum of a TCP/UDP/ICMPv6 pseudo-header: the two addresses
// (IPv4 from the mapped form), the protocol and the L4 length.
uint64_t PseudoHeaderSum(const IpAddr& src, const IpAddr& dst, uint8_t proto,
                         uint32_t l4_bytes);

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_WIRE_H
