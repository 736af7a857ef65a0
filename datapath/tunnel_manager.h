// TunnelManager: the datapath's TunnelHook, built on tunnels/: tunnel
// ports, encapsulation, decapsulation on underlay ports, the underlay
// route table and neighbour (ARP/ND) resolution.
//
// What it is
//   * Tunnel ports: Interface rows of type geneve, vxlan or stt with Open
//     vSwitch's options (tunnels/tunnel_config.h).  AddTunnelPort parses
//     them and adds a device-less tunnel port to the Datapath.
//   * Underlay ports: ordinary datapath ports that carry tunnel traffic,
//     registered with SetUnderlayPort together with their addresses (what
//     Open vSwitch takes from the IP addresses of br-phy).  Each address
//     adds a "Cached" connected route, is a local tunnel endpoint, and is
//     answered for in ARP and IPv6 ND.
//   * Encapsulation (Push): the tunnel port's remote (options:remote_ip or
//     the flow's tun_dst/tun_ipv6_dst), the route to it, the neighbour MAC
//     of the next hop and the local IP give one tunnels::EncapTemplate;
//     per packet it is a prepend plus lengths, checksums and the UDP/TCP
//     source port from the inner flow hash.  Geneve and VXLAN packets
//     longer than the underlay MTU are dropped and counted
//     (outer_exceeds_mtu), as Open vSwitch's userspace datapath does; STT
//     frames are cut into MTU-sized segments.  With no neighbour entry yet,
//     an ARP request or neighbour solicitation goes out of the underlay
//     port (at most one per next hop per second per thread) and the packet
//     is dropped (no_neighbor), as Open vSwitch does.
//   * Decapsulation (MatchUnderlay + Pop): an underlay packet for a local
//     endpoint address, protocol and destination port of some tunnel port
//     is popped; tunnels::Decap validates and strips it (STT segments are
//     reassembled), and the tunnel port is chosen as Open vSwitch does: by
//     type and destination port, then local_ip (or any), remote_ip equal to
//     the outer source (or flow), key equal to the VNI/context (or flow);
//     exact matches win.  The packet is then processed again as received
//     on that port with tun_id, tun_src/dst or tun_ipv6_src/dst and the
//     first Geneve option (class, type, 4-byte value) in its key.
//   * Batches (PushBatch, PopBatch, PopEarly): the fast path hands over a
//     run of packets of one megaflow, so the thread state, the tunnel
//     port and the template are looked up once per batch; for Geneve and
//     VXLAN PushBatch also prepares a tunnels::UdpEncapPlan (header with
//     options and VNI, constant checksum parts) and runs
//     tunnels::EncapPlanned per packet (PushPlanned).  PopEarly takes
//     valid tunnel traffic off an underlay port's batch before the fast
//     path extracts any key: MatchUnderlay runs before every OpenFlow
//     table, so such a packet's translation can only be this pop.  It
//     takes only packets that Decap accepts whole without reassembly and
//     that some tunnel port selects; the rest (malformed traffic, STT
//     segments) goes the usual way, which counts the drops.  A packet
//     whose outer headers repeat those of the last one it accepted takes
//     the thread's tunnels::DecapLane (a masked compare, the checksums and
//     lengths, the learned port and key words) instead of the full Decap.
//     Checksums the underlay device verified (Port::rx_checksum_offload,
//     Packet::rx_checksum_good) are not checked again there.
//   * ARP and ND (MatchUnderlay + Control): ARP requests for a local
//     address are answered from the underlay port's MAC, NS likewise with
//     an NA; the sender's mapping is learned.  ARP replies and NAs sent to
//     a local address are learned and consumed.  Everything else on the
//     underlay port is switched by the flow tables.
//
// Design
//   Control state (ports, underlays, endpoints) lives under one mutex and
//   carries a version.  Every PMD thread keeps its own copy of it, its
//   own encapsulation templates and its own STT reassembler in a
//   thread-local ThreadState; a packet costs one atomic load per version
//   to notice changes, and no lock.  Templates are dropped when the
//   underlay version moves (routes, neighbours, underlays, tunnel ports).
//   Drops are counted by named reason: every tunnels::DropReason, plus
//   this file's TunnelError values.
//
// Thread-safety
//   The TunnelHook methods may be called concurrently from every PMD
//   thread.  The control methods may be called from any thread; they are
//   serialised internally.  Never call them while holding the Datapath's
//   internals (this class calls DatapathControl without holding its own
//   lock).
#ifndef SPATE_DATAPATH_TUNNEL_MANAGER_H
#define SPATE_DATAPATH_TUNNEL_MANAGER_H

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "datapath/actions.h"
#include "datapath/datapath_control.h"
#include "datapath/port_factory.h"
#include "tunnels/drop_reason.h"
#include "tunnels/decap.h"
#include "tunnels/encap.h"
#include "tunnels/encap_burst.h"
#include "tunnels/neighbor.h"
#include "tunnels/route_table.h"
#include "tunnels/stt_reassembly.h"
#include "tunnels/tunnel_config.h"

namespace spate::datapath {

// How a TunnelManager is built.
struct TunnelManagerOptions {
  Mempool* pool = nullptr;  // Buffers for ARP/ND requests, STT segments and
                            // reassembled STT frames (required).
  tunnels::SttReassemblyConfig stt;  // Per-thread STT reassembly limits.
  uint64_t neigh_idle_ns = tunnels::NeighborCache::kDefaultIdleNs;  // Aging.
  uint64_t resolve_retry_ns = 1'000'000'000;  // Between requests for one
                                              // next hop (per thread).
};

// Drop reasons of the manager itself (tunnels::DropReason covers formats).
enum class TunnelError : uint8_t {
  kNoRoute,        // No route to the tunnel's remote.
  kNoNeighbor,     // Next hop not resolved yet (a request was sent).
  kNoLocalIp,      // No local_ip, route SRC or underlay address to send from.
  kNoUnderlay,     // The route's device is not a registered underlay port.
  kNoTunnelPort,   // Decapsulated packet matches no tunnel port.
  kNotTunnelPort,  // Push for a port that is not (or no longer) a tunnel.
  kNoRemote,       // remote_ip=flow but the flow has no tun_dst.
  kNoBuffer,       // The pool is empty (segments, reassembled frames).
  kNonContiguous,  // Multi-segment packet.
  kCount           // Number of values.
};
inline constexpr int kNumTunnelErrors = static_cast<int>(TunnelError::kCount);

// Counter name of `e`, e.g. "no_neighbor".
const char* TunnelErrorName(TunnelError e);

// An address of an underlay port (IPv4 prefix lengths are 0..32).
struct UnderlayAddress {
  tunnels::IpAddr ip;  // The address (IPv4 mapped).
  uint8_t plen = 0;    // Prefix length in its own family.
};

// A tunnel port as the manager knows it.
struct TunnelPortInfo {
  std::string name;               // Interface name.
  uint32_t number = 0;            // Datapath port number.
  tunnels::TunnelConfig config;   // Parsed options.
};

// An underlay port as the manager knows it.
struct UnderlayInfo {
  std::string name;                        // Datapath port name.
  uint32_t number = 0;                     // Datapath port number.
  tunnels::MacAddr mac;                    // Its MAC (ARP/ND answers, source).
  int mtu = 1500;                          // Its MTU (IP bytes).
  bool rx_checksum_offload = false;        // Its device verifies receive
                                           // checksums (Port::rx_checksum_offload).
  std::vector<UnderlayAddress> addresses;  // Local tunnel addresses.
};

// One named drop counter.
struct TunnelDropCount {
  std::string name;  // Counter name.
  uint64_t n = 0;    // Packets.
};

class TunnelManager final : public TunnelHook {
 public:
  // A manager with no ports.  Pass it as DatapathOptions::tunnels, then
  // Attach() the datapath before adding ports.
  explicit TunnelManager(const TunnelManagerOptions& options);
  ~TunnelManager() override;
  TunnelManager(const TunnelManager&) = delete;
  TunnelManager& operator=(const TunnelManager&) = delete;

  // The datapath whose ports this manager adds and resolves (not owned;
  // must outlive every control call).
  void Attach(DatapathControl* datapath);

  // ---- Control (any thread) ----
  // Adds tunnel port `iface` (type geneve/vxlan/stt, Open vSwitch options)
  // with datapath number `number` (0: lowest free).  Errors: not attached,
  // bad options ("invalid tunnel option"), a port of another type on the
  // same destination port, the datapath's errors.
  Result<uint32_t> AddTunnelPort(const InterfaceConfig& iface, uint32_t number = 0);
  // Reconfigures tunnel port `iface.name` with new options (same type).
  Status ReconfigureTunnelPort(const InterfaceConfig& iface);
  // Removes tunnel port `name` from the manager and the datapath.
  Status RemoveTunnelPort(std::string_view name);
  // Registers (or updates) datapath port `name` as an underlay port with
  // `addresses`; reads its MAC and MTU from the datapath now (call again
  // after changing its MTU).  Replaces its Cached routes.  Errors: unknown
  // port, a tunnel port, bad prefix length.
  Status SetUnderlayPort(std::string_view name, std::vector<UnderlayAddress> addresses);
  // Forgets underlay port `name` and its Cached routes.
  Status RemoveUnderlayPort(std::string_view name);

  // `ovs/route/add IP/PLEN BRIDGE [GW] [pkt_mark=M] [src=IP]`: "OK" or an
  // error with Open vSwitch's text.  A missing SRC comes from BRIDGE's
  // addresses; a BRIDGE without an address of the family is refused
  // ("Error while inserting route."), as Open vSwitch does.
  Result<std::string> RouteAdd(const std::vector<std::string>& args);
  // `ovs/route/del IP/PLEN [pkt_mark=M]`.
  Result<std::string> RouteDel(const std::vector<std::string>& args);
  // `ovs/route/lookup IP [pkt_mark=M]`.
  Result<std::string> RouteLookup(const std::vector<std::string>& args) const;
  // `ovs/route/show`.
  std::string RouteShow() const;
  // `tnl/neigh/set BRIDGE IP MAC`: "OK" or "bad IP address"/"bad MAC address".
  Result<std::string> NeighSet(const std::vector<std::string>& args);
  // `tnl/neigh/flush`.
  void NeighFlush();
  // `tnl/neigh/show`.
  std::string NeighShow() const;
  // `tnl/ports/show [-v]`.
  std::string PortsShow(bool verbose) const;

  // Snapshots for tests and status commands.
  std::vector<TunnelPortInfo> ListTunnelPorts() const;
  std::vector<UnderlayInfo> ListUnderlays() const;
  // Every drop counter, tunnels::DropReason names first.
  std::vector<TunnelDropCount> DropCounts() const;
  // The count of one reason (tests).
  uint64_t Drops(tunnels::DropReason r) const;
  uint64_t Drops(TunnelError e) const;
  // Learns a neighbour as if an ARP reply had arrived (tests).
  void LearnNeighbor(const tunnels::IpAddr& ip, const tunnels::MacAddr& mac,
                     const std::string& bridge);

  // ---- TunnelHook (PMD threads) ----
  bool IsTunnelPort(uint32_t port) const override;
  uint32_t MatchUnderlay(const cls::FlowKey& key, cls::FlowKey* wc) const override;
  DropReason Push(const TunnelPushParams& params, Packet* pkt, uint32_t* out_port) override;
  DropReason Pop(uint32_t tunnel_port, Packet* pkt, cls::FlowKey* md) override;
  void PushTo(const TunnelPushParams& params, Packet* pkt, ExecSink* sink) override;
  void PopTo(uint32_t tunnel_port, Packet* pkt, ExecSink* sink) override;
  void PushBatch(const TunnelPushParams& params, Packet* const* pkts, uint32_t n,
                 ExecSink* sink) override;
  void PopBatch(uint32_t tunnel_port, Packet* const* pkts, uint32_t n, ExecSink* sink) override;
  uint32_t PopEarly(uint32_t in_port, Packet** pkts, uint32_t n, ExecSink* sink) override;
  void Control(uint32_t in_port, Packet* pkt, ExecSink* sink) override;

 private:
  struct PortRec;
  struct Config;
  struct ThreadState;
  struct Template;
  class Counters;

  ThreadState& State() const;
  void Sync(ThreadState& ts) const;
  void PublishLocked();
  void BumpUnderlay();
  void Revalidate();
  void Count(tunnels::DropReason r) const;
  void Count(TunnelError e) const;
  bool Learn(const tunnels::IpAddr& ip, const tunnels::MacAddr& mac, const std::string& bridge);
  const Template* FindTemplate(ThreadState& ts, const PortRec& port,
                               const tunnels::IpAddr& remote, ExecSink* sink,
                               TunnelError* why) const;
  bool BuildTemplate(ThreadState& ts, const PortRec& port, const tunnels::IpAddr& remote,
                     Template* out, ExecSink* sink, TunnelError* why) const;
  void Solicit(ThreadState& ts, const UnderlayInfo& u, const tunnels::IpAddr& src,
               const tunnels::IpAddr& next_hop, ExecSink* sink) const;
  bool EncapOne(const TunnelPushParams& params, Packet* pkt, ExecSink* sink,
                uint32_t* out_port);
  const Template* ResolveTemplate(ThreadState& ts, const TunnelPushParams& params,
                                  ExecSink* sink);
  bool EncapWith(ThreadState& ts, const Template& t, tunnels::EncapParams& ep, Packet* pkt,
                 ExecSink* sink, uint32_t* out_port);
  void EncapSegments(const Template& t, const tunnels::EncapParams& params, Packet* pkt,
                     ExecSink* sink);
  bool PushPlanned(ThreadState& ts, const Template& t, tunnels::EncapParams& ep,
                   Packet* const* pkts, uint32_t n, ExecSink* sink);
  DropReason DecapOne(Packet* pkt, cls::FlowKey* md, bool* held);
  bool PopFull(ThreadState& ts, const tunnels::DecapContext& ctx, Packet* pkt,
               uint32_t rx_flags, bool lane_ok, ExecSink* sink);
  tunnels::DecapContext MakeDecapContext(const ThreadState& ts) const;
  DropReason DecapWith(ThreadState& ts, const tunnels::DecapContext& ctx, Packet* pkt,
                       cls::FlowKey* md, uint32_t* port, bool* held);
  static uint32_t SelectPort(const Config& c, const tunnels::TunnelMetadata& m);
  void HandleArp(const UnderlayInfo& u, Packet* pkt, ExecSink* sink);
  void HandleNd(const UnderlayInfo& u, Packet* pkt, ExecSink* sink);
  Status CheckPortConflict(const tunnels::TunnelConfig& config, std::string_view skip) const;
  void SetCachedRoutesLocked(const UnderlayInfo& u, bool add);

  const uint64_t id_;                       // Unique per manager (TLS key).
  TunnelManagerOptions options_;            // As built.
  DatapathControl* datapath_ = nullptr;     // Attached datapath.
  mutable std::mutex mutex_;                // Guards config_.
  std::unique_ptr<Config> config_;          // Ports, underlays, endpoints.
  std::atomic<uint64_t> config_version_{1};    // Bumped per config change.
  std::atomic<uint64_t> underlay_version_{1};  // Bumped per route/neighbour
                                               // /config change.
  tunnels::RouteTable routes_;              // ovs/route/*.
  tunnels::NeighborCache neighbors_;        // tnl/neigh/*.
  std::unique_ptr<Counters> counters_;      // Drops by reason.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_TUNNEL_MANAGER_H
