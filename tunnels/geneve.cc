#include "tunnels/geneve.h"

#include "tunnels/wire.h"

namespace spate::tunnels {

std::span<const uint8_t> FindGeneveOption(std::span<const uint8_t> options,
                                          GeneveOptionId id) {
  size_t at = 0;
  while (options.size() - at >= 4) {
    const size_t data_bytes = 4 * size_t{options[at + 3] & 0x1fu};
    if (4 + data_bytes > options.size() - at) break;
    if (Load16(options.data() + at) == id.option_class &&
        options[at + 2] == id.type) {
      return options.subspan(at + 4, data_bytes);
    }
    at += 4 + data_bytes;
  }
  return {};
}

void WriteOvnPortsOption(uint8_t* out, const OvnTunnelKeys& keys) {
  Store16(out, kOvnPortsOption.option_class);
  out[2] = kOvnPortsOption.type;
  out[3] = 1;  // R = 0, Length = 1 word.
  Store32(out + 4, (uint32_t{keys.ingress} & 0x7fffu) << 16 | keys.egress);
}

bool ReadOvnPortsOption(std::span<const uint8_t> options, OvnTunnelKeys* keys) {
  const auto data = FindGeneveOption(options, kOvnPortsOption);
  if (data.size() != 4) return false;
  const uint32_t v = Load32(data.data());
  keys->ingress = static_cast<uint16_t>((v >> 16) & 0x7fffu);
  keys->egress = static_cast<uint16_t>(v & 0xffffu);
  return true;
}

uint64_t OvnSttContext(const OvnTunnelKeys& keys) {
  return (uint64_t{keys.ingress} & 0x7fffu) << 40 |
         uint64_t{keys.egress} << 24 | (keys.datapath & 0xffffffu);
}

OvnTunnelKeys OvnKeysFromSttContext(uint64_t context) {
  OvnTunnelKeys keys;
  keys.ingress = static_cast<uint16_t>((context >> 40) & 0x7fffu);
  keys.egress = static_cast<uint16_t>((context >> 24) & 0xffffu);
  keys.datapath = static_cast<uint32_t>(context & 0xffffffu);
  return keys;
}

}  // namespace spate::tunnels
