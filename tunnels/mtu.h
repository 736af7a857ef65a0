// Underlay MTU check for encapsulated packets.
//
// Open vSwitch's userspace datapath neither fragments an outer tunnel
// packet nor sends ICMP "fragmentation needed" for it: a packet longer than
// the egress port's MTU is dropped at transmit and counted
// (netdev-dpdk's tx_mtu_exceeded_drops).  Spate does the same with
// CheckUnderlayMtu() -> kOuterExceedsMtu, except for STT, whose frames are
// segmented to the MTU by EncapSttSegments() (encap.h).  Operators size the
// inner MTU (e.g. 1500 - 50 for Geneve over IPv4 without options) or raise
// the underlay MTU; see README.md.
//
// Thread-safety: pure function.
#ifndef SPATE_TUNNELS_MTU_H
#define SPATE_TUNNELS_MTU_H

#include <cstdint>

#include "tunnels/drop_reason.h"
#include "tunnels/wire.h"

namespace spate::tunnels {

// kNone when an Ethernet frame of `frame_bytes` (no VLAN tag, no FCS) fits
// an underlay whose IP MTU is `mtu_bytes`, else kOuterExceedsMtu.
inline DropReason CheckUnderlayMtu(uint32_t frame_bytes, uint32_t mtu_bytes) {
  return frame_bytes <= mtu_bytes + kEthHeaderBytes
             ? DropReason::kNone
             : DropReason::kOuterExceedsMtu;
}

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_MTU_H
