#include "tunnels/stt_reassembly.h"

#include <algorithm>
#include <cstring>

namespace spate::tunnels {
namespace {

using Status = SttAddResult::Status;

SttAddResult Dropped(SttAddResult result, DropReason reason) {
  result.status = Status::kDropped;
  result.reason = reason;
  return result;
}

}  // namespace

SttReassembler::SttReassembler(const SttReassemblyConfig& config)
    : config_(config) {
  config_.max_frames = std::max<uint32_t>(config_.max_frames, 1);
  config_.max_frame_bytes = std::clamp<uint32_t>(
      config_.max_frame_bytes, kSttHeaderBytes + kEthHeaderBytes, 65535);
  slots_.resize(config_.max_frames);
  storage_.resize(size_t{config_.max_frames} * config_.max_frame_bytes);
}

uint32_t SttReassembler::n_pending() const {
  uint32_t n = 0;
  for (const Slot& slot : slots_) n += slot.in_use && !slot.completed;
  return n;
}

void SttReassembler::ReleaseCompleted() {
  for (Slot& slot : slots_) {
    if (slot.completed) slot.in_use = slot.completed = false;
  }
}

uint32_t SttReassembler::Expire(uint64_t now_ns) {
  ReleaseCompleted();
  uint32_t n = 0;
  for (Slot& slot : slots_) {
    if (slot.in_use && now_ns - slot.first_ns > config_.timeout_ns) {
      slot.in_use = false;
      ++n;
    }
  }
  return n;
}

SttReassembler::Slot* SttReassembler::FindOrClaim(const SttSegmentKey& key,
                                                  uint64_t now_ns,
                                                  SttAddResult* result) {
  Slot* free_slot = nullptr;
  Slot* oldest = nullptr;
  for (Slot& slot : slots_) {
    if (slot.in_use && now_ns - slot.first_ns > config_.timeout_ns) {
      slot.in_use = false;  // Timed out: free it, whoever it belonged to.
      ++result->n_expired;
    }
    if (!slot.in_use) {
      if (free_slot == nullptr) free_slot = &slot;
      continue;
    }
    if (slot.key == key) return &slot;
    if (oldest == nullptr || slot.first_ns < oldest->first_ns) oldest = &slot;
  }
  Slot* slot = free_slot;
  if (slot == nullptr) {
    slot = oldest;  // Every slot busy and fresh: evict the oldest frame.
    ++result->n_evicted;
  }
  slot->in_use = true;
  slot->completed = false;
  slot->key = key;
  slot->total_bytes = 0;
  slot->first_ns = now_ns;
  slot->n_ranges = 0;
  return slot;
}

DropReason SttReassembler::InsertRange(Slot& slot, uint8_t* buffer,
                                       uint32_t begin,
                                       std::span<const uint8_t> data) {
  const uint32_t end = begin + static_cast<uint32_t>(data.size());
  int at = 0;  // Insertion index: first range starting after `begin`.
  for (int i = 0; i < slot.n_ranges; ++i) {
    const Range& r = slot.ranges[i];
    if (begin < r.end && end > r.begin) {
      const bool inside = begin >= r.begin && end <= r.end;
      if (inside && std::memcmp(buffer + begin, data.data(), data.size()) == 0) {
        return DropReason::kSttDuplicateSegment;
      }
      slot.in_use = false;
      return DropReason::kSttOverlap;
    }
    if (r.begin < begin) at = i + 1;
  }
  std::memcpy(buffer + begin, data.data(), data.size());
  const bool join_prev = at > 0 && slot.ranges[at - 1].end == begin;
  const bool join_next = at < slot.n_ranges && slot.ranges[at].begin == end;
  if (join_prev && join_next) {
    slot.ranges[at - 1].end = slot.ranges[at].end;
    std::copy(slot.ranges.begin() + at + 1, slot.ranges.begin() + slot.n_ranges,
              slot.ranges.begin() + at);
    --slot.n_ranges;
  } else if (join_prev) {
    slot.ranges[at - 1].end = end;
  } else if (join_next) {
    slot.ranges[at].begin = static_cast<uint16_t>(begin);
  } else {
    if (slot.n_ranges == slot.ranges.size()) {
      slot.in_use = false;
      return DropReason::kSttTooManyHoles;
    }
    std::copy_backward(slot.ranges.begin() + at,
                       slot.ranges.begin() + slot.n_ranges,
                       slot.ranges.begin() + slot.n_ranges + 1);
    slot.ranges[at] = Range{static_cast<uint16_t>(begin), end};
    ++slot.n_ranges;
  }
  return DropReason::kNone;
}

SttAddResult SttReassembler::Add(const SttSegmentKey& key,
                                 uint16_t total_bytes, uint16_t offset,
                                 std::span<const uint8_t> data,
                                 uint64_t now_ns) {
  ReleaseCompleted();
  SttAddResult result;
  if (total_bytes > config_.max_frame_bytes) {
    return Dropped(result, DropReason::kSttFrameTooLong);
  }
  if (total_bytes < kSttHeaderBytes + kEthHeaderBytes || data.empty()) {
    return Dropped(result, DropReason::kTruncatedStt);
  }
  if (uint32_t{offset} + data.size() > total_bytes) {
    return Dropped(result, DropReason::kSttSegmentPastEnd);
  }
  Slot* slot = FindOrClaim(key, now_ns, &result);
  if (slot->total_bytes == 0) {
    slot->total_bytes = total_bytes;
  } else if (slot->total_bytes != total_bytes) {
    slot->in_use = false;
    return Dropped(result, DropReason::kSttLengthMismatch);
  }
  uint8_t* buffer = SlotData(static_cast<size_t>(slot - slots_.data()));
  const DropReason reason = InsertRange(*slot, buffer, offset, data);
  if (reason != DropReason::kNone) return Dropped(result, reason);
  if (slot->n_ranges == 1 && slot->ranges[0].begin == 0 &&
      slot->ranges[0].end == total_bytes) {
    slot->completed = true;
    result.status = Status::kComplete;
    result.frame = std::span<const uint8_t>(buffer, total_bytes);
  }
  return result;
}

}  // namespace spate::tunnels
