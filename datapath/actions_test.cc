// Actions: ovs-ofctl parsing and printing, and every edit's bytes and
// checksums (DPDK-free: frames are byte vectors).
#include <gtest/gtest.h>

#include "datapath/action_parse.h"
#include "datapath/flow_extract.h"
#include "datapath/flow_extract_frames.h"
#include "datapath/packet_edit.h"

namespace spate::datapath {
namespace {

using namespace testframes;  // NOLINT
using cls::Field;
using cls::U128;

uint32_t Sum16(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) s += static_cast<uint32_t>(p[n - 1] << 8);
  return s;
}

// Sum of the IPv4/IPv6 pseudo-header of the datagram at l3.
uint32_t PseudoSum(const Frame& f, size_t l3, bool v6, uint8_t proto, size_t l4_len) {
  uint32_t s = v6 ? Sum16(&f[l3 + 8], 32) : Sum16(&f[l3 + 12], 8);
  return s + proto + static_cast<uint32_t>(l4_len);
}

// Writes correct IPv4 header and L4 checksums (L4 at l4, to the end).
void FixChecksums(Frame* f, size_t l3, size_t l4, bool v6, uint8_t proto, size_t csum_at) {
  if (!v6) {
    (*f)[l3 + 10] = (*f)[l3 + 11] = 0;
    uint16_t c = InternetChecksum(&(*f)[l3], static_cast<uint32_t>(l4 - l3));
    (*f)[l3 + 10] = static_cast<uint8_t>(c >> 8);
    (*f)[l3 + 11] = static_cast<uint8_t>(c);
  }
  (*f)[l4 + csum_at] = (*f)[l4 + csum_at + 1] = 0;
  uint16_t c = InternetChecksum(&(*f)[l4], static_cast<uint32_t>(f->size() - l4),
                                PseudoSum(*f, l3, v6, proto, f->size() - l4));
  (*f)[l4 + csum_at] = static_cast<uint8_t>(c >> 8);
  (*f)[l4 + csum_at + 1] = static_cast<uint8_t>(c);
}

bool ChecksumsOk(const Frame& f, size_t l3, size_t l4, bool v6, uint8_t proto) {
  if (!v6 && InternetChecksum(&f[l3], static_cast<uint32_t>(l4 - l3)) != 0) return false;
  return InternetChecksum(&f[l4], static_cast<uint32_t>(f.size() - l4),
                          PseudoSum(f, l3, v6, proto, f.size() - l4)) == 0;
}

Frame TcpFrame() {
  Frame f = Eth(cls::kEthTypeIp) + Ipv4(6, 24) + Tcp(1000, 80, 0x10) + Frame{1, 2, 3, 4};
  FixChecksums(&f, 14, 34, false, 6, 16);
  return f;
}

// An editable copy of `f` with `headroom` bytes in front.
struct Buf {
  std::vector<uint8_t> bytes;
  FrameView view;
  FrameLayout layout;
  cls::FlowKey key{};

  Buf(const Frame& f, uint32_t headroom = 8) : bytes(headroom + f.size()) {
    std::copy(f.begin(), f.end(), bytes.begin() + headroom);
    view = FrameView{bytes.data(), static_cast<uint32_t>(bytes.size()), headroom,
                     static_cast<uint32_t>(f.size())};
    ExtractResult r = ExtractFlowKey(view.data(), view.length, 1, &key);
    layout = MakeFrameLayout(r, key);
  }
  Frame frame() const { return Frame(view.data(), view.data() + view.length); }
  cls::FlowKey Reextract() const {
    cls::FlowKey k{};
    ExtractFlowKey(view.data(), view.length, 1, &k);
    return k;
  }
};

U128 Full(uint64_t bits) { return {0, bits >= 64 ? ~0ULL : (1ULL << bits) - 1}; }

TEST(PacketEdit, Ipv4AddressesKeepBothChecksums) {
  Buf b(TcpFrame());
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kNwSrc, {0, 0xc0a80101}, Full(32)));
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kNwDst, {0, 0x0a0000fe}, Full(32)));
  Frame f = b.frame();
  EXPECT_EQ(f[26], 192);
  EXPECT_EQ(f[29], 1);
  EXPECT_EQ(f[33], 0xfe);
  EXPECT_TRUE(ChecksumsOk(f, 14, 34, false, 6));
  EXPECT_EQ(b.Reextract().nw_src(), 0xc0a80101u);
}

TEST(PacketEdit, PortsTosTtlAndMacs) {
  Buf b(TcpFrame());
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kTpDst, {0, 8080}, Full(16)));
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kTpSrc, {0, 0x1234}, Full(16)));
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kIpDscp, {0, 46}, Full(6)));
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kNwTtl, {0, 7}, Full(8)));
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kDlSrc, {0, 0x0a0b0c0d0e0f}, Full(48)));
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kDlDst, {0, 0x0000000000ff}, {0, 0xff}));
  Frame f = b.frame();
  EXPECT_TRUE(ChecksumsOk(f, 14, 34, false, 6));
  cls::FlowKey k = b.Reextract();
  EXPECT_EQ(k.tp_dst(), 8080);
  EXPECT_EQ(k.tp_src(), 0x1234);
  EXPECT_EQ(k.nw_tos(), 46 << 2);
  EXPECT_EQ(k.nw_ttl(), 7);
  EXPECT_EQ(k.dl_src(), 0x0a0b0c0d0e0fULL);
  EXPECT_EQ(k.dl_dst(), (kMacDst & ~0xffULL) | 0xff);
}

TEST(PacketEdit, UdpZeroChecksumStaysZero) {
  Frame f = Eth(cls::kEthTypeIp) + Ipv4(17, 12) + Udp(53, 53, 12) + Frame{9, 9, 9, 9};
  Buf b(f);
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kNwSrc, {0, 0x01020304}, Full(32)));
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kTpDst, {0, 5353}, Full(16)));
  Frame out = b.frame();
  EXPECT_EQ(out[34 + 6], 0);
  EXPECT_EQ(out[34 + 7], 0);
}

TEST(PacketEdit, Ipv6AddressesAndUdpChecksum) {
  Frame f = Eth(cls::kEthTypeIpv6) + Ipv6(17, 12) + Addr6(kIp6Src) + Addr6(kIp6Dst) +
            Udp(1, 2, 12) + Frame{5, 6, 7, 8};
  FixChecksums(&f, 14, 54, true, 17, 6);
  ASSERT_TRUE(ChecksumsOk(f, 14, 54, true, 17));
  Buf b(f);
  U128 a{0x20010db8aaaabbbbULL, 0x1234};
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kIpv6Dst, a, {~0ULL, ~0ULL}));
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kIpv6Label, {0, 0xabcde}, Full(20)));
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kNwTtl, {0, 3}, Full(8)));
  Frame out = b.frame();
  EXPECT_TRUE(ChecksumsOk(out, 14, 54, true, 17));
  cls::FlowKey k = b.Reextract();
  EXPECT_EQ(k.ipv6_dst(), a);
  EXPECT_EQ(k.ipv6_label(), 0xabcdeu);
  EXPECT_EQ(k.nw_ttl(), 3);
}

TEST(PacketEdit, SctpPortRecomputesCrc) {
  Frame f = Eth(cls::kEthTypeIp) + Ipv4(132, 16) + Sctp(7, 9) + Frame{1, 2, 3, 4};
  Buf b(f);
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kTpDst, {0, 99}, Full(16)));
  Frame out = b.frame();
  uint32_t stored = static_cast<uint32_t>(out[42] | out[43] << 8 | out[44] << 16 | out[45] << 24);
  std::fill(out.begin() + 42, out.begin() + 46, 0);
  EXPECT_EQ(stored, Crc32c(&out[34], 16));
  EXPECT_EQ(b.Reextract().tp_dst(), 99);
}

TEST(PacketEdit, PushAndPopVlan) {
  Frame orig = TcpFrame();
  Buf b(orig);
  ASSERT_TRUE(EditPushVlan(&b.view, &b.layout, 0x8100, 0x2005));
  Frame f = b.frame();
  ASSERT_EQ(f.size(), orig.size() + 4);
  EXPECT_EQ(f[12], 0x81);
  EXPECT_EQ(f[13], 0x00);
  EXPECT_EQ(f[14], 0x20);
  EXPECT_EQ(f[15], 0x05);
  cls::FlowKey k = b.Reextract();
  EXPECT_EQ(k.vlan_tci(), 0x3005);
  EXPECT_EQ(k.nw_src(), kIpSrc);
  // Edits after the push use the moved offsets.
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kVlanTci, {0, 0x1000 | 42}, {0, 0x1fff}));
  ASSERT_TRUE(EditSetField(&b.view, b.layout, Field::kTpDst, {0, 22}, Full(16)));
  EXPECT_EQ(b.Reextract().vlan_tci(), 0x3000 | 42);
  ASSERT_TRUE(EditPopVlan(&b.view, &b.layout));
  Frame back = b.frame();
  ASSERT_EQ(back.size(), orig.size());
  EXPECT_TRUE(std::equal(back.begin(), back.begin() + 14, orig.begin()));
  EXPECT_TRUE(ChecksumsOk(back, 14, 34, false, 6));
  EXPECT_EQ(b.Reextract().tp_dst(), 22);
  EXPECT_FALSE(EditPopVlan(&b.view, &b.layout));
}

TEST(PacketEdit, MissingHeadersAreRefused) {
  Frame arp = Eth(cls::kEthTypeArp) + Arp(1, kMacSrc, kIpSrc, 0, kIpDst);
  Buf b(arp, 0);
  EXPECT_FALSE(EditSetField(&b.view, b.layout, Field::kTpDst, {0, 1}, Full(16)));
  EXPECT_FALSE(EditSetField(&b.view, b.layout, Field::kIpv6Src, {0, 1}, Full(64)));
  EXPECT_FALSE(EditSetField(&b.view, b.layout, Field::kVlanTci, {0, 1}, Full(16)));
  EXPECT_FALSE(EditPushVlan(&b.view, &b.layout, 0x8100, 1));  // No headroom.
  EXPECT_TRUE(EditSetField(&b.view, b.layout, Field::kNwDst, {0, 0x0a000009}, Full(32)));
  EXPECT_EQ(b.Reextract().arp_tpa(), 0x0a000009u);
  Frame full = TcpFrame();
  Buf truncated(Frame(full.begin(), full.begin() + 40));
  EXPECT_FALSE(EditSetField(&truncated.view, truncated.layout, Field::kTpDst, {0, 1}, Full(16)));
}

TEST(ActionParse, RoundTripsEveryAction) {
  const char* texts[] = {
      "output:2", "IN_PORT", "FLOOD", "ALL", "strip_vlan", "dec_ttl",
      "push_vlan:0x8100", "mod_vlan_vid:10", "mod_vlan_pcp:3",
      "set_field:aa:bb:cc:dd:ee:ff->dl_src", "set_field:10.0.0.1->nw_dst",
      "set_field:0x5->reg3", "set_field:0x10/0xf0->reg0", "set_field:2001:db8::1->ipv6_src",
      "set_field:80->tp_dst", "set_field:0x2a->tun_id", "resubmit(,3)", "resubmit(4,)",
      "resubmit(4,5)", "goto_table:7", "output:1,output:3", "drop",
  };
  for (const char* t : texts) {
    auto a = ParseActions(t);
    ASSERT_TRUE(a.ok()) << t << ": " << a.error().ToString();
    std::string printed = FormatActions(a->actions, a->conjunctions);
    EXPECT_EQ(printed, t);
    auto again = ParseActions(printed);
    ASSERT_TRUE(again.ok()) << printed;
    EXPECT_EQ(again->actions, a->actions);
  }
}

TEST(ActionParse, SpellingsMapToTheSameActions) {
  auto same = [](const char* a, const char* b) {
    auto x = ParseActions(a), y = ParseActions(b);
    ASSERT_TRUE(x.ok() && y.ok()) << a << " / " << b;
    EXPECT_EQ(x->actions, y->actions) << a << " / " << b;
  };
  same("2", "output:2");
  same("mod_dl_src:aa:bb:cc:dd:ee:ff", "set_field:aa:bb:cc:dd:ee:ff->eth_src");
  same("mod_nw_src:1.2.3.4", "set_field:1.2.3.4->ip_src");
  same("mod_tp_dst:443", "set_field:443->tcp_dst");
  same("set_tunnel:0x64", "set_field:100->tun_id");
  same("load:0x5->NXM_NX_REG0[]", "set_field:5->reg0");
  same("load:0x5->NXM_NX_REG0[8..15]", "set_field:0x500/0xff00->reg0");
  same("mod_nw_tos:184", "set_field:46->ip_dscp");
  same("pop_vlan", "strip_vlan");
  same("resubmit:3", "resubmit(3,)");
  same("set_field:10->vlan_vid", "mod_vlan_vid:10");
}

TEST(ActionParse, ErrorsNameTheItem) {
  const char* bad[] = {"output:", "bogus", "set_field:1->dl_type", "set_field:1->nope",
                       "set_field:5", "drop,output:1", "conjunction(1,1/2),output:1",
                       "load:0x1ff->NXM_NX_REG0[0..7]", "goto_table:300", "mod_vlan_vid:5000",
                       "push_vlan:0x800", "resubmit(,999)", "output:p9", "mod_nw_tos:3",
                       "resubmit", "resubmit(", "set_field:->reg0"};
  for (const char* t : bad) {
    auto a = ParseActions(t);
    ASSERT_FALSE(a.ok()) << t;
    EXPECT_EQ(a.error().tag(), "syntax error") << t;
    EXPECT_FALSE(a.error().details().empty()) << t;
  }
}

TEST(ActionParse, PortNamesResolve) {
  PortResolver r = [](std::string_view n) -> std::optional<uint32_t> {
    if (n == "vm1") return 7;
    return std::nullopt;
  };
  auto a = ParseActions("output:vm1,resubmit(vm1,2)", r);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->actions[0].port, 7u);
  EXPECT_EQ(a->actions[1].port, 7u);
  EXPECT_FALSE(ParseActions("output:vm2", r).ok());
}

TEST(ActionParse, FlowLines) {
  auto add = ParseRuleOp(RuleOpKind::kAdd,
                         "table=3,priority=10,in_port=1,dl_dst=aa:bb:cc:dd:ee:ff,actions=output:2");
  ASSERT_TRUE(add.ok()) << add.error().ToString();
  EXPECT_EQ(add->spec.table, 3);
  EXPECT_EQ(add->spec.priority, 10);
  EXPECT_EQ(add->spec.match.key.in_port(), 1u);
  ASSERT_EQ(add->spec.actions.size(), 1u);
  auto conj = ParseRuleOp(RuleOpKind::kAdd, "priority=5,ip,actions=conjunction(9,2/3)");
  ASSERT_TRUE(conj.ok());
  ASSERT_EQ(conj->spec.conjunctions.size(), 1u);
  EXPECT_EQ(conj->spec.conjunctions[0].clause, 2);
  auto del = ParseRuleOp(RuleOpKind::kDelete, "cookie=0x5/-1,in_port=2");
  ASSERT_TRUE(del.ok()) << del.error().ToString();
  EXPECT_TRUE(del->all_tables);
  EXPECT_EQ(del->spec.cookie, 5u);
  EXPECT_EQ(del->cookie_mask, ~0ULL);
  EXPECT_FALSE(ParseRuleOp(RuleOpKind::kAdd, "in_port=1").ok());
  EXPECT_FALSE(ParseRuleOp(RuleOpKind::kDelete, "in_port=1,actions=drop").ok());
  EXPECT_FALSE(ParseRuleOp(RuleOpKind::kAdd, "in_port=x,actions=drop").ok());
}

}  // namespace
}  // namespace spate::datapath
