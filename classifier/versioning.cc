#include "classifier/versioning.h"

#include <algorithm>
#include <cassert>
#include <thread>

namespace spate::cls {

VersionDomain::VersionDomain() = default;

VersionDomain::~VersionDomain() {
  // No reader may be active: run everything, including what callbacks defer.
  while (!deferred_.empty()) {
    Deferred d = std::move(deferred_.front());
    deferred_.pop_front();
    d.fn();
  }
}

int VersionDomain::RegisterReader() {
  std::lock_guard<std::mutex> lock(register_mutex_);
  for (int i = 0; i < kMaxReaders; ++i) {
    if (slots_[i].seen.load(std::memory_order_relaxed) == kFree) {
      slots_[i].seen.store(epoch_.load(std::memory_order_seq_cst),
                           std::memory_order_seq_cst);
      return i;
    }
  }
  return -1;
}

void VersionDomain::UnregisterReader(int id) {
  std::lock_guard<std::mutex> lock(register_mutex_);
  slots_[id].seen.store(kFree, std::memory_order_seq_cst);
}

uint64_t VersionDomain::MinSeen() const {
  uint64_t min = epoch_.load(std::memory_order_seq_cst);
  for (const Slot& s : slots_) {
    uint64_t seen = s.seen.load(std::memory_order_seq_cst);
    if (seen < min) min = seen;  // kOffline and kFree are larger than any epoch.
  }
  return min;
}

Version VersionDomain::Publish() {
  for (PublishParticipant* p : participants_) p->PrepareCommit();
  Version v = visible_.load(std::memory_order_relaxed) + 1;
  visible_.store(v, std::memory_order_release);
  for (PublishParticipant* p : participants_) p->AfterCommit();
  return v;
}

void VersionDomain::Defer(std::function<void()> fn) {
  // Readers that report quiescence after this increment have dropped every
  // pointer they held before the caller unlinked what `fn` frees.
  uint64_t e = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
  deferred_.push_back(Deferred{e, std::move(fn)});
}

size_t VersionDomain::Reclaim() {
  if (deferred_.empty()) return 0;
  uint64_t min = MinSeen();
  size_t n = 0;
  // Callbacks may Defer() more work; those get later epochs and wait.
  while (!deferred_.empty() && deferred_.front().epoch <= min) {
    Deferred d = std::move(deferred_.front());
    deferred_.pop_front();
    d.fn();
    ++n;
  }
  return n;
}

void VersionDomain::Synchronize() {
  while (!deferred_.empty()) {
    if (Reclaim() == 0) std::this_thread::yield();
  }
}

void VersionDomain::AddParticipant(PublishParticipant* p) {
  participants_.push_back(p);
}

void VersionDomain::RemoveParticipant(PublishParticipant* p) {
  participants_.erase(std::remove(participants_.begin(), participants_.end(), p),
                      participants_.end());
}

}  // namespace spate::cls
