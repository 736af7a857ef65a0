// Packets, batches and packet pools: the units the datapath moves.
//
// What
//   Packet is a DPDK mbuf seen through a DPDK-free header.  PacketBatch is the
//   POD every stage passes around: a count and up to 32 Packet pointers.
//   Mempool is a pool of packet buffers (a DPDK pktmbuf pool).
//
// Design: a layout mirror, not an opaque handle
//   A Packet* IS an rte_mbuf*: the same address, reinterpreted.  Packet
//   declares the first 64 bytes of DPDK 22.11's rte_mbuf (buf_addr, data_off,
//   refcnt, nb_segs, port, ol_flags, packet_type, pkt_len, data_len, vlan_tci,
//   hash, buf_len, pool) and the `next` pointer of the second cache line.
//   packet_dpdk.cc, compiled with DPDK's headers, static_asserts every offset
//   and the field sizes, so a DPDK upgrade that moves a field fails the build
//   instead of corrupting packets.  Because of that, the hot accessors (data,
//   length, headroom, prepend, adjust) are inline loads and stores with no
//   call and no DPDK header, and a translation unit of the fast path never
//   sees rte_config.h or -march flags.  What needs DPDK's logic (freeing,
//   allocation, multi-segment append) is a small set of out-of-line functions
//   in packet_dpdk.cc.  The type is [[gnu::may_alias]] so reading an mbuf
//   through it is not a strict-aliasing violation.  Packet has no
//   constructor: it is only ever used through pointers that DPDK handed out.
//
// Ownership
//   Whoever holds a Packet* owns it until it passes it on (Port::TxBurst,
//   FreePacket, a batch handed to the next stage).  Packets are freed to the
//   pool they came from, whichever thread frees them.
//
// Thread-safety
//   A Packet is used by one thread at a time.  Mempool::Alloc/Free may be
//   called from any thread concurrently (DPDK's lock-free ring, plus a
//   per-lcore cache on threads registered with the EAL).
#ifndef SPATE_DATAPATH_PACKET_H
#define SPATE_DATAPATH_PACKET_H

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"

namespace spate::datapath {

class Eal;

// A packet buffer: the mirror of an rte_mbuf (see the header comment).
class [[gnu::may_alias]] Packet {
 public:
  Packet() = delete;
  Packet(const Packet&) = delete;
  Packet& operator=(const Packet&) = delete;

  // First byte of the packet data in this (first) segment.
  uint8_t* data() { return static_cast<uint8_t*>(buf_addr_) + data_off_; }
  const uint8_t* data() const {
    return static_cast<const uint8_t*>(buf_addr_) + data_off_;
  }
  // Bytes of packet data in this segment.
  uint32_t length() const { return data_len_; }
  // Bytes in the whole packet (all segments).
  uint32_t packet_length() const { return pkt_len_; }
  // True when the packet is one contiguous segment (data() covers it all).
  bool is_contiguous() const { return nb_segs_ == 1; }
  // Free bytes before data().
  uint32_t headroom() const { return data_off_; }
  // Free bytes after the data of this segment.
  uint32_t tailroom() const {
    return static_cast<uint32_t>(buf_len_) - data_off_ - data_len_;
  }
  // Start of the segment buffer (data() minus headroom()).
  uint8_t* buffer() { return static_cast<uint8_t*>(buf_addr_); }
  // Size of the segment buffer in bytes.
  uint32_t buffer_bytes() const { return buf_len_; }
  // Sets the data window of a contiguous packet to [offset, offset+length)
  // of the buffer, e.g. after tunnels/ edited a PacketView of it.  Returns
  // false (unchanged) if the packet is not contiguous or the window does not
  // fit in the buffer.
  bool SetDataWindow(uint32_t offset, uint32_t length) {
    if (nb_segs_ != 1 || offset > buf_len_ || length > buf_len_ - offset) {
      return false;
    }
    data_off_ = static_cast<uint16_t>(offset);
    data_len_ = static_cast<uint16_t>(length);
    pkt_len_ = length;
    return true;
  }
  // The DPDK port id the packet was received on (meaningful for DPDK ports).
  uint16_t rx_port() const { return port_; }
  // The receive-side hash the device computed (0 when it computed none).
  uint32_t rss_hash() const { return hash_rss_; }

  // rx_checksum_good() bits (the values of tunnels/decap.h's rx_flags).
  static constexpr uint32_t kRxIpChecksumGood = 1u << 0;  // IPv4 header.
  static constexpr uint32_t kRxL4ChecksumGood = 1u << 1;  // TCP/UDP.
  // The checksums the receiving device verified as good: kRx*Good bits
  // from DPDK's RTE_MBUF_F_RX_{IP,L4}_CKSUM_GOOD (exactly "good": not
  // "bad", "unknown" or "none").  0 when the device parsed a tunnel
  // (packet_type has tunnel bits: the flags may then describe the inner
  // headers).  Meaningful only for packets fresh from a port whose
  // Port::rx_checksum_offload() is true; any other packet must not be
  // trusted on them.
  uint32_t rx_checksum_good() const {
    if (packet_type_ & kPtypeTunnelMask) return 0;
    const uint32_t ip = (ol_flags_ & kOlIpMask) == kOlIpGood ? kRxIpChecksumGood : 0;
    const uint32_t l4 = (ol_flags_ & kOlL4Mask) == kOlL4Good ? kRxL4ChecksumGood : 0;
    return ip | l4;
  }

  // Grows the packet at the front by `n` bytes and returns the new data(),
  // or nullptr (packet unchanged) if the headroom is smaller than `n`.
  uint8_t* Prepend(uint32_t n) {
    if (n > data_off_) return nullptr;
    data_off_ = static_cast<uint16_t>(data_off_ - n);
    data_len_ = static_cast<uint16_t>(data_len_ + n);
    pkt_len_ += n;
    return data();
  }
  // Removes `n` bytes from the front and returns the new data(), or nullptr
  // (packet unchanged) if this segment holds fewer than `n` bytes.
  uint8_t* Adjust(uint32_t n) {
    if (n > data_len_) return nullptr;
    data_off_ = static_cast<uint16_t>(data_off_ + n);
    data_len_ = static_cast<uint16_t>(data_len_ - n);
    pkt_len_ -= n;
    return data();
  }
  // Grows a contiguous packet at the end by `n` bytes and returns a pointer
  // to the first new byte, or nullptr (unchanged) if the packet is not
  // contiguous or the tailroom is smaller than `n`.
  uint8_t* Append(uint32_t n) {
    if (nb_segs_ != 1 || n > tailroom()) return nullptr;
    uint8_t* tail = data() + data_len_;
    data_len_ = static_cast<uint16_t>(data_len_ + n);
    pkt_len_ += n;
    return tail;
  }
  // Removes `n` bytes from the end of a contiguous packet.  Returns false
  // (unchanged) if the packet is not contiguous or shorter than `n`.
  bool Trim(uint32_t n) {
    if (nb_segs_ != 1 || n > data_len_) return false;
    data_len_ = static_cast<uint16_t>(data_len_ - n);
    pkt_len_ -= n;
    return true;
  }

 private:
  friend struct PacketLayoutCheck;  // packet_dpdk.cc checks the offsets.
  friend void SetRxChecksumGood(Packet* pkt, uint32_t bits);

  // DPDK 22.11's receive checksum flags and tunnel packet types
  // (packet_dpdk.cc static_asserts them against rte_mbuf_core.h).
  static constexpr uint64_t kOlIpMask = (1ULL << 4) | (1ULL << 7);  // IP_CKSUM_MASK.
  static constexpr uint64_t kOlIpGood = 1ULL << 7;                  // IP_CKSUM_GOOD.
  static constexpr uint64_t kOlL4Mask = (1ULL << 3) | (1ULL << 8);  // L4_CKSUM_MASK.
  static constexpr uint64_t kOlL4Good = 1ULL << 8;                  // L4_CKSUM_GOOD.
  static constexpr uint32_t kPtypeTunnelMask = 0x0000f000;          // PTYPE_TUNNEL_MASK.

  // ---- cache line 0, as rte_mbuf (DPDK 22.11, RTE_IOVA_AS_PA=1) ----
  void* buf_addr_;            // Start of the segment buffer.
  uint64_t buf_iova_;         // Bus address of the buffer (unused here).
  uint16_t data_off_;         // Offset of the data from buf_addr_.
  uint16_t refcnt_;           // Reference count (DPDK manages it).
  uint16_t nb_segs_;          // Number of segments.
  uint16_t port_;             // Input port id.
  uint64_t ol_flags_;         // Offload flags.
  uint32_t packet_type_;      // Device-parsed packet type.
  uint32_t pkt_len_;          // Total length, all segments.
  uint16_t data_len_;         // Length of this segment.
  uint16_t vlan_tci_;         // VLAN TCI stripped by the device.
  uint32_t hash_rss_;         // RSS hash (low half of the hash union).
  uint32_t hash_hi_;          // High half of the hash union.
  uint16_t vlan_tci_outer_;   // Outer VLAN TCI stripped by the device.
  uint16_t buf_len_;          // Size of the segment buffer.
  void* pool_;                // The rte_mempool the buffer belongs to.
  // ---- cache line 1 ----
  Packet* next_;              // Next segment, or nullptr.
};

// The unit of work of every datapath stage: up to kMaxPackets packets.
struct PacketBatch {
  static constexpr uint32_t kMaxPackets = 32;  // DPDK's customary burst.

  uint32_t n_pkts = 0;                // Packets in use: pkts[0..n_pkts).
  Packet* pkts[kMaxPackets] = {};     // Owned packet pointers.

  // True when no more packets fit.
  bool full() const { return n_pkts == kMaxPackets; }
  // Appends `pkt`; the batch must not be full.
  void Add(Packet* pkt) {
    assert(n_pkts < kMaxPackets);
    pkts[n_pkts++] = pkt;
  }
};

// Sets `pkt`'s receive checksum flags as a device that verified the
// checksums in `bits` (Packet::kRx*Good) as good would, and clears the
// rest to "unknown": for ports that verify checksums in software, and for
// tests.
void SetRxChecksumGood(Packet* pkt, uint32_t bits);

// Frees `pkt` (all its segments) to its pool.  nullptr is ignored.
void FreePacket(Packet* pkt);

// Frees pkts[0..n).  nullptr entries are ignored.
void FreePackets(Packet* const* pkts, uint32_t n);

// Frees every packet of `batch` and empties it.
inline void FreeBatch(PacketBatch* batch) {
  FreePackets(batch->pkts, batch->n_pkts);
  batch->n_pkts = 0;
}

// Copies the whole packet (all segments) into `out`, at most `max` bytes.
// Returns the number of bytes copied.
uint32_t CopyPacketData(const Packet* pkt, uint8_t* out, uint32_t max);

// Parameters of a packet pool.
struct MempoolConfig {
  std::string name = {};              // Unique in the process (DPDK memzone name).
  uint32_t n_packets = 8192;     // Buffers in the pool.
  uint32_t cache_size = 256;     // Per-lcore cache (0 for none).
  uint32_t data_room_bytes = 2048;  // Packet data room per buffer.
  uint32_t headroom_bytes = 128;    // Headroom reserved before the data.
};

// A pool of packet buffers (a DPDK pktmbuf pool).
//
// Destroy it only after every packet is back in it: ports hold buffers in
// their receive rings, so destroy ports (and stop PMD threads) first.
class Mempool {
 public:
  // Creates a pool; needs an initialised EAL.  Errors: bad sizes, a name
  // already used, or DPDK out of memory (the error says how to get more).
  static Result<std::unique_ptr<Mempool>> Create(const Eal& eal,
                                                 const MempoolConfig& config);
  ~Mempool();
  Mempool(const Mempool&) = delete;
  Mempool& operator=(const Mempool&) = delete;

  // An empty packet (length 0, full headroom), or nullptr when the pool is
  // exhausted.  Thread-safe.
  Packet* Alloc();
  // Allocates exactly `n` packets into out[0..n) and returns true, or
  // allocates none and returns false.  Thread-safe.
  bool AllocBulk(Packet** out, uint32_t n);
  // Packets currently free in the pool (approximate under concurrency).
  uint32_t n_available() const;
  // Packets in the pool in total.
  uint32_t n_packets() const { return n_packets_; }
  // Bytes of packet data one buffer holds after its headroom.
  uint32_t data_room_bytes() const { return data_room_bytes_; }
  // The pool's name.
  const std::string& name() const { return name_; }
  // The underlying rte_mempool*, for the DPDK port code only.
  void* native() const { return pool_; }

 private:
  Mempool(void* pool, std::string name, uint32_t n_packets,
          uint32_t data_room_bytes)
      : pool_(pool),
        name_(std::move(name)),
        n_packets_(n_packets),
        data_room_bytes_(data_room_bytes) {}

  void* pool_;             // struct rte_mempool*.
  std::string name_;       // DPDK name of the pool.
  uint32_t n_packets_;     // Capacity.
  uint32_t data_room_bytes_;  // Data bytes per buffer after the headroom.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_PACKET_H
