// Flow key extraction: packet bytes -> the classifier's FlowKey.
//
// What it is
//   ExtractFlowKey() parses an Ethernet frame (a pointer and a length, no
//   DPDK types) into a spate::cls::FlowKey with the semantics of Open
//   vSwitch's flow extraction: Ethernet II and 802.3 (LLC/SNAP), up to two
//   VLAN tags, ARP/RARP, IPv4 (options, fragments), IPv6 (extension
//   headers, fragments), TCP, UDP, SCTP, ICMP, ICMPv6 and Neighbor
//   Discovery.  It also records where the L2.5/L3/L4 headers start, which
//   the action code needs for set-field, push/pop VLAN and encapsulation.
//
// Design
//   One forward pass with bounds checks before every read (plus a
//   specialised pass for untagged IPv4 TCP/UDP, which bails out to the
//   general one on anything unusual).  A header that
//   is truncated or malformed stops the pass where Open vSwitch stops: the
//   fields already extracted stay, the rest stay zero (a truncated TCP
//   header yields no ports; an IPv4 header whose IHL lies yields no L3
//   fields at all but keeps dl_type).  The first such problem is reported
//   as an ExtractNote so the caller can count it; a note never means the
//   key is unusable (it is what OVS would classify).
//   Choices where OVS differs by version, or where our key is narrower:
//   * VLAN: tags with TPID 0x8100 or 0x88a8 are parsed, at most two.
//     vlan_tci holds the OUTER tag's TCI with bit 0x1000 (CFI/"present")
//     set, as OVS does; the key has no field for the inner tag, so its TCI
//     is not in the key (its offset is in HeaderOffsets).  dl_type is the
//     ethertype after the tags and L3 is parsed.  A third tag stops the
//     pass with dl_type = its TPID (OVS with vlan-limit 2) and
//     kVlanTooDeep.
//   * IGMP and MPLS are not decoded (the key has no fields for them);
//     their dl_type/nw_proto are still set.
//   * IPv6 extension headers: at most kMaxIpv6ExtHeaders are walked (OVS
//     has no limit; every header consumes >= 8 bytes so OVS terminates
//     too).  Beyond the limit the extension chain counts as malformed.
//
// Thread-safety
//   Pure function of its arguments; safe to call from any thread.
#ifndef SPATE_DATAPATH_FLOW_EXTRACT_H
#define SPATE_DATAPATH_FLOW_EXTRACT_H

#include <cstddef>
#include <cstdint>

#include "classifier/flow.h"

namespace spate::datapath {

// Why extraction stopped early (the first problem found), or kNone.
enum class ExtractNote : uint8_t {
  kNone = 0,              // Every header the key needs was present and sane.
  kTruncatedL2,           // Shorter than an Ethernet header (14 bytes).
  kTruncatedVlan,         // A VLAN TPID without 4 more bytes (tag + type).
  kVlanTooDeep,           // More than two VLAN tags.
  kTruncatedArp,          // ARP shorter than 28 bytes.
  kUnsupportedArp,        // ARP not for Ethernet/IPv4 (no ARP fields).
  kTruncatedIpv4,         // Less than 20 bytes of IPv4 header.
  kBadIpv4Ihl,            // IHL < 5 or beyond the frame.
  kBadIpv4Length,         // Total length beyond the frame or below IHL.
  kTruncatedIpv6,         // Less than 40 bytes of IPv6 header.
  kBadIpv6Length,         // Payload length beyond the frame.
  kTruncatedIpv6Ext,      // An extension header runs past the payload.
  kIpv6ExtChainTooLong,   // More than kMaxIpv6ExtHeaders extension headers.
  kTruncatedL4,           // TCP/UDP/SCTP/ICMP/ICMPv6 header too short.
  kBadTcpOffset,          // TCP data offset < 5 or beyond the segment.
  kTruncatedNdTarget,     // NS/NA without a full 16-byte target.
  kBadNdOption,           // ND option of length 0 or past the packet.
  kDuplicateNdOption,     // SLL or TLL option given twice (ND fields dropped).
  kCount                  // Number of notes (for counter arrays).
};
inline constexpr int kNumExtractNotes = static_cast<int>(ExtractNote::kCount);

// A stable lower_snake name for `note`, e.g. "bad_ipv4_ihl", for counters.
const char* ExtractNoteName(ExtractNote note);

// Most IPv6 extension headers walked before the chain counts as malformed.
inline constexpr int kMaxIpv6ExtHeaders = 16;

// "No such header" in HeaderOffsets.
inline constexpr uint32_t kNoOffset = UINT32_MAX;

// Where headers start, as byte offsets from the start of the frame.
struct HeaderOffsets {
  uint32_t vlan[2] = {kNoOffset, kNoOffset};  // TPID of outer/inner tag.
  uint8_t n_vlans = 0;          // VLAN tags parsed (0..2).
  uint32_t l3 = kNoOffset;      // After the ethertype/SNAP (set when L2 parsed).
  uint32_t l4 = kNoOffset;      // After IPv4 options/IPv6 ext headers (set
                                // for later fragments too; not for ARP).
  uint32_t l3_end = kNoOffset;  // End of the IP packet (Ethernet padding
                                // starts here); set when IP length was sane.
};

// The outcome of one extraction.
struct ExtractResult {
  ExtractNote note = ExtractNote::kNone;  // First problem, or kNone.
  HeaderOffsets offsets;                  // Header positions found.
};

// Parses `len` bytes at `frame` (may be null when len == 0) into `*key`,
// which is overwritten entirely: zeroed, then in_port and every field the
// frame carries are set.  Never reads outside [frame, frame + len).
// Untagged IPv4 (no options, not a fragment) with TCP or UDP takes a
// specialised pass that writes each key word once; every other frame
// takes the general pass (ExtractFlowKeyGeneric).  The two agree.
ExtractResult ExtractFlowKey(const uint8_t* frame, size_t len,
                             uint32_t in_port, cls::FlowKey* key);

// ExtractFlowKey for a key that is reused frame after frame (the fast
// path's per-batch keys).  On entry `*clean` says that every word of
// `*key` the specialised pass does not write is zero (false for a fresh
// key: then it is like ExtractFlowKey); on return it says so again for
// the next call.  When both hold, the specialised pass stores 6 words
// instead of 27.  The caller must reset `*clean` if it writes the key.
ExtractResult ExtractFlowKeyReuse(const uint8_t* frame, size_t len, uint32_t in_port,
                                  cls::FlowKey* key, bool* clean);

// The same contract and result as ExtractFlowKey, always through the
// general pass (for the tests, the fuzz target and the benchmark that
// compare the specialised pass with it).
ExtractResult ExtractFlowKeyGeneric(const uint8_t* frame, size_t len,
                                    uint32_t in_port, cls::FlowKey* key);

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_FLOW_EXTRACT_H
