#include "tunnels/tunnel_config.h"

#include <gtest/gtest.h>

namespace spate::tunnels {
namespace {

using Options = std::map<std::string, std::string>;

TEST(TunnelConfigTest, DefaultsFollowOpenVswitch) {
  for (const auto& [name, port] : {std::pair{"geneve", 6081},
                                   std::pair{"vxlan", 4789},
                                   std::pair{"stt", 7471}}) {
    auto c = ParseTunnelConfig(name, {{"remote_ip", "192.0.2.1"}});
    ASSERT_TRUE(c.ok()) << c.error().ToString();
    EXPECT_EQ(c->dst_port, port);
    EXPECT_EQ(c->remote_ip, *IpAddr::Parse("192.0.2.1"));
    EXPECT_FALSE(c->local_ip.has_value());
    EXPECT_EQ(c->key, 0u);
    EXPECT_FALSE(c->key_flow);
    EXPECT_FALSE(c->csum);
    EXPECT_EQ(c->tos, 0);
    EXPECT_EQ(c->ttl, 64);
    EXPECT_TRUE(c->df_default);
  }
}

TEST(TunnelConfigTest, ParsesEveryOption) {
  auto c = ParseTunnelConfig("stt", {{"remote_ip", "flow"},
                                     {"local_ip", "fd00::1"},
                                     {"key", "0xffffffffffffffff"},
                                     {"dst_port", "7000"},
                                     {"csum", "true"},
                                     {"tos", "inherit"},
                                     {"ttl", "inherit"},
                                     {"df_default", "false"}});
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(c->remote_ip_flow);
  EXPECT_EQ(*c->local_ip, *IpAddr::Parse("fd00::1"));
  EXPECT_EQ(c->key, ~uint64_t{0});
  EXPECT_EQ(c->dst_port, 7000);
  EXPECT_TRUE(c->csum);
  EXPECT_TRUE(c->tos_inherit);
  EXPECT_TRUE(c->ttl_inherit);
  EXPECT_FALSE(c->df_default);
  c = ParseTunnelConfig("geneve",
                        {{"remote_ip", "fd00::2"}, {"key", "flow"},
                         {"tos", "184"}, {"ttl", "5"}});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->key_flow);
  EXPECT_EQ(c->tos, 184);
  EXPECT_EQ(c->ttl, 5);
}

TEST(TunnelConfigTest, BadValuesGiveClearErrors) {
  struct Case {
    const char* type;
    Options options;
    const char* expect;  // Substring of the error.
  };
  const Case cases[] = {
      {"gre", {{"remote_ip", "1.2.3.4"}}, "type \"gre\""},
      {"geneve", {}, "requires options:remote_ip"},
      {"geneve", {{"remote_ip", "1.2.3"}}, "remote_ip=\"1.2.3\""},
      {"geneve", {{"remote_ip", "0.0.0.0"}}, "not an IP address"},
      {"vxlan", {{"remote_ip", "1.2.3.4"}, {"key", "16777216"}}, "out of range"},
      {"vxlan", {{"remote_ip", "1.2.3.4"}, {"key", "-1"}}, "key=\"-1\""},
      {"stt", {{"remote_ip", "1.2.3.4"}, {"key", "18446744073709551616"}},
       "key="},
      {"geneve", {{"remote_ip", "1.2.3.4"}, {"dst_port", "0"}}, "dst_port"},
      {"geneve", {{"remote_ip", "1.2.3.4"}, {"dst_port", "65536"}}, "dst_port"},
      {"geneve", {{"remote_ip", "1.2.3.4"}, {"csum", "yes"}}, "csum=\"yes\""},
      {"geneve", {{"remote_ip", "1.2.3.4"}, {"df_default", "1"}}, "df_default"},
      {"geneve", {{"remote_ip", "1.2.3.4"}, {"tos", "1"}}, "ECN bits"},
      {"geneve", {{"remote_ip", "1.2.3.4"}, {"tos", "256"}}, "tos="},
      {"geneve", {{"remote_ip", "1.2.3.4"}, {"ttl", "0"}}, "ttl="},
      {"geneve", {{"remote_ip", "1.2.3.4"}, {"ttl", "x"}}, "ttl="},
      {"geneve", {{"remote_ip", "1.2.3.4"}, {"colour", "red"}}, "unknown option"},
      {"geneve", {{"remote_ip", "1.2.3.4"}, {"local_ip", "fd00::1"}},
       "different address families"},
  };
  for (const Case& c : cases) {
    auto result = ParseTunnelConfig(c.type, c.options);
    ASSERT_FALSE(result.ok()) << c.expect;
    EXPECT_EQ(result.error().tag(), "invalid tunnel option");
    EXPECT_NE(result.error().details().find(c.expect), std::string::npos)
        << result.error().details();
  }
}

}  // namespace
}  // namespace spate::tunnels
