// Geneve (RFC 8926) option TLVs, and the option and keys OVN carries.
//
// Geneve header (8 bytes, then Opt Len * 4 bytes of options):
//   Ver(2)=0 | Opt Len(6) | O(1) | C(1) | Rsvd(6) | Protocol Type(16)=0x6558
//   VNI(24) | Reserved(8)
// Option TLV: Class(16) | Type(8, high bit = critical) | R(3) | Length(5)
// followed by Length * 4 data bytes.
//
// OVN's logical-port option (reference §6.6, chosen unchanged): class
// 0xffff, type 0 (not critical), length 4 data bytes holding, most
// significant bit first, 1 reserved zero bit, the 15-bit logical ingress
// port key and the 16-bit logical egress port key.  The VNI carries the
// 24-bit logical datapath key.  STT carries the same three keys in its
// 64-bit context (OvnSttContext).  See README.md.
//
// Thread-safety: pure functions.
#ifndef SPATE_TUNNELS_GENEVE_H
#define SPATE_TUNNELS_GENEVE_H

#include <cstddef>
#include <cstdint>
#include <span>

#include "tunnels/drop_reason.h"

namespace spate::tunnels {

// Identifies an option kind: class and type (type includes the critical
// bit, since RFC 8926 makes it part of the type).
struct GeneveOptionId {
  uint16_t option_class;  // Option class (0xffff = experimental).
  uint8_t type;           // Option type, bit 7 = critical.

  bool operator==(const GeneveOptionId&) const = default;
};

inline constexpr uint8_t kGeneveCriticalBit = 0x80;  // In the option type.
inline constexpr GeneveOptionId kOvnPortsOption = {0xffff, 0x00};
inline constexpr uint32_t kOvnPortsOptionBytes = 8;  // 4 header + 4 data.

// Keys of one logical packet as OVN's tunnels carry them.
struct OvnTunnelKeys {
  uint32_t datapath = 0;  // 24-bit logical datapath key.
  uint16_t ingress = 0;   // 15-bit logical ingress port key.
  uint16_t egress = 0;    // 16-bit logical egress port key.

  bool operator==(const OvnTunnelKeys&) const = default;
};

// Checks that [options, options+n) is a well-formed TLV list and that
// every critical option is in `understood`.  Returns kNone,
// kGeneveOptLenPastEnd (a TLV header or body runs past the area) or
// kUnknownCriticalOption.  Sets *has_critical when any option is critical.
// Inline: it runs for every Geneve packet received.
inline DropReason ValidateGeneveOptions(
    const uint8_t* options, size_t n,
    std::span<const GeneveOptionId> understood, bool* has_critical) {
  *has_critical = false;
  size_t at = 0;
  while (at < n) {
    if (n - at < 4) return DropReason::kGeneveOptLenPastEnd;
    const size_t bytes = 4 + 4 * size_t{options[at + 3] & 0x1fu};
    if (bytes > n - at) return DropReason::kGeneveOptLenPastEnd;
    const uint8_t type = options[at + 2];
    if (type & kGeneveCriticalBit) {
      *has_critical = true;
      const GeneveOptionId id = {
          static_cast<uint16_t>(options[at] << 8 | options[at + 1]), type};
      bool known = false;
      for (const GeneveOptionId& u : understood) known |= (u == id);
      if (!known) return DropReason::kUnknownCriticalOption;
    }
    at += bytes;
  }
  return DropReason::kNone;
}

// Finds the first option `id` in a validated TLV list and returns its data
// (empty span if absent).
std::span<const uint8_t> FindGeneveOption(std::span<const uint8_t> options,
                                          GeneveOptionId id);

// Writes OVN's ports option (kOvnPortsOptionBytes bytes) at `out` for
// `keys.ingress` (low 15 bits used) and `keys.egress`.
void WriteOvnPortsOption(uint8_t* out, const OvnTunnelKeys& keys);

// Reads OVN's ports option from a validated TLV list into keys->ingress and
// keys->egress.  Returns false when the option is absent or not 4 bytes.
bool ReadOvnPortsOption(std::span<const uint8_t> options, OvnTunnelKeys* keys);

// STT's 64-bit context for `keys` (reference §6.6): 9 reserved bits, ingress
// in bits 54..40, egress in bits 39..24, datapath in bits 23..0.
uint64_t OvnSttContext(const OvnTunnelKeys& keys);
// Inverse of OvnSttContext (reserved bits ignored).
OvnTunnelKeys OvnKeysFromSttContext(uint64_t context);

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_GENEVE_H
