#include "ovsdb/types.h"

#include <gtest/gtest.h>

namespace spate::ovsdb {
namespace {

Type ParseType(const char* text) {
  auto t = Type::FromJson(Json::parse(text));
  EXPECT_TRUE(t.ok()) << text << ": " << (t.ok() ? "" : t.error().ToString());
  return t.ok() ? *t : Type();
}

TEST(TypesTest, ScalarPrintsAsBareName) {
  EXPECT_EQ(ParseType("\"string\"").ToJson(), Json("string"));
  Type t = ParseType(R"({"key":"integer"})");
  EXPECT_EQ(t.ToJson(), Json("integer"));
}

TEST(TypesTest, RoundTripsConstraints) {
  const char* cases[] = {
      R"({"key":{"type":"integer","minInteger":0,"maxInteger":4095},"min":0})",
      R"({"key":{"type":"string","enum":["set",["geneve","stt","vxlan"]]}})",
      R"({"key":{"type":"uuid","refTable":"B","refType":"weak"},"min":0,"max":"unlimited"})",
      R"({"key":"string","value":"string","min":0,"max":"unlimited"})",
      R"({"key":{"type":"real","minReal":-1.5,"maxReal":2.5}})",
      R"({"key":{"type":"string","minLength":1,"maxLength":4},"max":3})"};
  for (const char* c : cases) {
    EXPECT_EQ(ParseType(c).ToJson(), Json::parse(c)) << c;
  }
}

TEST(TypesTest, RejectsBadTypes) {
  const char* cases[] = {
      R"("float")", R"({"key":"integer","min":2})", R"({"key":"integer","max":0})",
      R"({"key":"integer","min":1,"max":"lots"})",
      R"({"key":{"type":"integer","minInteger":5,"maxInteger":1}})",
      R"({"key":{"type":"string","minInteger":1}})",
      R"({"key":{"type":"uuid","refType":"weak"}})",
      R"({"key":{"type":"uuid","refTable":"T","refType":"soft"}})",
      R"({"key":"integer","extra":1})", R"([1])"};
  for (const char* c : cases) {
    auto t = Type::FromJson(Json::parse(c));
    EXPECT_FALSE(t.ok()) << c;
  }
}

TEST(TypesTest, ConstraintMessagesMatchOpenVswitch) {
  Type t = ParseType(R"({"key":{"type":"integer","minInteger":0,"maxInteger":10}})");
  Status s = t.key.Check(Atom(int64_t{11}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().tag(), "constraint violation");
  EXPECT_EQ(s.error().details(), "11 is not in the valid range 0 to 10 (inclusive)");
  Type e = ParseType(R"({"key":{"type":"string","enum":["set",["a","b"]]}})");
  Status es = e.key.Check(Atom(std::string("c")));
  ASSERT_FALSE(es.ok());
  EXPECT_EQ(es.error().details(), "c is not one of the allowed values ([a, b])");
  EXPECT_TRUE(e.key.Check(Atom(std::string("a"))).ok());
}

TEST(TypesTest, StringLengthCountsUtf8Characters) {
  Type t = ParseType(R"({"key":{"type":"string","minLength":2,"maxLength":3}})");
  EXPECT_TRUE(t.key.Check(Atom(std::string("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"))).ok());
  EXPECT_FALSE(t.key.Check(Atom(std::string("abcd"))).ok());
  EXPECT_FALSE(t.key.Check(Atom(std::string("a"))).ok());
}

TEST(TypesTest, RealRange) {
  Type t = ParseType(R"({"key":{"type":"real","minReal":0}})");
  Status s = t.key.Check(Atom(-1.0));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().details(), "-1 is less than minimum allowed value 0");
}

}  // namespace
}  // namespace spate::ovsdb
