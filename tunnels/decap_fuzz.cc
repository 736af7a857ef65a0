// libFuzzer target: decapsulation and STT reassembly.
//
// Input: a sequence of records [control:1][length:2, big-endian][frame];
// a short final record uses what is left.  Each frame goes through Decap()
// against fixed local endpoints (Geneve, VXLAN with a fixed key, STT; IPv4
// and IPv6) with one SttReassembler shared by the records of one input, so
// segment sequences (reordering, overlap, floods, timeouts) are explored.
// Control bits: 0 = outer IPv4 checksum verified by "hardware", 1 = L4
// checksum verified (lets the fuzzer reach past the checksums), 2..7 = time
// advance in milliseconds before the frame.  Frames are also fed to the
// ARP and ND parsers.  Invariants checked: a decapsulated inner frame lies
// inside its buffer and is at least an Ethernet header long.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tunnels/decap.h"
#include "tunnels/neighbor.h"

namespace spate::tunnels {
namespace {

std::vector<LocalEndpoint> MakeEndpoints() {
  std::vector<LocalEndpoint> eps;
  for (const char* ip : {"10.0.0.2", "fd00::2"}) {
    for (TunnelType type :
         {TunnelType::kGeneve, TunnelType::kVxlan, TunnelType::kStt}) {
      LocalEndpoint ep;
      ep.ip = *IpAddr::Parse(ip);
      ep.type = type;
      ep.dst_port = DefaultDstPort(type);
      ep.key_flow = type != TunnelType::kVxlan;
      ep.key = 5;
      ep.port_id = static_cast<uint32_t>(eps.size());
      eps.push_back(ep);
    }
  }
  return eps;
}

void Check(bool condition) {
  if (!condition) std::abort();
}

void RunFrame(const DecapContext& ctx, uint8_t control, const uint8_t* data,
              size_t size) {
  std::vector<uint8_t> buffer(64 + size);
  std::memcpy(buffer.data() + 64, data, size);
  PacketView pkt(buffer.data(), static_cast<uint32_t>(buffer.size()), 64,
                 static_cast<uint32_t>(size));
  TunnelMetadata md;
  const DecapResult r = Decap(ctx, pkt, control & 3u, &md);
  if (r.status == DecapStatus::kDecapped) {
    const uint8_t* inner = r.reassembled.empty() ? pkt.data() : r.reassembled.data();
    const size_t n = r.reassembled.empty() ? pkt.length() : r.reassembled.size();
    Check(n >= 14);
    if (r.reassembled.empty()) {
      Check(pkt.data() >= buffer.data() &&
            pkt.data() + pkt.length() <= buffer.data() + buffer.size());
    }
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; ++i) sink = sink + inner[i];
    Check(md.n_option_bytes <= sizeof md.options);
  } else if (r.status == DecapStatus::kDropped) {
    Check(r.reason != DropReason::kNone);
  }
  ArpMessage arp;
  NdMessage nd;
  (void)ParseArp(data, static_cast<uint32_t>(size), &arp);
  (void)ParseNd(data, static_cast<uint32_t>(size), &nd);
}

}  // namespace
}  // namespace spate::tunnels

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spate::tunnels;
  static const std::vector<LocalEndpoint> endpoints = MakeEndpoints();
  static const GeneveOptionId understood[] = {kOvnPortsOption};
  SttReassembler stt(SttReassemblyConfig{4, 9000, 50'000'000});
  DecapContext ctx;
  ctx.endpoints = endpoints;
  ctx.understood_options = understood;
  ctx.stt = &stt;
  while (size >= 3) {
    const uint8_t control = data[0];
    size_t len = (size_t{data[1]} << 8) | data[2];
    data += 3;
    size -= 3;
    if (len > size) len = size;
    ctx.now_ns += static_cast<uint64_t>(control >> 2) * 1'000'000;
    RunFrame(ctx, control, data, len);
    data += len;
    size -= len;
  }
  Check(stt.n_pending() <= 4);
  return 0;
}
