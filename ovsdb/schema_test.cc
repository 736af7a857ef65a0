#include "ovsdb/schema.h"

#include <gtest/gtest.h>

#include "ovsdb/test_util.h"

namespace spate::ovsdb {
namespace {

using testing::RunCommand;
using testing::SourcePath;
using testing::TempDir;

Result<DatabaseSchema> Parse(const char* text) {
  return DatabaseSchema::FromJson(Json::parse(text));
}

TEST(SchemaTest, ImplicitColumnsComeFirst) {
  auto s = Parse(R"({"name":"D","version":"1.0.0","tables":{"T":{"columns":{"b":{"type":"integer"},"a":{"type":"string"}}}}})");
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  const TableSchema* t = s->FindTable("T");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->columns.size(), 4u);
  EXPECT_EQ(t->columns[0].name, "_uuid");
  EXPECT_EQ(t->columns[1].name, "_version");
  EXPECT_EQ(t->FindColumn("a")->index, 2);
  EXPECT_FALSE(t->columns[0].mutable_);
}

TEST(SchemaTest, NoRootTableMeansAllRoot) {
  auto none = Parse(R"({"name":"D","version":"1.0.0","tables":{"A":{"columns":{"x":{"type":"integer"}}},"B":{"columns":{"x":{"type":"integer"}}}}})");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->FindTable("A")->is_root);
  EXPECT_TRUE(none->FindTable("B")->is_root);
  auto some = Parse(R"({"name":"D","version":"1.0.0","tables":{"A":{"columns":{"x":{"type":"integer"}},"isRoot":true},"B":{"columns":{"x":{"type":"integer"}}}}})");
  ASSERT_TRUE(some.ok());
  EXPECT_TRUE(some->FindTable("A")->is_root);
  EXPECT_FALSE(some->FindTable("B")->is_root);
  EXPECT_EQ(some->ToJson()["tables"]["A"]["isRoot"], Json(true));
  EXPECT_FALSE(none->ToJson()["tables"]["A"].contains("isRoot"));
}

TEST(SchemaTest, ClearErrorsForBadSchemas) {
  struct Case { const char* text; const char* expect; };
  Case cases[] = {
      {R"({"version":"1.0.0","tables":{}})", "\"name\""},
      {R"({"name":"D","version":"1.0","tables":{}})", "not in format x.y.z"},
      {R"({"name":"D","version":"1.0.0","tables":{"T":{"columns":{"r":{"type":{"key":{"type":"uuid","refTable":"Nope"}}}}}}})",
       "reference to nonexistent table Nope"},
      {R"({"name":"D","version":"1.0.0","tables":{"T":{"columns":{"_x":{"type":"integer"}}}}})", "reserved"},
      {R"({"name":"D","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":"integer"}},"indexes":[["y"]]}}})", "is not a column"},
      {R"({"name":"D","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":"integer"}},"maxRows":0}}})", "maxRows"},
      {R"({"name":"D","version":"1.0.0","tables":{"T":{"columns":{}}}})", "at least one column"},
      {R"({"name":"D","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":"integer","ephemeral":true}},"indexes":[["x"]]}}})", "ephemeral"},
  };
  for (const Case& c : cases) {
    auto s = Parse(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.error().details().find(c.expect), std::string::npos)
        << s.error().details() << " / expected " << c.expect;
  }
}

TEST(SchemaTest, ReadsDebiansVswitchSchemaAndRoundTrips) {
  auto s = DatabaseSchema::FromFile("/usr/share/openvswitch/vswitch.ovsschema");
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(s->name, "Open_vSwitch");
  auto again = DatabaseSchema::FromJson(s->ToJson());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *s);
  EXPECT_EQ(s->FindTable("Open_vSwitch")->max_rows, 1u);
}

class RepositorySchemaTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RepositorySchemaTest, LoadsAndDebianAcceptsIt) {
  std::string path = SourcePath(std::string("ovsdb/schemas/") + GetParam());
  auto s = DatabaseSchema::FromFile(path);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_FALSE(s->cksum.empty());
  EXPECT_EQ(s->version.empty(), false);
  TempDir dir;
  auto r = RunCommand("/usr/bin/ovsdb-tool create " + dir / "x.db" + " " + path + " 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  auto name = RunCommand("/usr/bin/ovsdb-tool db-name " + dir / "x.db");
  EXPECT_EQ(name.out, s->name + "\n");
}

INSTANTIATE_TEST_SUITE_P(All, RepositorySchemaTest,
                         ::testing::Values("ovn.ovsschema", "ovn-nb.ovsschema",
                                           "vswitch.ovsschema"));

TEST(SchemaTest, SouthboundMatchesTheDesign) {
  auto s = DatabaseSchema::FromFile(SourcePath("ovsdb/schemas/ovn.ovsschema"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "OVN");
  const TableSchema* b = s->FindTable("Bindings");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->is_root);
  EXPECT_EQ(b->FindColumn("tunnel_key")->type.key.min_integer, 1);
  EXPECT_EQ(b->FindColumn("tunnel_key")->type.key.max_integer, 65535);
  EXPECT_EQ(b->FindColumn("chassis")->type.key.type, AtomicType::kString);
  EXPECT_EQ(b->indexes.size(), 2u);
  EXPECT_FALSE(s->FindTable("Encap")->is_root);
  EXPECT_FALSE(s->FindTable("Gateway")->is_root);
  EXPECT_EQ(s->FindTable("Pipeline")->FindColumn("table_id")->type.key.max_integer, 31);
  EXPECT_EQ(s->FindTable("Encap")->FindColumn("type")->type.key.enum_values.size(), 3u);
}

TEST(SchemaTest, NorthboundHasNoRootSoAllTablesAreRoot) {
  auto s = DatabaseSchema::FromFile(SourcePath("ovsdb/schemas/ovn-nb.ovsschema"));
  ASSERT_TRUE(s.ok());
  for (const TableSchema& t : s->tables) EXPECT_TRUE(t.is_root) << t.name;
  EXPECT_NE(s->FindTable("Logical_Port")->FindColumn("enabled"), nullptr);
}

}  // namespace
}  // namespace spate::ovsdb
