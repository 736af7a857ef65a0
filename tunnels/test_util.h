// Test helpers for tunnels/ (tests only, not part of the library): packet
// buffers, inner frames, an independent RFC 1071 checksum and a pcap writer.
#ifndef SPATE_TUNNELS_TEST_UTIL_H
#define SPATE_TUNNELS_TEST_UTIL_H

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tunnels/packet_view.h"
#include "tunnels/wire.h"

namespace spate::tunnels::testing {

// A heap buffer with a PacketView over it.
struct TestPacket {
  std::vector<uint8_t> memory;  // Backing store.
  PacketView view;              // Data window.

  TestPacket(const std::vector<uint8_t>& data, uint32_t headroom = 256,
             uint32_t tailroom = 64)
      : memory(headroom + data.size() + tailroom) {
    std::copy(data.begin(), data.end(), memory.begin() + headroom);
    view = PacketView(memory.data(), static_cast<uint32_t>(memory.size()),
                      headroom, static_cast<uint32_t>(data.size()));
  }
  std::vector<uint8_t> Bytes() const {
    return {view.data(), view.data() + view.length()};
  }
};

// RFC 1071 over big-endian 16-bit words, written independently of wire.h.
inline uint32_t NaiveSum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t{p[i]} << 8) | p[i + 1];
  if (n % 2) sum += uint32_t{p[n - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

// An inner Ethernet/IPv4/UDP frame of exactly `bytes` (>= 42) bytes, with
// MACs 00:00:00:00:00:0a -> 00:00:00:00:00:0b, 192.168.1.10 -> .11, tos
// 0xb9 (DSCP 46, ECN 01), ttl 33, and a payload pattern seeded by `seed`.
inline std::vector<uint8_t> InnerFrame(uint32_t bytes, uint8_t seed = 1) {
  std::vector<uint8_t> f(bytes);
  const uint8_t head[] = {0, 0, 0, 0, 0, 0x0b, 0, 0, 0, 0, 0, 0x0a, 0x08, 0};
  std::copy(std::begin(head), std::end(head), f.begin());
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  ip[1] = 0xb9;
  Store16(ip + 2, static_cast<uint16_t>(bytes - 14));
  ip[8] = 33;
  ip[9] = 17;
  const uint8_t addrs[] = {192, 168, 1, 10, 192, 168, 1, 11};
  std::copy(std::begin(addrs), std::end(addrs), ip + 12);
  Store16(ip + 20, 1234);
  Store16(ip + 22, 5678);
  Store16(ip + 24, static_cast<uint16_t>(bytes - 34));
  for (uint32_t i = 42; i < bytes; ++i) f[i] = static_cast<uint8_t>(seed + i * 7);
  Store16(ip + 10, static_cast<uint16_t>(~NaiveSum(ip, 20)));
  return f;
}

// True when the L4 checksum of the IPv4/IPv6 packet at `ip` verifies.
inline bool NaiveL4ChecksumOk(const uint8_t* ip, bool v6) {
  uint32_t sum = 0;
  uint32_t l4_len;
  uint8_t proto;
  const uint8_t* l4;
  if (v6) {
    l4_len = (uint32_t{ip[4]} << 8) | ip[5];
    proto = ip[6];
    sum = NaiveSum(ip + 8, 32);
    l4 = ip + 40;
  } else {
    l4_len = ((uint32_t{ip[2]} << 8) | ip[3]) - 20;
    proto = ip[9];
    sum = NaiveSum(ip + 12, 8);
    l4 = ip + 20;
  }
  sum += proto + l4_len;
  return NaiveSum(l4, l4_len, sum) == 0xffff;
}

// Writes Ethernet frames to a classic pcap file.
class PcapWriter {
 public:
  explicit PcapWriter(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {
    const uint32_t header[] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    if (file_ != nullptr) std::fwrite(header, sizeof header, 1, file_);
  }
  ~PcapWriter() { Close(); }
  bool ok() const { return file_ != nullptr; }
  void Write(const uint8_t* data, uint32_t len) {
    const uint32_t record[] = {n_++, 0, len, len};
    std::fwrite(record, sizeof record, 1, file_);
    std::fwrite(data, 1, len, file_);
  }
  void Close() {
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
  }

 private:
  std::FILE* file_;    // Open output file.
  uint32_t n_ = 0;     // Records written (used as the timestamp).
};

}  // namespace spate::tunnels::testing

#endif  // SPATE_TUNNELS_TEST_UTIL_H
