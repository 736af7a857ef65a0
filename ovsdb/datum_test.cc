#include "ovsdb/datum.h"

#include <gtest/gtest.h>

namespace spate::ovsdb {
namespace {

Type T(const char* text) { return *Type::FromJson(Json::parse(text)); }

TEST(DatumTest, SetsAreSortedAndOneElementEncodesAsAtom) {
  Type t = T(R"({"key":"integer","min":0,"max":"unlimited"})");
  auto d = Datum::FromJson(t, Json::parse(R"(["set",[3,1,2]])"), nullptr);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->ToJson(t), Json::parse(R"(["set",[1,2,3]])"));
  auto one = Datum::FromJson(t, Json(5), nullptr);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->ToJson(t), Json(5));
  EXPECT_EQ(d->ToString(t), "[1, 2, 3]");
}

TEST(DatumTest, MapsSortByKey) {
  Type t = T(R"({"key":"string","value":"string","min":0,"max":"unlimited"})");
  auto d = Datum::FromJson(t, Json::parse(R"(["map",[["b","2"],["a","1"]]])"), nullptr);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->ToJson(t), Json::parse(R"(["map",[["a","1"],["b","2"]]])"));
  EXPECT_EQ(d->ToString(t), "{a=\"1\", b=\"2\"}");
}

TEST(DatumTest, SizeAndDuplicateErrors) {
  Type t = T(R"({"key":"integer","min":1,"max":2})");
  auto empty = Datum::FromJson(t, Json::parse(R"(["set",[]])"), nullptr);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().details(), "set must have 1 to 2 members but 0 are present");
  auto dup = Datum::FromJson(t, Json::parse(R"(["set",[1,1]])"), nullptr);
  ASSERT_FALSE(dup.ok());
  Type m = T(R"({"key":"string","value":"string","min":0,"max":"unlimited"})");
  EXPECT_FALSE(Datum::FromJson(m, Json::parse(R"(["map",[["a","1"],["a","2"]]])"), nullptr).ok());
  EXPECT_FALSE(Datum::FromJson(m, Json::parse(R"(["set",[]])"), nullptr).ok());
}

TEST(DatumTest, DefaultsFollowMin) {
  EXPECT_EQ(Datum::Default(T("\"string\"")).ToJson(T("\"string\"")), Json(""));
  Type opt = T(R"({"key":"integer","min":0,"max":1})");
  EXPECT_TRUE(Datum::Default(opt).empty());
  EXPECT_EQ(Datum::Default(opt).ToJson(opt), Json::parse(R"(["set",[]])"));
}

TEST(DatumTest, SetAlgebra) {
  Type t = T(R"({"key":"integer","min":0,"max":"unlimited"})");
  Datum a = *Datum::FromJson(t, Json::parse(R"(["set",[1,2,3]])"), nullptr);
  Datum b = *Datum::FromJson(t, Json::parse(R"(["set",[3,4]])"), nullptr);
  Datum u = a;
  u.Union(b);
  EXPECT_EQ(u.ToJson(t), Json::parse(R"(["set",[1,2,3,4]])"));
  EXPECT_TRUE(u.Includes(a));
  EXPECT_FALSE(a.Excludes(b));
  u.SubtractKeys(b);
  EXPECT_EQ(u.ToJson(t), Json::parse(R"(["set",[1,2]])"));
}

TEST(DatumTest, MapPairDeleteNeedsEqualValue) {
  Type t = T(R"({"key":"string","value":"integer","min":0,"max":"unlimited"})");
  Datum d = *Datum::FromJson(t, Json::parse(R"(["map",[["a",1],["b",2]]])"), nullptr);
  Datum del = *Datum::FromJson(t, Json::parse(R"(["map",[["a",9],["b",2]]])"), nullptr);
  d.SubtractPairs(del);
  EXPECT_EQ(d.ToJson(t), Json::parse(R"(["map",[["a",1]]])"));
}

TEST(DatumTest, DiffThenApplyRestoresTheNewValue) {
  Type t = T(R"({"key":"string","value":"integer","min":0,"max":"unlimited"})");
  Datum old = *Datum::FromJson(t, Json::parse(R"(["map",[["a",1],["b",2],["c",3]]])"), nullptr);
  Datum next = *Datum::FromJson(t, Json::parse(R"(["map",[["a",1],["b",5],["d",4]]])"), nullptr);
  Datum diff = Datum::Diff(old, next);
  EXPECT_EQ(diff.ToJson(t), Json::parse(R"(["map",[["b",5],["c",3],["d",4]]])"));
  Datum applied = old;
  applied.ApplyDiff(diff);
  EXPECT_EQ(applied, next);
  Type s = T(R"({"key":"integer","min":0,"max":"unlimited"})");
  Datum so = *Datum::FromJson(s, Json::parse(R"(["set",[1,2]])"), nullptr);
  Datum sn = *Datum::FromJson(s, Json::parse(R"(["set",[2,3]])"), nullptr);
  Datum sd = Datum::Diff(so, sn);
  EXPECT_EQ(sd.ToJson(s), Json::parse(R"(["set",[1,3]])"));
  so.ApplyDiff(sd);
  EXPECT_EQ(so, sn);
}

}  // namespace
}  // namespace spate::ovsdb
