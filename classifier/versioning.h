// VersionDomain: rule versions and quiescent-state-based reclamation (QSBR)
// for the classifiers that share it.
//
// What it is
//   Every rule carries the version in which it was added and the version in
//   which it was removed; a lookup at version V sees the rules with
//   add <= V < remove.  Writers stage inserts and removals at the pending
//   version (visible + 1); Publish() makes them all visible at once by
//   storing the new visible version.  Several classifiers (the flow tables of
//   one pipeline) may share one domain, so that one Publish() switches all of
//   them together.
//
// Reclamation (QSBR)
//   Reader threads register and report a quiescent state between lookups
//   (for a PMD thread: after each batch), promising that they hold no
//   pointer into any classifier of the domain at that moment.  Writers
//   retire memory with Defer(fn): fn runs, on the writer's thread during
//   Reclaim() or Synchronize(), once every online reader has reported a
//   quiescent state after the Defer() call.  A reader may go Offline() while
//   idle so that it does not hold reclamation back.  This is the classic
//   QSBR scheme (as in liburcu's qsbr flavour or DPDK's rte_rcu_qsbr), kept
//   inside classifier/ because the classifier has no dependencies.
//
// Thread-safety
//   Reader functions (Quiescent, Offline, Online, visible_version) are
//   lock-free and may be called by any registered reader.  Writer functions
//   (Publish, Defer, Reclaim, Synchronize, AddParticipant) must be
//   serialised by the caller (one writer thread at a time).  RegisterReader
//   and UnregisterReader are thread-safe.
#ifndef SPATE_CLASSIFIER_VERSIONING_H
#define SPATE_CLASSIFIER_VERSIONING_H

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace spate::cls {

// A rule version.  Visible versions start at 1; kVersionNever is "not removed".
using Version = uint64_t;
inline constexpr Version kVersionNever = ~0ULL;

// What the domain calls on each participant (classifier) around Publish().
class PublishParticipant {
 public:
  virtual ~PublishParticipant() = default;
  // Called by Publish() before the new version is stored: make every
  // reader-visible structure (subtable order, tries) cover the staged rules.
  virtual void PrepareCommit() = 0;
  // Called by Publish() after the version is stored: schedule reclamation of
  // the rules removed in the published batch.
  virtual void AfterCommit() = 0;
};

class VersionDomain {
 public:
  static constexpr int kMaxReaders = 128;  // Reader slots.

  VersionDomain();
  ~VersionDomain();  // Runs every deferred callback (no reader may be active).
  VersionDomain(const VersionDomain&) = delete;
  VersionDomain& operator=(const VersionDomain&) = delete;

  // ---- Readers (lock-free) -------------------------------------------------

  // The newest published version.  A reader may use the value it read until
  // its next quiescent state.
  Version visible_version() const {
    return visible_.load(std::memory_order_acquire);
  }
  // Registers the calling thread as a reader, online; returns its id or -1
  // when all kMaxReaders slots are taken.
  int RegisterReader();
  // Releases a reader id (the reader must not be inside a lookup).
  void UnregisterReader(int id);
  // Reports that reader `id` holds no classifier pointer right now.
  void Quiescent(int id) {
    slots_[id].seen.store(epoch_.load(std::memory_order_seq_cst),
                          std::memory_order_seq_cst);
  }
  // Marks reader `id` as idle (ignored by grace periods) / active again.
  void Offline(int id) { slots_[id].seen.store(kOffline, std::memory_order_seq_cst); }
  void Online(int id) { Quiescent(id); }

  // ---- Writers (serialised by the caller) ----------------------------------

  // The version that staged changes will become visible in.
  Version pending_version() const { return visible_version() + 1; }
  // Publishes every staged change of every participant atomically and
  // returns the new visible version.
  Version Publish();
  // Runs `fn` once every online reader has passed a quiescent state after
  // this call (from Reclaim() or Synchronize(), on the writer's thread).
  void Defer(std::function<void()> fn);
  // Runs the deferred callbacks whose grace period has ended; non-blocking.
  // Returns the number run.
  size_t Reclaim();
  // Waits (yielding) until every deferred callback, including those that
  // callbacks defer, has run.  Registered online readers must keep reporting
  // quiescent states meanwhile.
  void Synchronize();
  // Number of callbacks waiting for a grace period.
  size_t n_deferred() const { return deferred_.size(); }

  // Participants are called by Publish(); classifiers register themselves.
  void AddParticipant(PublishParticipant* p);
  void RemoveParticipant(PublishParticipant* p);

 private:
  static constexpr uint64_t kOffline = ~0ULL;
  static constexpr uint64_t kFree = ~0ULL - 1;

  struct alignas(64) Slot {
    std::atomic<uint64_t> seen{kFree};  // Last epoch seen quiescent, or state.
  };
  struct Deferred {
    uint64_t epoch;             // Grace ends when every reader saw >= epoch.
    std::function<void()> fn;   // What to run then.
  };

  // Smallest epoch seen by an online reader (the current epoch if none).
  uint64_t MinSeen() const;

  std::atomic<Version> visible_{1};         // Newest published version.
  std::atomic<uint64_t> epoch_{1};          // QSBR epoch, bumped by Defer().
  Slot slots_[kMaxReaders];                 // One per reader id.
  std::mutex register_mutex_;               // Serialises slot allocation.
  std::deque<Deferred> deferred_;           // Callbacks, oldest first.
  std::vector<PublishParticipant*> participants_;  // Called by Publish().
};

}  // namespace spate::cls

#endif  // SPATE_CLASSIFIER_VERSIONING_H
