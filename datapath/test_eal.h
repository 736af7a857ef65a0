// The one EAL and packet pool shared by every test of a test binary.
//
// DPDK's EAL can be initialised once per process (eal.h), so the tests of
// datapath_io_test share it: the first call initialises it with
// --no-huge (no hugepages in CI or the sandbox) and a per-process file
// prefix, and it lives until the process exits (its runtime directory is
// removed at exit).  Not thread-safe: call from the test's main thread.
#ifndef SPATE_DATAPATH_TEST_EAL_H
#define SPATE_DATAPATH_TEST_EAL_H

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "datapath/eal.h"
#include "datapath/packet.h"

namespace spate::datapath {

// The shared EAL (aborts the test binary if DPDK cannot start).
const Eal& TestEal();

// A shared pool of 8192 packets.
Mempool& TestPool();

// A 64..1514-byte Ethernet/IPv4/UDP frame whose addresses and payload
// depend on `i` (so frames can be told apart).
std::vector<uint8_t> TestFrame(uint32_t i, uint32_t size = 64);

// Polls `done` every millisecond until it holds or `timeout` passes;
// returns its last value.  The way tests wait for another thread.
bool WaitFor(const std::function<bool()>& done,
             std::chrono::milliseconds timeout = std::chrono::seconds(20));

// A fresh temporary directory for one test, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // The directory.
  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;  // mkdtemp result.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_TEST_EAL_H
