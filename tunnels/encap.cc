#include "tunnels/encap.h"

#include <algorithm>
#include <cstring>

namespace spate::tunnels {
namespace {

constexpr uint16_t kTcpFlagsPshAck = 0x5018;  // Data offset 5, PSH|ACK.
constexpr uint32_t kMaxIpPayload = 65535;

// The inner packet's ToS and TTL, for inherit and ECN propagation.
struct InnerIp {
  uint8_t tos = 0;   // IPv4 ToS or IPv6 traffic class; 0 if not IP.
  uint8_t ttl = 64;  // TTL or hop limit; system default 64 if not IP.
};

[[gnu::always_inline]] inline InnerIp ReadInnerIp(const uint8_t* frame, uint32_t len) {
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

uint16_t SourcePort(uint32_t hash) {
  hash ^= hash >> 16;
  return static_cast<uint16_t>(0xc000u | (hash & 0x3fffu));  // 49152..65535.
}

// Copies the template with a constant-size copy for the common sizes.
inline void CopyTemplate(uint8_t* p, const EncapTemplate& t) {
  switch (t.length) {
    case 50:  // Geneve/VXLAN over IPv4.
      std::memcpy(p, t.bytes, 50);
      break;
    case 70:  // Geneve/VXLAN over IPv6.
      std::memcpy(p, t.bytes, 70);
      break;
    case 72:  // STT over IPv4.
      std::memcpy(p, t.bytes, 72);
      break;
    default:
      std::memcpy(p, t.bytes, t.length);
      break;
  }
}

// Checks per-packet Geneve options; sets *critical if any is critical.
bool CheckOptions(std::span<const uint8_t> opts, bool* critical) {
  *critical = false;
  if (opts.size() % 4 != 0 || opts.size() > kGeneveMaxOptionBytes) return false;
  size_t at = 0;
  while (at < opts.size()) {
    if (opts.size() - at < 4) return false;
    const size_t bytes = 4 + 4 * size_t{opts[at + 3] & 0x1fu};
    if (bytes > opts.size() - at) return false;
    *critical |= (opts[at + 2] & 0x80) != 0;
    at += bytes;
  }
  return true;
}

// Fills the per-packet IP and L4 fields of the outer frame at `p` whose L4
// part (header onwards) is `l4_bytes` long, then the L4 checksum.  Forced
// inline, like ReadInnerIp: as calls they cost ~3 cycles per packet.
[[gnu::always_inline]] inline void FinishOuter(const EncapTemplate& t, const EncapParams& params,
                                               uint8_t* p, uint32_t l4_bytes,
                                               const InnerIp& inner) {
  uint8_t* ip = p + kEthHeaderBytes;
  uint8_t* l4 = p + t.l4_offset;
  const uint8_t tos =
      static_cast<uint8_t>((t.tos_inherit ? inner.tos & 0xfc : t.tos) |
                           (inner.tos & 3));
  const uint8_t ttl = t.ttl_inherit ? inner.ttl : t.ttl;
  if (!t.ipv6) {
    // The checksum is summed from the values in registers, not reloaded
    // from the packet: reloading 16-bit words just written as bytes stalls
    // store forwarding (measured: 2.3x slower encapsulation).
    const uint16_t total = static_cast<uint16_t>(kIpv4HeaderBytes + l4_bytes);
    ip[1] = tos;
    Store16(ip + 2, total);
    Store16(ip + 4, params.ip_id);
    ip[8] = ttl;
    // Five 16-bit terms: two folding steps suffice (the generic 64-bit
    // fold's serial chain cost ~5 cycles per packet).
    uint32_t sum = static_cast<uint32_t>(t.ip_sum) + HostToNet16(0x4500 | tos) +
                   HostToNet16(total) + HostToNet16(params.ip_id) +
                   HostToNet16(static_cast<uint16_t>(ttl << 8 | ip[9]));
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    StoreChecksum(ip + 10, static_cast<uint16_t>(~sum));
  } else {
    Store32(ip, 0x60000000u | uint32_t{tos} << 20 |
                    (params.flow_hash & 0xfffffu));
    Store16(ip + 4, static_cast<uint16_t>(l4_bytes));
    ip[7] = ttl;
  }
  Store16(l4, SourcePort(params.flow_hash));
  if (t.type == TunnelType::kStt) {
    const uint64_t sum = t.pseudo_sum + HostToNet16(static_cast<uint16_t>(l4_bytes));
    StoreChecksum(l4 + 16, FinishChecksum(SumBytes(l4, l4_bytes, sum)));
    return;
  }
  Store16(l4 + 4, static_cast<uint16_t>(l4_bytes));
  if (t.l4_csum) {
    const uint64_t sum = t.pseudo_sum + HostToNet16(static_cast<uint16_t>(l4_bytes));
    uint16_t csum = FinishChecksum(SumBytes(l4, l4_bytes, sum));
    if (csum == 0) csum = 0xffff;  // RFC 768: zero means "no checksum".
    StoreChecksum(l4 + 6, csum);
  }
}

// Writes STT's per-frame fields into the 18-byte STT header at `stt`.
void FillSttHeader(const EncapTemplate& t, const EncapParams& params,
                   uint8_t* stt) {
  stt[1] = params.stt.flags;
  stt[2] = params.stt.l4_offset;
  Store16(stt + 4, params.stt.mss);
  Store16(stt + 6, params.stt.vlan_tci);
  if (t.key_flow) Store64(stt + 8, params.tun_id);
}

void WriteEthIp(const TunnelConfig& config, const EncapEndpoint& ep,
                uint8_t proto, EncapTemplate& t) {
  uint8_t* b = t.bytes;
  std::memcpy(b, ep.dst_mac.bytes.data(), 6);
  std::memcpy(b + 6, ep.src_mac.bytes.data(), 6);
  uint8_t* ip = b + kEthHeaderBytes;
  if (!t.ipv6) {
    Store16(b + 12, kEtherTypeIpv4);
    ip[0] = 0x45;
    ip[1] = t.tos;
    Store16(ip + 6, config.df_default ? 0x4000 : 0);
    ip[8] = t.ttl;
    ip[9] = proto;
    std::memcpy(ip + 12, ep.local_ip.V4Bytes(), 4);
    std::memcpy(ip + 16, ep.remote_ip.V4Bytes(), 4);
    t.ip_sum = FoldSum(SumBytes(ip + 6, 2) + SumBytes(ip + 12, 8));
    t.l4_offset = kEthHeaderBytes + kIpv4HeaderBytes;
  } else {
    Store16(b + 12, kEtherTypeIpv6);
    Store32(ip, 0x60000000u | uint32_t{t.tos} << 20);
    ip[6] = proto;
    ip[7] = t.ttl;
    std::memcpy(ip + 8, ep.local_ip.bytes.data(), 16);
    std::memcpy(ip + 24, ep.remote_ip.bytes.data(), 16);
    t.l4_offset = kEthHeaderBytes + kIpv6HeaderBytes;
  }
  t.pseudo_sum = PseudoHeaderSum(ep.local_ip, ep.remote_ip, proto, 0);
}

void WriteTunnelHeader(const TunnelConfig& config, EncapTemplate& t) {
  uint8_t* l4 = t.bytes + t.l4_offset;
  Store16(l4 + 2, config.dst_port);
  if (t.type == TunnelType::kStt) {
    Store16(l4 + 12, kTcpFlagsPshAck);
    Store16(l4 + 14, 0xffff);  // Window.
    t.tunnel_offset = static_cast<uint8_t>(t.l4_offset + kTcpHeaderBytes);
    Store64(t.bytes + t.tunnel_offset + 8, config.key_flow ? 0 : config.key);
    t.length = static_cast<uint8_t>(t.tunnel_offset + kSttHeaderBytes);
    return;
  }
  t.tunnel_offset = static_cast<uint8_t>(t.l4_offset + kUdpHeaderBytes);
  uint8_t* h = t.bytes + t.tunnel_offset;
  if (t.type == TunnelType::kGeneve) {
    Store16(h + 2, kEtherTypeTeb);
  } else {
    h[0] = 0x08;  // VXLAN I flag.
  }
  Store32(h + 4, static_cast<uint32_t>(config.key_flow ? 0 : config.key) << 8);
  t.length = static_cast<uint8_t>(t.tunnel_offset + kGeneveHeaderBytes);
}

}  // namespace

Result<EncapTemplate> BuildEncapTemplate(const TunnelConfig& config,
                                         const EncapEndpoint& endpoint) {
  if (endpoint.local_ip.IsUnspecified() || endpoint.remote_ip.IsUnspecified()) {
    return Error("invalid tunnel endpoint", "local or remote IP is unset");
  }
  if (endpoint.local_ip.IsV4() != endpoint.remote_ip.IsV4()) {
    return Error("invalid tunnel endpoint",
                 "local_ip " + endpoint.local_ip.ToString() + " and remote_ip " +
                     endpoint.remote_ip.ToString() +
                     " are of different address families");
  }
  EncapTemplate t;
  t.type = config.type;
  t.ipv6 = !endpoint.local_ip.IsV4();
  t.l4_csum = config.csum || t.ipv6 || config.type == TunnelType::kStt;
  t.key_flow = config.key_flow;
  t.tos_inherit = config.tos_inherit;
  t.ttl_inherit = config.ttl_inherit;
  t.tos = config.tos_inherit ? 0 : config.tos;
  t.ttl = config.ttl;
  t.endpoint = endpoint;
  const uint8_t proto =
      config.type == TunnelType::kStt ? kIpProtoTcp : kIpProtoUdp;
  WriteEthIp(config, endpoint, proto, t);
  WriteTunnelHeader(config, t);
  return t;
}

DropReason Encap(const EncapTemplate& t, const EncapParams& params,
                 PacketView& pkt) {
  const uint32_t inner_len = pkt.length();
  uint32_t opt_len = 0;
  bool critical = false;
  if (t.type == TunnelType::kGeneve && !params.geneve_options.empty()) {
    if (!CheckOptions(params.geneve_options, &critical)) {
      return DropReason::kBadGeneveOptions;
    }
    opt_len = static_cast<uint32_t>(params.geneve_options.size());
  }
  const uint32_t hdr_len = t.length + opt_len;
  const uint32_t l4_bytes = hdr_len - t.l4_offset + inner_len;
  if (l4_bytes + (t.ipv6 ? 0 : kIpv4HeaderBytes) > kMaxIpPayload ||
      (t.type == TunnelType::kStt && kSttHeaderBytes + inner_len > 0xffff)) {
    return DropReason::kInnerTooLong;
  }
  const InnerIp inner = ReadInnerIp(pkt.data(), inner_len);
  uint8_t* p = pkt.Prepend(hdr_len);
  if (p == nullptr) return DropReason::kNoHeadroom;
  CopyTemplate(p, t);
  uint8_t* tun = p + t.tunnel_offset;
  if (t.type == TunnelType::kStt) {
    uint8_t* tcp = p + t.l4_offset;
    Store32(tcp + 4, (kSttHeaderBytes + inner_len) << 16);  // Offset 0.
    Store32(tcp + 8, params.stt_frame_id);
    FillSttHeader(t, params, tun);
  } else {
    if (opt_len != 0) {
      CopyOptionBytes(p + t.length, params.geneve_options.data(), opt_len);
      tun[0] = static_cast<uint8_t>(opt_len / 4);
      tun[1] = critical ? 0x40 : 0;
    }
    if (t.key_flow) {
      Store32(tun + 4, static_cast<uint32_t>(params.tun_id) << 8);
    }
  }
  FinishOuter(t, params, p, l4_bytes, inner);
  return DropReason::kNone;
}

uint32_t SttSegmentCount(const EncapTemplate& t, uint32_t inner_bytes,
                         uint32_t mtu_bytes) {
  const uint32_t overhead = t.tunnel_offset - kEthHeaderBytes;  // IP + TCP.
  if (mtu_bytes <= overhead) return 0;
  const uint32_t per_segment = mtu_bytes - overhead;
  const uint32_t frame = kSttHeaderBytes + inner_bytes;
  return (frame + per_segment - 1) / per_segment;
}

DropReason EncapSttSegments(const EncapTemplate& t, const EncapParams& params,
                            std::span<const uint8_t> inner, uint32_t mtu_bytes,
                            std::span<PacketView> outs) {
  const uint32_t inner_len = static_cast<uint32_t>(inner.size());
  if (t.type != TunnelType::kStt || kSttHeaderBytes + inner.size() > 0xffff) {
    return DropReason::kInnerTooLong;
  }
  const uint32_t n = SttSegmentCount(t, inner_len, mtu_bytes);
  if (n == 0) return DropReason::kOuterExceedsMtu;
  if (n > outs.size()) return DropReason::kSegmentBufferTooSmall;
  const uint32_t frame_len = kSttHeaderBytes + inner_len;
  const uint32_t per_segment = mtu_bytes - (t.tunnel_offset - kEthHeaderBytes);
  uint8_t stt[kSttHeaderBytes];
  std::memcpy(stt, t.bytes + t.tunnel_offset, kSttHeaderBytes);
  FillSttHeader(t, params, stt);
  const InnerIp inner_ip = ReadInnerIp(inner.data(), inner_len);
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t off = i * per_segment;
    const uint32_t len = std::min(per_segment, frame_len - off);
    PacketView& out = outs[i];
    out.TrimTo(0);
    uint8_t* p = out.Append(t.tunnel_offset + len);
    if (p == nullptr) return DropReason::kSegmentBufferTooSmall;
    std::memcpy(p, t.bytes, t.tunnel_offset);
    uint8_t* data = p + t.tunnel_offset;
    const uint32_t from_hdr = off < kSttHeaderBytes
                                  ? std::min(len, kSttHeaderBytes - off)
                                  : 0;
    std::memcpy(data, stt + off, from_hdr);
    const uint32_t inner_off = off + from_hdr - kSttHeaderBytes;
    std::memcpy(data + from_hdr, inner.data() + inner_off, len - from_hdr);
    uint8_t* tcp = p + t.l4_offset;
    Store32(tcp + 4, frame_len << 16 | off);
    Store32(tcp + 8, params.stt_frame_id);
    FinishOuter(t, params, p, kTcpHeaderBytes + len, inner_ip);
  }
  return DropReason::kNone;
}

namespace {

uint64_t Word(const uint8_t* p) {  // 8 bytes, native order.
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint64_t ShortWord(const uint8_t* p, size_t n) {  // Fewer than 8 bytes.
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

}  // namespace

uint32_t InnerFlowHash(std::span<const uint8_t> frame) {
  // The flow's words (Ethernet header, protocol, addresses, L4 ports) are
  // each multiplied by their own odd constant and the products xored:
  // independent multiplies instead of a serial byte-wise chain (an
  // FNV-1a over 27 bytes cost about 100 cycles per packet, a sixth of the
  // encapsulation path), then a final avalanche.
  constexpr uint64_t kK[7] = {0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL,
                              0x165667b19e3779f9ULL, 0xd6e8feb86659fd93ULL,
                              0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL,
                              0x8ebc6af09c88c6e3ULL};
  const uint8_t* f = frame.data();
  const size_t n = frame.size();
  // Fixed-size loads only (a variable-length memcpy is a library call).
  uint64_t h = n < kEthHeaderBytes ? ShortWord(f, n < 8 ? n : 8) * kK[0] ^ n
                                   : Word(f) * kK[0] ^ Word(f + 6) * kK[1];
  if (n >= kEthHeaderBytes) {
    const uint16_t type = Load16(f + 12);
    size_t l4 = 0;
    uint8_t proto = 0;
    if (type == kEtherTypeIpv4 && n >= 34 && (f[14] >> 4) == 4) {
      proto = f[23];
      h ^= Word(f + 26) * kK[2];
      const bool fragment = (Load16(f + 20) & 0x3fff) != 0;
      if (!fragment) l4 = kEthHeaderBytes + 4 * size_t{f[14] & 0xfu};
    } else if (type == kEtherTypeIpv6 && n >= 54) {
      proto = f[20];
      h ^= Word(f + 22) * kK[2] ^ Word(f + 30) * kK[3] ^ Word(f + 38) * kK[4] ^
           Word(f + 46) * kK[5];
      l4 = 54;
    }
    uint64_t ports = 0;
    if (l4 != 0 && (proto == kIpProtoTcp || proto == kIpProtoUdp) && n >= l4 + 4) {
      uint32_t p32;
      std::memcpy(&p32, f + l4, 4);
      ports = p32;
    }
    h ^= (ports << 8 | proto) * kK[6];
  }
  // The high half of a sum of products depends on every input bit; the
  // full avalanche (shift, multiply, shift) added ~8 cycles of latency.
  return static_cast<uint32_t>(h >> 32);
}

}  // namespace spate::tunnels
