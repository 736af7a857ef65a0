// PMD threads: poll receive queues, hand each batch on, back off when idle.
//
// What
//   A PmdThread is one poll-mode thread (Open vSwitch's "pmd" thread): it
//   polls a list of (port, receive queue) pairs round-robin and gives every
//   non-empty batch to a PacketHandler (the fast path, later: key
//   extraction, caches, actions, transmit).  PmdPoller is the loop body
//   without the thread, so benchmarks and single-threaded tests can drive
//   exactly the code the thread runs.
//
// Idle back-off
//   A PMD that finds nothing keeps polling for `spin_polls` empty rounds,
//   then executes an exponentially growing number of pause instructions
//   between rounds (up to `max_pause`), and once it has been idle for
//   `sleep_after_us` it sleeps on a condition variable for `min_sleep_us`,
//   doubling up to `max_sleep_us` while still idle.  Any packet resets all
//   of it, so a loaded PMD never pauses or sleeps and pays one predictable
//   branch per empty round.  The sleep ends early on a control request
//   (SetRxQueues, Stop) or when a port that can tell (DummyPort) receives
//   a frame for one of the PMD's queues (RxWaker).  DPDK devices cannot
//   tell without interrupts, so with them a sleeping PMD notices traffic
//   within max_sleep_us; set max_sleep_us = 0 to poll without sleeping on
//   dedicated cores (the classic DPDK behaviour).
//
// Counters (PmdStats): rounds, busy rounds, cycles spent in busy and idle
//   rounds (TSC), packets and batches received, sleeps and time asleep.
//   They are written only by the PMD thread (relaxed atomics: plain moves
//   on x86) and read by anyone.
//
// Thread-safety
//   PmdPoller: one thread.  PmdThread: all public methods are control
//   operations, safe to call from any thread but serialised by the caller
//   (the datapath's control thread); SetRxQueues and Stop are synchronous:
//   when they return the PMD no longer touches queues it was told to drop,
//   so their ports may be destroyed.  Wake is thread-safe.
#ifndef SPATE_DATAPATH_PMD_H
#define SPATE_DATAPATH_PMD_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "datapath/eal.h"
#include "datapath/packet.h"
#include "datapath/port.h"

namespace spate::datapath {

// One receive queue of one port.
struct RxQueueRef {
  Port* port = nullptr;  // Not owned; outlives its use by the PMD.
  int qid = 0;           // Receive queue index.
  bool operator==(const RxQueueRef&) const = default;
};

// Receives every non-empty batch a PMD polls.
class PacketHandler {
 public:
  virtual ~PacketHandler() = default;
  // Takes ownership of the packets in `batch` (send, free or keep them);
  // `from` is where they were received.  Runs on the PMD thread.
  virtual void HandleBatch(const RxQueueRef& from, PacketBatch* batch) = 0;
};

// Sends every batch to one transmit queue of one port (testpmd's "io"
// forwarding): a handler for tests, benchmarks and plain port pairs.
class ForwardHandler : public PacketHandler {
 public:
  ForwardHandler(Port* out, int txq) : out_(out), txq_(txq) {}
  void HandleBatch(const RxQueueRef& from, PacketBatch* batch) override {
    out_->TxBurst(txq_, batch);
  }

 private:
  Port* out_;  // Destination port, not owned.
  int txq_;    // Its transmit queue (used only by this PMD).
};

// Spreads every receive queue of `ports` over `n_pmds` PMD threads round
// robin, in port order then queue order (Open vSwitch's
// pmd-rxq-assign=roundrobin): element i is the list for PMD i.  n_pmds must
// be >= 1.
std::vector<std::vector<RxQueueRef>> AssignRxQueues(
    const std::vector<Port*>& ports, int n_pmds);

// The idle back-off (see the header comment).
struct PmdIdleOptions {
  uint32_t spin_polls = 64;       // Empty rounds before pausing.
  uint32_t max_pause = 128;       // Most pause instructions per empty round.
  uint32_t sleep_after_us = 200;  // Idle time before the first sleep.
  uint32_t min_sleep_us = 16;     // First sleep.
  uint32_t max_sleep_us = 1000;   // Longest sleep; 0 never sleeps.
};

// A snapshot of a PMD's counters.
struct PmdStats {
  uint64_t iterations = 0;       // Polling rounds (each polls every queue).
  uint64_t busy_iterations = 0;  // Rounds that received packets.
  uint64_t busy_cycles = 0;      // TSC cycles in busy rounds (rx+handler).
  uint64_t idle_cycles = 0;      // TSC cycles in empty rounds and pauses.
  uint64_t rx_packets = 0;       // Packets received.
  uint64_t rx_batches = 0;       // Non-empty batches handed on.
  uint64_t n_sleeps = 0;         // Times the thread slept while idle.
  uint64_t sleep_ns = 0;         // Wall time asleep.
};

// The PMD loop body: polls each queue once per round.  One thread.
class PmdPoller {
 public:
  PmdPoller(PacketHandler* handler, PmdIdleOptions idle)
      : handler_(handler), idle_(idle) {}

  // Replaces the queues polled.
  void SetRxQueues(std::vector<RxQueueRef> rxqs) { rxqs_ = std::move(rxqs); }
  // The queues polled.
  const std::vector<RxQueueRef>& rxqs() const { return rxqs_; }
  // Polls every queue once and hands on what arrived; returns the number
  // of packets.  Updates the counters.
  uint32_t PollOnce();
  // Called after an empty round: pauses or reports that it is time to
  // sleep.  Returns the microseconds to sleep (0: keep polling).
  uint32_t IdleBackoff();
  // Called after a sleep of `slept_ns`.
  void RecordSleep(uint64_t slept_ns);
  // A snapshot of the counters.  Any thread.
  PmdStats GetStats() const;

 private:
  struct Counters {
    std::atomic<uint64_t> iterations{0};
    std::atomic<uint64_t> busy_iterations{0};
    std::atomic<uint64_t> busy_cycles{0};
    std::atomic<uint64_t> idle_cycles{0};
    std::atomic<uint64_t> rx_packets{0};
    std::atomic<uint64_t> rx_batches{0};
    std::atomic<uint64_t> n_sleeps{0};
    std::atomic<uint64_t> sleep_ns{0};
  };

  PacketHandler* handler_;        // Not owned.
  PmdIdleOptions idle_;           // Back-off parameters.
  std::vector<RxQueueRef> rxqs_;  // Polled round-robin.
  PacketBatch batch_;             // Reused for every burst.
  Counters counters_;             // Written here, read anywhere.
  uint32_t empty_rounds_ = 0;     // Consecutive empty rounds.
  uint32_t pause_n_ = 1;          // Pauses per empty round now.
  uint32_t sleep_us_ = 0;         // Next sleep length.
  int64_t idle_since_ns_ = 0;     // When pausing began (0: not yet).
  uint64_t last_cycles_ = 0;      // TSC at the end of the last round, or 0.
};

// How to start a PMD thread.
struct PmdOptions {
  std::string name = "pmd";       // Thread name (first 15 characters).
  int cpu = -1;                   // CPU to pin to; -1 leaves affinity alone.
  const Eal* eal = nullptr;       // Registers the thread as an lcore if set.
  PacketHandler* handler = nullptr;  // Required; outlives the thread.
  PmdIdleOptions idle;            // Idle back-off.
};

class PmdThread : public RxWaker {
 public:
  // Starts a thread polling `rxqs`.  Errors: no handler, a null port or a
  // queue index out of range.
  static Result<std::unique_ptr<PmdThread>> Start(const PmdOptions& options,
                                                  std::vector<RxQueueRef> rxqs);
  // Stops the thread (Stop).
  ~PmdThread() override;
  PmdThread(const PmdThread&) = delete;
  PmdThread& operator=(const PmdThread&) = delete;

  // Makes the PMD poll `rxqs` instead; returns once it does.  Errors as
  // Start (the old list stays).
  Status SetRxQueues(std::vector<RxQueueRef> rxqs);
  // Asks the thread to finish its round and exit, and joins it.  The
  // ports of its queues must still exist.  Idempotent.
  void Stop();
  // Ends an idle sleep early.  Thread-safe.
  void Wake() override;

  // The counters since start or the last ClearStats.
  PmdStats GetStats() const;
  // Makes GetStats count from now (pmd-stats-clear).
  void ClearStats();
  // CPU time the thread has used, in nanoseconds (0 once stopped).
  uint64_t cpu_time_ns() const;
  // The lcore id the thread registered as, or -1.
  int lcore_id() const { return lcore_id_.load(); }
  // The queues being polled.
  std::vector<RxQueueRef> rxqs() const;

 private:
  explicit PmdThread(const PmdOptions& options);
  void Run();
  void HandleRequest();
  void Sleep(uint32_t us);
  static Status Validate(const std::vector<RxQueueRef>& rxqs);
  void SetWakers(const std::vector<RxQueueRef>& rxqs, RxWaker* waker);

  PmdOptions options_;                  // As started.
  PmdPoller poller_;                    // Owned by the thread.
  std::thread thread_;                  // The PMD.
  std::atomic<int> lcore_id_{-1};       // Registered lcore id.

  mutable std::mutex mutex_;            // Guards the fields below.
  std::condition_variable wake_cv_;     // Ends sleeps.
  std::condition_variable ack_cv_;      // Signals handled requests.
  std::vector<RxQueueRef> rxqs_;        // The list the PMD polls (or will).
  bool rxqs_changed_ = false;           // rxqs_ not yet adopted.
  bool stop_ = false;                   // Exit requested.
  bool running_ = false;                // Thread started and not joined.
  uint64_t done_seq_ = 0;               // Last request handled.
  PmdStats baseline_;                   // Subtracted by GetStats.

  std::atomic<uint64_t> request_seq_{0};  // Bumped per control request.
  std::atomic<bool> wake_pending_{false};  // Wake called since last sleep.
  std::atomic<bool> sleeping_{false};      // The PMD is (about to be) asleep.
  uint64_t seen_seq_ = 0;                 // PMD thread only.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_PMD_H
