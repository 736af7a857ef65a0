// Encapsulation: a per-tunnel header template, and the per-packet prepend.
//
// What: BuildEncapTemplate() turns a tunnel's configuration and its resolved
// underlay (local and remote IP, our MAC, the neighbour's MAC) into the
// complete outer header bytes: Ethernet, IPv4 or IPv6, UDP (Geneve, VXLAN)
// or the TCP-like STT header, and the fixed tunnel header.  Encap() then
// prepends those bytes to an inner Ethernet frame and patches the few
// fields that vary per packet.
//
// Design: everything that is constant per (tunnel, remote) is computed once
// in the template, including the IPv4 header checksum over the constant
// words and the pseudo-header sum.  Per packet: one fixed-size copy of the
// template, the lengths, the IPv4 checksum folded from the template's sum
// plus four words, the UDP/TCP source port from the inner flow hash (ECMP
// entropy; also the IPv6 flow label), and, when key=flow, the VNI/context
// and Geneve options from EncapParams.  A UDP checksum (csum=true, always
// over IPv6) and STT's TCP checksum add one pass over the inner frame.
// With remote_ip=flow the datapath keeps one template per remote it sends
// to (a template always names a concrete remote).
//
// STT frames that do not fit the underlay MTU are split by
// EncapSttSegments() into caller-supplied buffers (draft-davie-stt-08 §3:
// TCP sequence number = frame length << 16 | segment offset, ACK number =
// frame identifier).  Geneve and VXLAN packets beyond the MTU are dropped
// by the caller with CheckUnderlayMtu() (mtu.h), as Open vSwitch does.
//
// Thread-safety: an EncapTemplate is immutable after building and may be
// shared by any number of threads; Encap() touches only its packet.
#ifndef SPATE_TUNNELS_ENCAP_H
#define SPATE_TUNNELS_ENCAP_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "common/result.h"
#include "tunnels/drop_reason.h"
#include "tunnels/packet_view.h"
#include "tunnels/tunnel_config.h"
#include "tunnels/wire.h"

namespace spate::tunnels {

// The resolved underlay for one tunnel destination.
struct EncapEndpoint {
  IpAddr local_ip;   // Outer source: options:local_ip or the route's SRC.
  IpAddr remote_ip;  // Outer destination: options:remote_ip or per flow.
  MacAddr src_mac;   // Our underlay port's MAC.
  MacAddr dst_mac;   // Neighbour MAC of the remote or of the route's gateway.
};

// STT frame-header fields other than the context (draft §3.2).  Zero means
// "no offload requested", which is what a software sender uses.
struct SttFrameFields {
  uint8_t flags = 0;      // Bit 0 csum verified, 1 csum partial, 2 IPv4, 3 TCP.
  uint8_t l4_offset = 0;  // Inner L4 header offset (with csum partial).
  uint16_t mss = 0;       // Segment size for receive offload (0 = none).
  uint16_t vlan_tci = 0;  // PCP(3) V(1) VID(12); V=0x1000 means present.

  bool operator==(const SttFrameFields&) const = default;
};

// Per-packet inputs to Encap().
struct EncapParams {
  uint32_t flow_hash = 0;  // Inner flow hash: UDP/TCP source port, v6 label.
  uint64_t tun_id = 0;     // VNI/context when the tunnel has key=flow.
  std::span<const uint8_t> geneve_options;  // Geneve TLVs (4n bytes, <=252).
  uint16_t ip_id = 0;       // IPv4 Identification (matters when DF is clear).
  uint32_t stt_frame_id = 0;  // STT ACK number: unique per frame in flight.
  SttFrameFields stt;       // STT frame-header fields.
};

// Largest template: Ethernet + IPv6 + TCP + STT header.
inline constexpr uint32_t kMaxTemplateBytes =
    kEthHeaderBytes + kIpv6HeaderBytes + kTcpHeaderBytes + kSttHeaderBytes;

// The outer headers of one tunnel destination, built once.
struct EncapTemplate {
  uint8_t bytes[kMaxTemplateBytes] = {};  // Outer headers, lengths zero.
  uint8_t length = 0;         // Bytes used in `bytes`.
  uint8_t l4_offset = 0;      // Offset of the UDP/TCP header.
  uint8_t tunnel_offset = 0;  // Offset of the Geneve/VXLAN/STT header.
  TunnelType type = TunnelType::kGeneve;  // Format.
  bool ipv6 = false;          // Outer IP version is 6.
  bool l4_csum = false;       // Compute the UDP checksum (always for TCP).
  bool key_flow = false;      // VNI/context comes from EncapParams.
  bool tos_inherit = false;   // Outer DSCP copied from the inner packet.
  bool ttl_inherit = false;   // Outer TTL copied from the inner packet.
  uint8_t tos = 0;            // Outer DSCP when not inherited (ECN zero).
  uint8_t ttl = 64;           // Outer TTL when not inherited.
  uint64_t ip_sum = 0;        // IPv4: constant header words, folded to 16 bits.
  uint64_t pseudo_sum = 0;    // Pseudo-header sum of addresses and protocol.
  EncapEndpoint endpoint;     // What the template was built from.
};

// Builds the template for `config` towards `endpoint`.  Errors: address
// families differ, an address is zero.  `config.remote_ip_flow` is allowed:
// the remote is endpoint.remote_ip either way.
Result<EncapTemplate> BuildEncapTemplate(const TunnelConfig& config,
                                         const EncapEndpoint& endpoint);

// Prepends the template to the inner Ethernet frame in `pkt` and fills the
// per-packet fields.  For STT this produces a single-segment frame (use
// SttSegmentCount/EncapSttSegments when it would exceed the MTU).  Returns
// kNone, kNoHeadroom, kBadGeneveOptions or kInnerTooLong; on failure `pkt`
// is unchanged.  Does not check the MTU.
DropReason Encap(const EncapTemplate& tmpl, const EncapParams& params,
                 PacketView& pkt);

// Number of STT segments EncapSttSegments() produces for an inner frame of
// `inner_bytes` on an underlay with IP MTU `mtu_bytes` (1 when it fits; 0
// when the MTU leaves no room for data).
uint32_t SttSegmentCount(const EncapTemplate& tmpl, uint32_t inner_bytes,
                         uint32_t mtu_bytes);

// Writes the STT encapsulation of `inner` as SttSegmentCount() segments, one
// complete outer frame appended to each of outs[0..n) (each view's data is
// replaced).  Returns kNone, kInnerTooLong, kSegmentBufferTooSmall (fewer
// outs than segments, or one lacks room) or kOuterExceedsMtu (MTU too small
// for any data).
DropReason EncapSttSegments(const EncapTemplate& tmpl,
                            const EncapParams& params,
                            std::span<const uint8_t> inner, uint32_t mtu_bytes,
                            std::span<PacketView> outs);

namespace encap_detail {  // InnerFlowHash's loads.

inline uint64_t Word(const uint8_t* p) {  // 8 bytes, native order.
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint64_t ShortWord(const uint8_t* p, size_t n) {  // Fewer than 8 bytes.
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

}  // namespace encap_detail

// A flow hash over the inner frame's addresses, protocol and ports, for
// callers without a NIC RSS hash.  Frames too short hash what they have.
// Inline: it runs per encapsulated packet (as a call it cost ~3 cycles).
[[gnu::always_inline]] inline uint32_t InnerFlowHash(std::span<const uint8_t> frame) {
  using encap_detail::ShortWord;
  using encap_detail::Word;
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

#endif  // SPATE_TUNNELS_ENCAP_H
