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

#include "common/testing.h"
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

// The shared test helpers (common/testing.h): a temporary directory removed
// by its destructor.
using common::testing::TempDir;

// common::testing::WaitFor with the longer default these DPDK tests need
// under the sanitizer presets.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  return common::testing::WaitFor(done, timeout);
}

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_TEST_EAL_H
