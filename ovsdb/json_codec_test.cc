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

// AppendJsonString writes what DumpJson writes for the same string:
// plain text, every escape, UTF-8 kept, invalid UTF-8 repaired, embedded
// NUL, and after text already in the buffer.
TEST(JsonCodecTest, AppendJsonStringMatchesDump) {
  std::string all_bytes;
  for (int c = 1; c < 0x80; ++c) all_bytes += static_cast<char>(c);
  const std::string cases[] = {"",
                               "sw0-port1",
                               "inport == \"lp1\" && eth.src == {0a:00:00:00:00:01}",
                               "back\\slash\b\f\n\r\t",
                               std::string("nul\0in", 6),
                               all_bytes,
                               "caf\xc3\xa9 \xe2\x82\xac",
                               "bad \xff\xfe utf-8",
                               "cut \xe2\x82"};
  for (const std::string& text : cases) {
    std::string out = "prefix:";
    AppendJsonString(out, text);
    EXPECT_EQ(out, "prefix:" + DumpJson(Json(text))) << text;
    Result<Json> back = ParseJson(out.substr(7));
    ASSERT_TRUE(back.ok()) << out;
  }
}

}  // namespace
}  // namespace spate::ovsdb
