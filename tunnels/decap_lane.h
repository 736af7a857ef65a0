// DecapLane: a fast lane for the packets of a burst that share the outer
// headers of one that Decap() already accepted.
//
// What: most packets arriving on an underlay port in one burst come from
// the same remote endpoint: their outer Ethernet type, IPv4 addresses,
// protocol, UDP destination port, tunnel header flags, VNI and Geneve
// option header are the same, and only the lengths, the IPv4 ID, ToS, TTL
// and checksum, the UDP source port (flow entropy) and checksum, and the
// option data differ.  After Decap() accepts such a packet, Learn() keeps
// its outer header (the "reference").  DecapLane::Decap() then checks a
// later packet against the reference with six masked 64-bit compares over
// bytes 12..59 instead of walking the endpoint list and every field, and
// performs the per-packet checks Decap() would make on the fields that
// may differ:
//
//   * IPv4 header checksum (five 32-bit words, one fold), unless rx_flags
//     has kRxIpChecksumGood;
//   * lengths: IP total length within the frame, UDP length within the IP
//     payload and long enough for the tunnel header, its options and an
//     inner Ethernet header;
//   * a non-zero UDP checksum (pseudo-header sum of the reference's
//     addresses plus the UDP length and bytes), unless kRxL4ChecksumGood.
//
// Everything else Decap() checks is a function of the compared bytes and
// the configuration: the endpoint match (IP destination, protocol, port),
// the IP version and header length, the fragment bits (the flags and
// fragment offset are compared whole), the Geneve version, protocol,
// option TLV header (the lane serves no options or exactly one TLV that
// fills the option area, so one header decides validity and criticality),
// VXLAN's I flag, the key resolution (VNI) and so the tunnel port.  A
// packet that differs anywhere in the compared bytes, or fails a
// per-packet check, is left untouched for the full Decap(), which gives
// the same verdict and counts any drop by its reason: the lane only ever
// accepts what Decap() accepts, with the same inner frame.
//
// Served: outer IPv4 without options, UDP, Geneve (no option or one TLV)
// and VXLAN.  IPv6, STT and other Geneve option layouts always take the
// full Decap() (Learn() declines them).
//
// Thread-safety: one lane per thread (it is a small value); the caller
// must Reset() it whenever the endpoints or the ports change.
#ifndef SPATE_TUNNELS_DECAP_LANE_H
#define SPATE_TUNNELS_DECAP_LANE_H

#include <cstdint>
#include <cstring>

#include "tunnels/decap.h"
#include "tunnels/packet_view.h"
#include "tunnels/wire.h"

namespace spate::tunnels {

class DecapLane {
 public:
  // Bytes a frame needs for the lane's loads (the compared window ends at
  // byte 60); every frame the lane serves is longer.
  static constexpr uint32_t kMinFrameBytes = 60;

  // Forgets the reference: the next Decap() declines every packet.
  void Reset() { valid_ = false; }
  // True when a reference is learned.
  bool valid() const { return valid_; }

  // Learns the outer headers of `frame` (`len` bytes as received: the
  // bytes before the strip) which the full Decap() just accepted with
  // metadata `md`.  Returns true when the lane can serve packets like it;
  // otherwise the lane is reset and returns false.
  bool Learn(const uint8_t* frame, uint32_t len, const TunnelMetadata& md);

  // The tunnel header bytes (Geneve or VXLAN header plus options) of the
  // reference; the inner frame starts that far after the UDP header.
  uint32_t tunnel_header_bytes() const { return tunnel_bytes_; }

  // If `pkt` matches the reference and passes the per-packet checks (see
  // the header comment), strips its outer headers as the full Decap()
  // would (the view then holds the inner frame) and returns true.
  // Otherwise returns false and leaves `pkt` unchanged.  The metadata of
  // an accepted packet is the reference's, except the fields the key does
  // not take (ToS, TTL, UDP source port, checksum flag) and the Geneve
  // option data, which the caller reads just before the inner frame.
  [[gnu::always_inline]] bool Decap(PacketView& pkt, uint32_t rx_flags) const {
    const uint8_t* f = pkt.data();
    const uint32_t len = pkt.length();
    if (!valid_ || len < kMinFrameBytes) return false;
    uint64_t diff = 0;
    for (int i = 0; i < kWords; ++i) {
      uint64_t w;
      std::memcpy(&w, f + kFirstByte + 8 * i, 8);
      diff |= (w ^ ref_[i]) & mask_[i];
    }
    if (diff != 0) return false;
    const uint32_t total = Load16(f + kIpAt + 2);
    const uint32_t udp_len = Load16(f + kUdpAt + 4);
    if (udp_len < min_udp_bytes_ || udp_len + kIpv4HeaderBytes > total ||
        total + kEthHeaderBytes > len) {
      return false;
    }
    if (!(rx_flags & kRxIpChecksumGood) && !Ipv4HeaderOk(f + kIpAt)) return false;
    if (!(rx_flags & kRxL4ChecksumGood) && !UdpChecksumOk(f + kUdpAt, udp_len)) {
      return false;
    }
    pkt.Strip(kUdpAt + kUdpHeaderBytes + tunnel_bytes_);
    pkt.TrimTo(udp_len - kUdpHeaderBytes - tunnel_bytes_);
    return true;
  }

 private:
  static constexpr uint32_t kFirstByte = 12;  // The Ethernet type.
  static constexpr int kWords = 6;            // Bytes 12..59.
  static constexpr uint32_t kIpAt = kEthHeaderBytes;
  static constexpr uint32_t kUdpAt = kIpAt + kIpv4HeaderBytes;

  // The IPv4 header checksum: the 20 bytes sum to 0xffff.
  [[gnu::always_inline]] static bool Ipv4HeaderOk(const uint8_t* ip) {
    uint32_t w[5];
    std::memcpy(w, ip, sizeof w);
    const uint64_t sum = uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4];
    return FoldSum(sum) == 0xffff;
  }
  // A zero UDP checksum (allowed over IPv4), or a correct one.
  bool UdpChecksumOk(const uint8_t* udp, uint32_t udp_len) const {
    uint16_t csum;
    std::memcpy(&csum, udp + 6, 2);
    if (csum == 0) return true;
    const uint64_t sum = pseudo_sum_ + HostToNet16(static_cast<uint16_t>(udp_len));
    return FoldSum(SumBytes(udp, udp_len, sum)) == 0xffff;
  }

  uint64_t ref_[kWords] = {};   // The reference's bytes 12..59.
  uint64_t mask_[kWords] = {};  // Which of them must match.
  uint64_t pseudo_sum_ = 0;     // Pseudo-header sum without the length.
  uint32_t tunnel_bytes_ = 0;   // Tunnel header + option bytes.
  uint32_t min_udp_bytes_ = 0;  // UDP + tunnel header + inner Ethernet.
  bool valid_ = false;          // A reference is learned.
};

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_DECAP_LANE_H
