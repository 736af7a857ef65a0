// The shared test EAL and pool.  See test_eal.h.
#include "datapath/test_eal.h"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace spate::datapath {
namespace {

std::string g_runtime_dir;  // Removed at exit.

void RemoveRuntimeDir() {
  std::error_code ec;
  std::filesystem::remove(g_runtime_dir, ec);
}

}  // namespace

const Eal& TestEal() {
  static const Eal* eal = [] {
    EalOptions o;
    o.no_huge = true;
    o.memory_mb = 512;
    Result<std::unique_ptr<Eal>> r = Eal::Init(o);
    if (!r.ok()) {
      std::fprintf(stderr, "test EAL: %s\n", r.error().ToString().c_str());
      std::abort();
    }
    g_runtime_dir = (*r)->runtime_dir();
    std::atexit(RemoveRuntimeDir);
    // Kept for the life of the process: DPDK cannot be re-initialised and
    // pools and ports of later tests need it.
    return r->release();
  }();
  return *eal;
}

Mempool& TestPool() {
  static Mempool* pool = [] {
    MempoolConfig c;
    c.name = "test_pool";
    c.n_packets = 8192;
    Result<std::unique_ptr<Mempool>> r = Mempool::Create(TestEal(), c);
    if (!r.ok()) {
      std::fprintf(stderr, "test pool: %s\n", r.error().ToString().c_str());
      std::abort();
    }
    return r->release();
  }();
  return *pool;
}

std::vector<uint8_t> TestFrame(uint32_t i, uint32_t size) {
  std::vector<uint8_t> f(size, 0);
  const uint8_t head[] = {
      0x02, 0, 0, 0, uint8_t(i >> 8), uint8_t(i),     // dst MAC
      0x02, 0, 0, 0xff, 0, 1,                         // src MAC
      0x08, 0x00,                                     // IPv4
      0x45, 0, uint8_t((size - 14) >> 8), uint8_t(size - 14), 0, 0, 0, 0,
      64, 17, 0, 0, 127, 1, 0, 1, 127, 2, uint8_t(i >> 8), uint8_t(i),
      0x04, 0x00, uint8_t(i >> 8), uint8_t(i)};       // UDP ports
  std::copy(std::begin(head), std::end(head), f.begin());
  for (uint32_t k = sizeof head; k < size; k++) f[k] = uint8_t(i + k);
  return f;
}

}  // namespace spate::datapath

// DPDK 22.11's net_af_xdp does not free the 80-byte handle that libxdp's
// xsk_umem__create allocates for each port (the umem itself is released);
// afxdp_test.cc creates two such ports.  Not ours to fix; nothing else is
// suppressed.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:xsk_umem__create\n";
}
