// The DPDK side of packet.h: the layout check that makes Packet* == rte_mbuf*
// safe, the out-of-line packet functions and the mempool.
#include <cstddef>
#include <cstring>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "datapath/eal.h"
#include "datapath/packet.h"
#include "datapath/sanitizer.h"

namespace spate::datapath {

// Fails the build if DPDK's rte_mbuf no longer matches the mirror in Packet.
struct PacketLayoutCheck {
#define SPATE_SAME_FIELD(ours, theirs)                                    \
  static_assert(offsetof(Packet, ours) == offsetof(rte_mbuf, theirs) &&   \
                    sizeof(Packet::ours) == sizeof(rte_mbuf::theirs),     \
                "Packet::" #ours " does not mirror rte_mbuf::" #theirs)
  SPATE_SAME_FIELD(buf_addr_, buf_addr);
  SPATE_SAME_FIELD(buf_iova_, buf_iova);
  SPATE_SAME_FIELD(data_off_, data_off);
  SPATE_SAME_FIELD(refcnt_, refcnt);
  SPATE_SAME_FIELD(nb_segs_, nb_segs);
  SPATE_SAME_FIELD(port_, port);
  SPATE_SAME_FIELD(ol_flags_, ol_flags);
  SPATE_SAME_FIELD(packet_type_, packet_type);
  SPATE_SAME_FIELD(pkt_len_, pkt_len);
  SPATE_SAME_FIELD(data_len_, data_len);
  SPATE_SAME_FIELD(vlan_tci_, vlan_tci);
  SPATE_SAME_FIELD(hash_rss_, hash.rss);
  SPATE_SAME_FIELD(vlan_tci_outer_, vlan_tci_outer);
  SPATE_SAME_FIELD(buf_len_, buf_len);
  SPATE_SAME_FIELD(pool_, pool);
  SPATE_SAME_FIELD(next_, next);
#undef SPATE_SAME_FIELD
  static_assert(offsetof(Packet, hash_hi_) == offsetof(rte_mbuf, hash) + 4);
  static_assert(sizeof(Packet) <= sizeof(rte_mbuf));
  static_assert(Packet::kOlIpMask == RTE_MBUF_F_RX_IP_CKSUM_MASK);
  static_assert(Packet::kOlIpGood == RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  static_assert(Packet::kOlL4Mask == RTE_MBUF_F_RX_L4_CKSUM_MASK);
  static_assert(Packet::kOlL4Good == RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  static_assert(Packet::kPtypeTunnelMask == RTE_PTYPE_TUNNEL_MASK);
};

void SetRxChecksumGood(Packet* pkt, uint32_t bits) {
  uint64_t f = pkt->ol_flags_ & ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
  if (bits & Packet::kRxIpChecksumGood) f |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
  if (bits & Packet::kRxL4ChecksumGood) f |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  pkt->ol_flags_ = f;
}

namespace {
rte_mbuf* M(Packet* p) { return reinterpret_cast<rte_mbuf*>(p); }
const rte_mbuf* M(const Packet* p) {
  return reinterpret_cast<const rte_mbuf*>(p);
}
}  // namespace

// Frees one segment chain.  Each segment is released to TSan after DPDK's
// inline pre-free has written its header and before it enters the pool.
void FreeChain(rte_mbuf* m) {
  while (m != nullptr) {
    rte_mbuf* next = m->next;
    rte_mbuf* seg = rte_pktmbuf_prefree_seg(m);
    if (seg != nullptr) {
      ReleasePacket(seg);
      rte_mbuf_raw_free(seg);
    }
    m = next;
  }
}

void FreePacket(Packet* pkt) {
  if (pkt != nullptr) FreeChain(M(pkt));
}

void FreePackets(Packet* const* pkts, uint32_t n) {
#ifdef SPATE_TSAN
  for (uint32_t i = 0; i < n; i++) FreePacket(pkts[i]);
#else
  // DPDK's bulk free batches the pool puts (and ignores nullptr entries).
  rte_pktmbuf_free_bulk(
      reinterpret_cast<rte_mbuf**>(const_cast<Packet**>(pkts)), n);
#endif
}

uint32_t CopyPacketData(const Packet* pkt, uint8_t* out, uint32_t max) {
  uint32_t n = 0;
  for (const rte_mbuf* seg = M(pkt); seg != nullptr && n < max;
       seg = seg->next) {
    uint32_t take = seg->data_len < max - n ? seg->data_len : max - n;
    std::memcpy(out + n, rte_pktmbuf_mtod(seg, const uint8_t*), take);
    n += take;
  }
  return n;
}

Result<std::unique_ptr<Mempool>> Mempool::Create(const Eal& eal,
                                                 const MempoolConfig& c) {
  (void)eal;  // Proof that the EAL is up.
  if (c.name.empty() || c.name.size() >= RTE_MEMPOOL_NAMESIZE - 4) {
    return Error("mempool", "pool name \"" + c.name + "\" must be 1.." +
                                std::to_string(RTE_MEMPOOL_NAMESIZE - 5) +
                                " characters");
  }
  if (c.n_packets < 64) {
    return Error("mempool", "pool \"" + c.name + "\": n_packets " +
                                std::to_string(c.n_packets) +
                                " is too small (at least 64)");
  }
  if (c.cache_size > RTE_MEMPOOL_CACHE_MAX_SIZE ||
      c.cache_size * 1.5 > c.n_packets) {
    return Error("mempool", "pool \"" + c.name + "\": cache_size " +
                                std::to_string(c.cache_size) +
                                " must be <= 512 and <= n_packets / 1.5");
  }
  uint32_t room = c.data_room_bytes + c.headroom_bytes;
  if (c.headroom_bytes != RTE_PKTMBUF_HEADROOM || room > UINT16_MAX) {
    return Error("mempool", "pool \"" + c.name + "\": headroom must be " +
                                std::to_string(RTE_PKTMBUF_HEADROOM) +
                                " and data room + headroom <= 65535");
  }
  if (rte_mempool_lookup(c.name.c_str()) != nullptr) {
    return Error("mempool", "a pool named \"" + c.name + "\" already exists");
  }
  rte_mempool* mp = rte_pktmbuf_pool_create(
      c.name.c_str(), c.n_packets, c.cache_size, 0,
      static_cast<uint16_t>(room), static_cast<int>(SOCKET_ID_ANY));
  if (mp == nullptr) {
    return Error("mempool",
                 "cannot create pool \"" + c.name + "\" of " +
                     std::to_string(c.n_packets) + " packets: " +
                     rte_strerror(rte_errno) +
                     " (give DPDK more memory: EalOptions::memory_mb, "
                     "or fewer packets)");
  }
  return std::unique_ptr<Mempool>(new Mempool(mp, c.name, c.n_packets, c.data_room_bytes));
}

Mempool::~Mempool() { rte_mempool_free(static_cast<rte_mempool*>(pool_)); }

Packet* Mempool::Alloc() {
  rte_mbuf* m = rte_mbuf_raw_alloc(static_cast<rte_mempool*>(pool_));
  if (m == nullptr) return nullptr;
  AcquirePacket(m);  // Before our first write to it (see sanitizer.h).
  rte_pktmbuf_reset(m);
  return reinterpret_cast<Packet*>(m);
}

bool Mempool::AllocBulk(Packet** out, uint32_t n) {
  if (rte_mempool_get_bulk(static_cast<rte_mempool*>(pool_),
                           reinterpret_cast<void**>(out), n) != 0) {
    return false;
  }
  for (uint32_t i = 0; i < n; i++) {
    rte_mbuf* m = reinterpret_cast<rte_mbuf*>(out[i]);
    AcquirePacket(m);
    rte_pktmbuf_reset(m);
  }
  return true;
}

uint32_t Mempool::n_available() const {
  return rte_mempool_avail_count(static_cast<rte_mempool*>(pool_));
}

}  // namespace spate::datapath
