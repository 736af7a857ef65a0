#include "tunnels/drop_reason.h"

#include <array>

namespace spate::tunnels {
namespace {

constexpr std::array<std::string_view, kNumDropReasons> kNames = {
    "none",
    "truncated-outer",
    "bad-outer-ip-version",
    "bad-outer-ip-length",
    "outer-ip-options",
    "outer-ip-fragment",
    "bad-ipv4-checksum",
    "bad-udp-length",
    "bad-udp-checksum",
    "zero-udp-checksum-ipv6",
    "bad-tcp-checksum",
    "truncated-geneve",
    "bad-geneve-version",
    "geneve-opt-len-past-end",
    "unknown-critical-option",
    "unsupported-geneve-protocol",
    "truncated-vxlan",
    "bad-vxlan-flags",
    "wrong-vni",
    "truncated-stt",
    "bad-stt-version",
    "bad-stt-tcp-header",
    "stt-no-reassembler",
    "stt-frame-too-long",
    "stt-segment-past-end",
    "stt-length-mismatch",
    "stt-overlap",
    "stt-duplicate-segment",
    "stt-too-many-holes",
    "stt-reassembly-full",
    "stt-reassembly-timeout",
    "no-headroom",
    "bad-geneve-options",
    "inner-too-long",
    "outer-exceeds-mtu",
    "segment-buffer-too-small",
    "truncated-arp",
    "bad-arp",
    "truncated-nd",
    "bad-nd",
    "bad-icmpv6-checksum",
};

}  // namespace

std::string_view DropReasonName(DropReason reason) {
  const auto index = static_cast<size_t>(reason);
  return index < kNames.size() ? kNames[index] : "unknown";
}

}  // namespace spate::tunnels
