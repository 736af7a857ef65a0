// Tests for stream names as Open vSwitch spells them.
#include "common/stream.h"

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spate::common {
namespace {

using ::testing::HasSubstr;

TEST(StreamAddress, ActiveNames) {
  auto a = ParseStreamAddress("tcp:127.0.0.1:6641");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, StreamKind::kTcp);
  EXPECT_FALSE(a->passive);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6641);
  EXPECT_EQ(a->ToString(), "tcp:127.0.0.1:6641");

  a = ParseStreamAddress("ssl:[::1]:6642");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, StreamKind::kSsl);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->ToString(), "ssl:[::1]:6642");

  a = ParseStreamAddress("tcp:10.0.0.1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 6640);  // Default OVSDB port.

  a = ParseStreamAddress("unix:/tmp/db.sock");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, StreamKind::kUnix);
  EXPECT_EQ(a->path, "/tmp/db.sock");
}

TEST(StreamAddress, PassiveNames) {
  auto a = ParseStreamAddress("ptcp:6640");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->passive);
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 6640);
  a = ParseStreamAddress("ptcp:0:127.0.0.1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 0);
  EXPECT_EQ(a->ToString(), "ptcp:0:127.0.0.1");
  a = ParseStreamAddress("pssl:6640:[::1]");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->ToString(), "pssl:6640:[::1]");
  a = ParseStreamAddress("ptcp:");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 6640);
}

TEST(StreamAddress, RelativeUnixPathsUseRundir) {
  setenv("OVS_RUNDIR", "/run/spate-test", 1);
  auto a = ParseStreamAddress("punix:db.sock");
  unsetenv("OVS_RUNDIR");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->path, "/run/spate-test/db.sock");
}

TEST(StreamAddress, Errors) {
  auto error = [](const char* name) {
    auto a = ParseStreamAddress(name);
    return a.ok() ? std::string("ok") : a.error().details();
  };
  EXPECT_EQ(error("tcp:foo:1"), "tcp:foo:1: bad IP address \"foo\"");
  EXPECT_EQ(error("tcp:1.2.3.4:99999"), "tcp:1.2.3.4:99999: bad port number \"99999\"");
  EXPECT_EQ(error("ptcp:x"), "ptcp:x: bad port number \"x\"");
  EXPECT_EQ(error("udp:1.2.3.4:5"), "udp:1.2.3.4:5: unknown stream type \"udp\"");
  EXPECT_EQ(error("unix:"), "unix:: missing socket path");
  EXPECT_EQ(error("nothing"), "nothing: not a stream name (expected TYPE:ARGS)");
  EXPECT_EQ(error("tcp:"), "tcp:: missing IP address");
  EXPECT_EQ(error("tcp:[::1"), "tcp:[::1: bad IP address \"[::1\"");
}

TEST(SslConfig, ValidateNamesMissingOption) {
  SslConfig c;
  EXPECT_THAT(c.Validate().error().details(), HasSubstr("--private-key"));
  c.private_key = "k";
  EXPECT_THAT(c.Validate().error().details(), HasSubstr("--certificate"));
  c.certificate = "c";
  EXPECT_THAT(c.Validate().error().details(), HasSubstr("--ca-cert"));
  c.ca_cert = "ca";
  EXPECT_TRUE(c.Validate().ok());
}

}  // namespace
}  // namespace spate::common
