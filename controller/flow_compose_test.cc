// flow_compose: every description form gives the key it states, and the
// composed frame extracts back to that key.
#include "controller/flow_compose.h"

#include <gtest/gtest.h>

#include "classifier/flow_match_parse.h"
#include "datapath/flow_extract.h"

namespace spate::controller {
namespace {

// The key extracted from ComposeFrame(key), received on key's in_port.
cls::FlowKey RoundTrip(const cls::FlowKey& key) {
  std::vector<uint8_t> frame = ComposeFrame(key);
  cls::FlowKey out{};
  datapath::ExtractResult r = datapath::ExtractFlowKey(frame.data(), frame.size(), key.in_port(), &out);
  EXPECT_EQ(r.note, datapath::ExtractNote::kNone) << cls::FlowKeyToString(key);
  return out;
}

// Parses `text`, composes, extracts: the fields `text` names must survive.
void ExpectRoundTrip(const std::string& text) {
  Result<cls::FlowKey> key = ParseFlowDescription(text);
  ASSERT_TRUE(key.ok()) << text << ": " << key.error().ToString();
  cls::FlowKey back = RoundTrip(*key);
  EXPECT_EQ(cls::FlowKeyToString(back), cls::FlowKeyToString(*key)) << text;
}

TEST(FlowComposeTest, DatapathFormUdpMatchesOvsSize) {
  const char* text =
      "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),"
      "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)";
  Result<std::vector<uint8_t>> frame = ParsePacket(text);
  ASSERT_TRUE(frame.ok()) << frame.error().ToString();
  EXPECT_EQ(frame->size(), 106u);  // What Open vSwitch 3.1 composes for it.
  ExpectRoundTrip(text);
}

TEST(FlowComposeTest, OfctlFormsRoundTrip) {
  ExpectRoundTrip("in_port=3,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,tcp,"
                  "nw_src=192.168.0.1,nw_dst=192.168.0.2,nw_ttl=5,tp_src=80,tp_dst=8080");
  ExpectRoundTrip("dl_vlan=10,dl_vlan_pcp=3,udp,nw_src=1.2.3.4,nw_ttl=64,tp_dst=53");
  ExpectRoundTrip("icmp,nw_src=1.1.1.1,nw_dst=2.2.2.2,nw_ttl=64,icmp_type=8,icmp_code=0");
  ExpectRoundTrip("arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,"
                  "arp_sha=00:00:00:00:00:01,arp_tha=00:00:00:00:00:00");
  ExpectRoundTrip("udp6,ipv6_src=fe80::1,ipv6_dst=fe80::2,nw_ttl=255,tp_src=546,tp_dst=547");
  ExpectRoundTrip("sctp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=9,tp_src=1,tp_dst=2");
}

TEST(FlowComposeTest, DatapathFormsRoundTrip) {
  ExpectRoundTrip("in_port(2),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),"
                  "eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=5,proto=58,"
                  "tclass=0,hlimit=255,frag=no),icmpv6(type=135,code=0),"
                  "nd(target=2001:db8::2,sll=00:00:00:00:00:01)");
  ExpectRoundTrip("eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),"
                  "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0x10,ttl=3,frag=no),"
                  "tcp(src=5,dst=6),tcp_flags(0x002)");
  ExpectRoundTrip("eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0806),"
                  "arp(sip=1.2.3.4,tip=5.6.7.8,op=2,sha=00:00:00:00:00:01,tha=00:00:00:00:00:02)");
}

TEST(FlowComposeTest, FragmentsKeepTheirBits) {
  ExpectRoundTrip("udp,nw_src=10.0.0.1,nw_ttl=64,nw_frag=first,tp_src=1,tp_dst=2");
  ExpectRoundTrip("ip,nw_proto=17,nw_src=10.0.0.1,nw_ttl=64,nw_frag=later");
}

TEST(FlowComposeTest, HexAndNamesAndErrors) {
  Result<std::vector<uint8_t>> hex =
      ParsePacket("505400000002505400000001" "0800" "4500001400004000" "40ff0000" "0a000001" "0a000002");
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(hex->size(), 34u);
  datapath::PortResolver names = [](std::string_view n) -> std::optional<uint32_t> {
    if (n == "p1") return 7;
    return std::nullopt;
  };
  Result<cls::FlowKey> k = ParseFlowDescription("in_port=p1,ip", names);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->in_port(), 7u);
  EXPECT_FALSE(ParseFlowDescription("in_port=nope,ip", names).ok());
  EXPECT_FALSE(ParsePacket("eth(src=zz)").ok());
  EXPECT_FALSE(ParsePacket("bogus(1)").ok());
  EXPECT_FALSE(ParsePacket("ipv4(src=1.2.3.4,wat=1)").ok());
  EXPECT_FALSE(ParsePacket("eth(src=00:00:00:00:00:01").ok());  // Unbalanced.
  EXPECT_FALSE(ParsePacket("nw_src=300.1.1.1").ok());
  EXPECT_FALSE(ParsePacket("ipv4(tos=999)").ok());
}

}  // namespace
}  // namespace spate::controller
