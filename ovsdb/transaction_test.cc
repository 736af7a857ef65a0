#include "ovsdb/transaction.h"

#include <gtest/gtest.h>

namespace spate::ovsdb {
namespace {

constexpr const char* kSchema = R"({"name":"T","version":"1.0.0","tables":{
 "Root":{"columns":{
   "name":{"type":"string"},
   "n":{"type":{"key":{"type":"integer","minInteger":0,"maxInteger":100}}},
   "r":{"type":"real"},
   "flag":{"type":{"key":"boolean","min":0,"max":1}},
   "kids":{"type":{"key":{"type":"uuid","refTable":"Kid"},"min":0,"max":"unlimited"}},
   "weak":{"type":{"key":{"type":"uuid","refTable":"Kid","refType":"weak"},"min":0,"max":"unlimited"}},
   "must":{"type":{"key":{"type":"uuid","refTable":"Kid","refType":"weak"},"min":0,"max":1}},
   "tags":{"type":{"key":"integer","min":0,"max":3}},
   "ids":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}},
   "fixed":{"type":"string","mutable":false}},
  "isRoot":true,"indexes":[["name"]],"maxRows":5},
 "Kid":{"columns":{"k":{"type":"integer"},
   "sub":{"type":{"key":{"type":"uuid","refTable":"Kid"},"min":0,"max":1}}}}}})";

class TransactionTest : public ::testing::Test {
 protected:
  TransactionTest()
      : db_(std::make_shared<DatabaseSchema>(*DatabaseSchema::FromJson(Json::parse(kSchema)))) {}

  TransactResult Run(const std::string& ops, TransactOptions opts = {}) {
    Json params = Json::parse("[\"T\"," + ops + "]");
    return Transact(db_, params, opts);
  }
  Json Reply(const std::string& ops) { return Run(ops).reply; }
  // Inserts a Root row and returns its uuid string.
  std::string InsertRoot(const std::string& row) {
    Json r = Reply(R"({"op":"insert","table":"Root","row":)" + row + "}");
    EXPECT_TRUE(r[0].contains("uuid")) << r;
    return r[0]["uuid"][1].get<std::string>();
  }
  size_t Rows(const char* table) { return db_.FindTable(table)->size(); }

  Database db_;
};

TEST_F(TransactionTest, InsertThenSelect) {
  InsertRoot(R"({"name":"a","n":5,"ids":["map",[["k","v"]]]})");
  Json r = Reply(R"({"op":"select","table":"Root","where":[["name","==","a"]],"columns":["n","ids"]})");
  EXPECT_EQ(r, Json::parse(R"([{"rows":[{"n":5,"ids":["map",[["k","v"]]]}]}])"));
}

TEST_F(TransactionTest, NamedUuidMayBeUsedBeforeItsInsert) {
  Json r = Reply(R"({"op":"insert","table":"Root","row":{"name":"a","kids":["named-uuid","k"]}},
                   {"op":"insert","table":"Kid","row":{"k":1},"uuid-name":"k"})");
  ASSERT_EQ(r.size(), 2u) << r;
  EXPECT_EQ(Rows("Kid"), 1u);
  const Row* kid = db_.FindTable("Kid")->rows().begin()->second.get();
  EXPECT_EQ(kid->uuid.ToString(), r[1]["uuid"][1]);
  EXPECT_EQ(kid->n_strong_refs, 1u);
}

TEST_F(TransactionTest, ExplicitUuidAndDuplicates) {
  Json r = Reply(R"({"op":"insert","table":"Root","row":{"name":"a"},"uuid":"12345678-1234-1234-1234-123456789012"})");
  EXPECT_EQ(r[0]["uuid"][1], "12345678-1234-1234-1234-123456789012");
  Json d = Reply(R"({"op":"insert","table":"Root","row":{"name":"b"},"uuid":"12345678-1234-1234-1234-123456789012"})");
  EXPECT_EQ(d[0]["error"], "duplicate uuid");
  Json n = Reply(R"({"op":"insert","table":"Kid","row":{},"uuid-name":"x"},{"op":"insert","table":"Kid","row":{},"uuid-name":"x"})");
  EXPECT_EQ(n[1]["error"], "duplicate uuid-name");
}

TEST_F(TransactionTest, FailedOpAbortsAndPadsWithNulls) {
  Json r = Reply(R"({"op":"insert","table":"Root","row":{"name":"a"}},
                   {"op":"insert","table":"Root","row":{"n":101}},
                   {"op":"insert","table":"Root","row":{"name":"c"}})");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1]["error"], "constraint violation");
  EXPECT_EQ(r[1]["details"], "101 is not in the valid range 0 to 100 (inclusive)");
  EXPECT_TRUE(r[2].is_null());
  EXPECT_EQ(Rows("Root"), 0u);
}

TEST_F(TransactionTest, UpdateMutateDeleteCount) {
  InsertRoot(R"({"name":"a","n":1})");
  InsertRoot(R"({"name":"b","n":2})");
  EXPECT_EQ(Reply(R"({"op":"update","table":"Root","where":[["n",">=",2]],"row":{"r":1.5}})")[0]["count"], 1);
  EXPECT_EQ(Reply(R"({"op":"mutate","table":"Root","where":[],"mutations":[["n","+=",10],["n","*=",2],["n","-=",1],["n","/=",3],["n","%=",5]]})")[0]["count"], 2);
  Json sel = Reply(R"({"op":"select","table":"Root","where":[["name","==","a"]],"columns":["n"]})");
  EXPECT_EQ(sel[0]["rows"][0]["n"], ((1 + 10) * 2 - 1) / 3 % 5);
  EXPECT_EQ(Reply(R"({"op":"delete","table":"Root","where":[["name","!=","a"]]})")[0]["count"], 1);
  EXPECT_EQ(Rows("Root"), 1u);
}

TEST_F(TransactionTest, SetAndMapMutations) {
  InsertRoot(R"({"name":"a","tags":["set",[1]],"ids":["map",[["a","1"],["b","2"]]]})");
  Json r = Reply(R"({"op":"mutate","table":"Root","where":[],"mutations":[
      ["tags","insert",["set",[2,3]]],["ids","delete",["set",["a"]]],
      ["ids","delete",["map",[["b","9"]]]],["ids","insert",["map",[["c","3"]]]]]})");
  EXPECT_EQ(r[0]["count"], 1) << r;
  Json sel = Reply(R"({"op":"select","table":"Root","where":[],"columns":["tags","ids"]})");
  EXPECT_EQ(sel[0]["rows"][0]["tags"], Json::parse(R"(["set",[1,2,3]])"));
  EXPECT_EQ(sel[0]["rows"][0]["ids"], Json::parse(R"(["map",[["b","2"],["c","3"]]])"));
  Json over = Reply(R"({"op":"mutate","table":"Root","where":[],"mutations":[["tags","insert",4]]})");
  EXPECT_EQ(over[0]["error"], "constraint violation");
  EXPECT_EQ(over[0]["details"], "Attempted to store 4 elements in set of up to 3 integers.");
}

TEST_F(TransactionTest, MutationErrors) {
  InsertRoot(R"({"name":"a","n":1})");
  EXPECT_EQ(Reply(R"({"op":"mutate","table":"Root","where":[],"mutations":[["n","/=",0]]})")[0]["error"], "domain error");
  EXPECT_EQ(Reply(R"({"op":"mutate","table":"Root","where":[],"mutations":[["n","+=",1000]]})")[0]["error"], "constraint violation");
  EXPECT_EQ(Reply(R"({"op":"mutate","table":"Root","where":[],"mutations":[["n","+=",9223372036854775807]]})")[0]["error"], "range error");
  EXPECT_EQ(Reply(R"({"op":"mutate","table":"Root","where":[],"mutations":[["name","+=","x"]]})")[0]["error"], "syntax error");
  EXPECT_EQ(Reply(R"({"op":"mutate","table":"Root","where":[],"mutations":[["r","%=",1]]})")[0]["error"], "syntax error");
  EXPECT_EQ(Reply(R"({"op":"mutate","table":"Root","where":[],"mutations":[["n","^=",1]]})")[0]["error"], "unknown mutator");
  EXPECT_EQ(Reply(R"({"op":"mutate","table":"Root","where":[],"mutations":[["fixed","insert","x"]]})")[0]["error"], "constraint violation");
  EXPECT_EQ(Reply(R"({"op":"update","table":"Root","where":[],"row":{"fixed":"x"}})")[0]["details"],
            "Cannot update immutable column fixed in table Root.");
}

TEST_F(TransactionTest, EveryConditionFunction) {
  InsertRoot(R"({"name":"a","n":5,"tags":["set",[1,2]],"flag":true})");
  struct Case { const char* where; int count; };
  Case cases[] = {
      {R"([["n","<",6]])", 1}, {R"([["n","<",5]])", 0}, {R"([["n","<=",5]])", 1},
      {R"([["n",">",5]])", 0}, {R"([["n",">=",5]])", 1}, {R"([["n","==",5]])", 1},
      {R"([["n","!=",5]])", 0}, {R"([["tags","includes",1]])", 1},
      {R"([["tags","includes",["set",[1,3]]]])", 0}, {R"([["tags","excludes",3]])", 1},
      {R"([["tags","excludes",["set",[2,3]]]])", 0}, {R"([true])", 1}, {R"([false])", 0},
      {R"([["flag","==",true],["name","==","a"]])", 1}, {R"([["r","<",1.5]])", 1}};
  for (const Case& c : cases) {
    Json r = Reply(std::string(R"({"op":"select","table":"Root","columns":["name"],"where":)") + c.where + "}");
    ASSERT_TRUE(r[0].contains("rows")) << c.where << " " << r;
    EXPECT_EQ(r[0]["rows"].size(), static_cast<size_t>(c.count)) << c.where;
  }
  EXPECT_EQ(Reply(R"({"op":"select","table":"Root","where":[["name","<","a"]]})")[0]["error"], "syntax error");
  EXPECT_EQ(Reply(R"({"op":"select","table":"Root","where":[["nope","==",1]]})")[0]["error"], "unknown column");
  EXPECT_EQ(Reply(R"({"op":"select","table":"Root","where":[["n","like",1]]})")[0]["error"], "unknown function");
}

TEST_F(TransactionTest, StrongReferencesAreChecked) {
  Json r = Reply(R"({"op":"insert","table":"Root","row":{"name":"a","kids":["uuid","12345678-1234-1234-1234-123456789012"]}})");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1]["error"], "referential integrity violation");
  EXPECT_EQ(Rows("Root"), 0u);
  Reply(R"({"op":"insert","table":"Root","row":{"name":"a","kids":["named-uuid","k"]}},
           {"op":"insert","table":"Kid","row":{"k":1},"uuid-name":"k"})");
  Json del = Reply(R"({"op":"delete","table":"Kid","where":[]})");
  ASSERT_EQ(del.size(), 2u);
  EXPECT_EQ(del[1]["error"], "referential integrity violation");
  EXPECT_NE(del[1]["details"].get<std::string>().find("because of 1 remaining reference(s)"), std::string::npos);
  EXPECT_EQ(Rows("Kid"), 1u);
}

TEST_F(TransactionTest, GarbageCollectsUnreferencedNonRootRows) {
  Json orphan = Reply(R"({"op":"insert","table":"Kid","row":{"k":1}})");
  EXPECT_EQ(orphan.size(), 1u);
  EXPECT_EQ(Rows("Kid"), 0u);
  Reply(R"({"op":"insert","table":"Root","row":{"name":"a","kids":["named-uuid","k"]}},
           {"op":"insert","table":"Kid","row":{"k":1,"sub":["named-uuid","g"]},"uuid-name":"k"},
           {"op":"insert","table":"Kid","row":{"k":2},"uuid-name":"g"})");
  EXPECT_EQ(Rows("Kid"), 2u);
  TransactResult r = Run(R"({"op":"update","table":"Root","where":[],"row":{"kids":["set",[]]}})");
  EXPECT_EQ(Rows("Kid"), 0u);  // Cascades through Kid.sub.
  ASSERT_TRUE(r.changes);
  int deletes = 0;
  for (const RowChange& ch : r.changes->rows) deletes += ch.kind == ChangeKind::kDelete;
  EXPECT_EQ(deletes, 2);
}

TEST_F(TransactionTest, WeakReferencesToDeletedRowsAreRemoved) {
  Json ins = Reply(R"({"op":"insert","table":"Root","row":{"name":"a","kids":["named-uuid","k"],"weak":["named-uuid","k"]}},
                     {"op":"insert","table":"Root","row":{"name":"b","kids":["named-uuid","j"]}},
                     {"op":"insert","table":"Kid","row":{"k":1},"uuid-name":"k"},
                     {"op":"insert","table":"Kid","row":{"k":2},"uuid-name":"j"})");
  ASSERT_EQ(ins.size(), 4u) << ins;
  TransactResult r = Run(R"({"op":"update","table":"Root","where":[["name","==","a"]],"row":{"kids":["set",[]]}})");
  EXPECT_EQ(r.reply.size(), 1u) << r.reply;
  EXPECT_EQ(Rows("Kid"), 1u);
  Json sel = Reply(R"({"op":"select","table":"Root","where":[["name","==","a"]],"columns":["weak"]})");
  EXPECT_EQ(sel[0]["rows"][0]["weak"], Json::parse(R"(["set",[]])"));
}

TEST_F(TransactionTest, MaxRowsAndIndexes) {
  for (int i = 0; i < 5; ++i) InsertRoot("{\"name\":\"r" + std::to_string(i) + "\"}");
  Json r = Reply(R"({"op":"insert","table":"Root","row":{"name":"r9"}})");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1]["details"], "transaction causes \"Root\" table to contain 6 rows, greater than the schema-defined limit of 5 row(s)");
  Json dup = Reply(R"({"op":"update","table":"Root","where":[["name","==","r1"]],"row":{"name":"r0"}})");
  ASSERT_EQ(dup.size(), 2u);
  EXPECT_EQ(dup[1]["error"], "constraint violation");
  EXPECT_NE(dup[1]["details"].get<std::string>().find("had the following index values before the transaction: r1."), std::string::npos);
  // Swapping two names inside one transaction keeps the index unique.
  Json swap = Reply(R"({"op":"update","table":"Root","where":[["name","==","r1"]],"row":{"name":"tmp"}},
                      {"op":"update","table":"Root","where":[["name","==","r0"]],"row":{"name":"r1"}},
                      {"op":"update","table":"Root","where":[["name","==","tmp"]],"row":{"name":"r0"}})");
  EXPECT_EQ(swap.size(), 3u) << swap;
}

TEST_F(TransactionTest, WaitBlocksTimesOutOrSucceeds) {
  InsertRoot(R"({"name":"a"})");
  std::string wait = R"({"op":"wait","timeout":100,"table":"Root","where":[],"columns":["name"],"until":"==","rows":[{"name":"b"}]})";
  TransactOptions opts;
  opts.can_block = true;
  opts.start_ms = 1000;
  opts.now_ms = 1000;
  TransactResult r = Run(wait, opts);
  EXPECT_TRUE(r.blocked);
  EXPECT_EQ(r.retry_deadline_ms, 1100);
  opts.now_ms = 1100;
  r = Run(wait, opts);
  EXPECT_FALSE(r.blocked);
  EXPECT_EQ(r.reply[0]["error"], "timed out");
  Reply(R"({"op":"update","table":"Root","where":[],"row":{"name":"b"}})");
  opts.now_ms = 1050;
  r = Run(wait, opts);
  EXPECT_FALSE(r.blocked);
  EXPECT_EQ(r.reply, Json::parse("[{}]"));
  std::string unsatisfied = wait;
  unsatisfied.replace(unsatisfied.find("\"==\""), 4, "\"!=\"");
  TransactResult tool = Run(unsatisfied);  // can_block = false.
  EXPECT_EQ(tool.reply[0]["error"], "not supported");
}

// Open vSwitch's ovsdb-tool 3.1, asked the same, answers the same: without
// "columns" only "rows":[] equals the table, whatever it holds.
TEST_F(TransactionTest, WaitWithoutColumnsEqualsOnlyNoRows) {
  auto wait = [](const char* until, const char* rows) {
    return std::string(R"({"op":"wait","timeout":0,"table":"Root","where":[],"until":")") +
           until + R"(","rows":)" + rows + "}";
  };
  for (int filled = 0; filled < 2; ++filled) {
    if (filled) InsertRoot(R"({"name":"a"})");
    EXPECT_EQ(Run(wait("==", "[]")).reply, Json::parse("[{}]"));
    EXPECT_EQ(Run(wait("!=", "[]")).reply[0]["error"], "timed out");
    EXPECT_EQ(Run(wait("==", R"([{"name":"a"}])")).reply[0]["error"], "timed out");
    EXPECT_EQ(Run(wait("!=", "[{}]")).reply, Json::parse("[{}]"));
    EXPECT_EQ(Run(wait("==", "[1]")).reply[0]["error"], "syntax error");
  }
}

TEST_F(TransactionTest, CommitAbortCommentAssert) {
  TransactResult r = Run(R"({"op":"insert","table":"Root","row":{"name":"a"}},{"op":"comment","comment":"hello"},{"op":"commit","durable":true})");
  EXPECT_TRUE(r.durable);
  ASSERT_TRUE(r.changes);
  EXPECT_EQ(r.changes->comment, "hello");
  Json ab = Reply(R"({"op":"insert","table":"Root","row":{"name":"b"}},{"op":"abort"})");
  EXPECT_EQ(ab[1]["error"], "aborted");
  EXPECT_EQ(Rows("Root"), 1u);
  EXPECT_EQ(Reply(R"({"op":"assert","lock":"ml"})")[0]["error"], "not owner");
  TransactOptions opts;
  opts.lock_owned = [](const std::string& name) { return name == "ml"; };
  EXPECT_EQ(Run(R"({"op":"assert","lock":"ml"})", opts).reply, Json::parse("[{}]"));
}

TEST_F(TransactionTest, ChangeSetReportsOldAndNewValues) {
  std::string uuid = InsertRoot(R"({"name":"a","n":1})");
  TransactResult r = Run(R"({"op":"update","table":"Root","where":[],"row":{"n":2,"name":"a"}})");
  ASSERT_TRUE(r.changes);
  ASSERT_EQ(r.changes->rows.size(), 1u);
  const RowChange& ch = r.changes->rows[0];
  EXPECT_EQ(ch.kind, ChangeKind::kModify);
  EXPECT_EQ(ch.uuid.ToString(), uuid);
  const TableSchema& t = *db_.schema().FindTable("Root");
  int n = t.FindColumn("n")->index;
  ASSERT_EQ(ch.columns, std::vector<int>{n});  // "name" did not change.
  EXPECT_EQ(ch.OldValue(n).keys()[0].integer(), 1);
  EXPECT_EQ(ch.new_row()->fields[n].keys()[0].integer(), 2);
  TransactResult same = Run(R"({"op":"update","table":"Root","where":[],"row":{"n":2}})");
  EXPECT_FALSE(same.changes);
  TransactResult del = Run(R"({"op":"delete","table":"Root","where":[]})");
  ASSERT_TRUE(del.changes);
  EXPECT_EQ(del.changes->rows[0].kind, ChangeKind::kDelete);
  EXPECT_EQ(del.changes->rows[0].OldValue(n).keys()[0].integer(), 2);
  EXPECT_NE(del.changes->txn_id, r.changes->txn_id);
}

TEST_F(TransactionTest, BadParams) {
  EXPECT_EQ(Transact(db_, Json::object(), {}).reply["details"], "array expected");
  EXPECT_EQ(Transact(db_, Json::array(), {}).reply["details"],
            "database name expected as first parameter");
  EXPECT_EQ(Transact(db_, Json::parse(R"(["X"])"), {}).reply["error"], "unknown database");
  Json r = Reply(R"({"op":"bogus"},1,{"op":"select","table":"Root"})");
  EXPECT_EQ(r[0]["details"], "Parsing ovsdb operation 1 of 3 failed: No operation \"bogus\"");
  EXPECT_EQ(r[0]["syntax"], "{\"op\":\"bogus\"}");
  Json missing = Reply(R"({"op":"select","table":"Root"})");
  EXPECT_EQ(missing[0]["details"], "Parsing ovsdb operation 1 of 1 failed: Required 'where' member is missing.");
  Json extra = Reply(R"({"op":"select","table":"Root","where":[],"bogus":1})");
  EXPECT_EQ(extra[0]["error"], "syntax error");
}

}  // namespace
}  // namespace spate::ovsdb
