// TunnelConfig: a tunnel port's settings, parsed from the Open_vSwitch
// database's Interface row exactly as Open vSwitch names them.
//
// What: Interface.type is "geneve", "vxlan" or "stt"; Interface.options
// holds remote_ip (address or "flow"), local_ip, key (number or "flow"),
// dst_port, csum, tos (number or "inherit"), ttl (number or "inherit") and
// df_default.  ParseTunnelConfig() turns the pair into a TunnelConfig or a
// clear error naming the option and the bad value.
//
// Defaults (Open vSwitch's): key 0, dst_port 6081/4789/7471, csum false,
// tos 0, ttl 64, df_default true.  Over IPv6 the UDP checksum is always
// sent (RFC 8200 §8.1), whatever csum says; see README.md.
//
// Thread-safety: value type; ParseTunnelConfig is a pure function.
#ifndef SPATE_TUNNELS_TUNNEL_CONFIG_H
#define SPATE_TUNNELS_TUNNEL_CONFIG_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "tunnels/wire.h"

namespace spate::tunnels {

enum class TunnelType : uint8_t { kGeneve, kVxlan, kStt };

// "geneve", "vxlan" or "stt".
std::string_view TunnelTypeName(TunnelType type);
// Parses an Interface.type value; nullopt for anything else.
std::optional<TunnelType> ParseTunnelType(std::string_view text);
// The IANA destination port of `type` (6081, 4789, 7471).
uint16_t DefaultDstPort(TunnelType type);
// Largest key `type` can carry: 2^24-1 for Geneve/VXLAN, 2^64-1 for STT.
uint64_t MaxTunnelKey(TunnelType type);

struct TunnelConfig {
  TunnelType type = TunnelType::kGeneve;  // Interface.type.
  bool remote_ip_flow = false;  // options:remote_ip=flow (set per packet).
  IpAddr remote_ip;             // options:remote_ip when not flow.
  std::optional<IpAddr> local_ip;  // options:local_ip; unset = from route.
  bool key_flow = false;        // options:key=flow (set per packet).
  uint64_t key = 0;             // options:key when not flow.
  uint16_t dst_port = 0;        // options:dst_port (default per type).
  bool csum = false;            // options:csum (IPv4 UDP checksum).
  bool tos_inherit = false;     // options:tos=inherit.
  uint8_t tos = 0;              // options:tos (DSCP; ECN bits zero).
  bool ttl_inherit = false;     // options:ttl=inherit.
  uint8_t ttl = 64;             // options:ttl.
  bool df_default = true;       // options:df_default.

  bool operator==(const TunnelConfig&) const = default;
};

// Parses Interface `type` and `options`.  Errors (tag "invalid tunnel
// option") name the option and value: unknown type, unknown option,
// missing remote_ip, malformed address, address families that differ, key
// out of range for the type, dst_port outside 1..65535, csum/df_default not
// "true"/"false", tos with ECN bits or > 255, ttl outside 1..255.
Result<TunnelConfig> ParseTunnelConfig(
    std::string_view type, const std::map<std::string, std::string>& options);

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_TUNNEL_CONFIG_H
