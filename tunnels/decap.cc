#include "tunnels/decap.h"

#include <cstring>

namespace spate::tunnels {
namespace {

// The outer headers of a frame addressed to a local endpoint.
struct Outer {
  bool v6 = false;                        // Outer IP version is 6.
  const uint8_t* ip = nullptr;            // Outer IP header.
  uint8_t* l4 = nullptr;                  // Outer UDP/TCP header.
  uint32_t l4_bytes = 0;                  // UDP/TCP header + payload.
  uint8_t proto = 0;                      // kIpProtoUdp or kIpProtoTcp.
  uint16_t dst_port = 0;                  // L4 destination port.
  const LocalEndpoint* endpoint = nullptr;  // First endpoint that matched.
  bool unique = false;  // No other endpoint matches IP, protocol and port.
};

// The hot helpers below are forced inline: as separate calls they cost
// about 8 cycles per Geneve packet (perf: FindEndpoint, FillOuterMetadata,
// FinishKey each ~8-10% of samples).

// Internal outcome: two bytes, returned in a register (returning the full
// DecapResult through every layer cost ~10% of Geneve decapsulation).
struct Verdict {
  DecapStatus status = DecapStatus::kDecapped;  // Outcome so far.
  DropReason reason = DropReason::kNone;        // Why, when kDropped.
};
constexpr Verdict kContinue = {DecapStatus::kDecapped, DropReason::kNone};
constexpr Verdict kNotTunnel = {DecapStatus::kNotTunnel, DropReason::kNone};

Verdict Drop(DropReason reason) { return {DecapStatus::kDropped, reason}; }

[[gnu::always_inline]] inline bool SameIp(const IpAddr& ip, const uint8_t* addr, bool v6) {
  if (v6) return std::memcmp(ip.bytes.data(), addr, 16) == 0;
  return std::memcmp(ip.V4Bytes(), addr, 4) == 0 && ip.IsV4();
}

bool IsLocalIp(const DecapContext& ctx, const uint8_t* addr, bool v6) {
  for (const LocalEndpoint& ep : ctx.endpoints) {
    if (SameIp(ep.ip, addr, v6)) return true;
  }
  return false;
}

[[gnu::always_inline]] inline bool EndpointMatches(const LocalEndpoint& ep, const Outer& o,
                     const uint8_t* dst) {
  return ep.dst_port == o.dst_port &&
         (ep.type == TunnelType::kStt) == (o.proto == kIpProtoTcp) &&
         SameIp(ep.ip, dst, o.v6);
}

// Among the endpoints matching `o`, the one for tunnel key `key`.
[[gnu::always_inline]] inline const LocalEndpoint* ResolveKey(const DecapContext& ctx, const Outer& o,
                                uint64_t key) {
  if (o.unique) {
    const LocalEndpoint* ep = o.endpoint;
    return ep->key_flow || ep->key == key ? ep : nullptr;
  }
  const uint8_t* dst = o.v6 ? o.ip + 24 : o.ip + 16;
  const LocalEndpoint* any = nullptr;
  for (const LocalEndpoint& ep : ctx.endpoints) {
    if (!EndpointMatches(ep, o, dst)) continue;
    if (!ep.key_flow && ep.key == key) return &ep;
    if (ep.key_flow && any == nullptr) any = &ep;
  }
  return any;
}

// Finds the endpoint for (dst, proto, port) once `o.proto` and the L4
// header position are known; kNotTunnel when there is none.
[[gnu::always_inline]] inline bool FindEndpoint(const DecapContext& ctx, Outer& o, const uint8_t* dst) {
  for (const LocalEndpoint& ep : ctx.endpoints) {
    if (!EndpointMatches(ep, o, dst)) continue;
    if (o.endpoint != nullptr) {
      o.unique = false;
      return true;
    }
    o.endpoint = &ep;
    o.unique = true;
  }
  return o.endpoint != nullptr;
}

Verdict ParseIpv4(const DecapContext& ctx, PacketView& pkt,
                      uint32_t rx_flags, Outer& o) {
  uint8_t* f = pkt.data();
  const uint32_t len = pkt.length();
  if (len < kEthHeaderBytes + kIpv4HeaderBytes) {
    return kNotTunnel;
  }
  const uint8_t* ip = f + kEthHeaderBytes;
  o.ip = ip;
  o.proto = ip[9];
  if (o.proto != kIpProtoUdp && o.proto != kIpProtoTcp) {
    return kNotTunnel;
  }
  const uint32_t ihl_bytes = 4u * (ip[0] & 0xfu);
  const uint32_t l4_at = kEthHeaderBytes + ihl_bytes;
  const bool sane = (ip[0] >> 4) == 4 && ihl_bytes >= kIpv4HeaderBytes;
  if (!sane || len < l4_at + 4) {
    if (!IsLocalIp(ctx, ip + 16, false)) return kNotTunnel;
    if ((ip[0] >> 4) != 4) return Drop(DropReason::kBadOuterIpVersion);
    if (ihl_bytes < kIpv4HeaderBytes) return Drop(DropReason::kBadOuterIpLength);
    return Drop(DropReason::kTruncatedOuter);
  }
  o.dst_port = Load16(f + l4_at + 2);
  if (!FindEndpoint(ctx, o, ip + 16)) return kNotTunnel;
  if (ihl_bytes != kIpv4HeaderBytes) return Drop(DropReason::kOuterIpOptions);
  if (!(rx_flags & kRxIpChecksumGood) &&
      FoldSum(SumBytes(ip, kIpv4HeaderBytes)) != 0xffff) {
    return Drop(DropReason::kBadIpv4Checksum);
  }
  const uint32_t total = Load16(ip + 2);
  if (kEthHeaderBytes + total > len) return Drop(DropReason::kTruncatedOuter);
  if (total < kIpv4HeaderBytes + kUdpHeaderBytes) {
    return Drop(DropReason::kBadOuterIpLength);
  }
  if (Load16(ip + 6) & 0x3fff) return Drop(DropReason::kOuterIpFragment);
  pkt.TrimTo(kEthHeaderBytes + total);
  o.l4 = f + l4_at;
  o.l4_bytes = total - kIpv4HeaderBytes;
  return kContinue;
}

Verdict ParseIpv6(const DecapContext& ctx, PacketView& pkt, Outer& o) {
  uint8_t* f = pkt.data();
  const uint32_t len = pkt.length();
  constexpr uint32_t kL4At = kEthHeaderBytes + kIpv6HeaderBytes;
  if (len < kL4At + 4) return kNotTunnel;
  const uint8_t* ip = f + kEthHeaderBytes;
  o.v6 = true;
  o.ip = ip;
  o.proto = ip[6];  // Extension headers are not accepted on tunnels.
  if (o.proto != kIpProtoUdp && o.proto != kIpProtoTcp) {
    return kNotTunnel;
  }
  o.dst_port = Load16(f + kL4At + 2);
  if (!FindEndpoint(ctx, o, ip + 24)) return kNotTunnel;
  if ((ip[0] >> 4) != 6) return Drop(DropReason::kBadOuterIpVersion);
  const uint32_t payload = Load16(ip + 4);
  if (kL4At + payload > len) return Drop(DropReason::kTruncatedOuter);
  if (payload < kUdpHeaderBytes) return Drop(DropReason::kBadOuterIpLength);
  pkt.TrimTo(kL4At + payload);
  o.l4 = f + kL4At;
  o.l4_bytes = payload;
  return kContinue;
}

bool L4ChecksumOk(const Outer& o, uint32_t l4_bytes) {
  const IpAddr src = o.v6 ? IpAddr::FromV6Bytes(o.ip + 8)
                          : IpAddr::FromV4Bytes(o.ip + 12);
  const IpAddr dst = o.v6 ? IpAddr::FromV6Bytes(o.ip + 24)
                          : IpAddr::FromV4Bytes(o.ip + 16);
  const uint64_t sum = PseudoHeaderSum(src, dst, o.proto, l4_bytes);
  return FoldSum(SumBytes(o.l4, l4_bytes, sum)) == 0xffff;
}

[[gnu::always_inline]] inline void FillOuterMetadata(const Outer& o, TunnelMetadata* md) {
  if (o.v6) {
    md->src = IpAddr::FromV6Bytes(o.ip + 8);
    md->dst = IpAddr::FromV6Bytes(o.ip + 24);
    md->tos = static_cast<uint8_t>(Load16(o.ip) >> 4);
    md->ttl = o.ip[7];
    md->flags = 0;
  } else {
    md->src = IpAddr::FromV4Bytes(o.ip + 12);
    md->dst = IpAddr::FromV4Bytes(o.ip + 16);
    md->tos = o.ip[1];
    md->ttl = o.ip[8];
    md->flags = (o.ip[6] & 0x40) ? kTunnelFlagDf : 0;
  }
  md->tp_src = Load16(o.l4);
  md->tp_dst = o.dst_port;
}

// Validates the UDP header of `o`; trims o.l4_bytes to the UDP length.
[[gnu::always_inline]] inline DropReason CheckUdp(const DecapContext& ctx, Outer& o, uint32_t rx_flags,
                    bool* csum_present) {
  const uint32_t udp_len = Load16(o.l4 + 4);
  if (udp_len < kUdpHeaderBytes || udp_len > o.l4_bytes) {
    return DropReason::kBadUdpLength;
  }
  o.l4_bytes = udp_len;
  *csum_present = Load16(o.l4 + 6) != 0;
  if (!*csum_present) {
    return o.v6 && !ctx.accept_zero_udp6_checksum
               ? DropReason::kZeroUdpChecksumIpv6
               : DropReason::kNone;
  }
  if (!(rx_flags & kRxL4ChecksumGood) && !L4ChecksumOk(o, udp_len)) {
    return DropReason::kBadUdpChecksum;
  }
  return DropReason::kNone;
}

[[gnu::always_inline]] inline DropReason ParseGeneve(const DecapContext& ctx, const uint8_t* g,
                       uint32_t n, TunnelMetadata* md, uint32_t* hdr_bytes) {
  if (n < kGeneveHeaderBytes) return DropReason::kTruncatedGeneve;
  if ((g[0] >> 6) != 0) return DropReason::kBadGeneveVersion;
  const uint32_t opt_bytes = 4u * (g[0] & 0x3fu);
  if (kGeneveHeaderBytes + opt_bytes > n) {
    return DropReason::kGeneveOptLenPastEnd;
  }
  if (Load16(g + 2) != kEtherTypeTeb) {
    return DropReason::kUnsupportedGeneveProtocol;
  }
  if (n - kGeneveHeaderBytes - opt_bytes < kEthHeaderBytes) {
    return DropReason::kTruncatedGeneve;
  }
  bool critical = false;
  const DropReason reason =
      ValidateGeneveOptions(g + kGeneveHeaderBytes, opt_bytes,
                            ctx.understood_options, &critical);
  if (reason != DropReason::kNone) return reason;
  md->tun_id = Load32(g + 4) >> 8;
  md->flags |= ((g[1] & 0x80) ? kTunnelFlagOam : 0) |
               ((g[1] & 0x40) ? kTunnelFlagCritical : 0);
  md->n_option_bytes = static_cast<uint8_t>(opt_bytes);
  CopyOptionBytes(md->options, g + kGeneveHeaderBytes, opt_bytes);
  *hdr_bytes = kGeneveHeaderBytes + opt_bytes;
  return DropReason::kNone;
}

[[gnu::always_inline]] inline DropReason ParseVxlan(const uint8_t* v, uint32_t n, TunnelMetadata* md) {
  if (n < kVxlanHeaderBytes + kEthHeaderBytes) {
    return DropReason::kTruncatedVxlan;
  }
  if (!(v[0] & 0x08)) return DropReason::kBadVxlanFlags;
  md->tun_id = Load32(v + 4) >> 8;
  md->n_option_bytes = 0;
  return DropReason::kNone;
}

// Reads an STT frame header (frame = STT header + inner frame).
DropReason ParseSttHeader(const uint8_t* s, uint32_t n, TunnelMetadata* md) {
  if (n < kSttHeaderBytes + kEthHeaderBytes) return DropReason::kTruncatedStt;
  if (s[0] != 0) return DropReason::kBadSttVersion;
  md->stt.flags = s[1];
  md->stt.l4_offset = s[2];
  md->stt.mss = Load16(s + 4);
  md->stt.vlan_tci = Load16(s + 6);
  md->tun_id = Load64(s + 8);
  md->n_option_bytes = 0;
  return DropReason::kNone;
}

[[gnu::always_inline]] inline Verdict FinishKey(const DecapContext& ctx, const Outer& o,
                      TunnelMetadata* md) {
  const LocalEndpoint* ep = ResolveKey(ctx, o, md->tun_id);
  if (ep == nullptr) return Drop(DropReason::kWrongVni);
  md->port_id = ep->port_id;
  return kContinue;
}

Verdict DecapUdp(const DecapContext& ctx, PacketView& pkt, Outer& o,
                 uint32_t rx_flags, TunnelMetadata* md) {
  bool csum = false;
  DropReason reason = CheckUdp(ctx, o, rx_flags, &csum);
  if (reason != DropReason::kNone) return Drop(reason);
  const uint8_t* tun = o.l4 + kUdpHeaderBytes;
  const uint32_t n = o.l4_bytes - kUdpHeaderBytes;
  FillOuterMetadata(o, md);
  md->flags |= csum ? kTunnelFlagCsum : 0;
  md->type = o.endpoint->type;
  uint32_t hdr_bytes = kVxlanHeaderBytes;
  reason = md->type == TunnelType::kGeneve
               ? ParseGeneve(ctx, tun, n, md, &hdr_bytes)
               : ParseVxlan(tun, n, md);
  if (reason != DropReason::kNone) return Drop(reason);
  const Verdict key = FinishKey(ctx, o, md);
  if (key.status != DecapStatus::kDecapped) return key;
  const uint32_t strip = static_cast<uint32_t>(tun - pkt.data()) + hdr_bytes;
  pkt.Strip(strip);
  pkt.TrimTo(n - hdr_bytes);
  return kContinue;
}

// Handles an STT segment; fills result->reassembled, n_evicted, n_expired.
Verdict DecapStt(const DecapContext& ctx, PacketView& pkt, Outer& o,
                 uint32_t rx_flags, TunnelMetadata* md, DecapResult* result) {
  if (o.l4_bytes < kTcpHeaderBytes) return Drop(DropReason::kTruncatedStt);
  if ((o.l4[12] >> 4) != 5) return Drop(DropReason::kBadSttTcpHeader);
  if (!(rx_flags & kRxL4ChecksumGood) && !L4ChecksumOk(o, o.l4_bytes)) {
    return Drop(DropReason::kBadTcpChecksum);
  }
  const uint32_t seq = Load32(o.l4 + 4);
  const uint16_t total = static_cast<uint16_t>(seq >> 16);
  const uint16_t offset = static_cast<uint16_t>(seq & 0xffff);
  const uint8_t* data = o.l4 + kTcpHeaderBytes;
  const uint32_t n = o.l4_bytes - kTcpHeaderBytes;
  const uint8_t* frame = data;
  if (offset != 0 || total != n) {
    if (ctx.stt == nullptr) return Drop(DropReason::kSttNoReassembler);
    const SttSegmentKey key = {md->src, md->dst, Load32(o.l4 + 8), o.dst_port};
    const SttAddResult add =
        ctx.stt->Add(key, total, offset, {data, n}, ctx.now_ns);
    result->n_evicted = add.n_evicted;
    result->n_expired = add.n_expired;
    if (add.status == SttAddResult::Status::kDropped) return Drop(add.reason);
    if (add.status == SttAddResult::Status::kPending) {
      return {DecapStatus::kSegmentHeld, DropReason::kNone};
    }
    frame = add.frame.data();
  }
  md->type = TunnelType::kStt;
  const DropReason reason = ParseSttHeader(frame, total, md);
  if (reason != DropReason::kNone) return Drop(reason);
  const Verdict key = FinishKey(ctx, o, md);
  if (key.status != DecapStatus::kDecapped) return key;
  if (frame == data) {
    pkt.Strip(static_cast<uint32_t>(data - pkt.data()) + kSttHeaderBytes);
  } else {
    result->reassembled = {frame + kSttHeaderBytes, total - kSttHeaderBytes};
  }
  return kContinue;
}

}  // namespace

DecapResult Decap(const DecapContext& ctx, PacketView& pkt, uint32_t rx_flags,
                  TunnelMetadata* md) {
  DecapResult result;
  if (pkt.length() < kEthHeaderBytes) return result;  // kNotTunnel.
  const uint16_t ether_type = Load16(pkt.data() + 12);
  // The window is saved as two scalars: copying the whole view loaded it
  // with one 16-byte load just after the caller stored it field by field,
  // a store-forwarding stall (a third of Decap's time in the datapath).
  const uint32_t original_offset = pkt.offset();
  const uint32_t original_length = pkt.length();
  Outer o;
  Verdict v;
  if (ether_type == kEtherTypeIpv4) {
    v = ParseIpv4(ctx, pkt, rx_flags, o);
  } else if (ether_type == kEtherTypeIpv6) {
    v = ParseIpv6(ctx, pkt, o);
  } else {
    return result;  // kNotTunnel.
  }
  if (v.status == DecapStatus::kDecapped) {
    if (o.proto == kIpProtoUdp) {
      v = DecapUdp(ctx, pkt, o, rx_flags, md);
    } else {
      FillOuterMetadata(o, md);
      v = DecapStt(ctx, pkt, o, rx_flags, md, &result);
    }
  }
  result.status = v.status;
  result.reason = v.reason;
  if (v.status != DecapStatus::kDecapped || !result.reassembled.empty()) {
    pkt = PacketView(pkt.buffer(), pkt.buffer_bytes(), original_offset, original_length);
  }
  return result;
}

}  // namespace spate::tunnels
