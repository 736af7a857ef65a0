// Encapsulation of a burst of packets through one Geneve or VXLAN template.
//
// What: PrepareUdpEncap() turns a template and the burst's EncapParams
// (tun_id, Geneve options, IP ID: the same for every packet of a datapath
// push batch) into a UdpEncapPlan: the complete outer header bytes with the
// options, Opt Len, C bit and VNI already in place, and the constant parts
// of the IPv4 header sum and of the UDP checksum.  EncapPlanned<kV6, kCsum>()
// then encapsulates one packet in place: a few 16-byte stores of the plan's
// header, the inner flow hash (UDP source port, IPv6 flow label), ToS/TTL
// (ECN always from the inner packet), lengths, the IPv4 header checksum
// from the plan's partial sum plus two or three words, and with kCsum the
// UDP checksum from the plan's partial sum plus one pass over the inner
// frame.  The output is byte for byte what Encap() writes for the same
// template and parameters (encap_burst_test checks every format, IP
// version, checksum setting and option layout).
//
// Design: everything fixed per tunnel (IP version, checksum, options) is
// decided once per burst: the caller picks the <kV6, kCsum> instantiation
// from plan.ipv6 and plan.csum, so the per-packet code has no branches on
// configuration beyond ToS/TTL inheritance.  A packet the plan cannot take
// (too long for the MTU or IP, too little headroom) is left untouched and
// the caller runs Encap() on it, which gives the verdict and drop reason.
//
// Thread-safety: a plan is immutable once prepared; EncapPlanned touches
// only its packet.
#ifndef SPATE_TUNNELS_ENCAP_BURST_H
#define SPATE_TUNNELS_ENCAP_BURST_H

#include <cstdint>
#include <cstring>

#include "tunnels/encap.h"
#include "tunnels/wire.h"

namespace spate::tunnels {

// Largest outer header a plan carries: Geneve over IPv6 with up to 26
// option bytes, or over IPv4 with up to 46.  Longer option lists use Encap().
inline constexpr uint32_t kMaxPlanHeaderBytes = 96;

// The per-burst form of a UDP tunnel template (see the file comment).
struct UdpEncapPlan {
  alignas(16) uint8_t hdr[kMaxPlanHeaderBytes] = {};  // Outer headers with
                                  // options and VNI; lengths, source port,
                                  // IPv4 checksum and UDP checksum zero.
  uint32_t hdr_len = 0;           // Bytes of `hdr` prepended (>= 48).
  uint32_t l4_offset = 0;         // Offset of the UDP header.
  uint32_t l4_fixed = 0;          // UDP bytes before the inner frame.
  uint32_t max_inner = 0;         // Longest inner frame the plan takes.
  uint32_t ip_sum = 0;            // IPv4: constant header words (ID, TTL
                                  // unless inherited, flags, addresses).
  uint64_t udp_sum = 0;           // Pseudo-header + constant UDP bytes.
  bool ipv6 = false;              // Outer IPv6 (instantiate kV6).
  bool csum = false;              // UDP checksum (instantiate kCsum).
  bool tos_inherit = false;       // Outer DSCP from the inner packet.
  bool ttl_inherit = false;       // Outer TTL from the inner packet.
  uint8_t tos = 0;                // Outer DSCP when not inherited.
  uint8_t ttl = 64;               // Outer TTL when not inherited.
};

// Prepares `plan` for Geneve or VXLAN template `tmpl` with the burst's
// `params` (flow_hash and stt fields unused), for outer frames of at most
// `max_frame_bytes` (the underlay MTU plus the Ethernet header).  Returns
// false when the template is STT or the options are invalid or too long
// for a plan: use Encap() per packet then.
bool PrepareUdpEncap(const EncapTemplate& tmpl, const EncapParams& params,
                     uint32_t max_frame_bytes, UdpEncapPlan* plan);

namespace encap_detail {

// The inner packet's ToS and TTL, for inherit and ECN propagation.
struct InnerIp {
  uint8_t tos = 0;   // IPv4 ToS or IPv6 traffic class; 0 if not IP.
  uint8_t ttl = 64;  // TTL or hop limit; system default 64 if not IP.
};

[[gnu::always_inline]] inline InnerIp ReadInnerIp(const uint8_t* frame,
                                                  uint32_t len) {
  InnerIp info;
  if (len < kEthHeaderBytes + kIpv4HeaderBytes) return info;
  const uint16_t type = Load16(frame + 12);
  if (type == kEtherTypeIpv4 && (frame[14] >> 4) == 4) {
    info.tos = frame[15];
    info.ttl = frame[22];
  } else if (type == kEtherTypeIpv6 &&
             len >= kEthHeaderBytes + kIpv6HeaderBytes) {
    info.tos = static_cast<uint8_t>(Load16(frame + 14) >> 4);
    info.ttl = frame[21];
  }
  return info;
}

// The UDP/TCP source port for flow hash `hash`: 49152..65535.
inline uint16_t SourcePort(uint32_t hash) {
  hash ^= hash >> 16;
  return static_cast<uint16_t>(0xc000u | (hash & 0x3fffu));
}

// Copies the plan's `n`-byte header (33 <= n <= 96) with 16-byte moves,
// the last one ending exactly at `n` (it may overlap the one before).
[[gnu::always_inline]] inline void CopyHeader(uint8_t* p, const uint8_t* h,
                                              uint32_t n) {
  std::memcpy(p, h, 16);
  std::memcpy(p + 16, h + 16, 16);
  if (n > 64) {
    std::memcpy(p + 32, h + 32, 16);
    std::memcpy(p + 48, h + 48, 16);
    if (n > 80) std::memcpy(p + 64, h + 64, 16);
  } else if (n > 48) {
    std::memcpy(p + 32, h + 32, 16);
  }
  std::memcpy(p + n - 16, h + n - 16, 16);
}

}  // namespace encap_detail

// Encapsulates the inner frame [data, data+len), which has `headroom`
// writable bytes before it, with `plan` (kV6 == plan.ipv6, kCsum ==
// plan.csum).  Returns the start of the outer frame (data - plan.hdr_len;
// its length is len + plan.hdr_len), or nullptr with nothing written when
// the plan cannot take the packet (use Encap() for it).
template <bool kV6, bool kCsum>
[[gnu::always_inline]] inline uint8_t* EncapPlanned(const UdpEncapPlan& plan,
                                                    uint8_t* data, uint32_t len,
                                                    uint32_t headroom) {
  if (len > plan.max_inner || headroom < plan.hdr_len) return nullptr;
  const uint32_t hash = InnerFlowHash({data, len});
  const encap_detail::InnerIp inner = encap_detail::ReadInnerIp(data, len);
  uint8_t* p = data - plan.hdr_len;
  encap_detail::CopyHeader(p, plan.hdr, plan.hdr_len);
  uint8_t* ip = p + kEthHeaderBytes;
  uint8_t* l4 = p + plan.l4_offset;
  const uint32_t l4_bytes = plan.l4_fixed + len;
  const uint8_t tos = static_cast<uint8_t>(
      (plan.tos_inherit ? inner.tos & 0xfc : plan.tos) | (inner.tos & 3));
  const uint8_t ttl = plan.ttl_inherit ? inner.ttl : plan.ttl;
  if constexpr (!kV6) {
    const uint16_t total = static_cast<uint16_t>(kIpv4HeaderBytes + l4_bytes);
    ip[1] = tos;
    Store16(ip + 2, total);
    uint32_t sum = plan.ip_sum + HostToNet16(0x4500 | tos) + HostToNet16(total);
    if (plan.ttl_inherit) {
      ip[8] = ttl;
      sum += HostToNet16(static_cast<uint16_t>(ttl << 8 | kIpProtoUdp));
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    StoreChecksum(ip + 10, static_cast<uint16_t>(~sum));
  } else {
    Store32(ip, 0x60000000u | uint32_t{tos} << 20 | (hash & 0xfffffu));
    Store16(ip + 4, static_cast<uint16_t>(l4_bytes));
    ip[7] = ttl;
  }
  const uint16_t sport = encap_detail::SourcePort(hash);
  Store16(l4, sport);
  Store16(l4 + 4, static_cast<uint16_t>(l4_bytes));
  if constexpr (kCsum) {
    const uint64_t len_word = HostToNet16(static_cast<uint16_t>(l4_bytes));
    const uint64_t sum = plan.udp_sum + HostToNet16(sport) + 2 * len_word;
    uint16_t csum = FinishChecksum(SumBytes(data, len, sum));
    if (csum == 0) csum = 0xffff;  // RFC 768: zero means "no checksum".
    StoreChecksum(l4 + 6, csum);
  }
  return p;
}

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_ENCAP_BURST_H
