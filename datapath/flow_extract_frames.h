// Hand-built test frames for flow_extract_test and flow_extract_bench.
//
// What it is
//   Small header-only builders that append protocol headers in network
//   byte order to a byte vector, so a test reads as the frame it builds:
//     Frame f = Eth(kEthTypeIp) + Ipv4(6, 20) + Tcp(80, 443, 0x012);
//   Length fields (IPv4 total length, IPv6 payload length) are computed
//   from the payload size the caller passes; callers may overwrite bytes
//   afterwards to build malformed frames.
//
// Thread-safety
//   Pure functions.  Test and benchmark code only.
#ifndef SPATE_DATAPATH_FLOW_EXTRACT_FRAMES_H
#define SPATE_DATAPATH_FLOW_EXTRACT_FRAMES_H

#include <cstdint>
#include <vector>

#include "classifier/flow.h"

namespace spate::datapath::testframes {

using Frame = std::vector<uint8_t>;

inline constexpr uint64_t kMacDst = 0x0200000000bbULL;  // Test destination MAC.
inline constexpr uint64_t kMacSrc = 0x0200000000aaULL;  // Test source MAC.
inline constexpr uint32_t kIpSrc = 0x0a000001;          // 10.0.0.1.
inline constexpr uint32_t kIpDst = 0x0a000002;          // 10.0.0.2.
inline constexpr cls::U128 kIp6Src{0xfe80000000000000ULL, 0x1};  // fe80::1.
inline constexpr cls::U128 kIp6Dst{0x20010db800000000ULL, 0x2};  // 2001:db8::2.

// Appends the low `n` bytes of `v`, most significant first.
inline void PutBe(Frame& f, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) f.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// Concatenation: a + b.
inline Frame operator+(Frame a, const Frame& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Ethernet header with ethertype (or 802.3 length) `type`.
inline Frame Eth(uint16_t type, uint64_t dst = kMacDst, uint64_t src = kMacSrc) {
  Frame f;
  PutBe(f, dst, 6);
  PutBe(f, src, 6);
  PutBe(f, type, 2);
  return f;
}

// A VLAN tag's TCI followed by the next ethertype (the TPID is the
// preceding type field).
inline Frame VlanTag(uint16_t tci, uint16_t next_type) {
  Frame f;
  PutBe(f, tci, 2);
  PutBe(f, next_type, 2);
  return f;
}

// IPv4 header; total length = ihl_words * 4 + payload_len.  Options are
// NOPs.  frag_off is the raw 16-bit flags+offset field.
inline Frame Ipv4(uint8_t proto, size_t payload_len, uint16_t frag_off = 0,
                  uint8_t ihl_words = 5, uint8_t tos = 0, uint8_t ttl = 64) {
  Frame f;
  f.push_back(static_cast<uint8_t>(0x40 | (ihl_words & 0x0f)));
  f.push_back(tos);
  PutBe(f, ihl_words * 4 + payload_len, 2);
  PutBe(f, 0x1234, 2);  // Identification.
  PutBe(f, frag_off, 2);
  f.push_back(ttl);
  f.push_back(proto);
  PutBe(f, 0, 2);  // Checksum (not checked by extraction).
  PutBe(f, kIpSrc, 4);
  PutBe(f, kIpDst, 4);
  for (int i = 5; i < ihl_words; ++i) PutBe(f, 0x01010101, 4);
  return f;
}

// IPv6 header with next header `nxt` and the given payload length.
inline Frame Ipv6(uint8_t nxt, size_t payload_len, uint8_t tclass = 0,
                  uint32_t label = 0, uint8_t hlim = 64) {
  Frame f;
  PutBe(f, uint32_t{6} << 28 | uint32_t{tclass} << 20 | (label & 0xfffff), 4);
  PutBe(f, payload_len, 2);
  f.push_back(nxt);
  f.push_back(hlim);
  PutBe(f, kIp6Src.hi, 8);
  PutBe(f, kIp6Src.lo, 8);
  PutBe(f, kIp6Dst.hi, 8);
  PutBe(f, kIp6Dst.lo, 8);
  return f;
}

// A generic IPv6 extension header (hop-by-hop, routing, destination
// options) of (len8 + 1) * 8 bytes, padded with zeros.
inline Frame Ipv6Ext(uint8_t nxt, uint8_t len8) {
  Frame f{nxt, len8};
  f.resize((size_t{len8} + 1) * 8, 0);
  return f;
}

// An IPv6 fragment header; offlg is the raw offset/flags field.
inline Frame Ipv6Frag(uint8_t nxt, uint16_t offlg) {
  Frame f{nxt, 0};
  PutBe(f, offlg, 2);
  PutBe(f, 0xabcd, 4);  // Identification.
  return f;
}

// TCP header; data_offset_words * 4 bytes long (options zero-filled).
inline Frame Tcp(uint16_t sport, uint16_t dport, uint16_t flags,
                 uint8_t data_offset_words = 5) {
  Frame f;
  PutBe(f, sport, 2);
  PutBe(f, dport, 2);
  PutBe(f, 1, 4);  // Sequence.
  PutBe(f, 0, 4);  // Ack.
  PutBe(f, uint16_t(data_offset_words << 12 | (flags & 0x0fff)), 2);
  PutBe(f, 0xffff, 2);  // Window.
  PutBe(f, 0, 4);       // Checksum, urgent pointer.
  if (data_offset_words > 5) f.resize(size_t{data_offset_words} * 4, 0);
  return f;
}

// UDP header for a datagram of udp_len bytes (header included).
inline Frame Udp(uint16_t sport, uint16_t dport, uint16_t udp_len = 8) {
  Frame f;
  PutBe(f, sport, 2);
  PutBe(f, dport, 2);
  PutBe(f, udp_len, 2);
  PutBe(f, 0, 2);
  return f;
}

// SCTP common header.
inline Frame Sctp(uint16_t sport, uint16_t dport) {
  Frame f;
  PutBe(f, sport, 2);
  PutBe(f, dport, 2);
  PutBe(f, 0x01020304, 4);  // Verification tag.
  PutBe(f, 0, 4);           // Checksum.
  return f;
}

// ICMP or ICMPv6 header (type, code, checksum, 4 bytes rest).
inline Frame Icmp(uint8_t type, uint8_t code) {
  Frame f{type, code};
  f.resize(8, 0);
  return f;
}

// An IPv6 address as 16 bytes.
inline Frame Addr6(cls::U128 a) {
  Frame f;
  PutBe(f, a.hi, 8);
  PutBe(f, a.lo, 8);
  return f;
}

// An ND link-layer address option (type 1 = SLL, 2 = TLL).
inline Frame NdLlaOpt(uint8_t type, uint64_t mac) {
  Frame f{type, 1};
  PutBe(f, mac, 6);
  return f;
}

// Ethernet/IPv4 ARP body.
inline Frame Arp(uint16_t op, uint64_t sha, uint32_t spa, uint64_t tha, uint32_t tpa) {
  Frame f;
  PutBe(f, 1, 2);
  PutBe(f, cls::kEthTypeIp, 2);
  f.push_back(6);
  f.push_back(4);
  PutBe(f, op, 2);
  PutBe(f, sha, 6);
  PutBe(f, spa, 4);
  PutBe(f, tha, 6);
  PutBe(f, tpa, 4);
  return f;
}

// `n` zero bytes (payload or Ethernet padding).
inline Frame Zeros(size_t n) { return Frame(n, 0); }

// 64-byte IPv4/TCP frame (10 bytes of TCP payload).
inline Frame Ipv4TcpFrame64() {
  return Eth(cls::kEthTypeIp) + Ipv4(6, 30) + Tcp(1234, 80, 0x018) + Zeros(10);
}

// 64-byte IPv4/UDP frame.
inline Frame Ipv4UdpFrame64() {
  return Eth(cls::kEthTypeIp) + Ipv4(17, 30) + Udp(5000, 53, 30) + Zeros(22);
}

// 78-byte IPv6/TCP frame (4 bytes of TCP payload).
inline Frame Ipv6TcpFrame() {
  return Eth(cls::kEthTypeIpv6) + Ipv6(6, 24) + Tcp(1234, 443, 0x002) + Zeros(4);
}

}  // namespace spate::datapath::testframes

#endif  // SPATE_DATAPATH_FLOW_EXTRACT_FRAMES_H
