// DropReason: why tunnels/ refused a packet.
//
// Every data-plane function in tunnels/ returns a DropReason instead of
// throwing, allocating or logging.  kNone means success; every other value
// names one failure.  The caller (the datapath) keeps one counter per
// reason and shows them by DropReasonName(); tests assert on the value.
//
// Thread-safety: constants only.
#ifndef SPATE_TUNNELS_DROP_REASON_H
#define SPATE_TUNNELS_DROP_REASON_H

#include <cstdint>
#include <string_view>

namespace spate::tunnels {

enum class DropReason : uint8_t {
  kNone = 0,  // Success: nothing dropped.

  // Outer headers (decapsulation).
  kTruncatedOuter,         // Frame shorter than its Ethernet/IP/L4 headers.
  kBadOuterIpVersion,      // IPv4 header whose version is not 4.
  kBadOuterIpLength,       // IP length field inconsistent with the frame.
  kOuterIpOptions,         // IPv4 options (not accepted, as in OVS).
  kOuterIpFragment,        // Outer IP fragment (outer reassembly unsupported).
  kBadIpv4Checksum,        // Outer IPv4 header checksum wrong.
  kBadUdpLength,           // UDP length field inconsistent with IP length.
  kBadUdpChecksum,         // Non-zero UDP checksum that does not verify.
  kZeroUdpChecksumIpv6,    // UDP over IPv6 without checksum (RFC 8200).
  kBadTcpChecksum,         // STT segment whose TCP checksum is wrong.

  // Geneve.
  kTruncatedGeneve,           // Shorter than the Geneve header + options.
  kBadGeneveVersion,          // Geneve version field not 0.
  kGeneveOptLenPastEnd,       // An option TLV runs past the options area.
  kUnknownCriticalOption,     // Critical option this endpoint cannot parse.
  kUnsupportedGeneveProtocol, // Protocol type other than Ethernet (0x6558).

  // VXLAN.
  kTruncatedVxlan,  // Shorter than the VXLAN header.
  kBadVxlanFlags,   // The I (valid VNI) flag is clear.

  // Tunnel key.
  kWrongVni,  // VNI/context does not match the receiving port's fixed key.

  // STT.
  kTruncatedStt,           // Segment or frame shorter than STT needs.
  kBadSttVersion,          // STT frame header version not 0.
  kBadSttTcpHeader,        // TCP-like header malformed (data offset != 5).
  kSttNoReassembler,       // Segmented frame but no reassembler supplied.
  kSttFrameTooLong,        // STT frame longer than the reassembly limit.
  kSttSegmentPastEnd,      // Segment data beyond the frame's total length.
  kSttLengthMismatch,      // Segments of one frame disagree on its length.
  kSttOverlap,             // Segment partially overlaps data already held.
  kSttDuplicateSegment,    // Segment repeats data already held.
  kSttTooManyHoles,        // Frame too fragmented to track.
  kSttReassemblyFull,      // Frame evicted to make room for a newer one.
  kSttReassemblyTimeout,   // Frame not completed within the timeout.

  // Encapsulation and underlay.
  kNoHeadroom,             // Not enough headroom to prepend outer headers.
  kBadGeneveOptions,       // Per-packet Geneve options malformed/too long.
  kInnerTooLong,           // Inner frame too long for the outer length fields.
  kOuterExceedsMtu,        // Outer packet larger than the underlay MTU.
  kSegmentBufferTooSmall,  // An STT segment does not fit its output buffer.

  // ARP / IPv6 ND frames.
  kTruncatedArp,       // Shorter than an Ethernet ARP frame.
  kBadArp,             // Not Ethernet/IPv4 ARP request or reply.
  kTruncatedNd,        // Shorter than an NS/NA message.
  kBadNd,              // Not a valid NS/NA (type, code, hop limit, target).
  kBadIcmpv6Checksum,  // ICMPv6 checksum wrong.

  kCount,  // Number of reasons; not a reason.
};

// Number of distinct reasons, for counter arrays indexed by reason.
inline constexpr int kNumDropReasons = static_cast<int>(DropReason::kCount);

// A stable lower-case, hyphenated name ("truncated-outer") for counters and
// logs.  Never null; unknown values map to "unknown".
std::string_view DropReasonName(DropReason reason);

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_DROP_REASON_H
