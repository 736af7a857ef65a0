// Route table, neighbour cache and ARP/ND frames.
#include <gtest/gtest.h>

#include "tunnels/neighbor.h"
#include "tunnels/route_table.h"
#include "tunnels/test_util.h"

namespace spate::tunnels {
namespace {

IpAddr Ip(const char* text) { return *IpAddr::Parse(text); }

TEST(RouteTableTest, LongestPrefixMatchBothFamilies) {
  RouteTable t;
  ASSERT_TRUE(t.RunAdd({"10.0.0.0/8", "br0", "src=10.0.0.1"}).ok());
  ASSERT_TRUE(t.RunAdd({"10.1.0.0/16", "br1", "10.0.0.254"}).ok());
  ASSERT_TRUE(t.RunAdd({"0.0.0.0/0", "br2", "192.0.2.1"}).ok());
  ASSERT_TRUE(t.RunAdd({"fd00::/64", "br6", "src=fd00::1"}).ok());
  EXPECT_EQ(t.Lookup(Ip("10.1.2.3"))->output_bridge, "br1");
  EXPECT_EQ(t.Lookup(Ip("10.1.2.3"))->gateway, Ip("10.0.0.254"));
  EXPECT_EQ(t.Lookup(Ip("10.2.2.3"))->output_bridge, "br0");
  EXPECT_EQ(t.Lookup(Ip("8.8.8.8"))->output_bridge, "br2");
  EXPECT_EQ(t.Lookup(Ip("fd00::5"))->output_bridge, "br6");
  EXPECT_FALSE(t.Lookup(Ip("fd01::5")).has_value());
  ASSERT_TRUE(t.RunAdd({"::/0", "br6"}).ok());
  EXPECT_EQ(t.Lookup(Ip("fd01::5"))->output_bridge, "br6");
  ASSERT_TRUE(t.RunDel({"0.0.0.0/0"}).ok());
  EXPECT_FALSE(t.Lookup(Ip("8.8.8.8")).has_value()) << "::/0 is IPv6 only";
  const uint64_t v = t.version();
  EXPECT_TRUE(t.RunDel({"10.1.0.0/16"}).ok());
  EXPECT_GT(t.version(), v);
  EXPECT_EQ(t.Lookup(Ip("10.1.2.3"))->output_bridge, "br0");
}

TEST(RouteTableTest, ShowMatchesOpenVswitchFormat) {
  RouteTable t;
  ASSERT_TRUE(t.RunAdd({"10.0.0.0/24", "br0", "src=10.0.0.1"}).ok());
  ASSERT_TRUE(t.RunAdd({"10.1.1.0/24", "br0", "10.0.0.254", "pkt_mark=3",
                        "src=10.0.0.1"}).ok());
  ASSERT_TRUE(t.RunAdd({"fd00::/64", "br6"}).ok());
  EXPECT_EQ(t.Show(),
            "Route Table:\n"
            "User: 10.0.0.0/24 dev br0 SRC 10.0.0.1\n"
            "User: 10.1.1.0/24 MARK 3 dev br0 GW 10.0.0.254 SRC 10.0.0.1\n"
            "User: fd00::/64 dev br6\n");
  EXPECT_EQ(t.RunLookup({"10.1.1.7", "pkt_mark=3"}).value(),
            "src 10.0.0.1\ngateway 10.0.0.254\ndev br0\n");
}

TEST(RouteTableTest, CommandErrors) {
  RouteTable t;
  EXPECT_EQ(t.RunAdd({"10.0.0.0/33", "br0"}).error().tag(), "Invalid parameters");
  EXPECT_EQ(t.RunAdd({"nonsense", "br0"}).error().tag(), "Invalid parameters");
  EXPECT_EQ(t.RunAdd({"10.0.0.0/8"}).error().tag(), "Invalid parameters");
  EXPECT_EQ(t.RunAdd({"10.0.0.0/8", "br0", "pkt_mark=x"}).error().tag(),
            "Invalid pkt_mark");
  EXPECT_EQ(t.RunAdd({"10.0.0.0/8", "br0", "bogus"}).error().tag(),
            "Invalid pkt_mark or gateway");
  EXPECT_EQ(t.RunAdd({"10.0.0.0/8", "br0", "fd00::1"}).error().tag(),
            "Error while inserting route.");
  EXPECT_EQ(t.RunDel({"10.0.0.0/8"}).error().tag(), "Not found");
  EXPECT_EQ(t.RunLookup({"10.0.0.1"}).error().tag(), "Not found");
}

TEST(NeighborCacheTest, LearnsAgesAndShows) {
  NeighborCache cache(/*idle_ns=*/100);
  const MacAddr mac{{0xaa, 0x55, 0xaa, 0x55, 0, 2}};
  cache.Learn(Ip("10.0.0.2"), mac, "br0", 0);
  cache.SetStatic(Ip("fd00::2"), mac, "br6");
  EXPECT_EQ(*cache.Lookup(Ip("10.0.0.2"), 99), mac);
  EXPECT_FALSE(cache.Lookup(Ip("10.0.0.2"), 100).has_value());
  EXPECT_EQ(*cache.Lookup(Ip("fd00::2"), 1'000'000), mac);
  EXPECT_EQ(cache.Show(150),
            "IP                                            MAC                 Bridge\n"
            "==========================================================================\n"
            "10.0.0.2                                      aa:55:aa:55:00:02   br0 STALE\n"
            "fd00::2                                       aa:55:aa:55:00:02   br6\n");
  EXPECT_EQ(cache.Expire(150), 1u);
  EXPECT_EQ(cache.Entries().size(), 1u);
  const uint64_t v = cache.version();
  cache.Flush();
  EXPECT_GT(cache.version(), v);
  EXPECT_TRUE(cache.Entries().empty());
}

TEST(NeighborCacheTest, LearningDoesNotOverrideStatic) {
  NeighborCache cache;
  const MacAddr a{{2, 0, 0, 0, 0, 1}}, b{{2, 0, 0, 0, 0, 2}};
  cache.SetStatic(Ip("10.0.0.2"), a, "br0");
  cache.Learn(Ip("10.0.0.2"), b, "br0", 0);
  EXPECT_EQ(*cache.Lookup(Ip("10.0.0.2"), 0), a);
}

TEST(ArpTest, RequestAndReplyRoundTrip) {
  std::vector<uint8_t> mem(128);
  PacketView out(mem.data(), 128, 16, 0);
  const MacAddr me{{2, 0, 0, 0, 0, 1}}, peer{{2, 0, 0, 0, 0, 2}};
  ASSERT_EQ(BuildArpRequest(me, Ip("10.0.0.1"), Ip("10.0.0.2"), out),
            DropReason::kNone);
  ArpMessage msg;
  ASSERT_EQ(ParseArp(out.data(), out.length(), &msg), DropReason::kNone);
  EXPECT_TRUE(msg.is_request);
  EXPECT_EQ(msg.sha, me);
  EXPECT_EQ(msg.spa, Ip("10.0.0.1"));
  EXPECT_EQ(msg.tpa, Ip("10.0.0.2"));
  EXPECT_EQ(out.data()[0], 0xff);
  ASSERT_EQ(BuildArpReply(peer, Ip("10.0.0.2"), me, Ip("10.0.0.1"), out),
            DropReason::kNone);
  ASSERT_EQ(ParseArp(out.data(), out.length(), &msg), DropReason::kNone);
  EXPECT_FALSE(msg.is_request);
  EXPECT_EQ(msg.sha, peer);
  EXPECT_EQ(msg.tha, me);
  EXPECT_EQ(ParseArp(out.data(), 41, &msg), DropReason::kTruncatedArp);
  out.data()[21] = 9;  // Opcode 9.
  EXPECT_EQ(ParseArp(out.data(), out.length(), &msg), DropReason::kBadArp);
  PacketView tiny(mem.data(), 30, 0, 0);
  EXPECT_EQ(BuildArpRequest(me, Ip("10.0.0.1"), Ip("10.0.0.2"), tiny),
            DropReason::kNoHeadroom);
}

TEST(NdTest, SolicitationAndAdvertisementRoundTrip) {
  std::vector<uint8_t> mem(256);
  PacketView out(mem.data(), 256, 0, 0);
  const MacAddr me{{2, 0, 0, 0, 0, 1}}, peer{{2, 0, 0, 0, 0, 2}};
  ASSERT_EQ(BuildNeighborSolicitation(me, Ip("fd00::1"), Ip("fd00::abcd:2"), out),
            DropReason::kNone);
  EXPECT_TRUE(testing::NaiveL4ChecksumOk(out.data() + 14, true));
  NdMessage msg;
  ASSERT_EQ(ParseNd(out.data(), out.length(), &msg), DropReason::kNone);
  EXPECT_TRUE(msg.is_solicitation);
  EXPECT_EQ(msg.target, Ip("fd00::abcd:2"));
  EXPECT_EQ(msg.dst, Ip("ff02::1:ffcd:2"));
  EXPECT_EQ(*msg.lladdr, me);
  EXPECT_EQ(out.data()[0], 0x33);
  EXPECT_EQ(out.data()[2], 0xff);
  EXPECT_EQ(out.data()[3], 0xcd);

  ASSERT_EQ(BuildNeighborAdvertisement(peer, Ip("fd00::abcd:2"), me,
                                       Ip("fd00::1"), out),
            DropReason::kNone);
  ASSERT_EQ(ParseNd(out.data(), out.length(), &msg), DropReason::kNone);
  EXPECT_FALSE(msg.is_solicitation);
  EXPECT_TRUE(msg.solicited);
  EXPECT_TRUE(msg.override_flag);
  EXPECT_EQ(*msg.lladdr, peer);
  EXPECT_EQ(ParseNd(out.data(), 60, &msg), DropReason::kTruncatedNd);
  out.data()[14 + 40 + 30] ^= 1;  // Corrupt the MAC.
  EXPECT_EQ(ParseNd(out.data(), out.length(), &msg),
            DropReason::kBadIcmpv6Checksum);
  out.data()[14 + 40 + 30] ^= 1;
  out.data()[14 + 7] = 64;  // Hop limit must be 255.
  EXPECT_EQ(ParseNd(out.data(), out.length(), &msg), DropReason::kBadNd);
}

}  // namespace
}  // namespace spate::tunnels
