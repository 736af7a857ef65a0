// Round trips through Encap() and Decap() for every format, both outer IP
// versions, with and without checksums and Geneve options, with every
// checksum verified independently; then every named decapsulation drop.
#include <gtest/gtest.h>

#include <tuple>

#include "tunnels/decap.h"
#include "tunnels/encap.h"
#include "tunnels/geneve.h"
#include "tunnels/mtu.h"
#include "tunnels/test_util.h"

namespace spate::tunnels {
namespace {

using testing::InnerFrame;
using testing::NaiveL4ChecksumOk;
using testing::NaiveSum;
using testing::TestPacket;

const MacAddr kLocalMac{{0x02, 0, 0, 0, 0, 1}};
const MacAddr kRemoteMac{{0x02, 0, 0, 0, 0, 2}};

EncapEndpoint Endpoint(bool v6) {
  EncapEndpoint ep;
  ep.local_ip = *IpAddr::Parse(v6 ? "fd00::1" : "10.0.0.1");
  ep.remote_ip = *IpAddr::Parse(v6 ? "fd00::2" : "10.0.0.2");
  ep.src_mac = kLocalMac;
  ep.dst_mac = kRemoteMac;
  return ep;
}

TunnelConfig Config(TunnelType type, bool csum, bool key_flow) {
  TunnelConfig c;
  c.type = type;
  c.dst_port = DefaultDstPort(type);
  c.csum = csum;
  c.key_flow = key_flow;
  c.key = key_flow ? 0 : 0x123456;
  return c;
}

// The receive side: endpoint at the remote IP.
struct Receiver {
  std::vector<LocalEndpoint> endpoints;
  SttReassembler stt;
  DecapContext ctx;
  Receiver(TunnelType type, bool v6, bool key_flow, uint64_t key = 0x123456) {
    LocalEndpoint ep;
    ep.ip = Endpoint(v6).remote_ip;
    ep.type = type;
    ep.dst_port = DefaultDstPort(type);
    ep.key_flow = key_flow;
    ep.key = key;
    ep.port_id = 7;
    endpoints.push_back(ep);
    ctx.endpoints = endpoints;
    ctx.understood_options = std::span<const GeneveOptionId>(&kOvnPortsOption, 1);
    ctx.stt = &stt;
  }
};

// Checks the outer headers of an encapsulated packet independently of the
// library (test_util.h's RFC 1071); returns the outer source port.
uint16_t CheckOuterHeaders(const PacketView& view, TunnelType type, bool v6,
                           bool csum) {
  const uint8_t* f = view.data();
  const uint8_t* ip = f + 14;
  EXPECT_EQ(Load16(f + 12), v6 ? 0x86dd : 0x0800);
  EXPECT_EQ(0, std::memcmp(f, kRemoteMac.bytes.data(), 6));
  if (!v6) {
    EXPECT_EQ(NaiveSum(ip, 20), 0xffffu) << "IPv4 header checksum";
    EXPECT_EQ(Load16(ip + 2), view.length() - 14);
    EXPECT_EQ(ip[1], 0xb9 & 3) << "ECN inherited, DSCP from tos=0";
    EXPECT_EQ(ip[6] & 0x40, 0x40) << "DF by default";
  } else {
    EXPECT_EQ(Load16(ip + 4), view.length() - 54);
    EXPECT_EQ(Load32(ip) & 0xfffffu, 0xdeadbeefu & 0xfffffu) << "flow label";
  }
  const uint8_t* l4 = ip + (v6 ? 40 : 20);
  EXPECT_GE(Load16(l4), 49152);
  const bool has_csum = type == TunnelType::kStt || v6 || csum;
  if (type != TunnelType::kStt) {
    EXPECT_EQ(Load16(l4 + 4), view.length() - (l4 - f));
    EXPECT_EQ(Load16(l4 + 6) != 0, has_csum);
  }
  if (has_csum) {
    EXPECT_TRUE(NaiveL4ChecksumOk(ip, v6));
  }
  return Load16(l4);
}

using RoundTripParam = std::tuple<TunnelType, bool /*v6*/, bool /*csum*/,
                                  bool /*key_flow*/>;

class RoundTripTest : public ::testing::TestWithParam<RoundTripParam> {};

TEST_P(RoundTripTest, EncapThenDecapRestoresFrameAndMetadata) {
  const auto [type, v6, csum, key_flow] = GetParam();
  auto tmpl = BuildEncapTemplate(Config(type, csum, key_flow), Endpoint(v6));
  ASSERT_TRUE(tmpl.ok()) << tmpl.error().ToString();
  const std::vector<uint8_t> inner = InnerFrame(64);
  TestPacket pkt(inner);

  uint8_t opts[kOvnPortsOptionBytes];
  WriteOvnPortsOption(opts, {0, 0x1234, 0xbeef});
  EncapParams params;
  params.flow_hash = 0xdeadbeef;
  params.tun_id = key_flow ? (type == TunnelType::kStt ? 0x0102030405060708ull
                                                        : 0xabcdefu)
                           : 0;
  if (type == TunnelType::kGeneve) params.geneve_options = opts;
  params.stt_frame_id = 99;
  ASSERT_EQ(Encap(*tmpl, params, pkt.view), DropReason::kNone);

  const uint16_t sport = CheckOuterHeaders(pkt.view, type, v6, csum);

  Receiver rx(type, v6, key_flow);
  TunnelMetadata md;
  const DecapResult r = Decap(rx.ctx, pkt.view, 0, &md);
  ASSERT_EQ(r.status, DecapStatus::kDecapped) << DropReasonName(r.reason);
  EXPECT_TRUE(r.reassembled.empty());
  EXPECT_EQ(pkt.Bytes(), inner);
  EXPECT_EQ(md.type, type);
  EXPECT_EQ(md.port_id, 7u);
  EXPECT_EQ(md.tun_id, key_flow ? params.tun_id : 0x123456u);
  EXPECT_EQ(md.src, Endpoint(v6).local_ip);
  EXPECT_EQ(md.dst, Endpoint(v6).remote_ip);
  EXPECT_EQ(md.tp_src, sport);
  EXPECT_EQ(md.tp_dst, DefaultDstPort(type));
  EXPECT_EQ(md.ttl, 64);
  if (type == TunnelType::kGeneve) {
    OvnTunnelKeys keys;
    ASSERT_TRUE(ReadOvnPortsOption(md.geneve_options(), &keys));
    EXPECT_EQ(keys.ingress, 0x1234);
    EXPECT_EQ(keys.egress, 0xbeef);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllFormats, RoundTripTest,
    ::testing::Combine(::testing::Values(TunnelType::kGeneve,
                                         TunnelType::kVxlan, TunnelType::kStt),
                       ::testing::Bool(), ::testing::Bool(), ::testing::Bool()));

TEST(EncapTest, InheritsTosAndTtlFromInner) {
  TunnelConfig c = Config(TunnelType::kVxlan, false, false);
  c.tos_inherit = true;
  c.ttl_inherit = true;
  auto tmpl = BuildEncapTemplate(c, Endpoint(false));
  ASSERT_TRUE(tmpl.ok());
  TestPacket pkt(InnerFrame(80));
  ASSERT_EQ(Encap(*tmpl, {}, pkt.view), DropReason::kNone);
  const uint8_t* ip = pkt.view.data() + 14;
  EXPECT_EQ(ip[1], 0xb9);
  EXPECT_EQ(ip[8], 33);
  EXPECT_EQ(NaiveSum(ip, 20), 0xffffu);
}

TEST(EncapTest, FixedTosKeepsInnerEcnAndDfCanBeCleared) {
  TunnelConfig c = Config(TunnelType::kGeneve, false, false);
  c.tos = 0x28;
  c.ttl = 9;
  c.df_default = false;
  auto tmpl = BuildEncapTemplate(c, Endpoint(false));
  ASSERT_TRUE(tmpl.ok());
  TestPacket pkt(InnerFrame(64));
  EncapParams params;
  params.ip_id = 0x4242;
  ASSERT_EQ(Encap(*tmpl, params, pkt.view), DropReason::kNone);
  const uint8_t* ip = pkt.view.data() + 14;
  EXPECT_EQ(ip[1], 0x28 | 1);
  EXPECT_EQ(ip[8], 9);
  EXPECT_EQ(Load16(ip + 4), 0x4242);
  EXPECT_EQ(ip[6] & 0x40, 0);
  EXPECT_EQ(NaiveSum(ip, 20), 0xffffu);
}

TEST(EncapTest, FailuresLeavePacketUnchanged) {
  auto tmpl = BuildEncapTemplate(Config(TunnelType::kGeneve, false, true),
                                 Endpoint(false));
  ASSERT_TRUE(tmpl.ok());
  TestPacket small(InnerFrame(64), /*headroom=*/20);
  EXPECT_EQ(Encap(*tmpl, {}, small.view), DropReason::kNoHeadroom);
  EXPECT_EQ(small.Bytes(), InnerFrame(64));
  TestPacket pkt(InnerFrame(64));
  const uint8_t bad_opts[] = {0xff, 0xff, 0x00, 0x02, 0, 0, 0, 0};  // 12 > 8.
  EncapParams params;
  params.geneve_options = bad_opts;
  EXPECT_EQ(Encap(*tmpl, params, pkt.view), DropReason::kBadGeneveOptions);
  EXPECT_EQ(pkt.Bytes(), InnerFrame(64));
}

TEST(EncapTest, RejectsMixedFamilies) {
  EncapEndpoint ep = Endpoint(false);
  ep.remote_ip = *IpAddr::Parse("fd00::2");
  EXPECT_FALSE(BuildEncapTemplate(Config(TunnelType::kVxlan, 0, 0), ep).ok());
}

TEST(MtuTest, ChecksOuterFrameAgainstIpMtu) {
  EXPECT_EQ(CheckUnderlayMtu(1514, 1500), DropReason::kNone);
  EXPECT_EQ(CheckUnderlayMtu(1515, 1500), DropReason::kOuterExceedsMtu);
}

// ---- Decapsulation drops ---------------------------------------------------

class DecapDropTest : public ::testing::Test {
 protected:
  // An encapsulated Geneve/IPv4 frame with the OVN option, csum on.
  std::vector<uint8_t> Geneve(bool v6 = false) {
    auto tmpl = BuildEncapTemplate(Config(TunnelType::kGeneve, true, true),
                                   Endpoint(v6));
    TestPacket pkt(InnerFrame(64));
    uint8_t opts[kOvnPortsOptionBytes];
    WriteOvnPortsOption(opts, {0, 1, 2});
    EncapParams params;
    params.tun_id = 5;
    params.geneve_options = opts;
    EXPECT_EQ(Encap(*tmpl, params, pkt.view), DropReason::kNone);
    return pkt.Bytes();
  }
  DecapResult Run(const std::vector<uint8_t>& frame, TunnelType type,
                  bool v6 = false, bool key_flow = true) {
    Receiver rx(type, v6, key_flow, 6);
    TestPacket pkt(frame);
    TunnelMetadata md;
    return Decap(rx.ctx, pkt.view, 0, &md);
  }
  // Recomputes the IPv4 header checksum after a deliberate edit.
  static void FixIpv4(std::vector<uint8_t>& f) {
    f[24] = f[25] = 0;
    const uint16_t c = static_cast<uint16_t>(~testing::NaiveSum(&f[14], 20));
    Store16(&f[24], c);
  }
  static void ZeroUdpCsum(std::vector<uint8_t>& f) { f[40] = f[41] = 0; }
};

TEST_F(DecapDropTest, NotForUsIsNotTunnel) {
  std::vector<uint8_t> f = Geneve();
  f[33] = 99;  // Other destination IP.
  FixIpv4(f);
  EXPECT_EQ(Run(f, TunnelType::kGeneve).status, DecapStatus::kNotTunnel);
  f = Geneve();
  Store16(&f[36], 9999);  // Other UDP port.
  EXPECT_EQ(Run(f, TunnelType::kGeneve).status, DecapStatus::kNotTunnel);
  EXPECT_EQ(Run(InnerFrame(64), TunnelType::kGeneve).status,
            DecapStatus::kNotTunnel);
  EXPECT_EQ(Run({1, 2, 3}, TunnelType::kGeneve).status, DecapStatus::kNotTunnel);
}

TEST_F(DecapDropTest, TruncatedOuter) {
  std::vector<uint8_t> f = Geneve();
  f.resize(40);
  EXPECT_EQ(Run(f, TunnelType::kGeneve).reason, DropReason::kTruncatedOuter);
  f = Geneve();
  f.resize(f.size() - 1);
  EXPECT_EQ(Run(f, TunnelType::kGeneve).reason, DropReason::kTruncatedOuter);
}

TEST_F(DecapDropTest, BadIpv4HeaderChecksumAndFragment) {
  std::vector<uint8_t> f = Geneve();
  f[22] ^= 1;  // TTL changed, checksum not.
  EXPECT_EQ(Run(f, TunnelType::kGeneve).reason, DropReason::kBadIpv4Checksum);
  f = Geneve();
  f[20] |= 0x20;  // MF.
  FixIpv4(f);
  EXPECT_EQ(Run(f, TunnelType::kGeneve).reason, DropReason::kOuterIpFragment);
  f = Geneve();
  f.insert(f.begin() + 34, {1, 1, 1, 1});  // Four NOP options.
  f[14] = 0x46;
  Store16(&f[16], static_cast<uint16_t>(f.size() - 14));
  EXPECT_EQ(Run(f, TunnelType::kGeneve).reason, DropReason::kOuterIpOptions);
  f = Geneve();
  f[14] = 0x55;
  EXPECT_EQ(Run(f, TunnelType::kGeneve).reason, DropReason::kBadOuterIpVersion);
}

TEST_F(DecapDropTest, UdpLengthAndChecksum) {
  std::vector<uint8_t> f = Geneve();
  f[f.size() - 1] ^= 0xff;  // Payload corrupted.
  EXPECT_EQ(Run(f, TunnelType::kGeneve).reason, DropReason::kBadUdpChecksum);
  ZeroUdpCsum(f);  // Without a checksum IPv4 accepts it.
  EXPECT_EQ(Run(f, TunnelType::kGeneve).status, DecapStatus::kDecapped);
  f = Geneve();
  Store16(&f[38], 7);
  EXPECT_EQ(Run(f, TunnelType::kGeneve).reason, DropReason::kBadUdpLength);
  f = Geneve(/*v6=*/true);
  f[60] = f[61] = 0;  // IPv6 UDP checksum zero.
  EXPECT_EQ(Run(f, TunnelType::kGeneve, true).reason,
            DropReason::kZeroUdpChecksumIpv6);
}

TEST_F(DecapDropTest, GeneveHeaderDefects) {
  std::vector<uint8_t> f = Geneve();
  ZeroUdpCsum(f);
  const size_t g = 42;
  auto with = [&](size_t at, uint8_t value) {
    std::vector<uint8_t> copy = f;
    copy[at] = value;
    return Run(copy, TunnelType::kGeneve).reason;
  };
  EXPECT_EQ(with(g, 0x42), DropReason::kBadGeneveVersion);
  EXPECT_EQ(with(g, 0x3f), DropReason::kGeneveOptLenPastEnd);
  EXPECT_EQ(with(g + 8 + 3, 0x05), DropReason::kGeneveOptLenPastEnd);
  EXPECT_EQ(with(g + 8 + 2, 0x85), DropReason::kUnknownCriticalOption);
  EXPECT_EQ(with(g + 3, 0x00), DropReason::kUnsupportedGeneveProtocol);
  // A critical option that is understood passes.
  std::vector<uint8_t> ok = f;
  ok[g + 8 + 2] = 0x80;
  Receiver rx(TunnelType::kGeneve, false, true);
  const GeneveOptionId known[] = {{0xffff, 0x80}};
  rx.ctx.understood_options = known;
  TestPacket pkt(ok);
  TunnelMetadata md;
  EXPECT_EQ(Decap(rx.ctx, pkt.view, 0, &md).status, DecapStatus::kDecapped);
  std::vector<uint8_t> cut = f;
  cut.resize(g + 8 + 8 + 10);
  Store16(&cut[16], static_cast<uint16_t>(cut.size() - 14));
  Store16(&cut[38], static_cast<uint16_t>(cut.size() - 34));
  FixIpv4(cut);
  EXPECT_EQ(Run(cut, TunnelType::kGeneve).reason, DropReason::kTruncatedGeneve);
}

TEST_F(DecapDropTest, WrongVniWithFixedKey) {
  std::vector<uint8_t> f = Geneve();  // VNI 5; the port wants 6.
  EXPECT_EQ(Run(f, TunnelType::kGeneve, false, /*key_flow=*/false).reason,
            DropReason::kWrongVni);
}

TEST_F(DecapDropTest, VxlanWithoutIFlag) {
  auto tmpl = BuildEncapTemplate(Config(TunnelType::kVxlan, false, false),
                                 Endpoint(false));
  TestPacket pkt(InnerFrame(64));
  ASSERT_EQ(Encap(*tmpl, {}, pkt.view), DropReason::kNone);
  std::vector<uint8_t> f = pkt.Bytes();
  f[42] = 0;
  EXPECT_EQ(Run(f, TunnelType::kVxlan).reason, DropReason::kBadVxlanFlags);
}

TEST_F(DecapDropTest, SttHeaderDefects) {
  auto tmpl = BuildEncapTemplate(Config(TunnelType::kStt, false, true),
                                 Endpoint(false));
  TestPacket pkt(InnerFrame(64));
  ASSERT_EQ(Encap(*tmpl, {}, pkt.view), DropReason::kNone);
  const std::vector<uint8_t> f = pkt.Bytes();
  std::vector<uint8_t> bad = f;
  bad[54] = 1;  // STT version (TCP checksum now wrong too: checked first).
  EXPECT_EQ(Run(bad, TunnelType::kStt).reason, DropReason::kBadTcpChecksum);
  Receiver rx(TunnelType::kStt, false, true);
  TestPacket p2(bad);
  TunnelMetadata md;
  EXPECT_EQ(Decap(rx.ctx, p2.view, kRxL4ChecksumGood, &md).reason,
            DropReason::kBadSttVersion);
  bad = f;
  bad[46] = 0x60;  // Data offset 6.
  TestPacket p3(bad);
  EXPECT_EQ(Decap(rx.ctx, p3.view, kRxL4ChecksumGood, &md).reason,
            DropReason::kBadSttTcpHeader);
  rx.ctx.stt = nullptr;
  bad = f;
  Store16(&bad[40], 2000);  // Claims a longer frame: a segment.
  TestPacket p4(bad);
  EXPECT_EQ(Decap(rx.ctx, p4.view, kRxL4ChecksumGood, &md).reason,
            DropReason::kSttNoReassembler);
}

TEST(DropReasonTest, EveryReasonHasADistinctName) {
  std::set<std::string_view> names;
  for (int i = 0; i < kNumDropReasons; ++i) {
    names.insert(DropReasonName(static_cast<DropReason>(i)));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kNumDropReasons));
  EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
}  // namespace spate::tunnels

namespace spate::tunnels {
namespace {

TEST(InnerFlowHashTest, DependsOnFlowFieldsOnly) {
  std::vector<uint8_t> a = InnerFrame(100, 1);
  std::vector<uint8_t> b = InnerFrame(100, 2);  // Same flow, other payload.
  EXPECT_EQ(InnerFlowHash(a), InnerFlowHash(b));
  std::vector<uint8_t> c = a;
  Store16(&c[34], 1235);  // Other UDP source port.
  EXPECT_NE(InnerFlowHash(a), InnerFlowHash(c));
  std::vector<uint8_t> d = a;
  d[29] = 99;  // Other source IP.
  EXPECT_NE(InnerFlowHash(a), InnerFlowHash(d));
  EXPECT_EQ(InnerFlowHash(std::span<const uint8_t>(a.data(), 5)),
            InnerFlowHash(std::span<const uint8_t>(a.data(), 5)));
}

}  // namespace
}  // namespace spate::tunnels
