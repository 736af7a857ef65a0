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
// inside its buffer and is at least an Ethernet header long; and the
// DecapLane (decap_lane.h), which learns from every frame Decap accepts,
// accepts a frame only if Decap accepts it too, with the same inner frame,
// tunnel key, addresses, endpoint and option bytes as the learned frame
// (the lane's contract).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tunnels/decap.h"
#include "tunnels/decap_lane.h"
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

// What the lane promises to keep from the frame it learned.
struct Learned {
  TunnelMetadata md;  // Decap's metadata for the learned frame.
};

// Runs the lane on a copy of the frame; checks it against Decap's verdict
// `r`, `pkt` (Decap's view) and `md`.
void CheckLane(const DecapLane& lane, const Learned& learned, uint8_t control,
               const uint8_t* data, size_t size, const DecapResult& r,
               const PacketView& pkt, const TunnelMetadata& md) {
  std::vector<uint8_t> copy(64 + size);
  std::memcpy(copy.data() + 64, data, size);
  PacketView v(copy.data(), static_cast<uint32_t>(copy.size()), 64,
               static_cast<uint32_t>(size));
  if (!lane.Decap(v, control & 3u)) {
    Check(v.offset() == 64 && v.length() == size);
    return;
  }
  Check(r.status == DecapStatus::kDecapped && r.reassembled.empty());
  Check(v.offset() == pkt.offset() && v.length() == pkt.length());
  const TunnelMetadata& l = learned.md;
  Check(md.tun_id == l.tun_id && md.src == l.src && md.dst == l.dst &&
        md.port_id == l.port_id && md.type == l.type && md.tp_dst == l.tp_dst);
  const uint32_t option_bytes = md.type == TunnelType::kGeneve
                                    ? lane.tunnel_header_bytes() - kGeneveHeaderBytes
                                    : 0;
  Check(md.n_option_bytes == l.n_option_bytes && md.n_option_bytes == option_bytes);
  if (md.n_option_bytes >= 4) Check(std::memcmp(md.options, l.options, 4) == 0);
}

void RunFrame(const DecapContext& ctx, uint8_t control, const uint8_t* data,
              size_t size, DecapLane& lane, Learned& learned) {
  std::vector<uint8_t> buffer(64 + size);
  std::memcpy(buffer.data() + 64, data, size);
  PacketView pkt(buffer.data(), static_cast<uint32_t>(buffer.size()), 64,
                 static_cast<uint32_t>(size));
  TunnelMetadata md;
  const DecapResult r = Decap(ctx, pkt, control & 3u, &md);
  CheckLane(lane, learned, control, data, size, r, pkt, md);
  if (r.status == DecapStatus::kDecapped && r.reassembled.empty() &&
      lane.Learn(data, static_cast<uint32_t>(size), md)) {
    learned.md = md;
  }
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
  DecapLane lane;
  Learned learned;
  while (size >= 3) {
    const uint8_t control = data[0];
    size_t len = (size_t{data[1]} << 8) | data[2];
    data += 3;
    size -= 3;
    if (len > size) len = size;
    ctx.now_ns += static_cast<uint64_t>(control >> 2) * 1'000'000;
    RunFrame(ctx, control, data, len, lane, learned);
    data += len;
    size -= len;
  }
  Check(stt.n_pending() <= 4);
  return 0;
}
