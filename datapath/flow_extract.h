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
#include <cstring>

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

// The same contract and result as ExtractFlowKey, always through the
// general pass (for the tests, the fuzz target and the benchmark that
// compare the specialised pass with it).
ExtractResult ExtractFlowKeyGeneric(const uint8_t* frame, size_t len,
                                    uint32_t in_port, cls::FlowKey* key);

// The general pass into `*result` (reset first); ExtractFlowKeyReuse's
// fallback, out of line.
void ExtractFlowKeyGenericInto(const uint8_t* frame, size_t len, uint32_t in_port,
                               cls::FlowKey* key, ExtractResult* result);

namespace extract_internal {

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t Be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

// The specialised pass, inline so that the fast path's extraction loop
// has no call per packet.  The frames a virtual switch sees most:
// untagged Ethernet II, IPv4 without options and unfragmented, then a
// complete TCP or UDP header.  Reads every field first, then writes each
// key word once, zeros included (the general pass clears the key with a
// 216-byte memset, which GCC compiles to `rep stos`: half of extraction's
// time in perf, and its field ORs are read-modify-writes of the key).
// With kZeroRest false the caller guarantees that every word this pass
// does not write is zero already, and only six words are stored.
// `*result` must hold a default ExtractResult (note kNone, no offsets):
// only the three offsets found are stored.  False, with `*key` and
// `*result` untouched, for any other frame.  Word layout
// (classifier/flow.h): 0 in_port; 14 dl_dst << 16 | vlan_tci; 15 dl_src
// << 16 | dl_type; 16 nw_src << 32 | nw_dst; 21 proto << 56 | tos << 48 |
// ttl << 40 | frag << 32 | ipv6_label; 22 tp_src << 48 | tp_dst << 32 |
// tcp_flags << 16.  flow_extract_test and the fuzz target check that this
// pass and the general one agree.
template <bool kZeroRest>
inline bool ExtractCommon(const uint8_t* frame, size_t len, uint32_t in_port,
                          cls::FlowKey* key, ExtractResult* result) {
  constexpr size_t kEth = 14, kIp = 20, kL4 = kEth + kIp;
  if (len < kL4 + 8 || Be16(frame + 12) != cls::kEthTypeIp) return false;
  const uint8_t* ip = frame + kEth;
  size_t total = Be16(ip + 2);
  size_t left = len - kEth;
  if ((ip[0] & 0x0f) != 5 || total > left || total < kIp || left - total > 65535 ||
      (Be16(ip + 6) & 0x3fff) != 0) {
    return false;
  }
  const uint8_t* l4 = frame + kL4;
  size_t l4_len = total - kIp;
  uint8_t proto = ip[9];
  uint64_t tcp_flags = 0;
  if (proto == 6) {  // TCP
    if (l4_len < 20) return false;  // (total <= len - 14: l4[0..19] exist.)
    size_t offset = size_t{l4[12]} >> 4 << 2;
    if (offset < 20 || offset > l4_len) return false;
    tcp_flags = Be16(l4 + 12) & 0x0fff;
  } else if (proto != 17 || l4_len < 8) {  // UDP
    return false;
  }
  uint64_t* w = key->w;
  w[0] = in_port;
  w[14] = Be64(frame) & ~uint64_t{0xffff};
  w[15] = (Be64(frame + 6) & ~uint64_t{0xffff}) | cls::kEthTypeIp;
  w[16] = uint64_t{Be32(ip + 12)} << 32 | Be32(ip + 16);
  w[21] = uint64_t{proto} << 56 | uint64_t{ip[1]} << 48 | uint64_t{ip[8]} << 40;
  w[22] = uint64_t{Be16(l4)} << 48 | uint64_t{Be16(l4 + 2)} << 32 | tcp_flags << 16;
  if constexpr (kZeroRest) {
    cls::FlowKey::ZeroWords<1, 14>(w);
    cls::FlowKey::ZeroWords<17, 21>(w);
    cls::FlowKey::ZeroWords<23, cls::kFlowWords>(w);
  }
  result->offsets.l3 = static_cast<uint32_t>(kEth);
  result->offsets.l4 = static_cast<uint32_t>(kL4);
  result->offsets.l3_end = static_cast<uint32_t>(kEth + total);
  return true;
}

}  // namespace extract_internal

// The Ethernet words of a plain IPv4 frame (untagged, at least 14
// bytes, dl_type 0x0800): stores key words 0 (in_port), 14 (dl_dst,
// vlan_tci 0) and 15 (dl_src, dl_type) as ExtractFlowKey would, and
// nothing else.  False, with `*key` untouched, for any other frame.  For
// megaflow masks that cover no other word (FastPath's L2 mode).
inline bool ExtractEthernetWords(const uint8_t* frame, size_t len, uint32_t in_port,
                                 cls::FlowKey* key) {
  if (len < 14 || extract_internal::Be16(frame + 12) != cls::kEthTypeIp) return false;
  key->w[0] = in_port;
  key->w[14] = extract_internal::Be64(frame) & ~uint64_t{0xffff};
  key->w[15] = extract_internal::Be64(frame + 6);
  return true;
}

// ExtractFlowKey for a key that is reused frame after frame (the fast
// path's per-batch keys), inline.  On entry `*clean` says that every word
// of `*key` the specialised pass does not write is zero (false for a
// fresh key: then it is like ExtractFlowKey); on return it says so again
// for the next call.  When both hold, the specialised pass stores 6 words
// instead of 27.  The caller must reset `*clean` if it writes the key.
// One named result on every path, so it is built in the caller's storage
// (copying a local out on one path stalled on store forwarding).
inline ExtractResult ExtractFlowKeyReuse(const uint8_t* frame, size_t len, uint32_t in_port,
                                         cls::FlowKey* key, bool* clean) {
  ExtractResult result;
  *clean = *clean ? extract_internal::ExtractCommon<false>(frame, len, in_port, key, &result)
                  : extract_internal::ExtractCommon<true>(frame, len, in_port, key, &result);
  if (!*clean) ExtractFlowKeyGenericInto(frame, len, in_port, key, &result);
  return result;
}

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_FLOW_EXTRACT_H
