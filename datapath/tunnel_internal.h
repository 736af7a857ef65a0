// Internal to tunnel_manager.cc and tunnel_packet.cc: the configuration
// snapshot, the per-thread state and the counters of TunnelManager.
//
// Thread-safety: Config is copied under TunnelManager::mutex_; a
// ThreadState belongs to one thread; Counters are atomics.
#ifndef SPATE_DATAPATH_TUNNEL_INTERNAL_H
#define SPATE_DATAPATH_TUNNEL_INTERNAL_H

#include <atomic>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "datapath/tunnel_manager.h"
#include "tunnels/decap.h"
#include "tunnels/decap_lane.h"
#include "tunnels/encap.h"

namespace spate::datapath {

// A tunnel port.
struct TunnelManager::PortRec {
  std::string name;              // Interface name.
  uint32_t number = 0;           // Datapath port number.
  tunnels::TunnelConfig config;  // Options.
};

// Everything the packet path needs from the control side.
struct TunnelManager::Config {
  uint64_t version = 0;                         // config_version_ it matches.
  std::vector<PortRec> ports;                   // By number, ascending.
  std::vector<UnderlayInfo> underlays;          // Underlay ports.
  std::vector<tunnels::LocalEndpoint> endpoints;  // For Decap (one per
                                                // address, type, dst port).
  bool has_stt = false;                         // Some port is STT.

  const PortRec* FindPort(uint32_t number) const;
  const UnderlayInfo* FindUnderlay(uint32_t number) const;
  const UnderlayInfo* FindUnderlay(std::string_view name) const;
  // True when `ip` is an address of underlay `u`.
  static bool IsAddressOf(const UnderlayInfo& u, const tunnels::IpAddr& ip);
  // True when `ip` is a local endpoint address.
  bool IsEndpointIp(const tunnels::IpAddr& ip) const;
};

// An encapsulation template with where to send it.
struct TunnelManager::Template {
  tunnels::EncapTemplate tmpl;  // Outer headers.
  uint32_t out_port = 0;        // Underlay datapath port.
  uint32_t mtu = 1500;          // Underlay MTU.
};

// Template cache key.
struct TemplateKey {
  uint32_t port = 0;       // Tunnel port number.
  tunnels::IpAddr remote;  // Remote endpoint.
  // Two word compares (the defaulted operator calls memcmp).
  bool operator==(const TemplateKey& o) const {
    uint64_t a[2], b[2];
    std::memcpy(a, remote.bytes.data(), 16);
    std::memcpy(b, o.remote.bytes.data(), 16);
    return port == o.port && ((a[0] ^ b[0]) | (a[1] ^ b[1])) == 0;
  }
};

struct TemplateKeyHash {
  size_t operator()(const TemplateKey& k) const {
    uint64_t a, b;
    std::memcpy(&a, k.remote.bytes.data(), 8);
    std::memcpy(&b, k.remote.bytes.data() + 8, 8);
    return static_cast<size_t>((a * 0x9e3779b97f4a7c15ULL) ^ (b + k.port) * 0xc2b2ae3d27d4eb4fULL);
  }
};

struct IpHash {
  size_t operator()(const tunnels::IpAddr& ip) const {
    return TemplateKeyHash()(TemplateKey{0, ip});
  }
};

// One thread's view: a config copy, templates, the STT reassembler.
struct TunnelManager::ThreadState {
  static constexpr size_t kMaxTemplates = 4096;   // Then the cache is reset.
  static constexpr size_t kMaxSolicits = 1024;    // Then the map is reset.

  uint64_t owner = 0;                      // TunnelManager::id_.
  Config config;                           // Copy of the control state.
  std::vector<int32_t> port_index;         // Port number -> index in ports.
  uint64_t underlay_version = 0;           // Templates are for this version.
  std::unordered_map<TemplateKey, Template, TemplateKeyHash> templates;  // Built.
  const Template* last = nullptr;          // Last template used.
  TemplateKey last_key;                    // Its key.
  std::unordered_map<tunnels::IpAddr, uint64_t, IpHash> solicited;  // Next
                                           // hop -> last request time.
  std::unique_ptr<tunnels::SttReassembler> stt;  // When some port is STT.
  uint32_t thread_index = 0;               // For STT frame identifiers.
  uint32_t next_frame = 0;                 // STT frame counter.
  TunnelError last_error = TunnelError::kCount;  // Why the last template
                                           // could not be resolved.
  cls::FlowKey md{};                       // Metadata of the last packet
                                           // decapsulated (tunnel words only).
  tunnels::DecapLane lane;                 // PopEarly's fast lane (reset
                                           // when the config changes).
  uint32_t lane_port = 0;                  // Tunnel port of its packets.
  bool lane_value = false;                 // Their key's tun_metadata0 is
                                           // the option's 4 data bytes.
  cls::FlowKey lane_md{};                  // Their key's tunnel words (the
                                           // option value rewritten per packet).
};

// Drop counters by reason (any thread writes, any reads).
class TunnelManager::Counters {
 public:
  static constexpr int kSize = tunnels::kNumDropReasons + kNumTunnelErrors;
  void Add(int i) { n_[i].fetch_add(1, std::memory_order_relaxed); }
  uint64_t Get(int i) const { return n_[i].load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> n_[kSize] = {};  // Packets by reason.
};

// Monotonic nanoseconds (neighbour aging, STT timeouts, request pacing).
inline uint64_t TunnelNowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// Records manager `id` as alive or destroyed (threads prune their state
// of destroyed managers).
void RegisterTunnelManagerId(uint64_t id, bool alive);

// IPv4 flow-key value (host order) to a mapped address, and back.
tunnels::IpAddr IpFromV4(uint32_t v4);
uint32_t V4FromIp(const tunnels::IpAddr& ip);
// 128-bit flow-key value to an address, and back.
tunnels::IpAddr IpFromU128(cls::U128 v);
cls::U128 U128FromIp(const tunnels::IpAddr& ip);

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_TUNNEL_INTERNAL_H
