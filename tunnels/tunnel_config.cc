#include "tunnels/tunnel_config.h"

#include <charconv>
#include <limits>

namespace spate::tunnels {
namespace {

Error BadOption(std::string_view name, std::string_view value,
                std::string_view why) {
  return Error("invalid tunnel option",
               std::string(name) + "=\"" + std::string(value) + "\": " +
                   std::string(why));
}

// Parses a decimal or 0x-prefixed hexadecimal unsigned number.
std::optional<uint64_t> ParseNumber(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<bool> ParseBool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

// Applies one option to `config`; returns an error for a bad value.
Status ApplyOption(std::string_view name, std::string_view value,
                   TunnelConfig& config) {
  if (name == "remote_ip") {
    if (value == "flow") {
      config.remote_ip_flow = true;
      return Status::Ok();
    }
    auto ip = IpAddr::Parse(value);
    if (!ip || ip->IsUnspecified()) return BadOption(name, value, "not an IP address");
    config.remote_ip = *ip;
  } else if (name == "local_ip") {
    auto ip = IpAddr::Parse(value);
    if (!ip || ip->IsUnspecified()) return BadOption(name, value, "not an IP address");
    config.local_ip = *ip;
  } else if (name == "key") {
    if (value == "flow") {
      config.key_flow = true;
      return Status::Ok();
    }
    auto key = ParseNumber(value);
    if (!key) return BadOption(name, value, "not a number or \"flow\"");
    if (*key > MaxTunnelKey(config.type)) {
      return BadOption(name, value,
                       "out of range for " +
                           std::string(TunnelTypeName(config.type)));
    }
    config.key = *key;
  } else if (name == "dst_port") {
    auto port = ParseNumber(value);
    if (!port || *port == 0 || *port > 65535) {
      return BadOption(name, value, "not a port number (1..65535)");
    }
    config.dst_port = static_cast<uint16_t>(*port);
  } else if (name == "csum" || name == "df_default") {
    auto flag = ParseBool(value);
    if (!flag) return BadOption(name, value, "must be \"true\" or \"false\"");
    (name == "csum" ? config.csum : config.df_default) = *flag;
  } else if (name == "tos") {
    if (value == "inherit") {
      config.tos_inherit = true;
      return Status::Ok();
    }
    auto tos = ParseNumber(value);
    if (!tos || *tos > 255) return BadOption(name, value, "not 0..255 or \"inherit\"");
    if (*tos & 3) return BadOption(name, value, "ECN bits must be zero");
    config.tos = static_cast<uint8_t>(*tos);
  } else if (name == "ttl") {
    if (value == "inherit") {
      config.ttl_inherit = true;
      return Status::Ok();
    }
    auto ttl = ParseNumber(value);
    if (!ttl || *ttl == 0 || *ttl > 255) {
      return BadOption(name, value, "not 1..255 or \"inherit\"");
    }
    config.ttl = static_cast<uint8_t>(*ttl);
  } else {
    return BadOption(name, value, "unknown option");
  }
  return Status::Ok();
}

}  // namespace

std::string_view TunnelTypeName(TunnelType type) {
  switch (type) {
    case TunnelType::kGeneve:
      return "geneve";
    case TunnelType::kVxlan:
      return "vxlan";
    case TunnelType::kStt:
      return "stt";
  }
  return "unknown";
}

std::optional<TunnelType> ParseTunnelType(std::string_view text) {
  if (text == "geneve") return TunnelType::kGeneve;
  if (text == "vxlan") return TunnelType::kVxlan;
  if (text == "stt") return TunnelType::kStt;
  return std::nullopt;
}

uint16_t DefaultDstPort(TunnelType type) {
  switch (type) {
    case TunnelType::kGeneve:
      return kGenevePort;
    case TunnelType::kVxlan:
      return kVxlanPort;
    case TunnelType::kStt:
      return kSttPort;
  }
  return 0;
}

uint64_t MaxTunnelKey(TunnelType type) {
  return type == TunnelType::kStt ? std::numeric_limits<uint64_t>::max()
                                  : (uint64_t{1} << 24) - 1;
}

Result<TunnelConfig> ParseTunnelConfig(
    std::string_view type, const std::map<std::string, std::string>& options) {
  auto tunnel_type = ParseTunnelType(type);
  if (!tunnel_type) {
    return Error("invalid tunnel option",
                 "type \"" + std::string(type) +
                     "\" is not geneve, vxlan or stt");
  }
  TunnelConfig config;
  config.type = *tunnel_type;
  config.dst_port = DefaultDstPort(config.type);
  for (const auto& [name, value] : options) {
    Status status = ApplyOption(name, value, config);
    if (!status.ok()) return status.error();
  }
  if (!options.contains("remote_ip")) {
    return Error("invalid tunnel option",
                 std::string(type) + " tunnel requires options:remote_ip");
  }
  if (config.local_ip && !config.remote_ip_flow &&
      config.local_ip->IsV4() != config.remote_ip.IsV4()) {
    return Error("invalid tunnel option",
                 "local_ip and remote_ip are of different address families");
  }
  return config;
}

}  // namespace spate::tunnels
