#include "tunnels/decap_lane.h"

namespace spate::tunnels {
namespace {

// Marks bytes [at, at+n) of the frame as compared (mask covers 12..59).
void Keep(uint8_t* mask, uint32_t at, uint32_t n) { std::memset(mask + at - 12, 0xff, n); }

}  // namespace

bool DecapLane::Learn(const uint8_t* f, uint32_t len, const TunnelMetadata& md) {
  valid_ = false;
  if (len < kMinFrameBytes || Load16(f + 12) != kEtherTypeIpv4 || f[kIpAt] != 0x45 ||
      f[kIpAt + 9] != kIpProtoUdp) {
    return false;
  }
  uint8_t mask[kWords * 8] = {};
  Keep(mask, 12, 2);  // Ethernet type.
  Keep(mask, 14, 1);  // IP version and header length.
  Keep(mask, 20, 2);  // Flags and fragment offset.
  Keep(mask, 23, 1);  // Protocol.
  Keep(mask, 26, 8);  // Source and destination addresses.
  Keep(mask, 36, 2);  // UDP destination port.
  const uint8_t* t = f + kUdpAt + kUdpHeaderBytes;
  if (md.type == TunnelType::kGeneve) {
    const uint32_t opt = 4u * (t[0] & 0x3fu);
    if (opt != 0 && 4u + 4u * (t[kGeneveHeaderBytes + 3] & 0x1fu) != opt) return false;
    Keep(mask, 42, 7);  // Version, option length, flags, protocol, VNI.
    if (opt != 0) Keep(mask, 50, 4);  // The one option TLV's header.
    tunnel_bytes_ = kGeneveHeaderBytes + opt;
  } else if (md.type == TunnelType::kVxlan) {
    Keep(mask, 42, 1);  // Flags (I).
    Keep(mask, 46, 3);  // VNI.
    tunnel_bytes_ = kVxlanHeaderBytes;
  } else {
    return false;
  }
  std::memcpy(ref_, f + kFirstByte, sizeof ref_);
  std::memcpy(mask_, mask, sizeof mask_);
  for (int i = 0; i < kWords; ++i) ref_[i] &= mask_[i];
  min_udp_bytes_ = kUdpHeaderBytes + tunnel_bytes_ + kEthHeaderBytes;
  pseudo_sum_ = PseudoHeaderSum(IpAddr::FromV4Bytes(f + kIpAt + 12),
                                IpAddr::FromV4Bytes(f + kIpAt + 16), kIpProtoUdp, 0);
  valid_ = true;
  return true;
}

}  // namespace spate::tunnels
