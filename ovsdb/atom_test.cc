#include "ovsdb/atom.h"

#include <gtest/gtest.h>

namespace spate::ovsdb {
namespace {

TEST(UuidTest, ParsesAndPrintsRoundTrip) {
  auto u = Uuid::Parse("0123abcd-4567-89ef-0123-456789abcdef");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->ToString(), "0123abcd-4567-89ef-0123-456789abcdef");
  EXPECT_EQ(Uuid::Parse("0123ABCD-4567-89EF-0123-456789ABCDEF")->ToString(),
            "0123abcd-4567-89ef-0123-456789abcdef");
}

TEST(UuidTest, RejectsMalformed) {
  EXPECT_FALSE(Uuid::Parse(""));
  EXPECT_FALSE(Uuid::Parse("0123abcd-4567-89ef-0123-456789abcde"));
  EXPECT_FALSE(Uuid::Parse("0123abcd+4567-89ef-0123-456789abcdef"));
  EXPECT_FALSE(Uuid::Parse("0123abcd-4567-89ef-0123-456789abcdeg"));
}

TEST(UuidTest, RandomIsVersion4AndDistinct) {
  Uuid a = Uuid::Random(), b = Uuid::Random();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.ToString()[14], '4');
}

TEST(AtomTest, JsonRoundTripForEveryType) {
  std::vector<std::pair<AtomicType, Json>> cases = {
      {AtomicType::kInteger, Json(-42)},
      {AtomicType::kReal, Json(1.5)},
      {AtomicType::kBoolean, Json(true)},
      {AtomicType::kString, Json("héllo")},
      {AtomicType::kUuid, Json::array({"uuid", "0123abcd-4567-89ef-0123-456789abcdef"})}};
  for (auto& [type, json] : cases) {
    auto atom = Atom::FromJson(type, json, nullptr);
    ASSERT_TRUE(atom.ok()) << json;
    EXPECT_EQ(atom->ToJson(), json);
  }
}

TEST(AtomTest, RealAcceptsIntegersButIntegerRejectsReals) {
  EXPECT_TRUE(Atom::FromJson(AtomicType::kReal, Json(3), nullptr).ok());
  auto bad = Atom::FromJson(AtomicType::kInteger, Json(1.5), nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().tag(), "syntax error");
  EXPECT_EQ(bad.error().details(), "expected integer");
}

TEST(AtomTest, NamedUuidNeedsResolver) {
  Json j = Json::array({"named-uuid", "row1"});
  EXPECT_FALSE(Atom::FromJson(AtomicType::kUuid, j, nullptr).ok());
  Uuid bound = Uuid::Random();
  NamedUuids names = [&](const std::string& n) -> std::optional<Uuid> {
    if (n == "row1") return bound;
    return std::nullopt;
  };
  auto atom = Atom::FromJson(AtomicType::kUuid, j, &names);
  ASSERT_TRUE(atom.ok());
  EXPECT_EQ(atom->uuid(), bound);
}

TEST(AtomTest, DisplayQuotesLikeOpenVswitch) {
  EXPECT_EQ(Atom(std::string("sw0-port1")).ToString(), "sw0-port1");
  EXPECT_EQ(Atom(std::string("10.0.0.1")).ToString(), "\"10.0.0.1\"");
  EXPECT_EQ(Atom(std::string("sw0-port1")).ToString(StringQuoting::kClassic2015),
            "\"sw0-port1\"");
  EXPECT_EQ(Atom(std::string("hostname")).ToString(StringQuoting::kClassic2015), "hostname");
  EXPECT_EQ(Atom(std::string("sw-port.a_b")).ToString(), "sw-port.a_b");
  EXPECT_EQ(Atom(std::string("")).ToString(), "\"\"");
  EXPECT_EQ(Atom(std::string("true")).ToString(), "\"true\"");
  EXPECT_EQ(Atom(std::string("a b")).ToString(), "\"a b\"");
  EXPECT_EQ(Atom(int64_t{7}).ToString(), "7");
  EXPECT_EQ(Atom(2.5).ToString(), "2.5");
}

TEST(AtomTest, Utf8LengthCountsCodePoints) {
  EXPECT_EQ(Utf8Length("abc"), 3u);
  EXPECT_EQ(Utf8Length("h\xc3\xa9llo"), 5u);
  EXPECT_EQ(Utf8Length("\xe2\x82\xac"), 1u);
}

}  // namespace
}  // namespace spate::ovsdb
