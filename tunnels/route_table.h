// RouteTable: the underlay routes used to reach tunnel endpoints.
//
// What: longest-prefix match over IPv4 and IPv6 routes, each with an output
// bridge (the underlay port's name), an optional gateway, a source address
// and a packet mark, as Open vSwitch's ovs-router keeps them.  The text
// commands mirror `ovs-appctl ovs/route/add|del|show|lookup` and print
// Open vSwitch 3.1's formats:
//   Route Table:
//   User: 10.0.0.0/24 dev br0 GW 10.0.0.254 SRC 10.0.0.1
// IPv4 is stored IPv4-mapped, so an IPv4 /24 is a /120 internally and is
// shown as /24.
//
// Design: a vector kept sorted by prefix length (longest first), scanned
// linearly; routes change rarely and are looked up only when a tunnel's
// encapsulation template is (re)built, never per packet.  version() changes
// on every modification so the datapath knows when to rebuild templates.
//
// Thread-safety: every method is safe to call concurrently (one internal
// mutex); none is meant for the per-packet path.
#ifndef SPATE_TUNNELS_ROUTE_TABLE_H
#define SPATE_TUNNELS_ROUTE_TABLE_H

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "tunnels/wire.h"

namespace spate::tunnels {

struct Route {
  IpAddr prefix;           // Network address (host bits zero).
  uint8_t plen = 0;        // Prefix length in the mapped space, 0..128.
  std::string output_bridge;  // Underlay port/bridge name ("dev").
  IpAddr gateway;          // Next hop; zero when directly connected.
  IpAddr src;              // Source address for this route; zero if unset.
  uint32_t mark = 0;       // pkt_mark the route applies to (0 = any).
  bool user = true;        // Added by ovs/route/add (else "Cached").
  bool local = false;      // Route to a local address.

  bool operator==(const Route&) const = default;
};

class RouteTable {
 public:
  // Adds or replaces the route with the same prefix, plen and mark.
  // `route.prefix` is masked to `route.plen`.  Error if plen > 128, or
  // gateway/src are of a different family than the prefix.
  Status Add(Route route);
  // Removes the route for (prefix, plen, mark); error "Not found" if absent.
  Status Del(const IpAddr& prefix, uint8_t plen, uint32_t mark = 0);
  // The longest-prefix route for `dst` whose mark is 0 or equals `mark`.
  std::optional<Route> Lookup(const IpAddr& dst, uint32_t mark = 0) const;
  // Every route, longest prefix first.
  std::vector<Route> Routes() const;
  // Removes every route.
  void Clear();
  // Bumped on every change.
  uint64_t version() const;

  // `ovs-appctl ovs/route/show` output.
  std::string Show() const;
  // `ovs/route/add IP/PLEN BRIDGE [GW] [pkt_mark=MARK] [src=IP]`; returns
  // "OK\n" or an error with OVS's messages ("Invalid parameters", ...).
  Result<std::string> RunAdd(const std::vector<std::string>& args);
  // `ovs/route/del IP/PLEN [pkt_mark=MARK]`: "OK\n" or "Not found".
  Result<std::string> RunDel(const std::vector<std::string>& args);
  // `ovs/route/lookup IP [pkt_mark=MARK]`: "src S\ngateway G\ndev D\n".
  Result<std::string> RunLookup(const std::vector<std::string>& args) const;

  // Parses "IP/PLEN" (or a bare IP as a host route) into mapped form.
  static std::optional<std::pair<IpAddr, uint8_t>> ParsePrefix(
      const std::string& text);

 private:
  mutable std::mutex mutex_;
  std::vector<Route> routes_;  // Sorted: longest plen first.
  uint64_t version_ = 0;       // Bumped on every change.
};

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_ROUTE_TABLE_H
