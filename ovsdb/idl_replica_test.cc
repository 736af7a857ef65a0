// Tests of the client replica alone (no server): small updates touch only
// the column they name, and small diffs of large sets and maps edit the
// existing value in place instead of rebuilding or copying it.
#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "ovsdb/idl_replica.h"

namespace spate::ovsdb::idl {
namespace {

const DatabaseSchema& Schema() {
  static const DatabaseSchema* schema = [] {
    const char* src = std::getenv("SPATE_SOURCE_DIR");
    auto s = DatabaseSchema::FromFile(std::string(src ? src : ".") +
                                      "/ovsdb/schemas/ovn-nb.ovsschema");
    EXPECT_TRUE(s.ok());
    return new DatabaseSchema(std::move(s).value());
  }();
  return *schema;
}

const Uuid kRow{0xabc, 1};
const Uuid kSwitch{0xabc, 2};

Json StringSet(int n, const std::string& prefix) {
  Json elems = Json::array();
  for (int i = 0; i < n; ++i) elems.push_back(prefix + std::to_string(100000 + i));
  return Json::array({"set", elems});
}

Json StringMap(int n) {
  Json pairs = Json::array();
  for (int i = 0; i < n; ++i) {
    pairs.push_back(Json::array({"k" + std::to_string(100000 + i), "v" + std::to_string(i)}));
  }
  return Json::array({"map", pairs});
}

// A replica of Logical_Port holding one port with a 10k-element set
// ("macs"), a 10k-element set ("port_security") and a 5k-pair map.
std::unique_ptr<Replica> BigRow() {
  auto r = Replica::Create(Schema(), {{"Logical_Port", {}, nullptr}});
  EXPECT_TRUE(r.ok());
  Json row = {{"name", "lp"},
              {"lswitch", Json::array({"uuid", kSwitch.ToString()})},
              {"macs", StringSet(10000, "m")},
              {"port_security", StringSet(10000, "p")},
              {"external_ids", StringMap(5000)}};
  Json update = {{"Logical_Port", {{kRow.ToString(), {{"initial", row}}}}}};
  EXPECT_TRUE((*r)->ApplyUpdates(update, true).ok());
  (void)(*r)->table("Logical_Port")->TakeChanges();
  return std::move(r).value();
}

Status Modify(Replica& r, Json diff) {
  return r.ApplyUpdates({{"Logical_Port", {{kRow.ToString(), {{"modify", diff}}}}}}, true);
}

const Datum& Field(Replica& r, const char* column) {
  const ReplicaTable* t = r.table("Logical_Port");
  return t->Find(kRow)->fields[t->schema().FindColumn(column)->index];
}

TEST(ReplicaTest, SmallDiffEditsLargeSetInPlace) {
  auto r = BigRow();
  const Atom* macs = Field(*r, "macs").keys().data();
  const Atom* security = Field(*r, "port_security").keys().data();
  ReplicaStats before = r->stats();

  // One element removed, then another added: the vectors are edited where
  // they are (no reallocation: the removal left room), the other columns
  // are not touched.
  ASSERT_TRUE(Modify(*r, {{"macs", "m100005"}}).ok());
  ASSERT_TRUE(Modify(*r, {{"macs", "m-new"}}).ok());
  EXPECT_EQ(Field(*r, "macs").keys().data(), macs);
  EXPECT_EQ(Field(*r, "port_security").keys().data(), security);
  EXPECT_EQ(Field(*r, "macs").size(), 10000u);
  EXPECT_LT(Field(*r, "macs").Find(Atom(std::string("m100005"))), 0);
  EXPECT_GE(Field(*r, "macs").Find(Atom(std::string("m-new"))), 0);
  EXPECT_EQ(r->stats().cells_written - before.cells_written, 2u);
  EXPECT_EQ(r->stats().elements_changed - before.elements_changed, 2u);

  std::vector<RowChange> changes = r->table("Logical_Port")->TakeChanges();
  ASSERT_EQ(changes.size(), 1u);
  const TableSchema& ts = r->table("Logical_Port")->schema();
  EXPECT_EQ(changes[0].columns, std::vector<int>{ts.FindColumn("macs")->index});
}

TEST(ReplicaTest, SmallDiffEditsLargeMapInPlace) {
  auto r = BigRow();
  const Atom* keys = Field(*r, "external_ids").keys().data();
  // New value for one key, one key removed, one added.
  Json diff = {{"external_ids", Json::array({"map", Json::array({
                                                        Json::array({"k100003", "changed"}),
                                                        Json::array({"k100004", "v4"}),
                                                        Json::array({"a-new", "x"}),
                                                    })})}};
  ASSERT_TRUE(Modify(*r, diff).ok());
  const Datum& ids = Field(*r, "external_ids");
  EXPECT_EQ(ids.keys().data(), keys);
  EXPECT_EQ(ids.size(), 5000u);
  EXPECT_EQ(ids.values()[ids.Find(Atom(std::string("k100003")))], Atom(std::string("changed")));
  EXPECT_LT(ids.Find(Atom(std::string("k100004"))), 0);
  EXPECT_EQ(ids.values()[ids.Find(Atom(std::string("a-new")))], Atom(std::string("x")));
}

// In-place application agrees with Datum::ApplyDiff on random diffs of
// every size (small ones in place, large ones rebuilt).
TEST(ReplicaTest, InPlaceDiffMatchesApplyDiff) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    auto r = Replica::Create(Schema(), {{"Logical_Port", {"macs", "external_ids"}, nullptr}});
    ASSERT_TRUE(r.ok());
    int n = static_cast<int>(rng() % 300);
    Json row = {{"macs", StringSet(n, "m")}, {"external_ids", StringMap(n)}};
    ASSERT_TRUE((*r)->ApplyUpdates({{"Logical_Port", {{kRow.ToString(), {{"insert", row}}}}}}, true)
                    .ok());
    Datum macs = Field(**r, "macs");
    Datum ids = Field(**r, "external_ids");
    Json set_diff = Json::array(), map_diff = Json::array();
    int k = static_cast<int>(rng() % (round % 2 ? 4 : 60)) + 1;
    for (int i = 0; i < k; ++i) {
      int e = static_cast<int>(rng() % (n + 20));
      set_diff.push_back("m" + std::to_string(100000 + e));
      map_diff.push_back(Json::array({"k" + std::to_string(100000 + e),
                                      rng() % 2 ? "v" + std::to_string(e) : std::string("z")}));
    }
    // A diff names each element once.
    std::sort(set_diff.begin(), set_diff.end());
    set_diff.erase(std::unique(set_diff.begin(), set_diff.end()), set_diff.end());
    std::sort(map_diff.begin(), map_diff.end(),
              [](const Json& a, const Json& b) { return a[0] < b[0]; });
    map_diff.erase(std::unique(map_diff.begin(), map_diff.end(),
                               [](const Json& a, const Json& b) { return a[0] == b[0]; }),
                   map_diff.end());
    Json diff = {{"macs", Json::array({"set", set_diff})},
                 {"external_ids", Json::array({"map", map_diff})}};
    ASSERT_TRUE(Modify(**r, diff).ok());
    const TableSchema& ts = *Schema().FindTable("Logical_Port");
    Type set_type = ts.FindColumn("macs")->type, map_type = ts.FindColumn("external_ids")->type;
    set_type.n_max = map_type.n_max = kUnlimited;
    macs.ApplyDiff(*Datum::FromJson(set_type, diff["macs"], nullptr));
    ids.ApplyDiff(*Datum::FromJson(map_type, diff["external_ids"], nullptr));
    EXPECT_EQ(Field(**r, "macs"), macs) << round;
    EXPECT_EQ(Field(**r, "external_ids"), ids) << round;
  }
}

// An RFC 7047 "update" modification repeats every column in "new"; only
// the columns in "old" are decoded and written.
TEST(ReplicaTest, UpdateFormatModifyWritesOnlyChangedColumns) {
  auto r = BigRow();
  ReplicaStats before = r->stats();
  Json nw = {{"name", "renamed"},
             {"lswitch", Json::array({"uuid", kSwitch.ToString()})},
             {"macs", StringSet(10000, "m")},
             {"port_security", StringSet(10000, "p")},
             {"external_ids", StringMap(5000)}};
  Json update = {{"Logical_Port", {{kRow.ToString(), {{"old", {{"name", "lp"}}}, {"new", nw}}}}}};
  ASSERT_TRUE(r->ApplyUpdates(update, false).ok());
  EXPECT_EQ(r->stats().cells_written - before.cells_written, 1u);
  EXPECT_EQ(r->stats().elements_changed - before.elements_changed, 1u);
  EXPECT_EQ(RowView(&r->table("Logical_Port")->schema(), r->table("Logical_Port")->Find(kRow))
                .GetString("name"),
            "renamed");
}

// Open vSwitch's update2 "modify" carries the new value of a column of at
// most one element (here the optional "tag" and "parent_name"), not a
// difference: ["set",[]] clears it, a lone element replaces it.  The
// symmetric-difference form (both elements, or the old one to clear) is
// also understood.
TEST(ReplicaTest, ModifyOfOptionalColumnCarriesTheNewValue) {
  auto r = BigRow();
  ASSERT_TRUE(Modify(*r, {{"tag", 5}, {"parent_name", "p1"}}).ok());
  EXPECT_EQ(Field(*r, "tag"), Datum(Atom(int64_t{5})));
  EXPECT_EQ(Field(*r, "parent_name"), Datum(Atom(std::string("p1"))));
  ASSERT_TRUE(Modify(*r, {{"tag", 7}, {"parent_name", "p2"}}).ok());  // Replaced.
  EXPECT_EQ(Field(*r, "tag"), Datum(Atom(int64_t{7})));
  EXPECT_EQ(Field(*r, "parent_name"), Datum(Atom(std::string("p2"))));
  (void)r->table("Logical_Port")->TakeChanges();
  Json empty = Json::array({"set", Json::array()});
  ASSERT_TRUE(Modify(*r, {{"tag", empty}, {"parent_name", empty}}).ok());  // Cleared.
  EXPECT_TRUE(Field(*r, "tag").empty());
  EXPECT_TRUE(Field(*r, "parent_name").empty());
  std::vector<RowChange> changes = r->table("Logical_Port")->TakeChanges();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].columns.size(), 2u);

  // The symmetric-difference form: old and new element, then the old one.
  ASSERT_TRUE(Modify(*r, {{"tag", 3}}).ok());
  ASSERT_TRUE(Modify(*r, {{"tag", Json::array({"set", Json::array({3, 9})})}}).ok());
  EXPECT_EQ(Field(*r, "tag"), Datum(Atom(int64_t{9})));
  ASSERT_TRUE(Modify(*r, {{"tag", 9}}).ok());
  EXPECT_TRUE(Field(*r, "tag").empty());
  // Three elements are no value of this column, nor a difference of two.
  EXPECT_FALSE(Modify(*r, {{"tag", Json::array({"set", Json::array({1, 2, 3})})}}).ok());
}

}  // namespace
}  // namespace spate::ovsdb::idl
