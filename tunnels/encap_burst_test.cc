// EncapPlanned (the burst path) against Encap (the per-packet path): the
// same bytes for every UDP format, IP version, checksum setting, key mode,
// ToS/TTL inheritance, option layout and inner frame kind, and the same
// refusals at the length limits.
#include "tunnels/encap_burst.h"

#include <gtest/gtest.h>

#include <vector>

#include "tunnels/encap.h"
#include "tunnels/geneve.h"
#include "tunnels/mtu.h"
#include "tunnels/test_util.h"

namespace spate::tunnels {
namespace {

using testing::InnerFrame;
using testing::TestPacket;

constexpr uint32_t kMtuFrame = 1500 + kEthHeaderBytes;

EncapEndpoint Endpoint(bool v6) {
  EncapEndpoint ep;
  ep.local_ip = *IpAddr::Parse(v6 ? "fd00::1" : "10.0.0.1");
  ep.remote_ip = *IpAddr::Parse(v6 ? "fd00::2" : "10.0.0.2");
  ep.src_mac = MacAddr{{0x02, 0, 0, 0, 0, 1}};
  ep.dst_mac = MacAddr{{0x02, 0, 0, 0, 0, 2}};
  return ep;
}

// Inner frames of several kinds: IPv4/UDP of odd and even lengths, an
// IPv4 with ECN CE and TTL 1, an IPv6/TCP, an ARP-sized non-IP frame.
std::vector<std::vector<uint8_t>> InnerFrames() {
  std::vector<std::vector<uint8_t>> frames = {InnerFrame(64, 1), InnerFrame(65, 2),
                                              InnerFrame(1000, 3), InnerFrame(1401, 4)};
  std::vector<uint8_t> ce = InnerFrame(80, 5);
  ce[15] = 0x03;  // DSCP 0, ECN CE (header checksum irrelevant here).
  ce[22] = 1;
  frames.push_back(ce);
  std::vector<uint8_t> v6(90, 0x5a);
  Store16(v6.data() + 12, kEtherTypeIpv6);
  Store32(v6.data() + 14, 0x6b812345);  // Traffic class 0xb8, ECN 0.
  v6[20] = kIpProtoTcp;
  v6[21] = 9;
  frames.push_back(v6);
  std::vector<uint8_t> arp(42, 0x11);
  Store16(arp.data() + 12, kEtherTypeArp);
  frames.push_back(arp);
  return frames;
}

// Option layouts: none, OVN's 8 bytes, a critical 12-byte one, two TLVs,
// 44 bytes (fits an IPv4 plan, not an IPv6 one).
std::vector<std::vector<uint8_t>> OptionLayouts() {
  std::vector<uint8_t> ovn(kOvnPortsOptionBytes);
  WriteOvnPortsOption(ovn.data(), {1, 2, 3});
  std::vector<uint8_t> critical = {0x01, 0x02, 0x80, 0x02, 1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<uint8_t> two = ovn;
  two.insert(two.end(), {0x00, 0x07, 0x01, 0x00});
  std::vector<uint8_t> long44(44, 0);
  long44[0] = 0x00;
  long44[1] = 0x09;
  long44[2] = 0x03;
  long44[3] = 10;  // 4 + 40 bytes.
  return {{}, ovn, critical, two, long44};
}

// Runs EncapPlanned on `inner` and returns the outer frame (empty when the
// plan refused it).
template <bool kV6, bool kCsum>
std::vector<uint8_t> Planned(const UdpEncapPlan& plan, const std::vector<uint8_t>& inner) {
  TestPacket pkt(inner);
  uint8_t* p = EncapPlanned<kV6, kCsum>(plan, pkt.view.data(), pkt.view.length(),
                                        pkt.view.offset());
  if (p == nullptr) return {};
  return {p, p + plan.hdr_len + inner.size()};
}

std::vector<uint8_t> PlannedAny(const UdpEncapPlan& plan, const std::vector<uint8_t>& inner) {
  if (plan.ipv6) return plan.csum ? Planned<true, true>(plan, inner) : Planned<true, false>(plan, inner);
  return plan.csum ? Planned<false, true>(plan, inner) : Planned<false, false>(plan, inner);
}

// Encap's output, or empty when it (or the MTU check) refuses.
std::vector<uint8_t> Reference(const EncapTemplate& t, EncapParams params,
                               const std::vector<uint8_t>& inner) {
  TestPacket pkt(inner);
  params.flow_hash = InnerFlowHash(inner);
  if (Encap(t, params, pkt.view) != DropReason::kNone) return {};
  if (CheckUnderlayMtu(pkt.view.length(), kMtuFrame - kEthHeaderBytes) != DropReason::kNone) {
    return {};
  }
  return pkt.Bytes();
}

// One combination of the template options under test.
struct Variant {
  TunnelType type;  // Geneve or VXLAN.
  bool v6;          // Outer IPv6.
  bool csum;        // options:csum=true.
  bool key_flow;    // key=flow (VNI from EncapParams).
  bool inherit;     // tos/ttl=inherit, df_default=false, an IP ID.
};

TEST(EncapBurstTest, SameBytesAsEncapForEveryVariant) {
  int compared = 0;
  for (TunnelType type : {TunnelType::kGeneve, TunnelType::kVxlan}) {
    for (int bits = 0; bits < 16; ++bits) {
      Variant v{type, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0};
      TunnelConfig c;
      c.type = type;
      c.dst_port = DefaultDstPort(type);
      c.csum = v.csum;
      c.key_flow = v.key_flow;
      c.key = v.key_flow ? 0 : 0x123456;
      c.tos_inherit = v.inherit;
      c.ttl_inherit = v.inherit;
      c.tos = v.inherit ? 0 : 0x28;
      c.ttl = 77;
      c.df_default = !v.inherit;
      EncapTemplate t = BuildEncapTemplate(c, Endpoint(v.v6)).value();
      for (const std::vector<uint8_t>& opts : OptionLayouts()) {
        EncapParams params;
        params.tun_id = 0xabcdef;
        params.ip_id = v.inherit ? 0x1234 : 0;
        params.geneve_options = opts;
        UdpEncapPlan plan;
        const bool fits = type == TunnelType::kVxlan || t.length + opts.size() <= 96;
        ASSERT_EQ(PrepareUdpEncap(t, params, kMtuFrame, &plan), fits);
        if (!fits) continue;
        EXPECT_EQ(plan.ipv6, v.v6);
        EXPECT_EQ(plan.csum, v.csum || v.v6);
        for (const std::vector<uint8_t>& inner : InnerFrames()) {
          std::vector<uint8_t> want = Reference(t, params, inner);
          std::vector<uint8_t> got = PlannedAny(plan, inner);
          ASSERT_EQ(got, want) << "type " << static_cast<int>(type) << " bits " << bits
                               << " opts " << opts.size() << " inner " << inner.size();
          compared += want.empty() ? 0 : 1;
        }
      }
    }
  }
  EXPECT_GT(compared, 300);
}

TEST(EncapBurstTest, RefusesWhatEncapOrTheMtuWouldRefuse) {
  TunnelConfig c;
  c.type = TunnelType::kGeneve;
  c.dst_port = kGenevePort;
  EncapTemplate t = BuildEncapTemplate(c, Endpoint(false)).value();
  UdpEncapPlan plan;
  ASSERT_TRUE(PrepareUdpEncap(t, {}, kMtuFrame, &plan));
  const uint32_t largest = kMtuFrame - plan.hdr_len;
  EXPECT_EQ(plan.max_inner, largest);
  auto v4 = [&](const std::vector<uint8_t>& inner) { return Planned<false, false>(plan, inner); };
  EXPECT_FALSE(v4(InnerFrame(largest)).empty());
  EXPECT_TRUE(v4(InnerFrame(largest + 1)).empty());
  EXPECT_TRUE(Reference(t, {}, InnerFrame(largest + 1)).empty());
  // Too little headroom: nothing written, Encap reports kNoHeadroom.
  std::vector<uint8_t> inner = InnerFrame(64);
  TestPacket tight(inner, plan.hdr_len - 1);
  uint8_t* p = EncapPlanned<false, false>(plan, tight.view.data(), tight.view.length(),
                                          tight.view.offset());
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(tight.Bytes(), inner);
  // An IP-length limit below the MTU's: a 64 KB underlay MTU.
  UdpEncapPlan big;
  ASSERT_TRUE(PrepareUdpEncap(t, {}, 70000, &big));
  EXPECT_EQ(big.max_inner, 65535 - kIpv4HeaderBytes - big.l4_fixed);
}

TEST(EncapBurstTest, DeclinesSttAndBadOptions) {
  TunnelConfig stt;
  stt.type = TunnelType::kStt;
  stt.dst_port = kSttPort;
  UdpEncapPlan plan;
  EXPECT_FALSE(PrepareUdpEncap(BuildEncapTemplate(stt, Endpoint(false)).value(), {}, kMtuFrame,
                               &plan));
  TunnelConfig g;
  g.type = TunnelType::kGeneve;
  g.dst_port = kGenevePort;
  EncapTemplate t = BuildEncapTemplate(g, Endpoint(false)).value();
  const uint8_t bad[] = {0, 1, 2, 5, 0, 0, 0, 0};  // Length past the end.
  EncapParams params;
  params.geneve_options = bad;
  EXPECT_FALSE(PrepareUdpEncap(t, params, kMtuFrame, &plan));
}

}  // namespace
}  // namespace spate::tunnels
