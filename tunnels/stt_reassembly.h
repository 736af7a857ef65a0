// SttReassembler: rebuilds STT frames from their TCP-like segments.
//
// What: draft-davie-stt-08 splits an STT frame (18-byte STT header plus the
// inner Ethernet frame) into segments that each carry the frame's total
// length (high 16 bits of the TCP sequence number), the segment's offset in
// the frame (low 16 bits) and a frame identifier (the TCP ACK number).  A
// receiver groups segments by source IP, destination IP, destination port
// and identifier (SttSegmentKey), in any order, until the frame is whole.
//
// Design: all memory is allocated once in the constructor: `max_frames`
// slots of `max_frame_bytes` each, so memory is bounded no matter what
// arrives.  Each slot holds the key, the first-arrival time and up to
// kMaxHoles+1 received byte ranges.  Policies, each counted by the reason
// the call returns:
//   * out of order: accepted;
//   * exact duplicate of held data: the segment is dropped, the frame kept
//     (kSttDuplicateSegment);
//   * partial overlap: the whole frame is dropped (kSttOverlap), as IPv6
//     does for overlapping fragments (RFC 5722): it cannot be trusted;
//   * segments that disagree on the total length: frame dropped
//     (kSttLengthMismatch); data past the end: segment dropped;
//   * never completed: dropped after `timeout_ns` (Expire, or lazily when
//     its slot is needed; counted as kSttReassemblyTimeout);
//   * flood: when every slot is busy the oldest frame is evicted
//     (kSttReassemblyFull) so new frames keep flowing, and an attacker can
//     only waste `max_frames * max_frame_bytes` bytes.
// A completed frame is returned as a span into its slot, valid until the
// next call on this reassembler; the datapath copies it into an mbuf.
// Lookup is a linear scan over the slots (max_frames is small, default 32).
//
// Thread-safety: none; one reassembler per PMD thread (segments of a frame
// share an RSS hash only if the NIC hashes on IPs, so the datapath should
// steer STT by outer IP pair, or share one reassembler under a lock).
#ifndef SPATE_TUNNELS_STT_REASSEMBLY_H
#define SPATE_TUNNELS_STT_REASSEMBLY_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tunnels/drop_reason.h"
#include "tunnels/wire.h"

namespace spate::tunnels {

// What identifies the segments of one STT frame.
struct SttSegmentKey {
  IpAddr src;             // Outer source IP.
  IpAddr dst;             // Outer destination IP.
  uint32_t frame_id = 0;  // TCP ACK number.
  uint16_t dst_port = 0;  // TCP destination port (the STT endpoint).

  bool operator==(const SttSegmentKey&) const = default;
};

// Limits of one reassembler.
struct SttReassemblyConfig {
  uint32_t max_frames = 32;          // Frames in progress at once.
  uint32_t max_frame_bytes = 65535;  // Largest STT frame accepted.
  uint64_t timeout_ns = 1'000'000'000;  // Time allowed to complete a frame.
};

// Outcome of adding one segment.
struct SttAddResult {
  enum class Status : uint8_t {
    kPending,   // Segment stored; frame not complete yet.
    kComplete,  // Frame complete: `frame` holds STT header + inner frame.
    kDropped,   // Segment (and perhaps its frame) dropped for `reason`.
  };
  Status status = Status::kPending;       // What happened.
  DropReason reason = DropReason::kNone;  // Why, when kDropped.
  std::span<const uint8_t> frame;  // The whole frame, when kComplete.
  uint32_t n_evicted = 0;  // Other frames evicted (count kSttReassemblyFull).
  uint32_t n_expired = 0;  // Other frames timed out (kSttReassemblyTimeout).
};

class SttReassembler {
 public:
  static constexpr int kMaxHoles = 15;  // Ranges tracked per frame - 1.

  // Allocates max_frames * max_frame_bytes bytes up front.
  explicit SttReassembler(const SttReassemblyConfig& config = {});

  // Adds the segment `data` at `offset` of a frame of `total_bytes` under
  // `key`, at time `now_ns`.  Never allocates.  See the class comment for
  // every outcome; the returned frame span is valid until the next call.
  SttAddResult Add(const SttSegmentKey& key, uint16_t total_bytes,
                   uint16_t offset, std::span<const uint8_t> data,
                   uint64_t now_ns);

  // Drops every frame older than the timeout; returns how many (count them
  // as kSttReassemblyTimeout).  Call periodically, e.g. once per batch.
  uint32_t Expire(uint64_t now_ns);

  // Frames currently in progress.
  uint32_t n_pending() const;
  // Bytes of frame memory owned (constant after construction).
  size_t memory_bytes() const { return storage_.size(); }

 private:
  struct Range {
    uint16_t begin;  // First byte held.
    uint32_t end;    // One past the last byte held.
  };
  struct Slot {
    bool in_use = false;             // Holds a frame in progress.
    bool completed = false;          // Returned complete; free on next call.
    SttSegmentKey key;               // Frame identity.
    uint16_t total_bytes = 0;        // Frame length announced.
    uint64_t first_ns = 0;           // Arrival time of the first segment.
    uint8_t n_ranges = 0;            // Used entries of `ranges`.
    std::array<Range, kMaxHoles + 1> ranges{};  // Sorted, disjoint.
  };

  uint8_t* SlotData(size_t index) {
    return storage_.data() + index * config_.max_frame_bytes;
  }
  void ReleaseCompleted();
  Slot* FindOrClaim(const SttSegmentKey& key, uint64_t now_ns,
                    SttAddResult* result);
  DropReason InsertRange(Slot& slot, uint8_t* buffer, uint32_t begin,
                         std::span<const uint8_t> data);

  SttReassemblyConfig config_;   // Limits.
  std::vector<Slot> slots_;      // max_frames slots.
  std::vector<uint8_t> storage_;  // Frame bytes, one stripe per slot.
};

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_STT_REASSEMBLY_H
