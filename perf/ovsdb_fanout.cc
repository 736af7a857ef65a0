// ovsdb_fanout: the fan-out driver perf/ovsdb-bench.sh runs against both
// ovsdb-servers (ours and Open vSwitch's): M monitor_cond clients on one
// unix socket, one writer, and the time from sending a change until the
// first, the median and the last client has read its update.
//
// What it does
//   Opens M connections, sends each a monitor_cond on TABLE (one column,
//   external_ids) and waits for every reply.  Then, PROBES times, the
//   writer inserts one TABLE row whose external_ids carry a marker unique
//   to the probe, and reader threads read the M sockets until each has
//   seen the marker.  The clock (CLOCK_MONOTONIC, shared by every thread)
//   starts just before the writer's send and stops, per client, right
//   after the read that completed its marker.  It prints, like
//   perf/ovsdb_bench_client.py (so the same `report` reads both), one
//   JSON object per figure:
//     {"metric": "fan-out M last", "value": 2.1, "unit": "ms"}
//   first/median/last are medians over the probes; "server CPU/change" is
//   the server's CPU time (/proc/PID/task/*/schedstat) over the probes
//   divided by PROBES.
//
// Readers
//   --threads N reader threads each own every N-th connection and poll
//   them with their own epoll instance, one non-blocking read per ready
//   socket and one memmem for the marker (the tail of the previous read
//   is kept so a marker split across reads is found).  With --spin
//   (default) they call epoll_wait without sleeping while a probe is in
//   flight, so a server's write does not have to wake them, and call
//   sched_yield after each empty poll, so a server that waits for this
//   CPU (a loaded 2-core machine) gets it at once instead of at the end
//   of the reader's time slice; --block makes them sleep in epoll_wait.  Readers are armed before the clock
//   starts: no thread wake-up is inside the timed part.
//   --diag prints to stderr, per reader thread, how many ready sockets
//   each epoll_wait returned on average and the reader's CPU per probe:
//   about one ready socket per wait means the reader keeps up with the
//   server (the figure is the server's); hundreds mean it falls behind.
//
// Echo requests (inactivity probes) are answered while the monitors are
// set up and on the writer's connection; a run is a few seconds, shorter
// than either server's probe interval on unix sockets.
//
// Given Google Benchmark flags (perf/run-benchmarks.sh runs every binary
// in bench-bin/), it says what it is and exits 0.
//
// Thread-safety: a program; reader threads share only atomics and the
// per-probe marker, published before they are armed.
#include <dirent.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: ovsdb_fanout SOCK SERVER_PID MONITORS PROBES [--threads N] [--spin|--block]\n"
    "                    [--uring] [--db NAME] [--table NAME] [--timeout SECS] [--diag]\n";

constexpr size_t kReadBytes = 64 * 1024;

// Command line.
struct Options {
  std::string sock;                 // Server's unix socket path.
  int server_pid = 0;               // For its CPU time.
  int n_monitors = 0;               // Monitoring connections.
  int n_probes = 0;                 // Changes to time.
  int n_threads = 1;                // Reader threads.
  bool spin = true;                 // Readers poll without sleeping.
  bool diag = false;                // Reader statistics on stderr.
  bool uring = false;               // Readers use io_uring, not epoll.
  std::string db = "OVN_Northbound";  // Database.
  std::string table = "Logical_Router";  // Monitored, written table.
  double timeout_s = 60;            // Per probe and per set-up step.
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "ovsdb_fanout: %s\n", what.c_str());
  std::exit(1);
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Server CPU so far in ns, summed over /proc/PID/task/*/schedstat.
int64_t ServerCpuNs(int pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) Die("cannot open " + dir);
  int64_t total = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string path = dir + "/" + e->d_name + "/schedstat";
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      long long ns = 0;
      if (std::fscanf(f, "%lld", &ns) == 1) total += ns;
      std::fclose(f);
    }
  }
  closedir(d);
  return total;
}

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 1000);
      continue;
    }
    if (n <= 0) Die(std::string("write: ") + std::strerror(errno));
    text.remove_prefix(static_cast<size_t>(n));
  }
}

int Connect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Die(std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) Die("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // A server may create its socket file just before it listens: refused
  // connections are retried for a few seconds.
  for (int attempt = 0; connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0;
       ++attempt) {
    if ((errno != ECONNREFUSED && errno != ENOENT && errno != EINTR) || attempt == 500) {
      Die("connect " + path + ": " + std::strerror(errno));
    }
    usleep(10000);
  }
  return fd;
}

// Splits a JSON-RPC byte stream into complete top-level objects (brace
// depth, string- and escape-aware); used outside the timed part only.
class Framer {
 public:
  // Appends `data`; returns the messages it completed.
  std::vector<std::string> Feed(std::string_view data) {
    std::vector<std::string> out;
    for (char c : data) {
      if (depth_ > 0) cur_ += c;
      if (in_string_) {
        if (escape_) escape_ = false;
        else if (c == '\\') escape_ = true;
        else if (c == '"') in_string_ = false;
      } else if (c == '"') {
        in_string_ = depth_ > 0;
      } else if (c == '{') {
        if (depth_++ == 0) cur_ = "{";
      } else if (c == '}' && depth_ > 0 && --depth_ == 0) {
        out.push_back(std::move(cur_));
        cur_.clear();
      }
    }
    return out;
  }

 private:
  std::string cur_;         // The message being completed.
  int depth_ = 0;           // Open braces.
  bool in_string_ = false;  // Inside a string.
  bool escape_ = false;     // After a backslash in a string.
};

// Reads from blocking `fd` until a message containing `needle` arrives;
// answers echo requests on the way.  Returns that message.
std::string AwaitMessage(int fd, Framer& framer, std::string_view needle) {
  char buf[kReadBytes];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die("server closed a connection or read failed");
    for (std::string& m : framer.Feed(std::string_view(buf, static_cast<size_t>(n)))) {
      if (m.find(R"("method":"echo")") != std::string::npos) {
        WriteAll(fd, R"({"id":"echo","result":[],"error":null})");
        continue;
      }
      if (m.find(needle) != std::string::npos) return m;
    }
  }
}

void SetReadTimeout(int fd, double secs) {
  timeval tv{static_cast<time_t>(secs), static_cast<suseconds_t>((secs - static_cast<time_t>(secs)) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// Opens the monitors; every reply checked.  Returns their descriptors,
// left non-blocking.
std::vector<int> OpenMonitors(const Options& o) {
  std::string req = R"({"method":"monitor_cond","id":"m","params":[")" + o.db +
                    R"(","mon",{")" + o.table + R"(":[{"columns":["external_ids"]}]}]})";
  std::vector<int> fds;
  for (int i = 0; i < o.n_monitors; ++i) {
    fds.push_back(Connect(o.sock));
    WriteAll(fds.back(), req);
  }
  for (int fd : fds) {
    SetReadTimeout(fd, o.timeout_s);
    Framer framer;
    std::string reply = AwaitMessage(fd, framer, R"("id":"m")");
    if (reply.find(R"("error":null)") == std::string::npos) Die("monitor_cond failed: " + reply);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return fds;
}

// What the readers need to know about the probe in flight.
struct Probe {
  std::string marker;                       // Text unique to this probe.
  std::atomic<int> generation{0};           // Bumped to arm the readers.
  std::atomic<int> n_armed{0};              // Readers in their poll loop.
  std::atomic<int> n_left{0};               // Monitors without the update.
  std::mutex mu;                            // Guards the wake-up below.
  std::condition_variable cv;               // Readers wait between probes.
  std::atomic<bool> stop{false};            // No more probes.
};

// One reader thread's connections and results.
struct Reader {
  std::vector<int> fds;                     // Its connections.
  std::vector<size_t> index;                // Monitor number of fds[i].
  std::vector<int64_t>* arrival_ns = nullptr;  // By monitor number (shared,
                                            // each slot written by one thread).
  int64_t cpu_ns = 0;                       // CPU spent in probes.
  uint64_t n_waits = 0;                     // epoll_waits that returned events.
  uint64_t n_events = 0;                    // Events they returned.
};

// True when `data`, read after `tail` (the end of the connection's
// previous read), completes `marker`; updates `tail`.
bool SeesMarker(std::string& tail, std::string_view data, std::string_view marker) {
  if (memmem(data.data(), data.size(), marker.data(), marker.size()) != nullptr) return true;
  if (!tail.empty()) {
    std::string joined = tail;
    joined.append(data.substr(0, marker.size()));
    if (joined.find(marker) != std::string::npos) return true;
  }
  size_t keep = std::min(data.size(), marker.size() - 1);
  tail.assign(data.substr(data.size() - keep));
  return false;
}

// Polls until each of `r`'s connections has read the marker; dies after
// `timeout_s`.  Spinning readers poll with a zero timeout.
// Polls until each of `r`'s connections has read the marker; dies after
// o.timeout_s.  Spinning readers poll with a zero timeout.
void ReadOneProbe(Reader& r, int ep, std::string_view marker, const Options& o) {
  std::vector<std::string> tails(r.fds.size());
  std::vector<bool> done(r.fds.size(), false);
  size_t left = r.fds.size();
  char buf[kReadBytes];
  epoll_event events[1024];
  int64_t deadline = NowNs() + static_cast<int64_t>(o.timeout_s * 1e9);
  auto on_data = [&](size_t i, std::string_view data) {
    if (done[i] || !SeesMarker(tails[i], data, marker)) return;
    (*r.arrival_ns)[r.index[i]] = NowNs();
    done[i] = true;
    left--;
  };
  while (left > 0) {
    int n = epoll_wait(ep, events, 1024, o.spin ? 0 : 100);
    if (n <= 0) {
      if (NowNs() > deadline) Die(std::to_string(left) + " monitors got no update");
      if (o.spin) sched_yield();  // A server waiting for this CPU runs now.
      continue;
    }
    r.n_waits++;
    r.n_events += static_cast<uint64_t>(n);
    for (int e = 0; e < n; ++e) {
      size_t i = events[e].data.u64;
      ssize_t got = read(r.fds[i], buf, sizeof buf);
      if (got == 0) Die("a monitor connection closed");
      if (got > 0) on_data(i, std::string_view(buf, static_cast<size_t>(got)));
    }
  }
}

// --uring: an io_uring instance of the reader thread (raw system calls,
// no liburing), set up with DEFER_TASKRUN so that a receive whose socket
// got data runs when this thread next enters io_uring_enter, not in the
// server's send path.
class UringReader {
 public:
  // Sets up the ring for `r`'s sockets; dies if the kernel refuses.
  explicit UringReader(Reader& r) : r_(r), bufs_(r.fds.size() * kBufBytes) {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = static_cast<unsigned>(4 * r.fds.size() + 64);
    unsigned entries = 1;
    while (entries < r.fds.size()) entries *= 2;
    fd_ = static_cast<int>(syscall(__NR_io_uring_setup, entries, &p));
    if (fd_ < 0) Die(std::string("io_uring_setup: ") + std::strerror(errno));
    Map(p);
  }
  ~UringReader() { close(fd_); }

  // Queues one receive per socket not already waiting (before the clock).
  void Arm() {
    for (size_t i = 0; i < r_.fds.size(); ++i) {
      if (!waiting_[i]) Queue(i);
    }
    Enter(0);
  }

  // Runs until each socket has read `marker`; dies after `timeout_s`.
  void ReadOneProbe(std::string_view marker, double timeout_s);

 private:
  static constexpr size_t kBufBytes = 4096;

  void Map(const io_uring_params& p) {
    auto map = [&](size_t len, off_t off) {
      void* a = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, off);
      if (a == MAP_FAILED) Die("io_uring mmap failed");
      return static_cast<char*>(a);
    };
    char* sq = map(p.sq_off.array + p.sq_entries * sizeof(unsigned), IORING_OFF_SQ_RING);
    char* cq = map(p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe), IORING_OFF_CQ_RING);
    sqes_ = reinterpret_cast<io_uring_sqe*>(map(p.sq_entries * sizeof(io_uring_sqe), IORING_OFF_SQES));
    sq_tail_ = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
    sq_mask_ = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
    sq_array_ = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
    cq_head_ = reinterpret_cast<unsigned*>(cq + p.cq_off.head);
    cq_tail_ = reinterpret_cast<unsigned*>(cq + p.cq_off.tail);
    cq_mask_ = *reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask);
    cqes_ = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);
    waiting_.assign(r_.fds.size(), false);
  }
  void Queue(size_t i) {
    unsigned slot = *sq_tail_ & sq_mask_;
    io_uring_sqe& sqe = sqes_[slot];
    std::memset(&sqe, 0, sizeof sqe);
    sqe.opcode = IORING_OP_RECV;
    sqe.fd = r_.fds[i];
    sqe.addr = reinterpret_cast<uintptr_t>(&bufs_[i * kBufBytes]);
    sqe.len = kBufBytes;
    sqe.user_data = i;
    sq_array_[slot] = slot;
    __atomic_store_n(sq_tail_, *sq_tail_ + 1, __ATOMIC_RELEASE);
    waiting_[i] = true;
    n_queued_++;
  }
  // Submits what is queued and runs the receives that have data.
  void Enter(unsigned min_complete) {
    unsigned n = n_queued_;
    n_queued_ = 0;
    if (syscall(__NR_io_uring_enter, fd_, n, min_complete, IORING_ENTER_GETEVENTS, nullptr, 0) < 0 &&
        errno != EINTR && errno != EAGAIN && errno != EBUSY) {
      Die(std::string("io_uring_enter: ") + std::strerror(errno));
    }
  }

  Reader& r_;                        // Sockets and results.
  std::vector<char> bufs_;           // kBufBytes per socket.
  std::vector<bool> waiting_;        // A receive is queued for socket i.
  int fd_ = -1;                      // The ring.
  io_uring_sqe* sqes_ = nullptr;     // Submission entries.
  unsigned* sq_tail_ = nullptr;      // Ours to advance.
  unsigned sq_mask_ = 0;             // Index mask.
  unsigned* sq_array_ = nullptr;     // Slot -> entry.
  unsigned* cq_head_ = nullptr;      // Ours to advance.
  unsigned* cq_tail_ = nullptr;      // The kernel's.
  unsigned cq_mask_ = 0;             // Index mask.
  io_uring_cqe* cqes_ = nullptr;     // Completions.
  unsigned n_queued_ = 0;            // Queued, not yet submitted.
};

void UringReader::ReadOneProbe(std::string_view marker, double timeout_s) {
  std::vector<std::string> tails(r_.fds.size());
  std::vector<bool> done(r_.fds.size(), false);
  size_t left = r_.fds.size();
  int64_t deadline = NowNs() + static_cast<int64_t>(timeout_s * 1e9);
  while (left > 0) {
    Enter(0);
    unsigned head = *cq_head_, tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
    if (head == tail) {
      if (NowNs() > deadline) Die(std::to_string(left) + " monitors got no update");
      sched_yield();  // As the epoll reader.
      continue;
    }
    int64_t t = NowNs();
    r_.n_waits++;
    r_.n_events += tail - head;
    for (; head != tail; ++head) {
      const io_uring_cqe& c = cqes_[head & cq_mask_];
      size_t i = c.user_data;
      waiting_[i] = false;
      if (c.res == 0) Die("a monitor connection closed");
      if (c.res < 0 && c.res != -EAGAIN && c.res != -EINTR) Die("receive failed");
      if (c.res > 0 && !done[i] &&
          SeesMarker(tails[i], std::string_view(&bufs_[i * kBufBytes], size_t(c.res)), marker)) {
        (*r_.arrival_ns)[r_.index[i]] = t;
        done[i] = true;
        left--;
      }
      if (!done[i]) Queue(i);  // The rest of its update.
    }
    __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
  }
}

// An epoll instance watching `r`'s sockets for input.
int WatchSockets(const Reader& r) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) Die("epoll_create1 failed");
  for (size_t i = 0; i < r.fds.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, r.fds[i], &ev) != 0) Die("epoll_ctl failed");
  }
  return ep;
}

void ReaderMain(Reader& r, Probe& p, const Options& o) {
  // One or the other: an epoll watch would cost every send a callback.
  std::unique_ptr<UringReader> uring;
  int ep = -1;
  if (o.uring) {
    uring = std::make_unique<UringReader>(r);
  } else {
    ep = WatchSockets(r);
  }
  int seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(p.mu);
      p.cv.wait(lock, [&] { return p.stop.load() || p.generation.load() != seen; });
      seen = p.generation.load();
    }
    if (p.stop.load()) break;
    std::string marker = p.marker;  // Published before the generation bump.
    if (o.uring) uring->Arm();
    int64_t cpu0 = ThreadCpuNs();
    p.n_armed.fetch_add(1);
    if (o.uring) {
      uring->ReadOneProbe(marker, o.timeout_s);
    } else {
      ReadOneProbe(r, ep, marker, o);
    }
    r.cpu_ns += ThreadCpuNs() - cpu0;
    p.n_left.fetch_sub(static_cast<int>(r.fds.size()));
  }
  if (ep >= 0) close(ep);
}

// Per-probe arrival figures, in ms after the send.
struct Spread {
  double first_ms;   // Earliest client.
  double median_ms;  // Median client (mean of the middle two if even).
  double last_ms;    // Latest client.
};

Spread SpreadOf(std::vector<int64_t> arrivals_ns, int64_t t0_ns) {
  std::sort(arrivals_ns.begin(), arrivals_ns.end());
  size_t n = arrivals_ns.size();
  auto ms = [&](int64_t t) { return static_cast<double>(t - t0_ns) / 1e6; };
  double median = n % 2 == 1 ? ms(arrivals_ns[n / 2])
                             : (ms(arrivals_ns[n / 2 - 1]) + ms(arrivals_ns[n / 2])) / 2;
  return Spread{ms(arrivals_ns.front()), median, ms(arrivals_ns.back())};
}

// Arms the readers for probe `k`, sends the change, waits for the reply
// and for every monitor.  Returns the send time.
int64_t RunProbe(const Options& o, Probe& p, int writer, Framer& framer, int k) {
  std::string marker = "fanout-" + std::to_string(getpid()) + "-" +
                       std::to_string(o.n_monitors) + "-" + std::to_string(k);
  std::string req = R"({"method":"transact","id":)" + std::to_string(k) + R"(,"params":[")" +
                    o.db + R"(",{"op":"insert","table":")" + o.table +
                    R"(","row":{"external_ids":["map",[["probe",")" + marker + R"("]]]}}]})";
  p.n_armed.store(0);
  p.n_left.store(o.n_monitors);
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.marker = marker;
    p.generation.fetch_add(1);
  }
  p.cv.notify_all();
  while (p.n_armed.load() < o.n_threads) std::this_thread::yield();
  int64_t t0 = NowNs();
  WriteAll(writer, req);
  std::string reply = AwaitMessage(writer, framer, R"("id":)" + std::to_string(k));
  if (reply.find(R"("error":null)") == std::string::npos ||
      reply.find(R"("uuid")") == std::string::npos) {
    Die("transaction failed: " + reply);
  }
  int64_t deadline = NowNs() + static_cast<int64_t>(o.timeout_s * 1e9);
  while (p.n_left.load() > 0) {
    if (NowNs() > deadline) Die("readers did not finish");
    std::this_thread::yield();
  }
  return t0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void Emit(const Options& o, const char* what, double value, const char* unit) {
  std::printf("{\"metric\": \"fan-out %d %s\", \"value\": %.6g, \"unit\": \"%s\"}\n",
              o.n_monitors, what, value, unit);
}

void PrintDiag(const Options& o, const std::vector<Reader>& readers) {
  for (size_t t = 0; t < readers.size(); ++t) {
    const Reader& r = readers[t];
    std::fprintf(stderr,
                 "ovsdb_fanout: reader %zu: %zu sockets, %.1f ready per poll, "
                 "%.3f ms CPU per probe (%s)\n",
                 t, r.fds.size(), r.n_waits ? double(r.n_events) / double(r.n_waits) : 0.0,
                 double(r.cpu_ns) / 1e6 / o.n_probes,
                 o.uring ? "io_uring, spinning" : o.spin ? "epoll, spinning" : "epoll, blocking");
  }
}

int Run(const Options& o) {
  std::vector<int> fds = OpenMonitors(o);
  int writer = Connect(o.sock);
  SetReadTimeout(writer, o.timeout_s);
  Framer writer_framer;
  std::vector<int64_t> arrivals(fds.size(), 0);
  std::vector<Reader> readers(static_cast<size_t>(o.n_threads));
  for (size_t i = 0; i < fds.size(); ++i) {
    Reader& r = readers[i % readers.size()];
    r.fds.push_back(fds[i]);
    r.index.push_back(i);
  }
  Probe probe;
  std::vector<std::thread> threads;
  for (Reader& r : readers) {
    r.arrival_ns = &arrivals;
    threads.emplace_back(ReaderMain, std::ref(r), std::ref(probe), std::cref(o));
  }
  std::vector<double> firsts, medians, lasts;
  int64_t cpu0 = ServerCpuNs(o.server_pid);
  for (int k = 0; k < o.n_probes; ++k) {
    int64_t t0 = RunProbe(o, probe, writer, writer_framer, k);
    Spread s = SpreadOf(arrivals, t0);
    firsts.push_back(s.first_ms);
    medians.push_back(s.median_ms);
    lasts.push_back(s.last_ms);
  }
  int64_t cpu_ns = ServerCpuNs(o.server_pid) - cpu0;
  {
    std::lock_guard<std::mutex> lock(probe.mu);
    probe.stop.store(true);
  }
  probe.cv.notify_all();
  for (std::thread& t : threads) t.join();
  Emit(o, "last", Median(lasts), "ms");
  Emit(o, "first", Median(firsts), "ms");
  Emit(o, "median", Median(medians), "ms");
  Emit(o, "server CPU/change", double(cpu_ns) / 1e6 / o.n_probes, "ms");
  if (o.diag) PrintDiag(o, readers);
  for (int fd : fds) close(fd);
  close(writer);
  return 0;
}

bool ParseInt(const char* text, int min, int* out) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < min || v > 1000000) return false;
  *out = static_cast<int>(v);
  return true;
}

// Fills `o` from the command line; false (after a message) on bad usage.
bool ParseArgs(int argc, char** argv, Options* o) {
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--spin") o->spin = true;
    else if (a == "--block") o->spin = false;
    else if (a == "--diag") o->diag = true;
    else if (a == "--uring") o->uring = true;
    else if (a == "--threads" && has_value) {
      if (!ParseInt(argv[++i], 1, &o->n_threads) || o->n_threads > 64) return false;
    } else if (a == "--db" && has_value) o->db = argv[++i];
    else if (a == "--table" && has_value) o->table = argv[++i];
    else if (a == "--timeout" && has_value) o->timeout_s = std::atof(argv[++i]);
    else if (a.rfind("--", 0) == 0) return false;
    else pos.push_back(a);
  }
  if (pos.size() != 4 || o->timeout_s <= 0) return false;
  o->sock = pos[0];
  return ParseInt(pos[1].c_str(), 1, &o->server_pid) && ParseInt(pos[2].c_str(), 1, &o->n_monitors) &&
         ParseInt(pos[3].c_str(), 1, &o->n_probes);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]).rfind("--benchmark", 0) == 0) {
    std::printf("ovsdb_fanout: a driver for perf/ovsdb-bench.sh, not a Google Benchmark\n");
    return 0;
  }
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr, "ovsdb_fanout: bad arguments\n%s", kUsage);
    return 2;
  }
  return Run(o);
}
