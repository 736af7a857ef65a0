#include "tunnels/neighbor.h"

#include <cstring>

namespace spate::tunnels {
namespace {

constexpr uint32_t kNdBytes = 32;  // NS/NA body (24) + one 8-byte option.
constexpr uint32_t kNdFrameBytes = kEthHeaderBytes + kIpv6HeaderBytes + kNdBytes;
constexpr uint8_t kIcmpv6NeighborSolicit = 135;
constexpr uint8_t kIcmpv6NeighborAdvert = 136;

std::string PadTo(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

uint8_t* StartFrame(PacketView& out, uint32_t bytes) {
  out.TrimTo(0);
  return out.Append(bytes);
}

void WriteEth(uint8_t* f, const MacAddr& dst, const MacAddr& src,
              uint16_t type) {
  std::memcpy(f, dst.bytes.data(), 6);
  std::memcpy(f + 6, src.bytes.data(), 6);
  Store16(f + 12, type);
}

DropReason BuildArp(uint16_t op, const MacAddr& eth_dst, const MacAddr& sha,
                    const IpAddr& spa, const MacAddr& tha, const IpAddr& tpa,
                    PacketView& out) {
  uint8_t* f = StartFrame(out, kArpFrameBytes);
  if (f == nullptr) return DropReason::kNoHeadroom;
  WriteEth(f, eth_dst, sha, kEtherTypeArp);
  uint8_t* a = f + kEthHeaderBytes;
  Store16(a, 1);  // Ethernet.
  Store16(a + 2, kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  Store16(a + 6, op);
  std::memcpy(a + 8, sha.bytes.data(), 6);
  std::memcpy(a + 14, spa.V4Bytes(), 4);
  std::memcpy(a + 18, tha.bytes.data(), 6);
  std::memcpy(a + 24, tpa.V4Bytes(), 4);
  return DropReason::kNone;
}

// Writes Ethernet + IPv6 + an ICMPv6 NS/NA with one link-layer option.
DropReason BuildNd(uint8_t type, uint8_t flags, const MacAddr& eth_dst,
                   const MacAddr& src_mac, const IpAddr& src_ip,
                   const IpAddr& dst_ip, const IpAddr& target,
                   PacketView& out) {
  uint8_t* f = StartFrame(out, kNdFrameBytes);
  if (f == nullptr) return DropReason::kNoHeadroom;
  std::memset(f, 0, kNdFrameBytes);
  WriteEth(f, eth_dst, src_mac, kEtherTypeIpv6);
  uint8_t* ip = f + kEthHeaderBytes;
  Store32(ip, 0x60000000u);
  Store16(ip + 4, kNdBytes);
  ip[6] = kIpProtoIcmpv6;
  ip[7] = 255;
  std::memcpy(ip + 8, src_ip.bytes.data(), 16);
  std::memcpy(ip + 24, dst_ip.bytes.data(), 16);
  uint8_t* icmp = ip + kIpv6HeaderBytes;
  icmp[0] = type;
  icmp[4] = flags;
  std::memcpy(icmp + 8, target.bytes.data(), 16);
  icmp[24] = type == kIcmpv6NeighborSolicit ? 1 : 2;  // SLLA or TLLA.
  icmp[25] = 1;                                        // 8 bytes.
  std::memcpy(icmp + 26, src_mac.bytes.data(), 6);
  const uint64_t sum = PseudoHeaderSum(src_ip, dst_ip, kIpProtoIcmpv6, kNdBytes);
  StoreChecksum(icmp + 2, FinishChecksum(SumBytes(icmp, kNdBytes, sum)));
  return DropReason::kNone;
}

// Walks ND options; sets *lladdr from option `want`.  False if malformed.
bool ReadNdOptions(const uint8_t* p, uint32_t n, uint8_t want,
                   std::optional<MacAddr>* lladdr) {
  while (n > 0) {
    if (n < 8 || p[1] == 0 || 8u * p[1] > n) return false;
    if (p[0] == want && p[1] == 1) {
      MacAddr mac;
      std::memcpy(mac.bytes.data(), p + 2, 6);
      *lladdr = mac;
    }
    n -= 8u * p[1];
    p += 8u * p[1];
  }
  return true;
}

}  // namespace

void NeighborCache::Learn(const IpAddr& ip, const MacAddr& mac,
                          const std::string& bridge, uint64_t now_ns) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = entries_.try_emplace(ip);
  NeighborEntry& e = it->second;
  if (!inserted && e.is_static) return;
  if (inserted || e.mac != mac) ++version_;
  e.ip = ip;
  e.mac = mac;
  e.bridge = bridge;
  e.expires_ns = now_ns + idle_ns_;
}

void NeighborCache::SetStatic(const IpAddr& ip, const MacAddr& mac,
                              const std::string& bridge) {
  std::lock_guard lock(mutex_);
  entries_[ip] = NeighborEntry{ip, mac, bridge, true, 0};
  ++version_;
}

std::optional<MacAddr> NeighborCache::Lookup(const IpAddr& ip,
                                             uint64_t now_ns) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(ip);
  if (it == entries_.end()) return std::nullopt;
  if (!it->second.is_static && now_ns >= it->second.expires_ns) {
    return std::nullopt;
  }
  return it->second.mac;
}

size_t NeighborCache::Expire(uint64_t now_ns) {
  std::lock_guard lock(mutex_);
  const size_t n = std::erase_if(entries_, [now_ns](const auto& kv) {
    return !kv.second.is_static && now_ns >= kv.second.expires_ns;
  });
  if (n != 0) ++version_;
  return n;
}

void NeighborCache::Flush() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  ++version_;
}

void NeighborCache::SetIdleNs(uint64_t idle_ns) {
  std::lock_guard lock(mutex_);
  idle_ns_ = idle_ns;
}

std::vector<NeighborEntry> NeighborCache::Entries() const {
  std::lock_guard lock(mutex_);
  std::vector<NeighborEntry> out;
  for (const auto& [ip, e] : entries_) out.push_back(e);
  return out;
}

uint64_t NeighborCache::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

std::string NeighborCache::Show(uint64_t now_ns) const {
  std::string out = PadTo("IP", 46) + PadTo("MAC", 20) + "Bridge\n";
  out += std::string(74, '=') + "\n";
  for (const NeighborEntry& e : Entries()) {
    out += PadTo(e.ip.ToString(), 46) + e.mac.ToString() + "   " + e.bridge;
    if (!e.is_static && now_ns >= e.expires_ns) out += " STALE";
    out += "\n";
  }
  return out;
}

DropReason BuildArpRequest(const MacAddr& src_mac, const IpAddr& src_ip,
                           const IpAddr& target_ip, PacketView& out) {
  const MacAddr broadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  return BuildArp(1, broadcast, src_mac, src_ip, MacAddr{}, target_ip, out);
}

DropReason BuildArpReply(const MacAddr& src_mac, const IpAddr& src_ip,
                         const MacAddr& dst_mac, const IpAddr& dst_ip,
                         PacketView& out) {
  return BuildArp(2, dst_mac, src_mac, src_ip, dst_mac, dst_ip, out);
}

DropReason ParseArp(const uint8_t* f, uint32_t len, ArpMessage* msg) {
  if (len < kArpFrameBytes) return DropReason::kTruncatedArp;
  const uint8_t* a = f + kEthHeaderBytes;
  if (Load16(f + 12) != kEtherTypeArp || Load16(a) != 1 ||
      Load16(a + 2) != kEtherTypeIpv4 || a[4] != 6 || a[5] != 4) {
    return DropReason::kBadArp;
  }
  const uint16_t op = Load16(a + 6);
  if (op != 1 && op != 2) return DropReason::kBadArp;
  msg->is_request = op == 1;
  std::memcpy(msg->sha.bytes.data(), a + 8, 6);
  msg->spa = IpAddr::FromV4Bytes(a + 14);
  std::memcpy(msg->tha.bytes.data(), a + 18, 6);
  msg->tpa = IpAddr::FromV4Bytes(a + 24);
  return DropReason::kNone;
}

DropReason BuildNeighborSolicitation(const MacAddr& src_mac,
                                     const IpAddr& src_ip,
                                     const IpAddr& target_ip,
                                     PacketView& out) {
  IpAddr group = *IpAddr::Parse("ff02::1:ff00:0");
  std::memcpy(group.bytes.data() + 13, target_ip.bytes.data() + 13, 3);
  MacAddr eth_dst{{0x33, 0x33, 0xff, target_ip.bytes[13], target_ip.bytes[14],
                   target_ip.bytes[15]}};
  return BuildNd(kIcmpv6NeighborSolicit, 0, eth_dst, src_mac, src_ip, group,
                 target_ip, out);
}

DropReason BuildNeighborAdvertisement(const MacAddr& src_mac,
                                      const IpAddr& target_ip,
                                      const MacAddr& dst_mac,
                                      const IpAddr& dst_ip, PacketView& out) {
  return BuildNd(kIcmpv6NeighborAdvert, 0x60 /* S, O */, dst_mac, src_mac,
                 target_ip, dst_ip, target_ip, out);
}

DropReason ParseNd(const uint8_t* f, uint32_t len, NdMessage* msg) {
  constexpr uint32_t kMin = kEthHeaderBytes + kIpv6HeaderBytes + 24;
  if (len < kMin) return DropReason::kTruncatedNd;
  const uint8_t* ip = f + kEthHeaderBytes;
  const uint8_t* icmp = ip + kIpv6HeaderBytes;
  if (Load16(f + 12) != kEtherTypeIpv6 || (ip[0] >> 4) != 6 ||
      ip[6] != kIpProtoIcmpv6) {
    return DropReason::kBadNd;
  }
  const uint32_t payload = Load16(ip + 4);
  if (payload < 24) return DropReason::kBadNd;
  if (kEthHeaderBytes + kIpv6HeaderBytes + payload > len) {
    return DropReason::kTruncatedNd;
  }
  const bool ns = icmp[0] == kIcmpv6NeighborSolicit;
  if ((!ns && icmp[0] != kIcmpv6NeighborAdvert) || icmp[1] != 0 ||
      ip[7] != 255) {
    return DropReason::kBadNd;
  }
  msg->src = IpAddr::FromV6Bytes(ip + 8);
  msg->dst = IpAddr::FromV6Bytes(ip + 24);
  const uint64_t sum =
      PseudoHeaderSum(msg->src, msg->dst, kIpProtoIcmpv6, payload);
  if (FoldSum(SumBytes(icmp, payload, sum)) != 0xffff) {
    return DropReason::kBadIcmpv6Checksum;
  }
  msg->is_solicitation = ns;
  msg->router = !ns && (icmp[4] & 0x80);
  msg->solicited = !ns && (icmp[4] & 0x40);
  msg->override_flag = !ns && (icmp[4] & 0x20);
  msg->target = IpAddr::FromV6Bytes(icmp + 8);
  msg->lladdr.reset();
  if (!ReadNdOptions(icmp + 24, payload - 24, ns ? 1 : 2, &msg->lladdr)) {
    return DropReason::kBadNd;
  }
  return DropReason::kNone;
}

}  // namespace spate::tunnels
