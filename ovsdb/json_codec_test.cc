#include "ovsdb/json_codec.h"

#include <gtest/gtest.h>

namespace spate::ovsdb {
namespace {

TEST(JsonCodecTest, ParsesAndDumpsCompactly) {
  auto j = ParseJson(R"({ "b" : [1, 2.5, "x"], "a" : null })");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(DumpJson(*j), R"({"a":null,"b":[1,2.5,"x"]})");
}

TEST(JsonCodecTest, BadInputIsAnErrorNotAnException) {
  for (const char* bad : {"", "[1,", "{\"a\"}", "nul", "[1] [2]", "\"\xff\""}) {
    auto j = ParseJson(bad);
    ASSERT_FALSE(j.ok()) << bad;
    EXPECT_EQ(j.error().tag(), "syntax error");
  }
}

TEST(JsonCodecTest, RejectsDeepNesting) {
  std::string deep(5000, '[');
  deep += std::string(5000, ']');
  auto j = ParseJson(deep);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().details(), "JSON nesting too deep");
  std::string ok(100, '[');
  ok += std::string(100, ']');
  EXPECT_TRUE(ParseJson(ok).ok());
  EXPECT_TRUE(ParseJson("[\"[[[[[[\"]").ok());
}

TEST(JsonCodecTest, ErrorObject) {
  EXPECT_EQ(ErrorObject(Error("not owner", "x")), Json::parse(R"({"error":"not owner","details":"x"})"));
  EXPECT_EQ(ErrorObject(Error("aborted")), Json::parse(R"({"error":"aborted"})"));
}

}  // namespace
}  // namespace spate::ovsdb
