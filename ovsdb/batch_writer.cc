// BatchWriter: see batch_writer.h.  The ring is driven with the raw
// io_uring system calls (no liburing on the build machines): three shared
// mappings (submission ring, completion ring, submission entries).
#include "ovsdb/batch_writer.h"

#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace spate::ovsdb {
namespace {

// Submission entries per io_uring_enter; a larger batch goes in chunks.
constexpr unsigned kRingEntries = 1024;
constexpr int kSendFlags = MSG_DONTWAIT | MSG_NOSIGNAL;

// One shared mapping, unmapped on destruction.
struct Mapping {
  void* addr = MAP_FAILED;  // Start, or MAP_FAILED.
  size_t size = 0;          // Length.

  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (addr != MAP_FAILED) munmap(addr, size);
  }
  // Maps `len` bytes of io_uring `fd` at `offset`; false on failure.
  bool Map(int fd, size_t len, off_t offset) {
    addr = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
    size = len;
    return addr != MAP_FAILED;
  }
  template <class T>
  T* at(size_t offset) const {
    return reinterpret_cast<T*>(static_cast<char*>(addr) + offset);
  }
};

unsigned LoadAcquire(const unsigned* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void StoreRelease(unsigned* p, unsigned v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

}  // namespace

struct BatchWriter::Ring {
  int fd = -1;                      // The io_uring instance.
  Mapping sq_map;                   // Submission ring.
  Mapping cq_map;                   // Completion ring.
  Mapping sqe_map;                  // Submission entries.
  unsigned* sq_tail = nullptr;      // Ours to advance.
  unsigned sq_mask = 0;             // Index mask.
  unsigned* sq_array = nullptr;     // Ring slot -> entry index.
  io_uring_sqe* sqes = nullptr;     // The entries.
  unsigned* cq_head = nullptr;      // Ours to advance.
  unsigned* cq_tail = nullptr;      // The kernel's.
  unsigned cq_mask = 0;             // Index mask.
  io_uring_cqe* cqes = nullptr;     // Completions.
  unsigned n_entries = 0;           // Submission ring size.

  ~Ring() {
    if (fd >= 0) close(fd);
  }

  // Null when the kernel refuses io_uring.
  static std::unique_ptr<Ring> Create();
  // Submits `writes` (at most n_entries) and reaps their completions;
  // returns how many the kernel took (those have their result set).
  size_t Run(std::span<Write> writes);
};

std::unique_ptr<BatchWriter::Ring> BatchWriter::Ring::Create() {
  io_uring_params p{};
  p.flags = IORING_SETUP_SUBMIT_ALL;
  int fd = static_cast<int>(syscall(__NR_io_uring_setup, kRingEntries, &p));
  if (fd < 0 && errno == EINVAL) {  // Kernels before 5.18.
    p = io_uring_params{};
    fd = static_cast<int>(syscall(__NR_io_uring_setup, kRingEntries, &p));
  }
  if (fd < 0) return nullptr;
  auto r = std::make_unique<Ring>();
  r->fd = fd;
  if (!r->sq_map.Map(fd, p.sq_off.array + p.sq_entries * sizeof(unsigned), IORING_OFF_SQ_RING) ||
      !r->cq_map.Map(fd, p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe), IORING_OFF_CQ_RING) ||
      !r->sqe_map.Map(fd, p.sq_entries * sizeof(io_uring_sqe), IORING_OFF_SQES)) {
    return nullptr;
  }
  r->sq_tail = r->sq_map.at<unsigned>(p.sq_off.tail);
  r->sq_mask = *r->sq_map.at<unsigned>(p.sq_off.ring_mask);
  r->sq_array = r->sq_map.at<unsigned>(p.sq_off.array);
  r->sqes = r->sqe_map.at<io_uring_sqe>(0);
  r->cq_head = r->cq_map.at<unsigned>(p.cq_off.head);
  r->cq_tail = r->cq_map.at<unsigned>(p.cq_off.tail);
  r->cq_mask = *r->cq_map.at<unsigned>(p.cq_off.ring_mask);
  r->cqes = r->cq_map.at<io_uring_cqe>(p.cq_off.cqes);
  r->n_entries = p.sq_entries;
  return r;
}

size_t BatchWriter::Ring::Run(std::span<Write> writes) {
  unsigned tail = *sq_tail;
  for (size_t i = 0; i < writes.size(); ++i, ++tail) {
    unsigned slot = tail & sq_mask;
    io_uring_sqe& sqe = sqes[slot];
    std::memset(&sqe, 0, sizeof sqe);
    sqe.opcode = IORING_OP_SEND;
    sqe.fd = writes[i].fd;
    sqe.addr = reinterpret_cast<uintptr_t>(writes[i].text.data());
    sqe.len = static_cast<uint32_t>(writes[i].text.size());
    sqe.msg_flags = kSendFlags;
    sqe.user_data = i;
    sq_array[slot] = slot;
  }
  StoreRelease(sq_tail, tail);
  // Every send completes during the submission (MSG_DONTWAIT: never
  // polled); waiting for the completions only guards against a kernel that
  // would hand one to a worker, so no buffer is referenced after return.
  long rc;
  unsigned n = static_cast<unsigned>(writes.size());
  do {
    rc = syscall(__NR_io_uring_enter, fd, n, n, IORING_ENTER_GETEVENTS, nullptr, 0);
  } while (rc < 0 && errno == EINTR);
  if (rc <= 0) {
    // Nothing taken: withdraw the entries (the kernel has not read the
    // tail past its own head).
    StoreRelease(sq_tail, tail - n);
    return 0;
  }
  unsigned taken = static_cast<unsigned>(rc);
  unsigned head = *cq_head;
  for (unsigned got = 0; got < taken;) {
    unsigned ready = LoadAcquire(cq_tail);
    for (; head != ready && got < taken; ++head, ++got) {
      const io_uring_cqe& cqe = cqes[head & cq_mask];
      if (cqe.user_data < writes.size()) writes[cqe.user_data].result = cqe.res;
    }
    StoreRelease(cq_head, head);
    if (got < taken) {
      syscall(__NR_io_uring_enter, fd, 0, taken - got, IORING_ENTER_GETEVENTS, nullptr, 0);
    }
  }
  return taken;
}

BatchWriter::BatchWriter(Mode mode, size_t min_ring_batch)
    : mode_(mode), min_ring_batch_(min_ring_batch) {}

BatchWriter::~BatchWriter() = default;

bool BatchWriter::uses_io_uring() const { return ring_ != nullptr; }

void BatchWriter::WriteAll(std::span<Write> writes) {
  if (writes.size() < min_ring_batch_ || writes.empty()) {
    WriteWithSend(writes);
    return;
  }
  if (!tried_ring_ && mode_ == Mode::kAuto) {
    tried_ring_ = true;
    ring_ = Ring::Create();
  }
  while (ring_ && !writes.empty()) {
    size_t n = std::min<size_t>(writes.size(), ring_->n_entries);
    size_t taken = ring_->Run(writes.first(n));
    writes = writes.subspan(taken);  // Submitted in order: a prefix.
    if (taken < n) ring_.reset();    // Refused: send(2) from now on.
  }
  if (!writes.empty()) WriteWithSend(writes);
}

void BatchWriter::WriteWithSend(std::span<Write> writes) {
  for (Write& w : writes) {
    ssize_t n;
    do {
      n = send(w.fd, w.text.data(), w.text.size(), kSendFlags);
    } while (n < 0 && errno == EINTR);
    w.result = n >= 0 ? n : -errno;
  }
}

}  // namespace spate::ovsdb
