// Drop reasons of the fast path and the slow path: every packet the
// datapath does not transmit is counted under exactly one of these.
//
// Design
//   One enum, one stable counter name per value (lower_snake, as
//   `ovs-appctl coverage/show` and `dpif-netdev/pmd-stats-show` print
//   them).  Counters are per PMD (DropCounters, single writer); readers
//   sum them.  A packet that was transmitted on at least one port is not a
//   drop, even if some of its copies were (those are counted too, as
//   copy drops, so nothing vanishes silently).
//
// Thread-safety
//   DropCounters: one writer thread (the PMD), any number of readers.
#ifndef SPATE_DATAPATH_DROP_REASONS_H
#define SPATE_DATAPATH_DROP_REASONS_H

#include <atomic>
#include <cstdint>

namespace spate::datapath {

enum class DropReason : uint8_t {
  kNone = 0,            // Not dropped.
  kNoRule,              // A table had no matching rule (table miss).
  kExplicitDrop,        // The rules' actions output nowhere ("drop").
  kResubmitTooDeep,     // Resubmit/goto nesting beyond kMaxResubmitDepth.
  kTooManyResubmits,    // More than kMaxResubmits table visits.
  kTtlExpired,          // dec_ttl on a TTL of 0 or 1.
  kNoSuchPort,          // Output to a port that no longer exists.
  kCloneFailed,         // No buffer to copy a packet output several times.
  kNoTunnelHook,        // A tunnel action without a tunnel implementation.
  kTunnelPushFailed,    // The tunnel hook refused to encapsulate.
  kTunnelPopFailed,     // The tunnel hook refused to decapsulate.
  kRecirculationLimit,  // Decapsulated again after kMaxRecirculations.
  kNonContiguous,       // Multi-segment packet that an action must edit.
  kNoHeadroom,          // No room in front of the packet to push a header.
  kCount                // Number of reasons.
};
inline constexpr int kNumDropReasons = static_cast<int>(DropReason::kCount);

// Stable counter name of `r`, e.g. "no_rule"; "none" for kNone.
const char* DropReasonName(DropReason r);

// Per-reason counters written by one thread.
struct DropCounters {
  std::atomic<uint64_t> n[kNumDropReasons] = {};  // Packets by reason.

  // Counts one drop (single writer: a relaxed load and store).
  void Count(DropReason r, uint64_t n_pkts = 1) {
    auto& c = n[static_cast<int>(r)];
    c.store(c.load(std::memory_order_relaxed) + n_pkts, std::memory_order_relaxed);
  }
  // The count for `r` (any thread).
  uint64_t Get(DropReason r) const {
    return n[static_cast<int>(r)].load(std::memory_order_relaxed);
  }
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_DROP_REASONS_H
