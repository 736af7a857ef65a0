// Tests of FlowKey layout, Match and the ovs-ofctl match parser/printer.
#include <gtest/gtest.h>

#include <random>

#include "classifier/flow.h"
#include "classifier/flow_match_parse.h"

namespace spate::cls {
namespace {

bool SharesStorage(Field a, Field b) {
  auto pair = [&](Field x, Field y) {
    return (a == x && b == y) || (a == y && b == x);
  };
  return pair(Field::kTpSrc, Field::kIcmpType) || pair(Field::kTpDst, Field::kIcmpCode);
}

TEST(FlowKeyTest, FieldsAreDisjointAndStayInTheirStage) {
  for (int i = 0; i < kNumFields; ++i) {
    Field f = static_cast<Field>(i);
    const FieldInfo& fi = GetFieldInfo(f);
    int last_word = fi.word + (fi.bits > 64 ? 1 : 0);
    ASSERT_LT(last_word, kFlowWords) << fi.name;
    int stage = 0;
    while (fi.word >= kStageBegin[stage + 1]) ++stage;
    EXPECT_LT(last_word, kStageBegin[stage + 1]) << fi.name << " crosses a stage";
    for (int j = i + 1; j < kNumFields; ++j) {
      Field g = static_cast<Field>(j);
      Match a, b;
      a.SetMasked128(f, {}, U128{~0ULL, ~0ULL});
      b.SetMasked128(g, {}, U128{~0ULL, ~0ULL});
      bool overlap = false;
      for (int w = 0; w < kFlowWords; ++w) overlap |= (a.mask.w[w] & b.mask.w[w]) != 0;
      EXPECT_EQ(overlap, SharesStorage(f, g)) << fi.name << " vs " << GetFieldInfo(g).name;
    }
  }
}

TEST(FlowKeyTest, NamedAccessorsRoundTrip) {
  FlowKey k{};
  k.set_in_port(7);
  k.set_metadata(0xabcdef01);
  k.set_log_inport(3);
  k.set_log_outport(4);
  k.set_reg(5, 0x55);
  k.set_conj_id(99);
  k.set_tun_id(0x1122334455667788ULL);
  k.set_tun_src(0x0a000001);
  k.set_tun_ipv6_dst(U128{1, 2});
  k.set_geneve_class(0x0102);
  k.set_geneve_type(0x80);
  k.set_geneve_value(0xdeadbeef);
  k.set_dl_src(0x0a0b0c0d0e0fULL);
  k.set_dl_dst(0xffffffffffffULL);
  k.set_dl_type(kEthTypeIp);
  k.set_vlan_tci(0x1005);
  k.set_nw_src(0xc0a80001);
  k.set_nw_dst(0xc0a80002);
  k.set_nw_proto(6);
  k.set_nw_tos(0xb9);
  k.set_nw_ttl(64);
  k.set_nw_frag(kFragAny);
  k.set_tp_src(1234);
  k.set_tp_dst(80);
  k.set_tcp_flags(0x12);
  k.set_nd_target(U128{0x20010db800000000ULL, 9});
  k.set_arp_sha(0x010203040506ULL);
  EXPECT_EQ(k.in_port(), 7u);
  EXPECT_EQ(k.metadata(), 0xabcdef01u);
  EXPECT_EQ(k.log_inport(), 3u);
  EXPECT_EQ(k.log_outport(), 4u);
  EXPECT_EQ(k.reg(5), 0x55u);
  EXPECT_EQ(k.conj_id(), 99u);
  EXPECT_EQ(k.tun_id(), 0x1122334455667788ULL);
  EXPECT_EQ(k.tun_src(), 0x0a000001u);
  EXPECT_EQ(k.tun_ipv6_dst(), (U128{1, 2}));
  EXPECT_EQ(k.geneve_class(), 0x0102);
  EXPECT_EQ(k.geneve_type(), 0x80);
  EXPECT_EQ(k.geneve_value(), 0xdeadbeefu);
  EXPECT_EQ(k.dl_src(), 0x0a0b0c0d0e0fULL);
  EXPECT_EQ(k.dl_dst(), 0xffffffffffffULL);
  EXPECT_EQ(k.dl_type(), kEthTypeIp);
  EXPECT_EQ(k.vlan_tci(), 0x1005);
  EXPECT_EQ(k.nw_src(), 0xc0a80001u);
  EXPECT_EQ(k.arp_tpa(), 0xc0a80002u);
  EXPECT_EQ(k.nw_proto(), 6);
  EXPECT_EQ(k.nw_tos(), 0xb9);
  EXPECT_EQ(k.nw_ttl(), 64);
  EXPECT_EQ(k.nw_frag(), kFragAny);
  EXPECT_EQ(k.tp_src(), 1234);
  EXPECT_EQ(k.tp_dst(), 80);
  EXPECT_EQ(k.tcp_flags(), 0x12);
  EXPECT_EQ(k.nd_target(), (U128{0x20010db800000000ULL, 9}));
  EXPECT_EQ(k.nd_sll(), 0x010203040506ULL);
}

TEST(MatchParseTest, ParsesOfctlSyntax) {
  Result<Match> m = ParseMatch(
      "in_port=1,dl_dst=aa:bb:cc:dd:ee:ff,tcp,nw_src=10.0.0.0/8,tp_dst=0x50/0xfff0");
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(m->key.in_port(), 1u);
  EXPECT_EQ(m->key.dl_dst(), 0xaabbccddeeffULL);
  EXPECT_EQ(m->key.dl_type(), kEthTypeIp);
  EXPECT_EQ(m->key.nw_proto(), 6);
  EXPECT_EQ(m->key.nw_src(), 0x0a000000u);
  EXPECT_EQ(m->GetMask(Field::kNwSrc), 0xff000000u);
  EXPECT_EQ(m->GetMask(Field::kTpDst), 0xfff0u);
  EXPECT_EQ(m->ToString(),
            "in_port=1,dl_dst=aa:bb:cc:dd:ee:ff,dl_type=0x800,nw_src=10.0.0.0/8,"
            "nw_proto=6,tp_dst=0x50/0xfff0");
  FlowKey k{};
  k.set_in_port(1);
  k.set_dl_dst(0xaabbccddeeffULL);
  k.set_dl_type(kEthTypeIp);
  k.set_nw_proto(6);
  k.set_nw_src(0x0a112233);
  k.set_tp_dst(0x5f);
  EXPECT_TRUE(m->Matches(k));
  k.set_tp_dst(0x60);
  EXPECT_FALSE(m->Matches(k));
}

TEST(MatchParseTest, ParsesSpecialFieldsAndAliases) {
  Result<Match> m = ParseMatch(
      "ipv6 ipv6_src=2001:db8::/32 nw_frag=later tcp_flags=+syn-ack nw_tos=0x10 "
      "dl_vlan=5 reg14=3 arp_spa=1.2.3.4 conj_id=7 tun_ipv6_dst=::1");
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(m->key.ipv6_src(), (U128{0x20010db800000000ULL, 0}));
  EXPECT_EQ(m->GetMask128(Field::kIpv6Src), (U128{0xffffffff00000000ULL, 0}));
  EXPECT_EQ(m->key.nw_frag(), 3);
  EXPECT_EQ(m->key.tcp_flags(), 0x2);
  EXPECT_EQ(m->GetMask(Field::kTcpFlags), 0x12u);
  EXPECT_EQ(m->key.nw_tos(), 0x10);
  EXPECT_EQ(m->key.vlan_tci(), 0x1005);
  EXPECT_EQ(m->GetMask(Field::kVlanTci), 0x1fffu);
  EXPECT_EQ(m->key.log_inport(), 3u);
  EXPECT_EQ(m->key.nw_src(), 0x01020304u);
  EXPECT_EQ(m->key.conj_id(), 7u);
  EXPECT_EQ(m->key.tun_ipv6_dst(), (U128{0, 1}));
}

TEST(MatchParseTest, RejectsBadInputWithClearErrors) {
  const char* kBad[] = {"nw_src=10.0.0.300", "in_port=x",  "bogus=1",  "nw_tos=3",
                        "tp_dst=70000",      "dl_src=aa:bb", "tcp,nw_src=1.2.3.4/33",
                        "nw_frag=maybe",     "ipv6_src=1::2::3", "vlan_tci=0x1/zz",
                        "notakeyword"};
  for (const char* text : kBad) {
    Result<Match> m = ParseMatch(text);
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_EQ(m.error().tag(), "syntax error");
    EXPECT_FALSE(m.error().details().empty());
  }
}

TEST(MatchParseTest, ParsesFlowLines) {
  Result<FlowSpec> f = ParseFlow(
      "table=16, priority=100, metadata=0x1, ip, reg6=0x5 "
      "actions=conjunction(3,1/2),conjunction(4,2/3)");
  ASSERT_TRUE(f.ok()) << f.error().ToString();
  EXPECT_EQ(f->table, 16);
  EXPECT_EQ(f->priority, 100);
  EXPECT_EQ(f->match.key.metadata(), 1u);
  EXPECT_EQ(f->match.key.reg(6), 5u);
  ASSERT_EQ(f->conjunctions.size(), 2u);
  EXPECT_EQ(f->conjunctions[0], (Conjunction{3, 1, 2}));
  EXPECT_EQ(f->conjunctions[1], (Conjunction{4, 2, 3}));
  EXPECT_EQ(f->actions, "conjunction(3,1/2),conjunction(4,2/3)");
  Result<FlowSpec> plain = ParseFlow("in_port=2 actions=output:3");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->priority, 32768);
  EXPECT_EQ(plain->actions, "output:3");
  EXPECT_FALSE(ParseFlow("priority=70000,actions=drop").ok());
  EXPECT_FALSE(ParseFlow("actions=conjunction(1,3/2)").ok());
}

TEST(MatchParseTest, ToStringRoundTripsRandomMatches) {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 2000; ++iter) {
    Match m;
    for (int i = 0; i < kNumFields; ++i) {
      Field f = static_cast<Field>(i);
      if (f == Field::kIcmpType || f == Field::kIcmpCode || rng() % 4) continue;
      const FieldInfo& fi = GetFieldInfo(f);
      U128 v{rng(), rng()};
      U128 mask{~0ULL, ~0ULL};
      if (fi.prefix && rng() % 2) {
        m.SetPrefix(f, v, static_cast<int>(rng() % (fi.bits + 1)));
        continue;
      }
      if (rng() % 3 == 0) mask = U128{rng(), rng()};
      m.SetMasked128(f, v, mask);
    }
    // Protocol-dependent names (ICMP type/code, ARP) must round-trip too.
    switch (rng() % 4) {
      case 0: m.Set(Field::kNwProto, 1); break;
      case 1: m.Set(Field::kNwProto, 58); break;
      case 2: m.Set(Field::kDlType, kEthTypeArp); break;
      default: break;
    }
    std::string text = m.ToString();
    Result<Match> back = ParseMatch(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.error().ToString();
    ASSERT_EQ(*back, m) << text << "\n" << back->ToString();
  }
  Result<Match> icmp = ParseMatch("icmp,icmp_type=8,icmp_code=0");
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(icmp->ToString(), "dl_type=0x800,nw_proto=1,icmp_type=8,icmp_code=0");
  Result<Match> arp = ParseMatch("arp,arp_op=1,arp_tpa=10.0.0.1");
  ASSERT_TRUE(arp.ok());
  EXPECT_EQ(arp->ToString(), "dl_type=0x806,arp_tpa=10.0.0.1,arp_op=1");
  EXPECT_EQ(*ParseMatch(arp->ToString()), *arp);
}

}  // namespace
}  // namespace spate::cls
