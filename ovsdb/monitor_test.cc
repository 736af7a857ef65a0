// Unit tests of Monitor (request parsing, update formats, conditions) and
// TxnHistory (composition of missed transactions), on an in-memory
// database driven by real transactions.
#include "ovsdb/monitor.h"

#include <set>

#include <gtest/gtest.h>

#include "ovsdb/json_codec.h"
#include "ovsdb/transaction.h"

namespace spate::ovsdb {
namespace {

using nlohmann::json;

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<DatabaseSchema> schema =
        DatabaseSchema::FromFile(std::string(SPATE_SOURCE_ROOT) + "/ovsdb/schemas/ovn-nb.ovsschema");
    ASSERT_TRUE(schema.ok());
    db_ = std::make_unique<Database>(std::make_shared<const DatabaseSchema>(std::move(schema).value()));
  }
  // Runs a one-operation transaction; returns its applied changes.
  std::shared_ptr<ChangeSet> Run(const json& op) {
    TransactOptions opts;
    TransactResult r = Transact(*db_, json::array({"OVN_Northbound", op}), opts);
    EXPECT_TRUE(r.changes != nullptr) << r.reply.dump();
    if (r.changes) history_.Record(*r.changes);
    return r.changes ? r.changes : std::make_shared<ChangeSet>();
  }
  std::shared_ptr<ChangeSet> Insert(const std::string& name) {
    return Run({{"op", "insert"}, {"table", "Logical_Switch"}, {"row", {{"name", name}}}});
  }
  std::shared_ptr<ChangeSet> Rename(const std::string& from, const std::string& to) {
    return Run({{"op", "update"}, {"table", "Logical_Switch"}, {"where", {{"name", "==", from}}},
                 {"row", {{"name", to}}}});
  }
  std::unique_ptr<Monitor> Make(const json& req, MonitorVersion v) {
    Result<std::unique_ptr<Monitor>> m = Monitor::Parse(*db_, req, v);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().ToString());
    return m.ok() ? std::move(m).value() : nullptr;
  }
  static json Updates(const Database& db, const Monitor& m, const ChangeSet& cs) {
    std::vector<RowDelta> deltas;
    for (const RowChange& rc : cs.rows) deltas.push_back(DeltaFromChange(rc));
    json tree = m.Updates(db, deltas);
    // The text writer the server uses must say the same, byte for byte.
    std::string text = "x";
    EXPECT_EQ(m.AppendUpdates(db, deltas, text), !tree.empty());
    EXPECT_EQ(text, tree.empty() ? "x" : "x" + DumpJson(tree));
    return tree;
  }

  std::unique_ptr<Database> db_;
  TxnHistory history_;
};

TEST_F(MonitorTest, ParseErrorsUseOvsWording) {
  auto err = [&](const json& req) {
    Result<std::unique_ptr<Monitor>> m = Monitor::Parse(*db_, req, MonitorVersion::kV2);
    return m.ok() ? std::string("ok") : m.error().details();
  };
  EXPECT_EQ(err(json::array()), "monitor-requests must be object");
  EXPECT_EQ(err({{"Nope", json::object()}}), "no table named Nope");
  EXPECT_EQ(err({{"Logical_Switch", {{"columns", {"x"}}}}}), "x is not a valid column name");
  EXPECT_EQ(err({{"Logical_Switch", {{"select", {{"initial", "x"}}}}}}),
            "Parsing table Logical_Switch select failed: Type mismatch for member 'initial'.");
}

// A column of at most one element travels as its new value in update2, as
// Open vSwitch sends it (ovsdb_datum_diff diffs only composite types).
TEST_F(MonitorTest, V2SendsNewValueOfOptionalColumn) {
  auto v2 = Make({{"Logical_Router", json::array({{{"columns", {"default_gw"}}}})}},
                 MonitorVersion::kV2);
  Run({{"op", "insert"}, {"table", "Logical_Router"}, {"row", {{"default_gw", "a"}}}});
  auto set = [&](json gw) {
    return Run({{"op", "update"}, {"table", "Logical_Router"}, {"where", json::array()},
                {"row", {{"default_gw", gw}}}});
  };
  auto to_b = set("b");
  EXPECT_EQ(Updates(*db_, *v2, *to_b)["Logical_Router"].begin().value(),
            json({{"modify", {{"default_gw", "b"}}}}));
  auto cleared = set(json::array({"set", json::array()}));
  EXPECT_EQ(Updates(*db_, *v2, *cleared)["Logical_Router"].begin().value(),
            json({{"modify", {{"default_gw", json::array({"set", json::array()})}}}}));
}

TEST_F(MonitorTest, V1AndV2Formats) {
  auto v1 = Make({{"Logical_Switch", {{"columns", {"name", "external_ids"}}}}}, MonitorVersion::kV1);
  auto v2 = Make({{"Logical_Switch", json::array({{{"columns", {"name", "external_ids"}}}})}},
                 MonitorVersion::kV2);
  auto ins = Insert("a");
  json u1 = Updates(*db_, *v1, *ins);
  json u2 = Updates(*db_, *v2, *ins);
  EXPECT_EQ(u1["Logical_Switch"].begin().value(),
            json({{"new", {{"name", "a"}, {"external_ids", {"map", json::array()}}}}}));
  EXPECT_EQ(u2["Logical_Switch"].begin().value(), json({{"insert", {{"name", "a"}}}}));
  auto mod = Rename("a", "b");
  EXPECT_EQ(Updates(*db_, *v1, *mod)["Logical_Switch"].begin().value(),
            json({{"old", {{"name", "a"}}},
                  {"new", {{"name", "b"}, {"external_ids", {"map", json::array()}}}}}));
  EXPECT_EQ(Updates(*db_, *v2, *mod)["Logical_Switch"].begin().value(),
            json({{"modify", {{"name", "b"}}}}));
  // A change to an unmonitored column produces nothing.
  auto only_name = Make({{"Logical_Switch", {{"columns", {"name"}}}}}, MonitorVersion::kV1);
  auto ext = Run({{"op", "update"}, {"table", "Logical_Switch"}, {"where", json::array()},
                   {"row", {{"external_ids", json::array({"map", json::array({json::array({"k", "v"})})})}}}});
  EXPECT_EQ(Updates(*db_, *only_name, *ext), json::object());
}

// Several requests for one table: each column keeps its own select flags
// (the expected updates are what Debian's ovsdb-server 3.1 sent for the
// same requests and transactions).
TEST_F(MonitorTest, TextUpdatesOfSetsMapsAndDeletesMatchTheTree) {
  auto v1 = Make({{"Logical_Switch", json::object()}}, MonitorVersion::kV1);
  auto v2 = Make({{"Logical_Switch", json::object()}}, MonitorVersion::kV2);
  auto v3 = Make({{"Logical_Switch", json::object()}}, MonitorVersion::kV3);
  std::vector<std::shared_ptr<ChangeSet>> changes;
  changes.push_back(Insert("s\"1\u00e9"));
  changes.push_back(Insert("a"));
  changes.push_back(Run(json::parse(R"({"op":"mutate","table":"Logical_Switch","where":[],
      "mutations":[["external_ids","insert",["map",[["k","v"],["j","\n"]]]]]})")));
  changes.push_back(Run(json::parse(R"({"op":"mutate","table":"Logical_Switch","where":[],
      "mutations":[["external_ids","delete",["set",["k"]]]]})")));
  changes.push_back(Rename("a", "b"));
  changes.push_back(Run({{"op", "delete"}, {"table", "Logical_Switch"}, {"where", json::array()}}));
  for (const auto& cs : changes) {
    for (const Monitor* m : {v1.get(), v2.get(), v3.get()}) {
      EXPECT_FALSE(Updates(*db_, *m, *cs).empty());
    }
  }
}

TEST_F(MonitorTest, MergedRequestsKeepPerColumnSelect) {
  json map_kv = json::array({"map", json::array({json::array({"k", "v"})})});
  Run({{"op", "insert"}, {"table", "Logical_Switch"}, {"row", {{"name", "a"}, {"external_ids", map_kv}}}});
  json req = {{"Logical_Switch",
               json::array({{{"columns", {"name"}},
                             {"select", {{"initial", false}, {"insert", true},
                                         {"delete", false}, {"modify", false}}}},
                            {{"columns", {"external_ids"}},
                             {"select", {{"initial", true}, {"insert", false},
                                         {"delete", true}, {"modify", true}}}}})}};
  auto v1 = Make(req, MonitorVersion::kV1);
  auto v2 = Make(req, MonitorVersion::kV2);
  EXPECT_EQ(v2->Initial(*db_)["Logical_Switch"].begin().value(),
            json({{"initial", {{"external_ids", map_kv}}}}));
  // Only "name" changed, and it does not select modify: OVS still sends
  // the row, with no changed column in it.
  auto mod = Rename("a", "b");
  EXPECT_EQ(Updates(*db_, *v2, *mod)["Logical_Switch"].begin().value(), json({{"modify", json::object()}}));
  EXPECT_EQ(Updates(*db_, *v1, *mod)["Logical_Switch"].begin().value(),
            json({{"old", json::object()}, {"new", {{"external_ids", map_kv}}}}));
  auto ins = Run({{"op", "insert"}, {"table", "Logical_Switch"},
                  {"row", {{"name", "c"}, {"external_ids", map_kv}}}});
  EXPECT_EQ(Updates(*db_, *v2, *ins)["Logical_Switch"].begin().value(), json({{"insert", {{"name", "c"}}}}));
  auto del = Run({{"op", "delete"}, {"table", "Logical_Switch"}, {"where", {{"name", "==", "c"}}}});
  EXPECT_EQ(Updates(*db_, *v1, *del)["Logical_Switch"].begin().value(),
            json({{"old", {{"external_ids", map_kv}}}}));
  // Columns named twice, in one request or across two, are refused.
  auto dup = Monitor::Parse(
      *db_, {{"Logical_Switch", json::array({{{"columns", {"name"}}}, {{"columns", {"name", "nope"}}}})}},
      MonitorVersion::kV2);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().details(), "column name mentioned more than once");
  auto all_twice = Monitor::Parse(*db_, {{"Logical_Switch", json::array({json::object(), json::object()})}},
                                  MonitorVersion::kV1);
  ASSERT_FALSE(all_twice.ok());
}

TEST_F(MonitorTest, ConditionMovesRowsInAndOut) {
  Insert("a");
  auto m = Make({{"Logical_Switch", json::array({{{"columns", {"name"}}, {"where", {{"name", "==", "b"}}}}})}},
                MonitorVersion::kV2);
  EXPECT_EQ(m->Initial(*db_), json::object());
  auto in = Rename("a", "b");
  EXPECT_EQ(Updates(*db_, *m, *in)["Logical_Switch"].begin().value(),
            json({{"insert", {{"name", "b"}}}}));
  auto out = Rename("b", "c");
  EXPECT_EQ(Updates(*db_, *m, *out)["Logical_Switch"].begin().value(), json({{"delete", nullptr}}));
}

TEST_F(MonitorTest, HistoryComposesMissedTransactions) {
  history_.Enable();
  auto first = Insert("keep");
  Uuid since = first->txn_id;
  Insert("gone");  // Inserted and deleted after `since`: invisible.
  Rename("keep", "k1");
  Rename("k1", "k2");
  Insert("new");
  Run({{"op", "delete"}, {"table", "Logical_Switch"}, {"where", {{"name", "==", "gone"}}}});
  auto m = Make({{"Logical_Switch", json::array({{{"columns", {"name"}}}})}}, MonitorVersion::kV3);
  std::optional<std::vector<HistoryTxn::Row>> rows = history_.Since(since);
  ASSERT_TRUE(rows.has_value());
  std::vector<RowDelta> deltas;
  for (const auto& r : *rows) deltas.push_back(r.Delta());
  json updates = m->Updates(*db_, deltas)["Logical_Switch"];
  std::multiset<std::string> seen;
  for (const auto& [uuid, u] : updates.items()) seen.insert(u.dump());
  EXPECT_EQ(seen, (std::multiset<std::string>{R"({"modify":{"name":"k2"}})",
                                              R"({"insert":{"name":"new"}})"}));
  EXPECT_FALSE(history_.Since(Uuid::Random()).has_value());
  EXPECT_FALSE(history_.Since(Uuid{}).has_value());
}

TEST(TxnHistoryTest, IsBounded) {
  TxnHistory h(3);
  h.Enable();
  for (int i = 0; i < 5; ++i) {
    ChangeSet cs;
    cs.phase = ChangeSet::Phase::kApplied;
    cs.txn_id = Uuid::Random();
    h.Record(cs);
  }
  EXPECT_EQ(h.size(), 3u);
}

}  // namespace
}  // namespace spate::ovsdb
