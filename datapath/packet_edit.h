// Packet editing: set-field, push VLAN and pop VLAN on frame bytes, with
// the IPv4 header checksum and the TCP/UDP/ICMPv6/SCTP checksums kept right.
//
// What it is
//   The byte-level half of action execution (actions.h is the other half).
//   It sees a FrameView (a buffer, its size, and the data window inside it)
//   and a FrameLayout (where the headers are, from flow extraction), so it
//   builds and is fuzzed without DPDK: the fast path maps a Packet onto a
//   FrameView and back (Packet::SetDataWindow).
//
// Design
//   * Checksums are updated incrementally (RFC 1624, HC' = ~(~HC + ~m + m'))
//     one 16-bit word at a time: an address rewrite costs a few adds, never a
//     pass over the payload.  A UDP-over-IPv4 checksum of 0 (none) stays 0;
//     a computed 0 is written as 0xffff.  SCTP's CRC32c cannot be updated
//     incrementally and is recomputed over the SCTP packet.
//   * Every edit checks that its header is present and inside the IP
//     datagram; when it is not, the edit is skipped and false returned (the
//     slow path only emits edits whose prerequisites hold, so this is the
//     safety net for truncated packets, not a normal outcome).
//   * Fields are those of classifier/flow.h, values right-aligned host order
//     (a MAC is its 48-bit number); `mask` selects the bits written.
//
// Thread-safety
//   Pure functions over caller-owned memory.
#ifndef SPATE_DATAPATH_PACKET_EDIT_H
#define SPATE_DATAPATH_PACKET_EDIT_H

#include <cstdint>

#include "classifier/flow.h"
#include "datapath/flow_extract.h"

namespace spate::datapath {

// A data window inside a buffer: data() = buffer + offset, `length` bytes.
struct FrameView {
  uint8_t* buffer = nullptr;  // Start of the buffer.
  uint32_t capacity = 0;      // Size of the buffer in bytes.
  uint32_t offset = 0;        // Start of the frame (headroom before it).
  uint32_t length = 0;        // Bytes of frame.

  uint8_t* data() const { return buffer + offset; }
};

// Where the headers are, relative to the frame start.
struct FrameLayout {
  uint32_t l3 = kNoOffset;      // First byte after the Ethernet/VLAN headers.
  uint32_t l4 = kNoOffset;      // L4 header (absent for later fragments).
  uint32_t l3_end = kNoOffset;  // End of the IP datagram (IP only).
  uint16_t dl_type = 0;         // Ethertype after the VLAN tags.
  uint8_t nw_proto = 0;         // IP protocol (IP only).
  uint8_t n_vlans = 0;          // VLAN tags in front of dl_type.
  bool is_fragment = false;     // IP fragment (first or later).
};

// The layout of a frame that ExtractFlowKey parsed into `key` / `result`.
FrameLayout MakeFrameLayout(const ExtractResult& result, const cls::FlowKey& key);

// Writes `value` under `mask` into field `field` of the frame, fixing
// checksums.  Supported: dl_src, dl_dst, vlan_tci (outer tag; the 0x1000
// "present" bit is not written), nw_src/nw_dst (IPv4 and ARP spa/tpa),
// ip_dscp, nw_ecn, nw_ttl, ipv6_src, ipv6_dst, ipv6_label, tp_src/tp_dst
// (TCP, UDP, SCTP).  Returns false, leaving the frame unchanged, for other
// fields or when the header is absent or truncated.
bool EditSetField(FrameView* frame, const FrameLayout& layout, cls::Field field,
                  cls::U128 value, cls::U128 mask);

// Inserts a VLAN tag (`tpid`, `tci` without the present bit) after the MAC
// addresses.  Needs 4 bytes of headroom; false (unchanged) otherwise.
// Updates `layout` (offsets move by 4, n_vlans + 1).
bool EditPushVlan(FrameView* frame, FrameLayout* layout, uint16_t tpid, uint16_t tci);

// Removes the outer VLAN tag.  False (unchanged) when there is none.
bool EditPopVlan(FrameView* frame, FrameLayout* layout);

// RFC 1624 incremental update of a ones'-complement checksum for a 16-bit
// word changing from `old_word` to `new_word`.
uint16_t ChecksumUpdate16(uint16_t csum, uint16_t old_word, uint16_t new_word);

// The RFC 1071 checksum (complemented) of `len` bytes, plus `initial`
// (a partial sum, e.g. of a pseudo-header).
uint16_t InternetChecksum(const uint8_t* data, uint32_t len, uint32_t initial = 0);

// CRC32c (Castagnoli) of `len` bytes, as SCTP uses it.
uint32_t Crc32c(const uint8_t* data, uint32_t len);

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_PACKET_EDIT_H
