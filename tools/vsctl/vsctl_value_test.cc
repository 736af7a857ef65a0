// Unit tests of ovs-vsctl's value syntax (vsctl_value.h).
#include "tools/vsctl/vsctl_value.h"

#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace spate::vsctl {
namespace {

using ovsdb::Type;

Type MustType(const char* json) {
  Result<ovsdb::Json> j = ovsdb::ParseJson(json);
  EXPECT_TRUE(j.ok());
  Result<Type> t = Type::FromJson(*j);
  EXPECT_TRUE(t.ok());
  return *t;
}

std::string Show(const Type& type, std::string_view text) {
  Result<ovsdb::Datum> d = ParseDatum(type, text, nullptr);
  if (!d) return "error: " + d.error().ToString();
  return d->ToString(type);
}

TEST(VsctlValue, ScalarsSetsMapsAndRanges) {
  Type ints = MustType(R"({"key":{"type":"integer","minInteger":0,"maxInteger":4095},"min":0,"max":4096})");
  EXPECT_EQ(Show(ints, "[1, 3-5,2]"), "[1, 2, 3, 4, 5]");
  EXPECT_EQ(Show(ints, "1 2"), "[1, 2]");
  EXPECT_EQ(Show(ints, "[]"), "[]");
  EXPECT_EQ(Show(ints, "5-3"), "error: syntax error: \"5-3\" is not a valid range. Range end cannot be before start.");
  EXPECT_EQ(Show(ints, "abc"), "error: syntax error: \"abc\" is not a valid integer or range");
  EXPECT_EQ(Show(ints, "9999"),
            "error: constraint violation: 9999 is not in the valid range 0 to 4095 (inclusive)");
  Type map = MustType(R"({"key":"string","value":"string","min":0,"max":"unlimited"})");
  EXPECT_EQ(Show(map, R"({a=b, "x y"="1 2"})"), R"({a=b, "x y"="1 2"})");
  EXPECT_EQ(Show(map, "a=b c=d"), "{a=b, c=d}");
  EXPECT_EQ(Show(map, "{a}").rfind("error: syntax error", 0), 0u);
  Type boolean = MustType(R"("boolean")");
  EXPECT_EQ(Show(boolean, "true"), "true");
  EXPECT_EQ(Show(boolean, "maybe"),
            "error: syntax error: \"maybe\" is not a valid boolean (use \"true\" or \"false\")");
  Type str = MustType(R"("string")");
  EXPECT_EQ(Show(str, R"("a\"b")"), R"("a\"b")");
  EXPECT_EQ(Show(str, R"("open)").rfind("error: syntax error", 0), 0u);
}

TEST(VsctlValue, SymbolsAndUuids) {
  Type ref = MustType(R"({"key":{"type":"uuid","refTable":"Port"},"min":0,"max":"unlimited"})");
  SymbolTable symbols;
  Result<ovsdb::Datum> d = ParseDatum(ref, "@p", &symbols);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(symbols.count("@p"), 1u);
  EXPECT_TRUE(symbols["@p"].referenced);
  EXPECT_FALSE(symbols["@p"].created);
  EXPECT_EQ(d->keys()[0].uuid(), symbols["@p"].uuid);
  EXPECT_FALSE(ParseDatum(ref, "not-a-uuid", &symbols).ok());
  EXPECT_FALSE(ParseDatum(ref, "@p", nullptr).ok());
}

TEST(VsctlValue, ColumnArguments) {
  Result<ColumnArg> a = ParseColumnArg("external_ids:\"a b\"=c", {"="}, true);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->column, "external_ids");
  EXPECT_EQ(a->key, "\"a b\"");
  EXPECT_EQ(a->value, "c");
  Result<ColumnArg> f = ParseColumnArg("tag{>=}5", {"{>=}", ">=", "="}, true);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->op, "{>=}");
  EXPECT_FALSE(ParseColumnArg("name", {"="}, true).ok());
  EXPECT_FALSE(ParseColumnArg("=x", {"="}, true).ok());
  EXPECT_FALSE(ParseColumnArg("name!", {}, false).ok());
}

TEST(VsctlValue, BareForm) {
  Type map = MustType(R"({"key":"string","value":"string","min":0,"max":"unlimited"})");
  Result<ovsdb::Datum> d = ParseDatum(map, R"({a=b, "x y"=z})", nullptr);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(BareString(*d), "a=b x y=z");
}

// Random command-line text never crashes the parsers: every call returns
// a value or an error.
TEST(VsctlValue, RandomInputGivesValueOrError) {
  const std::vector<Type> types = {
      MustType(R"({"key":{"type":"integer","minInteger":0,"maxInteger":4095},"min":0,"max":4096})"),
      MustType(R"({"key":"string","value":"string","min":0,"max":"unlimited"})"),
      MustType(R"({"key":{"type":"uuid","refTable":"Port"},"min":1,"max":"unlimited"})"),
      MustType(R"({"key":"real","value":"boolean","min":0,"max":"unlimited"})"),
      MustType(R"("boolean")")};
  const std::string alphabet = "ab01-=:,[]{}\" @!<>\\ \t\xc3";
  std::mt19937 rng(12345);
  size_t values = 0;
  for (int i = 0; i < 20000; i++) {
    std::string text;
    size_t n = rng() % 12;
    for (size_t j = 0; j < n; j++) text += alphabet[rng() % alphabet.size()];
    SymbolTable symbols;
    for (const Type& type : types) {
      Result<ovsdb::Datum> d = ParseDatum(type, text, &symbols);
      if (d) {
        values++;
        EXPECT_TRUE(d->CheckConstraints(type).ok()) << text;
      } else {
        EXPECT_FALSE(d.error().ToString().empty());
      }
      bool keys_only = false;
      (void)ParseKeysOrDatum(type, text, &symbols, &keys_only);
    }
    (void)ParseColumnArg(text, {"{>=}", "!=", "="}, true);
    (void)ParseColumnArg(text, {}, false);
  }
  EXPECT_GT(values, 0u);
}

}  // namespace
}  // namespace spate::vsctl
