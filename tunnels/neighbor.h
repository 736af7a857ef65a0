// Neighbour resolution for tunnel endpoints: a cache (IP -> MAC with aging)
// and the ARP and IPv6 Neighbour Discovery frames that fill it.
//
// What: NeighborCache is Open vSwitch's tnl-neigh-cache: entries learned
// from ARP replies/requests and NA/NS messages seen on the underlay port
// (dynamic, expiring after an idle time, 15 minutes by default as in OVS
// 3.1) or set by `tnl/neigh/set` (static, never expire).  Show() prints
// `ovs-appctl tnl/neigh/show`'s format.  The Build* functions write
// complete Ethernet frames into a PacketView; the Parse* functions validate
// a received frame and return what the datapath needs to learn and answer.
//
// Design: a std::map under a mutex; lookups happen when an encapsulation
// template is (re)built or on ARP/ND traffic, not per tunnel packet.
// version() changes whenever a mapping changes so templates can be rebuilt.
//
// Thread-safety: NeighborCache methods are safe to call concurrently; the
// frame functions are pure.
#ifndef SPATE_TUNNELS_NEIGHBOR_H
#define SPATE_TUNNELS_NEIGHBOR_H

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tunnels/drop_reason.h"
#include "tunnels/packet_view.h"
#include "tunnels/wire.h"

namespace spate::tunnels {

struct NeighborEntry {
  IpAddr ip;            // Neighbour address.
  MacAddr mac;          // Its Ethernet address.
  std::string bridge;   // Underlay port/bridge it was seen on.
  bool is_static = false;   // Set by tnl/neigh/set; never expires.
  uint64_t expires_ns = 0;  // Dynamic entries: when they go stale.
};

class NeighborCache {
 public:
  static constexpr uint64_t kDefaultIdleNs = 15ull * 60 * 1'000'000'000;

  explicit NeighborCache(uint64_t idle_ns = kDefaultIdleNs)
      : idle_ns_(idle_ns) {}

  // Learns or refreshes a dynamic mapping at time `now_ns` (a static entry
  // for the same IP is left alone).
  void Learn(const IpAddr& ip, const MacAddr& mac, const std::string& bridge,
             uint64_t now_ns);
  // Sets a static mapping (tnl/neigh/set BRIDGE IP MAC).
  void SetStatic(const IpAddr& ip, const MacAddr& mac, const std::string& bridge);
  // The MAC for `ip`, if known and not expired at `now_ns`.
  std::optional<MacAddr> Lookup(const IpAddr& ip, uint64_t now_ns) const;
  // Removes expired dynamic entries; returns how many.
  size_t Expire(uint64_t now_ns);
  // Removes every entry (tnl/neigh/flush).
  void Flush();
  // Changes the idle time of dynamic entries learned from now on.
  void SetIdleNs(uint64_t idle_ns);
  // Every entry, ordered by IP.
  std::vector<NeighborEntry> Entries() const;
  // Bumped whenever an IP's MAC is added, changed or removed.
  uint64_t version() const;
  // `ovs-appctl tnl/neigh/show` output at time `now_ns` (expired dynamic
  // entries are shown with " STALE", as OVS does until they are swept).
  std::string Show(uint64_t now_ns) const;

 private:
  mutable std::mutex mutex_;
  std::map<IpAddr, NeighborEntry> entries_;  // By IP.
  uint64_t idle_ns_;     // Lifetime of a dynamic entry.
  uint64_t version_ = 0;  // Bumped on mapping changes.
};

// ---- ARP (RFC 826, Ethernet/IPv4) -----------------------------------------

inline constexpr uint32_t kArpFrameBytes = 42;  // Ethernet + ARP.

struct ArpMessage {
  bool is_request = false;  // Opcode 1 (request) or 2 (reply).
  MacAddr sha;              // Sender hardware address.
  IpAddr spa;               // Sender protocol address (IPv4).
  MacAddr tha;              // Target hardware address.
  IpAddr tpa;               // Target protocol address (IPv4).
};

// Writes a broadcast "who-has target_ip tell src_ip" into `out` (its data
// is replaced).  Returns kNone or kNoHeadroom (no room for 42 bytes).
DropReason BuildArpRequest(const MacAddr& src_mac, const IpAddr& src_ip,
                           const IpAddr& target_ip, PacketView& out);
// Writes "`src_ip` is-at `src_mac`" unicast to (dst_mac, dst_ip).
DropReason BuildArpReply(const MacAddr& src_mac, const IpAddr& src_ip,
                         const MacAddr& dst_mac, const IpAddr& dst_ip,
                         PacketView& out);
// Parses an Ethernet ARP frame: kNone, kTruncatedArp, or kBadArp (not
// Ethernet/IPv4, bad opcode).
DropReason ParseArp(const uint8_t* frame, uint32_t len, ArpMessage* msg);

// ---- IPv6 Neighbour Discovery (RFC 4861) ----------------------------------

struct NdMessage {
  bool is_solicitation = false;  // NS (135) or NA (136).
  IpAddr src;                    // IPv6 source.
  IpAddr dst;                    // IPv6 destination.
  IpAddr target;                 // Target address.
  std::optional<MacAddr> lladdr; // Source (NS) or target (NA) link-layer
                                 // address option.
  bool solicited = false;        // NA S flag.
  bool override_flag = false;    // NA O flag.
  bool router = false;           // NA R flag.
};

// Writes an NS for `target_ip` from (src_mac, src_ip) to the solicited-node
// multicast group, with a source link-layer address option.
DropReason BuildNeighborSolicitation(const MacAddr& src_mac,
                                     const IpAddr& src_ip,
                                     const IpAddr& target_ip, PacketView& out);
// Writes a solicited NA saying `target_ip` is at `src_mac` (S and O set),
// unicast to (dst_mac, dst_ip), with a target link-layer address option.
DropReason BuildNeighborAdvertisement(const MacAddr& src_mac,
                                      const IpAddr& target_ip,
                                      const MacAddr& dst_mac,
                                      const IpAddr& dst_ip, PacketView& out);
// Parses an Ethernet/IPv6/ICMPv6 NS or NA: kNone, kTruncatedNd, kBadNd
// (not NS/NA, hop limit not 255, code not 0, bad options) or
// kBadIcmpv6Checksum.
DropReason ParseNd(const uint8_t* frame, uint32_t len, NdMessage* msg);

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_NEIGHBOR_H
