// Tests of ExtractFlowKey: one test per protocol with hand-built frames,
// malformed headers (VLAN stacks, IHL lies, IPv6 extension chains, ND
// options), every truncation of representative frames, and a cross-check
// of decoded fields against tshark reading the same frames from a pcap.
#include "datapath/flow_extract.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "datapath/flow_extract_frames.h"

namespace spate::datapath {
namespace {

using namespace testframes;  // NOLINT: builders read as the frame.
using cls::Field;
using cls::FlowKey;
using cls::kEthTypeArp;
using cls::kEthTypeIp;
using cls::kEthTypeIpv6;
using cls::kFragAny;
using cls::kFragLater;
using cls::U128;

// Extracts `f` from an exact-size heap copy (so ASan sees any overread).
ExtractResult Extract(const Frame& f, FlowKey* key, uint32_t in_port = 3) {
  Frame copy(f);
  return ExtractFlowKey(copy.empty() ? nullptr : copy.data(), copy.size(), in_port, key);
}

TEST(FlowExtractTest, EthernetIIUnknownType) {
  FlowKey k;
  ExtractResult r = Extract(Eth(0x88cc) + Zeros(30), &k, 9);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.in_port(), 9u);
  EXPECT_EQ(k.dl_dst(), kMacDst);
  EXPECT_EQ(k.dl_src(), kMacSrc);
  EXPECT_EQ(k.dl_type(), 0x88cc);
  EXPECT_EQ(k.vlan_tci(), 0);
  EXPECT_EQ(r.offsets.l3, 14u);
  EXPECT_EQ(r.offsets.l4, kNoOffset);
}

TEST(FlowExtractTest, Llc8023WithoutSnapIsDlTypeNone) {
  FlowKey k;
  ExtractResult r = Extract(Eth(46) + Frame{0x42, 0x42, 0x03} + Zeros(43), &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.dl_type(), 0x05ff);
  EXPECT_EQ(k.nw_src(), 0u);
}

TEST(FlowExtractTest, LlcSnapCarriesEthertype) {
  Frame snap{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00};
  FlowKey k;
  ExtractResult r = Extract(Eth(60) + snap + Ipv4(17, 8) + Udp(7, 9), &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.dl_type(), kEthTypeIp);
  EXPECT_EQ(r.offsets.l3, 22u);
  EXPECT_EQ(k.nw_src(), kIpSrc);
  EXPECT_EQ(k.tp_dst(), 9);
}

TEST(FlowExtractTest, SingleVlanTag) {
  FlowKey k;
  ExtractResult r =
      Extract(Eth(0x8100) + VlanTag(0x2005, kEthTypeIp) + Ipv4(17, 8) + Udp(1, 2), &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.vlan_tci(), 0x2005 | 0x1000);  // PCP 1, VID 5, present bit.
  EXPECT_EQ(k.dl_type(), kEthTypeIp);
  EXPECT_EQ(r.offsets.n_vlans, 1);
  EXPECT_EQ(r.offsets.vlan[0], 12u);
  EXPECT_EQ(r.offsets.l3, 18u);
  EXPECT_EQ(k.tp_src(), 1);
}

TEST(FlowExtractTest, PriorityTagWithVidZeroIsPresent) {
  FlowKey k;
  Extract(Eth(0x8100) + VlanTag(0, 0x88cc) + Zeros(30), &k);
  EXPECT_EQ(k.vlan_tci(), 0x1000);
  EXPECT_EQ(k.dl_type(), 0x88cc);
}

TEST(FlowExtractTest, QinQKeepsOuterTciAndParsesL3) {
  Frame f = Eth(0x88a8) + VlanTag(0x0064, 0x8100) + VlanTag(0x00c8, kEthTypeIpv6) +
            Ipv6(17, 8) + Udp(10, 20);
  FlowKey k;
  ExtractResult r = Extract(f, &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.vlan_tci(), 0x1064);
  EXPECT_EQ(k.dl_type(), kEthTypeIpv6);
  EXPECT_EQ(r.offsets.n_vlans, 2);
  EXPECT_EQ(r.offsets.vlan[1], 16u);
  EXPECT_EQ(r.offsets.l3, 22u);
  EXPECT_EQ(k.tp_dst(), 20);
}

TEST(FlowExtractTest, ThirdVlanTagStopsAtL2) {
  Frame f = Eth(0x8100) + VlanTag(1, 0x8100) + VlanTag(2, 0x8100) +
            VlanTag(3, kEthTypeIp) + Ipv4(17, 8) + Udp(1, 2);
  FlowKey k;
  ExtractResult r = Extract(f, &k);
  EXPECT_EQ(r.note, ExtractNote::kVlanTooDeep);
  EXPECT_EQ(k.vlan_tci(), 0x1001);
  EXPECT_EQ(k.dl_type(), 0x8100);
  EXPECT_EQ(k.nw_src(), 0u);
  EXPECT_EQ(k.tp_src(), 0);
}

TEST(FlowExtractTest, TruncatedVlanTagLeavesTpidAsType) {
  FlowKey k;
  ExtractResult r = Extract(Eth(0x8100) + Frame{0x00, 0x05, 0x08}, &k);
  EXPECT_EQ(r.note, ExtractNote::kTruncatedVlan);
  EXPECT_EQ(k.dl_type(), 0x8100);
  EXPECT_EQ(k.vlan_tci(), 0);
}

TEST(FlowExtractTest, ArpRequest) {
  FlowKey k;
  ExtractResult r = Extract(
      Eth(kEthTypeArp) + Arp(1, 0x0a0b0c0d0e0f, 0xc0a80001, 0, 0xc0a80002) + Zeros(18), &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.arp_op(), 1);
  EXPECT_EQ(k.arp_spa(), 0xc0a80001u);
  EXPECT_EQ(k.arp_tpa(), 0xc0a80002u);
  EXPECT_EQ(k.arp_sha(), 0x0a0b0c0d0e0fu);
  EXPECT_EQ(k.arp_tha(), 0u);
}

TEST(FlowExtractTest, ArpLargeOpcodeAndNonEthernetArp) {
  FlowKey k;
  Extract(Eth(kEthTypeArp) + Arp(0x0102, 1, 2, 3, 4), &k);
  EXPECT_EQ(k.arp_op(), 0);  // Only opcodes <= 0xff are kept.
  EXPECT_EQ(k.arp_spa(), 2u);
  Frame bad = Arp(1, 1, 2, 3, 4);
  bad[1] = 6;  // Hardware type IEEE 802.
  ExtractResult r = Extract(Eth(kEthTypeArp) + bad, &k);
  EXPECT_EQ(r.note, ExtractNote::kUnsupportedArp);
  EXPECT_EQ(k.dl_type(), kEthTypeArp);
  EXPECT_EQ(k.arp_spa(), 0u);
  EXPECT_EQ(k.arp_sha(), 0u);
  r = Extract(Eth(kEthTypeArp) + Zeros(27), &k);
  EXPECT_EQ(r.note, ExtractNote::kTruncatedArp);
}

TEST(FlowExtractTest, Ipv4TcpWithOptionsAndPadding) {
  Frame f = Eth(kEthTypeIp) + Ipv4(6, 20, 0x4000 /*DF*/, 7, 0xb9, 17) +
            Tcp(33000, 22, 0x012) + Zeros(12);  // Ethernet padding.
  FlowKey k;
  ExtractResult r = Extract(f, &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.nw_src(), kIpSrc);
  EXPECT_EQ(k.nw_dst(), kIpDst);
  EXPECT_EQ(k.nw_proto(), 6);
  EXPECT_EQ(k.nw_tos(), 0xb9);
  EXPECT_EQ(k.Get(Field::kIpDscp), 0xb9u >> 2);
  EXPECT_EQ(k.Get(Field::kNwEcn), 1u);
  EXPECT_EQ(k.nw_ttl(), 17);
  EXPECT_EQ(k.nw_frag(), 0);  // DF alone is not a fragment.
  EXPECT_EQ(k.tp_src(), 33000);
  EXPECT_EQ(k.tp_dst(), 22);
  EXPECT_EQ(k.tcp_flags(), 0x012);
  EXPECT_EQ(r.offsets.l3, 14u);
  EXPECT_EQ(r.offsets.l4, 14u + 28);
  EXPECT_EQ(r.offsets.l3_end, 14u + 48);
}

TEST(FlowExtractTest, TcpFlagsKeepTwelveBits) {
  FlowKey k;
  Extract(Eth(kEthTypeIp) + Ipv4(6, 20) + Tcp(1, 2, 0xfff), &k);
  EXPECT_EQ(k.tcp_flags(), 0xfff);
}

TEST(FlowExtractTest, Ipv4Fragments) {
  FlowKey k;
  Extract(Eth(kEthTypeIp) + Ipv4(17, 16, 0x2000 /*MF*/) + Udp(5, 6) + Zeros(8), &k);
  EXPECT_EQ(k.nw_frag(), kFragAny);
  EXPECT_EQ(k.tp_src(), 5);  // The first fragment carries the ports.
  ExtractResult r = Extract(Eth(kEthTypeIp) + Ipv4(17, 16, 0x0003) + Udp(5, 6) + Zeros(8), &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.nw_frag(), kFragAny | kFragLater);
  EXPECT_EQ(k.nw_proto(), 17);
  EXPECT_EQ(k.tp_src(), 0);  // Later fragments carry no L4 header.
  EXPECT_EQ(k.tp_dst(), 0);
}

TEST(FlowExtractTest, Ipv4IhlAndLengthLies) {
  FlowKey k;
  Frame f = Eth(kEthTypeIp) + Ipv4(6, 20) + Tcp(1, 2, 0);
  f[14] = 0x44;  // IHL 4 (< 5).
  ExtractResult r = Extract(f, &k);
  EXPECT_EQ(r.note, ExtractNote::kBadIpv4Ihl);
  EXPECT_EQ(k.dl_type(), kEthTypeIp);
  EXPECT_EQ(k.nw_src(), 0u);
  EXPECT_EQ(k.nw_proto(), 0);
  f[14] = 0x4f;  // IHL 15 = 60 bytes, but only 40 bytes follow.
  EXPECT_EQ(Extract(f, &k).note, ExtractNote::kBadIpv4Ihl);
  EXPECT_EQ(k.nw_src(), 0u);
  f = Eth(kEthTypeIp) + Ipv4(6, 20) + Tcp(1, 2, 0);
  f[17] = 41;  // Total length 41 > 40 bytes present.
  EXPECT_EQ(Extract(f, &k).note, ExtractNote::kBadIpv4Length);
  f[16] = 0, f[17] = 19;  // Total length below the header length.
  EXPECT_EQ(Extract(f, &k).note, ExtractNote::kBadIpv4Length);
  EXPECT_EQ(k.nw_dst(), 0u);
}

TEST(FlowExtractTest, Ipv4TotalLengthTrimsTransport) {
  // Total length covers only 4 bytes of TCP: the rest is padding.
  Frame f = Eth(kEthTypeIp) + Ipv4(6, 4) + Tcp(1, 2, 0);
  FlowKey k;
  ExtractResult r = Extract(f, &k);
  EXPECT_EQ(r.note, ExtractNote::kTruncatedL4);
  EXPECT_EQ(k.nw_proto(), 6);
  EXPECT_EQ(k.tp_src(), 0);
  EXPECT_EQ(k.tcp_flags(), 0);
}

TEST(FlowExtractTest, TcpDataOffsetChecks) {
  FlowKey k;
  ExtractResult r = Extract(Eth(kEthTypeIp) + Ipv4(6, 20) + Tcp(1, 2, 0x10, 4), &k);
  EXPECT_EQ(r.note, ExtractNote::kBadTcpOffset);
  EXPECT_EQ(k.tp_src(), 0);
  Frame t = Tcp(1, 2, 0x10);
  t[12] = 0xf0;  // 60-byte header in a 20-byte segment.
  r = Extract(Eth(kEthTypeIp) + Ipv4(6, 20) + t, &k);
  EXPECT_EQ(r.note, ExtractNote::kBadTcpOffset);
  EXPECT_EQ(k.tp_dst(), 0);
  r = Extract(Eth(kEthTypeIp) + Ipv4(6, 32) + Tcp(1, 2, 0x10, 8), &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.tp_dst(), 2);
}

TEST(FlowExtractTest, UdpSctpIcmp) {
  FlowKey k;
  Extract(Eth(kEthTypeIp) + Ipv4(17, 8) + Udp(68, 67), &k);
  EXPECT_EQ(k.tp_src(), 68);
  EXPECT_EQ(k.tp_dst(), 67);
  Extract(Eth(kEthTypeIp) + Ipv4(132, 12) + Sctp(2905, 2906), &k);
  EXPECT_EQ(k.nw_proto(), 132);
  EXPECT_EQ(k.tp_src(), 2905);
  EXPECT_EQ(k.tp_dst(), 2906);
  ExtractResult r = Extract(Eth(kEthTypeIp) + Ipv4(132, 11) + Sctp(1, 2), &k);
  EXPECT_EQ(r.note, ExtractNote::kTruncatedL4);
  EXPECT_EQ(k.tp_src(), 0);
  Extract(Eth(kEthTypeIp) + Ipv4(1, 8) + Icmp(3, 4), &k);
  EXPECT_EQ(k.icmp_type(), 3);
  EXPECT_EQ(k.icmp_code(), 4);
  EXPECT_EQ(k.tp_src(), 3);  // Shared storage with the ports.
  // ICMPv4's protocol number inside IPv6 is not decoded.
  Extract(Eth(kEthTypeIpv6) + Ipv6(1, 8) + Icmp(3, 4), &k);
  EXPECT_EQ(k.nw_proto(), 1);
  EXPECT_EQ(k.icmp_type(), 0);
}

TEST(FlowExtractTest, Ipv6TcpHeaderFields) {
  FlowKey k;
  ExtractResult r = Extract(Eth(kEthTypeIpv6) + Ipv6(6, 20, 0x2d, 0xabcde, 7) +
                                Tcp(40000, 443, 0x002), &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.ipv6_src(), kIp6Src);
  EXPECT_EQ(k.ipv6_dst(), kIp6Dst);
  EXPECT_EQ(k.ipv6_label(), 0xabcdeu);
  EXPECT_EQ(k.nw_tos(), 0x2d);
  EXPECT_EQ(k.nw_ttl(), 7);
  EXPECT_EQ(k.nw_proto(), 6);
  EXPECT_EQ(k.tp_src(), 40000);
  EXPECT_EQ(k.tcp_flags(), 0x002);
  EXPECT_EQ(r.offsets.l4, 54u);
}

TEST(FlowExtractTest, Ipv6ExtensionHeaderChain) {
  Frame ah{6 /*TCP*/, 1 /*(1+2)*4 = 12 bytes*/};
  ah.resize(12, 0);
  Frame f = Eth(kEthTypeIpv6) + Ipv6(0, 24 + 8 + 24 + 12 + 20) + Ipv6Ext(43, 2) +
            Ipv6Ext(60, 0) + Ipv6Ext(51, 2) + ah + Tcp(7, 8, 0x001);
  FlowKey k;
  ExtractResult r = Extract(f, &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.nw_proto(), 6);
  EXPECT_EQ(k.tp_src(), 7);
  EXPECT_EQ(r.offsets.l4, 54u + 24 + 8 + 24 + 12);
}

TEST(FlowExtractTest, Ipv6Fragments) {
  FlowKey k;
  Frame first = Eth(kEthTypeIpv6) + Ipv6(44, 16) + Ipv6Frag(17, 0x0001) + Udp(5, 6);
  EXPECT_EQ(Extract(first, &k).note, ExtractNote::kNone);
  EXPECT_EQ(k.nw_frag(), kFragAny);
  EXPECT_EQ(k.nw_proto(), 17);
  EXPECT_EQ(k.tp_src(), 5);
  Frame later = Eth(kEthTypeIpv6) + Ipv6(44, 16) + Ipv6Frag(17, 0x0008) + Udp(5, 6);
  EXPECT_EQ(Extract(later, &k).note, ExtractNote::kNone);
  EXPECT_EQ(k.nw_frag(), kFragAny | kFragLater);
  EXPECT_EQ(k.nw_proto(), 44);  // As OVS: later fragments report "fragment".
  EXPECT_EQ(k.tp_src(), 0);
  Frame atomic = Eth(kEthTypeIpv6) + Ipv6(44, 16) + Ipv6Frag(17, 0) + Udp(5, 6);
  Extract(atomic, &k);
  EXPECT_EQ(k.nw_frag(), 0);
  EXPECT_EQ(k.nw_proto(), 17);
  EXPECT_EQ(k.tp_dst(), 6);
}

TEST(FlowExtractTest, Ipv6ExtensionLoopIsBounded) {
  // A jumbo frame of destination-options headers that each name another
  // destination-options header: the walk stops after kMaxIpv6ExtHeaders.
  Frame chain;
  for (int i = 0; i < 1100; ++i) chain = chain + Ipv6Ext(60, 0);
  Frame f = Eth(kEthTypeIpv6) + Ipv6(60, chain.size()) + chain;
  ASSERT_GT(f.size(), 8800u);
  FlowKey k;
  ExtractResult r = Extract(f, &k);
  EXPECT_EQ(r.note, ExtractNote::kIpv6ExtChainTooLong);
  EXPECT_EQ(k.ipv6_src(), kIp6Src);  // OVS keeps the addresses...
  EXPECT_EQ(k.nw_proto(), 0);       // ...and nothing after them.
  EXPECT_EQ(k.nw_ttl(), 0);
  // Exactly the limit is accepted.
  Frame ok;
  for (int i = 0; i < kMaxIpv6ExtHeaders - 1; ++i) ok = ok + Ipv6Ext(60, 0);
  ok = ok + Ipv6Ext(17, 0) + Udp(1, 2);
  r = Extract(Eth(kEthTypeIpv6) + Ipv6(60, ok.size()) + ok, &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.tp_dst(), 2);
}

TEST(FlowExtractTest, Ipv6LengthAndExtensionLies) {
  FlowKey k;
  Frame f = Eth(kEthTypeIpv6) + Ipv6(17, 9) + Udp(1, 2);
  EXPECT_EQ(Extract(f, &k).note, ExtractNote::kBadIpv6Length);
  EXPECT_EQ(k.ipv6_src(), U128{});
  f = Eth(kEthTypeIpv6) + Ipv6(0, 16) + Ipv6Ext(17, 5) + Udp(1, 2);
  f.erase(f.end() - 40, f.end());  // Hop-by-hop claims 48 bytes; 16 remain.
  f[18] = 0, f[19] = 16;
  ExtractResult r = Extract(f, &k);
  EXPECT_EQ(r.note, ExtractNote::kTruncatedIpv6Ext);
  EXPECT_EQ(k.ipv6_dst(), kIp6Dst);
  EXPECT_EQ(k.nw_proto(), 0);
}

Frame NdFrame(uint8_t type, const Frame& opts) {
  Frame body = Icmp(type, 0) + Addr6(U128{0xfe80000000000000ULL, 0x99}) + opts;
  return Eth(kEthTypeIpv6) + Ipv6(58, body.size(), 0, 0, 255) + body;
}

TEST(FlowExtractTest, NeighborDiscovery) {
  FlowKey k;
  ExtractResult r = Extract(NdFrame(135, NdLlaOpt(1, 0x020000000011)), &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.icmp_type(), 135);
  EXPECT_EQ(k.nd_target(), (U128{0xfe80000000000000ULL, 0x99}));
  EXPECT_EQ(k.nd_sll(), 0x020000000011u);
  EXPECT_EQ(k.nd_tll(), 0u);
  Frame unknown{14, 2};
  unknown.resize(16, 0);  // An option ND does not decode, skipped.
  r = Extract(NdFrame(136, unknown + NdLlaOpt(2, 0x020000000022)), &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.nd_tll(), 0x020000000022u);
  // Echo request: type/code only.
  Extract(Eth(kEthTypeIpv6) + Ipv6(58, 8) + Icmp(128, 0), &k);
  EXPECT_EQ(k.icmp_type(), 128);
  EXPECT_EQ(k.nd_target(), U128{});
}

TEST(FlowExtractTest, MalformedNdOptions) {
  FlowKey k;
  Frame dup = NdLlaOpt(1, 0x020000000011) + NdLlaOpt(1, 0x020000000012);
  ExtractResult r = Extract(NdFrame(135, dup), &k);
  EXPECT_EQ(r.note, ExtractNote::kDuplicateNdOption);
  EXPECT_EQ(k.icmp_type(), 135);
  EXPECT_EQ(k.nd_target(), U128{});
  EXPECT_EQ(k.nd_sll(), 0u);
  Frame zero_len{1, 0, 0, 0, 0, 0, 0, 0};
  r = Extract(NdFrame(135, NdLlaOpt(2, 0x33) + zero_len), &k);
  EXPECT_EQ(r.note, ExtractNote::kBadNdOption);
  EXPECT_EQ(k.nd_tll(), 0x33u);  // Options before the bad one count.
  EXPECT_NE(k.nd_target(), U128{});
  Frame overrun{1, 2, 0, 0, 0, 0, 0, 0};  // Claims 16 bytes, has 8.
  EXPECT_EQ(Extract(NdFrame(136, overrun), &k).note, ExtractNote::kBadNdOption);
  Frame shorty = Eth(kEthTypeIpv6) + Ipv6(58, 8 + 10) + Icmp(135, 0) + Zeros(10);
  r = Extract(shorty, &k);
  EXPECT_EQ(r.note, ExtractNote::kTruncatedNdTarget);
  EXPECT_EQ(k.icmp_type(), 135);
  EXPECT_EQ(k.nd_target(), U128{});
}

TEST(FlowExtractTest, ZeroLengthShortAndJumboFrames) {
  FlowKey k;
  k.set_nw_src(99);  // Stale contents are overwritten.
  ExtractResult r = ExtractFlowKey(nullptr, 0, 4, &k);
  EXPECT_EQ(r.note, ExtractNote::kTruncatedL2);
  FlowKey expect{};
  expect.set_in_port(4);
  EXPECT_EQ(k, expect);
  EXPECT_EQ(Extract(Zeros(13), &k).note, ExtractNote::kTruncatedL2);
  EXPECT_EQ(k.dl_src(), 0u);
  size_t payload = 9000 - 14 - 20 - 8;
  Frame jumbo = Eth(kEthTypeIp) + Ipv4(17, 8 + payload) + Udp(4789, 4789) + Zeros(payload);
  ASSERT_EQ(jumbo.size(), 9000u);
  r = Extract(jumbo, &k);
  EXPECT_EQ(r.note, ExtractNote::kNone);
  EXPECT_EQ(k.tp_dst(), 4789);
  EXPECT_EQ(r.offsets.l3_end, 9000u);
}

// Every field of `part` is either zero or equal to the field in `full`.
void ExpectSubsetOf(const FlowKey& part, const FlowKey& full, size_t len) {
  for (int i = 0; i < cls::kNumFields; ++i) {
    auto f = static_cast<Field>(i);
    if (f == Field::kDlType) continue;  // May be a VLAN TPID when cut short.
    U128 v = part.Get128(f);
    EXPECT_TRUE(v == U128{} || v == full.Get128(f))
        << "length " << len << " field " << cls::GetFieldInfo(f).name;
  }
}

TEST(FlowExtractTest, EveryTruncationIsSafeAndConsistent) {
  Frame ah{6, 1};
  ah.resize(12, 0);
  Frame frames[] = {
      Eth(kEthTypeIp) + Ipv4(6, 24, 0, 6, 0x10) + Tcp(1, 2, 0x18) + Zeros(4),
      Eth(0x88a8) + VlanTag(5, 0x8100) + VlanTag(6, kEthTypeIpv6) +
          Ipv6(0, 8 + 8 + 12 + 20) + Ipv6Ext(44, 0) + Ipv6Frag(51, 1) + ah + Tcp(3, 4, 2),
      NdFrame(136, NdLlaOpt(2, 0x020000000022) + NdLlaOpt(1, 0x020000000011)),
      Eth(kEthTypeArp) + Arp(2, 0x1, 0x2, 0x3, 0x4),
      Eth(kEthTypeIp) + Ipv4(132, 12) + Sctp(9, 10),
  };
  for (const Frame& full : frames) {
    FlowKey want;
    ASSERT_EQ(Extract(full, &want).note, ExtractNote::kNone);
    for (size_t len = 0; len < full.size(); ++len) {
      FlowKey k;
      ExtractResult r = Extract(Frame(full.begin(), full.begin() + len), &k);
      EXPECT_NE(r.note, ExtractNote::kNone) << "length " << len;
      EXPECT_EQ(k.in_port(), 3u);
      ExpectSubsetOf(k, want, len);
      for (uint32_t ofs : {r.offsets.l3, r.offsets.l4, r.offsets.l3_end}) {
        EXPECT_TRUE(ofs == kNoOffset || ofs <= len) << "length " << len;
      }
    }
  }
}

// --- Cross-check against tshark -------------------------------------------

// A temporary directory removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "flow_extract_XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;  // Empty when creation failed.
};

void PutLe32(std::ofstream& out, uint32_t v) {
  char b[4] = {char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
  out.write(b, 4);
}

// Writes a classic pcap (Ethernet link type) holding `frames`.
void WritePcap(const std::filesystem::path& file, const std::vector<Frame>& frames) {
  std::ofstream out(file, std::ios::binary);
  PutLe32(out, 0xa1b2c3d4);
  PutLe32(out, 0x00040002);  // Version 2.4 (two little-endian 16-bit halves).
  PutLe32(out, 0);
  PutLe32(out, 0);
  PutLe32(out, 65535);
  PutLe32(out, 1);  // LINKTYPE_ETHERNET.
  uint32_t t = 1;
  for (const Frame& f : frames) {
    PutLe32(out, t++);
    PutLe32(out, 0);
    PutLe32(out, static_cast<uint32_t>(f.size()));
    PutLe32(out, static_cast<uint32_t>(f.size()));
    out.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
  }
}

// tshark fields compared, in order.
constexpr const char* kTsharkFields[] = {
    "eth.src",  "vlan.id",     "ip.src",      "ip.dst",      "ip.proto",
    "ipv6.src", "ipv6.dst",    "tcp.srcport", "tcp.dstport", "udp.srcport",
    "udp.dstport", "sctp.srcport", "sctp.dstport", "icmp.type", "icmpv6.type",
    "icmpv6.nd.ns.target_address", "arp.opcode", "arp.src.proto_ipv4"};

std::string MacText(uint64_t mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", unsigned(mac >> 40 & 0xff),
                unsigned(mac >> 32 & 0xff), unsigned(mac >> 24 & 0xff),
                unsigned(mac >> 16 & 0xff), unsigned(mac >> 8 & 0xff), unsigned(mac & 0xff));
  return buf;
}

std::string Ipv4Text(uint32_t a) {
  in_addr in{htonl(a)};
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &in, buf, sizeof buf);
}

std::string Ipv6Text(U128 a) {
  in6_addr in;
  for (int i = 0; i < 8; ++i) in.s6_addr[i] = static_cast<uint8_t>(a.hi >> (56 - 8 * i));
  for (int i = 0; i < 8; ++i) in.s6_addr[8 + i] = static_cast<uint8_t>(a.lo >> (56 - 8 * i));
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, &in, buf, sizeof buf);
}

// Our key rendered as the tshark field line (fields joined by '|').
std::string KeyAsTsharkLine(const FlowKey& k) {
  bool ip4 = k.dl_type() == kEthTypeIp, ip6 = k.dl_type() == kEthTypeIpv6;
  uint8_t p = k.nw_proto();
  auto num = [](bool on, unsigned v) { return on ? std::to_string(v) : std::string(); };
  std::string cols[] = {
      MacText(k.dl_src()),
      num(k.vlan_tci() & 0x1000, k.vlan_tci() & 0xfff),
      ip4 ? Ipv4Text(k.nw_src()) : "", ip4 ? Ipv4Text(k.nw_dst()) : "", num(ip4, p),
      ip6 ? Ipv6Text(k.ipv6_src()) : "", ip6 ? Ipv6Text(k.ipv6_dst()) : "",
      num(p == 6, k.tp_src()), num(p == 6, k.tp_dst()),
      num(p == 17, k.tp_src()), num(p == 17, k.tp_dst()),
      num(p == 132, k.tp_src()), num(p == 132, k.tp_dst()),
      num(ip4 && p == 1, k.icmp_type()), num(ip6 && p == 58, k.icmp_type()),
      ip6 && p == 58 && k.icmp_type() == 135 ? Ipv6Text(k.nd_target()) : "",
      num(k.dl_type() == kEthTypeArp, k.arp_op()),
      k.dl_type() == kEthTypeArp ? Ipv4Text(k.arp_spa()) : ""};
  std::string line;
  for (const std::string& c : cols) line += (line.empty() && &c == &cols[0] ? "" : "|") + c;
  return line;
}

TEST(FlowExtractTest, AgreesWithTshark) {
  Frame ah{6, 1};
  ah.resize(12, 0);
  std::vector<Frame> frames = {
      Ipv4TcpFrame64(),
      Ipv4UdpFrame64(),
      Eth(kEthTypeIp) + Ipv4(132, 12, 0, 7) + Sctp(3868, 3869),
      Eth(kEthTypeIp) + Ipv4(1, 8) + Icmp(8, 0),
      Eth(0x8100) + VlanTag(0x3123, kEthTypeIpv6) + Ipv6(17, 8) + Udp(40001, 40002),
      Eth(kEthTypeIpv6) + Ipv6(0, 8 + 24 + 12 + 20) + Ipv6Ext(43, 0) + Ipv6Ext(51, 2) + ah +
          Tcp(5555, 6666, 0x011),
      NdFrame(135, NdLlaOpt(1, 0x020000000011)),
      Eth(kEthTypeArp) + Arp(2, 0x020000000033, 0xc0a80a01, 0x020000000044, 0xc0a80a02),
  };
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::filesystem::path pcap = dir.path() / "frames.pcap";
  WritePcap(pcap, frames);
  std::string cmd = "/usr/bin/tshark -n -r " + pcap.string() +
                    " -T fields -E separator='|' -E occurrence=f";
  for (const char* f : kTsharkFields) cmd += std::string(" -e ") + f;
  cmd += " 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  ASSERT_EQ(pclose(pipe), 0) << cmd;
  std::istringstream lines(out);
  std::string line;
  for (size_t i = 0; i < frames.size(); ++i) {
    ASSERT_TRUE(std::getline(lines, line)) << "tshark printed " << i << " lines:\n" << out;
    FlowKey k;
    ASSERT_EQ(Extract(frames[i], &k).note, ExtractNote::kNone);
    EXPECT_EQ(KeyAsTsharkLine(k), line) << "frame " << i;
  }
}

// Extraction writes key words directly; every field it writes, at full
// width, must land where the classifier's accessors read it.
TEST(FlowExtractTest, LayoutAgreesWithClassifier) {
  const uint64_t mac1 = 0xf1f2f3f4f5f6, mac2 = 0xe1e2e3e4e5e6;
  FlowKey want{};
  want.set_in_port(0xfffffffe);
  want.set_dl_dst(0xfedcba987654);
  want.set_dl_src(0xfdecba987653);
  want.set_vlan_tci(0xffff);
  want.set_dl_type(kEthTypeIpv6);
  want.set_ipv6_src(kIp6Src);
  want.set_ipv6_dst(kIp6Dst);
  want.set_ipv6_label(0xfffff);
  want.set_nw_tos(0xff);
  want.set_nw_ttl(0xff);
  want.set_nw_proto(58);
  want.set_icmp_type(135);
  want.set_nd_target(U128{0xffffffffffffffffULL, 0xfffffffffffffffeULL});
  want.set_nd_sll(mac1);
  want.set_nd_tll(mac2);
  Frame body = Icmp(135, 0) + Addr6(want.nd_target()) + NdLlaOpt(1, mac1) + NdLlaOpt(2, mac2);
  Frame f = Eth(0x8100, 0xfedcba987654, 0xfdecba987653) + VlanTag(0xffff, kEthTypeIpv6) +
            Ipv6(58, body.size(), 0xff, 0xfffff, 0xff) + body;
  FlowKey k;
  ASSERT_EQ(Extract(f, &k, 0xfffffffe).note, ExtractNote::kNone);
  EXPECT_EQ(cls::FlowKeyToString(k), cls::FlowKeyToString(want));
  EXPECT_EQ(k, want);
  // IPv4/TCP/ARP fields at full width.
  want.Clear();
  want.set_in_port(1);
  want.set_dl_dst(kMacDst);
  want.set_dl_src(kMacSrc);
  want.set_dl_type(kEthTypeIp);
  want.set_nw_src(kIpSrc);
  want.set_nw_dst(kIpDst);
  want.set_nw_proto(6);
  want.set_nw_tos(0xff);
  want.set_nw_ttl(0xff);
  want.set_nw_frag(kFragAny);
  want.set_tp_src(0xffff);
  want.set_tp_dst(0xfffe);
  want.set_tcp_flags(0xfff);
  ASSERT_EQ(Extract(Eth(kEthTypeIp) + Ipv4(6, 20, 0x2000, 5, 0xff, 0xff) +
                        Tcp(0xffff, 0xfffe, 0xfff), &k, 1).note, ExtractNote::kNone);
  EXPECT_EQ(k, want) << cls::FlowKeyToString(k);
  want.Clear();
  want.set_in_port(1);
  want.set_dl_dst(kMacDst);
  want.set_dl_src(kMacSrc);
  want.set_dl_type(kEthTypeArp);
  want.set_arp_op(0xff);
  want.set_arp_spa(0xffffffff);
  want.set_arp_tpa(0xfffffffe);
  want.set_arp_sha(mac1);
  want.set_arp_tha(mac2);
  Extract(Eth(kEthTypeArp) + Arp(0xff, mac1, 0xffffffff, mac2, 0xfffffffe), &k, 1);
  EXPECT_EQ(k, want) << cls::FlowKeyToString(k);
}

// The specialised pass for untagged IPv4 TCP/UDP must give exactly what
// the general pass gives, and hand every unusual frame (and every
// truncation, byte flip and length lie) over to it: key, note, offsets;
// also when one key is reused for all frames (ExtractFlowKeyReuse, which
// skips the zero words after a frame that took the specialised pass).
TEST(FlowExtractTest, SpecialisedPassAgreesWithGeneralPass) {
  Frame bases[] = {
      Eth(kEthTypeIp) + Ipv4(6, 20) + Tcp(1000, 80, 0x10) + Zeros(6),
      Eth(kEthTypeIp) + Ipv4(17, 8, 0x4000, 5, 0xb8, 3) + Udp(53, 1024) + Zeros(18),
      Eth(kEthTypeIp) + Ipv4(6, 28, 0, 5, 0xff, 0xff) + Tcp(0xffff, 0xfffe, 0xfff, 7),
      Eth(kEthTypeIp) + Ipv4(6, 20, 0x2000) + Tcp(1, 2, 3),           // A fragment.
      Eth(kEthTypeIp) + Ipv4(17, 8, 0, 6) + Udp(1, 2),                // An option.
      Eth(kEthTypeIp) + Ipv4(1, 8) + Icmp(8, 0),
      Eth(0x8100) + VlanTag(7, kEthTypeIp) + Ipv4(17, 8) + Udp(5, 6),
      Ipv6TcpFrame(),
  };
  int n_frames = 0;
  FlowKey reused;  // One key through every frame, as the fast path does.
  bool clean = false;
  auto check = [&](const Frame& f) {
    Frame copy(f);
    const uint8_t* p = copy.empty() ? nullptr : copy.data();
    FlowKey fast, slow;
    fast.Clear();  // Different junk beforehand: every word must be written.
    slow.Clear();
    for (uint64_t& w : fast.w) w = ~w;
    ExtractResult a = ExtractFlowKey(p, copy.size(), 9, &fast);
    ExtractResult b = ExtractFlowKeyGeneric(p, copy.size(), 9, &slow);
    ExtractResult c = ExtractFlowKeyReuse(p, copy.size(), 9, &reused, &clean);
    ++n_frames;
    EXPECT_EQ(reused, slow);
    EXPECT_EQ(c.note, b.note);
    EXPECT_EQ(c.offsets.l3_end, b.offsets.l3_end);
    EXPECT_EQ(fast, slow) << cls::FlowKeyToString(fast) << "\n" << cls::FlowKeyToString(slow);
    EXPECT_EQ(a.note, b.note);
    EXPECT_EQ(a.offsets.l3, b.offsets.l3);
    EXPECT_EQ(a.offsets.l4, b.offsets.l4);
    EXPECT_EQ(a.offsets.l3_end, b.offsets.l3_end);
    EXPECT_EQ(a.offsets.n_vlans, b.offsets.n_vlans);
    EXPECT_EQ(a.offsets.vlan[0], b.offsets.vlan[0]);
    EXPECT_EQ(a.offsets.vlan[1], b.offsets.vlan[1]);
  };
  for (const Frame& base : bases) {
    check(base);
    for (size_t len = 0; len < base.size(); ++len) check(Frame(base.begin(), base.begin() + len));
    // Every value of each header byte that the specialised pass tests.
    for (size_t at : {12u, 13u, 14u, 16u, 17u, 20u, 21u, 23u, 46u}) {
      for (int v = 0; v < 256; ++v) {
        Frame f(base);
        if (at < f.size()) f[at] = static_cast<uint8_t>(v);
        check(f);
      }
    }
  }
  EXPECT_GT(n_frames, 8 * 9 * 256);
}

TEST(FlowExtractTest, NoteNamesAreDistinct) {
  std::set<std::string> names;
  for (int i = 0; i < kNumExtractNotes; ++i) {
    names.insert(ExtractNoteName(static_cast<ExtractNote>(i)));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kNumExtractNotes));
  EXPECT_STREQ(ExtractNoteName(ExtractNote::kBadIpv4Ihl), "bad_ipv4_ihl");
}

}  // namespace
}  // namespace spate::datapath
