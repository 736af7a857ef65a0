// Unit tests of the June-2015 logical flows (logical_flows.h), with the ACL
// match check ovn-nbd uses (expr/expr.h): no database, exact rows of §4.4.
#include <gtest/gtest.h>

#include "northd/logical_flows.h"
#include "expr/expr.h"

namespace spate::northd {
namespace {

using Flows = std::vector<LogicalFlow>;

Flows Sorted(Flows flows) {
  std::sort(flows.begin(), flows.end());
  return flows;
}

// The flows every switch has, whatever its ports (flood actions aside).
Flows Fixed(const std::string& flood) {
  return {{0, 100, "vlan.present", "drop;"}, {0, 100, "eth.src[40]", "drop;"},
          {0, 0, "1", "drop;"},              {1, 100, "eth.dst[40]", flood},
          {2, 0, "1", "next;"},              {3, 100, "eth.dst[40]", "output;"}};
}

TEST(LogicalFlows, EmptySwitch) {
  EXPECT_EQ(BuildSwitchFlows({}, nullptr, nullptr), Sorted(Fixed("drop;")));
}

TEST(LogicalFlows, PortsMacsUnknownAndSecurity) {
  SwitchFlowInput in;
  in.ports.push_back({"sw0-port2", {"unknown"}, {}, true});
  in.ports.push_back({"sw0-port1", {"00:00:00:00:00:01", "00:00:00:00:00:0A"},
                      {"00:00:00:00:00:01", "not-a-mac", "0:0:0:0:0:a"}, true});
  std::vector<std::string> notes;
  Flows got = BuildSwitchFlows(in, nullptr, &notes);
  Flows want = Fixed(
      "outport = \"sw0-port1\"; next; outport = \"sw0-port2\"; next;");
  want.push_back({0, 50,
                  "inport == \"sw0-port1\" && eth.src == {00:00:00:00:00:01 00:00:00:00:00:0a}",
                  "next;"});
  want.push_back({0, 50, "inport == \"sw0-port2\"", "next;"});
  want.push_back({1, 50, "eth.dst == 00:00:00:00:00:01", "outport = \"sw0-port1\"; next;"});
  want.push_back({1, 50, "eth.dst == 00:00:00:00:00:0a", "outport = \"sw0-port1\"; next;"});
  want.push_back({1, 0, "1", "outport = \"sw0-port2\"; next;"});
  want.push_back({3, 50,
                  "outport == \"sw0-port1\" && eth.dst == {00:00:00:00:00:01 00:00:00:00:00:0a}",
                  "output;"});
  want.push_back({3, 50, "outport == \"sw0-port2\"", "output;"});
  EXPECT_EQ(got, Sorted(want));
  EXPECT_TRUE(notes.empty());
}

TEST(LogicalFlows, DisabledPortDropsAndInvalidMacNoted) {
  SwitchFlowInput in;
  in.ports.push_back({"p\"1", {"zz:00:00:00:00:01"}, {"00:00:00:00:00:01"}, false});
  std::vector<std::string> notes;
  Flows got = BuildSwitchFlows(in, nullptr, &notes);
  Flows want = Fixed("outport = \"p\\\"1\"; next;");
  want.push_back({0, 50, "inport == \"p\\\"1\" && eth.src == {00:00:00:00:00:01}", "drop;"});
  want.push_back({3, 50, "outport == \"p\\\"1\" && eth.dst == {00:00:00:00:00:01}", "drop;"});
  EXPECT_EQ(got, Sorted(want));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "invalid syntax 'zz:00:00:00:00:01' in macs column");
}

TEST(LogicalFlows, AclsWithCheckerAndActions) {
  SwitchFlowInput in;
  in.acls.push_back({1000, "tcp.dst == 80", "allow"});
  in.acls.push_back({900, "ip4", "allow-related"});
  in.acls.push_back({800, "udp", "drop"});
  in.acls.push_back({700, "arp", "reject"});
  in.acls.push_back({600, "eth.foo == 1", "drop"});
  in.acls.push_back({500, "ip6", "bounce"});
  std::vector<std::string> notes;
  Flows got = BuildSwitchFlows(in, expr::ValidateMatch, &notes);
  Flows want = Fixed("drop;");
  want.push_back({2, 1000, "tcp.dst == 80", "next;"});
  want.push_back({2, 900, "ip4", "next;"});
  want.push_back({2, 800, "udp", "drop;"});
  want.push_back({2, 700, "arp", "drop;"});
  EXPECT_EQ(got, Sorted(want));
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("eth.foo"), std::string::npos) << notes[0];
  EXPECT_NE(notes[1].find("bounce"), std::string::npos) << notes[1];
}

TEST(LogicalFlows, CanonicalMacAndQuote) {
  EXPECT_EQ(CanonicalMac("0A:b:00:00:00:FF"), "0a:0b:00:00:00:ff");
  EXPECT_EQ(CanonicalMac("00:00:00:00:00"), std::nullopt);
  EXPECT_EQ(CanonicalMac("00:00:00:00:00:001"), std::nullopt);
  EXPECT_EQ(CanonicalMac("00:00:00:00:00:00:00"), std::nullopt);
  EXPECT_EQ(CanonicalMac("unknown"), std::nullopt);
  EXPECT_EQ(CanonicalMac(""), std::nullopt);
  EXPECT_EQ(QuoteName("a\\b\"c\n"), "\"a\\\\b\\\"c\\n\"");
  EXPECT_EQ(QuoteName("sw0-port1"), "\"sw0-port1\"");
}

// The checker ovn-nbd uses (expr/expr.h) accepts the ACL matches of the
// 2015 documentation and rejects broken ones.
TEST(AclMatch, ValidateMatchAsUsedByNbd) {
  for (const char* m : {"1", "ip4 && tcp.dst == 80", "inport == \"a b\" && eth.src == {00:00:00:00:00:01 00:00:00:00:00:02}",
                        "!(arp.op == 1)", "1 <= vlan.pcp <= 4", "ip4.src == {10.0.0.0/8, 192.168.0.0/16}",
                        "eth.src[40]", "(udp || tcp) && ip.ttl > 1", "reg0[0..3] == 0x5"}) {
    Status s = expr::ValidateMatch(m);
    EXPECT_TRUE(s.ok()) << m << ": " << s.error().ToString();
  }
  for (const char* m : {"", "ip4 &&", "(ip4", "ip4)", "inport == \"x", "eth.foo == 1",
                        "tcp && udp || ip4", "== 80", "ip4 $ 1"}) {
    Status s = expr::ValidateMatch(m);
    EXPECT_FALSE(s.ok()) << m;
  }
}

}  // namespace
}  // namespace spate::northd
