// Hand-off annotations for ThreadSanitizer around DPDK.
//
// DPDK is not built with TSan, so its rings and mempools (which pass packets
// between threads) are invisible to it, and our instrumented reads of a
// packet that another thread wrote before handing it to DPDK look like races.
// Every place where our code gives a packet to DPDK (transmit, free) calls
// ReleasePacket, and every place where it gets one back (receive, alloc) calls
// AcquirePacket, keyed on the mbuf's address: this tells TSan about the
// happens-before edge that DPDK's ring provides.  Without TSan both are empty
// inline functions.  Internal to datapath/: include only from .cc files.
#ifndef SPATE_DATAPATH_SANITIZER_H
#define SPATE_DATAPATH_SANITIZER_H

#if defined(__SANITIZE_THREAD__)
#define SPATE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SPATE_TSAN 1
#endif
#endif

#ifdef SPATE_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace spate::datapath {

// Our accesses to `p` so far happen before whoever acquires it next.
inline void ReleasePacket(const void* p) {
#ifdef SPATE_TSAN
  __tsan_release(const_cast<void*>(p));
#else
  (void)p;
#endif
}

// Accesses by whoever released `p` happen before ours from now on.
inline void AcquirePacket(const void* p) {
#ifdef SPATE_TSAN
  __tsan_acquire(const_cast<void*>(p));
#else
  (void)p;
#endif
}

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_SANITIZER_H
