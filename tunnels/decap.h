// Decapsulation: recognise, validate and strip tunnel packets.
//
// What: Decap() looks at a frame received on the underlay port.  If it is
// addressed to one of the local tunnel endpoints (IP, protocol and
// destination port: LocalEndpoint), it validates the outer headers, the
// tunnel header and (for STT) the segment, strips everything down to the
// inner Ethernet frame and fills TunnelMetadata for the flow key.  Anything
// not addressed to a local endpoint is kNotTunnel and the datapath switches
// it normally (ARP, ICMP, other traffic to the host, transit traffic).
//
// Design: one pass, front to back, no allocation.  A frame is "ours" only
// once its IP destination, protocol and L4 destination port match an
// endpoint; from then on every defect is a drop with a named reason:
// truncated headers, IPv4 options or fragments, IP/UDP lengths, checksums
// (IPv4 header; UDP when non-zero, mandatory over IPv6; STT's TCP), Geneve
// version, option TLV lengths, unknown critical options (RFC 8926 §3.5),
// VXLAN's I flag, the STT header and segments.  When several endpoints
// share IP, type and port, the tunnel key picks one: an endpoint with a
// fixed key matching the VNI/context wins, then one with key=flow;
// otherwise kWrongVni.  Hardware-verified checksums (DPDK's
// RTE_MBUF_F_RX_*_CKSUM_GOOD) can be passed in rx_flags to skip the
// software checks.  STT segments of a larger frame go to the caller's
// SttReassembler; the completed inner frame is then returned in
// DecapResult::reassembled (reassembler memory: copy it before the next
// call) and `pkt` is left as received.
//
// Thread-safety: Decap() is reentrant; the endpoints and option list are
// read-only; the SttReassembler must belong to the calling thread.
#ifndef SPATE_TUNNELS_DECAP_H
#define SPATE_TUNNELS_DECAP_H

#include <cstdint>
#include <span>

#include "tunnels/drop_reason.h"
#include "tunnels/encap.h"
#include "tunnels/geneve.h"
#include "tunnels/packet_view.h"
#include "tunnels/stt_reassembly.h"
#include "tunnels/tunnel_config.h"
#include "tunnels/wire.h"

namespace spate::tunnels {

// One local tunnel endpoint: a tunnel port's receive side.  Endpoints that
// share an IP and destination port must have the same type (the datapath
// rejects such a configuration); they may differ by key.
struct LocalEndpoint {
  IpAddr ip;                              // Local tunnel IP.
  TunnelType type = TunnelType::kGeneve;  // Format (protocol follows).
  uint16_t dst_port = kGenevePort;        // L4 destination port.
  bool key_flow = true;                   // Any key accepted (key=flow).
  uint64_t key = 0;                       // Required key when !key_flow.
  uint32_t port_id = 0;                   // Caller's tunnel port number.
};

// Everything Decap() needs besides the packet.
struct DecapContext {
  std::span<const LocalEndpoint> endpoints;  // Local endpoints.
  std::span<const GeneveOptionId> understood_options;  // Critical options
                                                       // this datapath parses.
  SttReassembler* stt = nullptr;  // For segmented STT frames (may be null).
  uint64_t now_ns = 0;            // Monotonic time, for STT timeouts.
  bool accept_zero_udp6_checksum = false;  // RFC 6935 zero-csum over IPv6.
};

// rx_flags bits: checks the NIC already did.
inline constexpr uint32_t kRxIpChecksumGood = 1u << 0;  // Outer IPv4 header.
inline constexpr uint32_t kRxL4ChecksumGood = 1u << 1;  // Outer UDP/TCP.

// TunnelMetadata::flags bits.
inline constexpr uint8_t kTunnelFlagOam = 1u << 0;       // Geneve O bit.
inline constexpr uint8_t kTunnelFlagCritical = 1u << 1;  // Geneve C bit.
inline constexpr uint8_t kTunnelFlagCsum = 1u << 2;      // L4 csum present.
inline constexpr uint8_t kTunnelFlagDf = 1u << 3;        // Outer IPv4 DF.

// What the flow key gets from a decapsulated packet.
struct TunnelMetadata {
  uint64_t tun_id = 0;  // VNI (24 bits) or STT context (64 bits).
  IpAddr src;           // Outer source IP.
  IpAddr dst;           // Outer destination IP.
  uint16_t tp_src = 0;  // Outer L4 source port.
  uint16_t tp_dst = 0;  // Outer L4 destination port.
  uint8_t tos = 0;      // Outer ToS / traffic class.
  uint8_t ttl = 0;      // Outer TTL / hop limit.
  uint8_t flags = 0;    // kTunnelFlag* bits.
  TunnelType type = TunnelType::kGeneve;  // Format.
  uint32_t port_id = 0;         // LocalEndpoint::port_id that matched.
  SttFrameFields stt;           // STT frame-header fields (STT only).
  uint8_t n_option_bytes = 0;   // Geneve option bytes in `options`.
  uint8_t options[kGeneveMaxOptionBytes];  // Geneve option TLVs (validated).

  // The Geneve options as a span.
  std::span<const uint8_t> geneve_options() const {
    return {options, n_option_bytes};
  }
};

enum class DecapStatus : uint8_t {
  kDecapped,    // Inner frame ready (in `pkt`, or in `reassembled`).
  kNotTunnel,   // Not for a local endpoint: switch it normally.
  kDropped,     // A tunnel packet with a defect: count `reason`, free it.
  kSegmentHeld, // STT segment stored for reassembly: free the packet.
};

struct DecapResult {
  DecapStatus status = DecapStatus::kNotTunnel;  // Outcome.
  DropReason reason = DropReason::kNone;         // Why, when kDropped.
  std::span<const uint8_t> reassembled;  // STT inner frame in reassembler
                                         // memory (else empty).
  uint32_t n_evicted = 0;  // Other STT frames evicted (kSttReassemblyFull).
  uint32_t n_expired = 0;  // Other STT frames timed out.
};

// Decapsulates `pkt` (an Ethernet frame from the underlay) per the header
// comment.  On kDecapped with an empty `reassembled`, `pkt` now views the
// inner frame; otherwise `pkt` is unchanged.  `md` is meaningful only on
// kDecapped (it may be partly written otherwise).
DecapResult Decap(const DecapContext& ctx, PacketView& pkt, uint32_t rx_flags,
                  TunnelMetadata* md);

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_DECAP_H
