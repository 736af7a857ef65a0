#include "ovsdb/file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "ovsdb/test_util.h"

namespace spate::ovsdb {
namespace {

using testing::NormalizeUuids;
using testing::ReadFile;
using testing::RunCommand;
using testing::ShellQuote;
using testing::SourcePath;
using testing::TempDir;
using testing::WriteFile;

constexpr const char* kOvsTool = "/usr/bin/ovsdb-tool";

// Every row of every table as {"Table": {uuid: {col: value}}}, the form
// both implementations agree on.
Json Contents(const Database& db) {
  Json out = Json::object();
  for (size_t i = 0; i < db.n_tables(); ++i) {
    const Table& t = db.table(static_cast<int>(i));
    Json rows = Json::object();
    for (auto& [uuid, row] : t.rows()) {
      Json r = Json::object();
      for (size_t c = 2; c < t.schema().columns.size(); ++c) {
        r[t.schema().columns[c].name] = row->fields[c].ToJson(t.schema().columns[c].type);
      }
      rows[uuid.ToString()] = r;
    }
    out[t.schema().name] = rows;
  }
  return out;
}

// The same contents as Open vSwitch's ovsdb-tool query sees them.
Json OvsContents(const std::string& db, const DatabaseSchema& schema) {
  Json out = Json::object();
  for (const TableSchema& t : schema.tables) {
    Json params = Json::array({schema.name, Json{{"op", "select"}, {"table", t.name}, {"where", Json::array()}}});
    auto r = RunCommand(std::string(kOvsTool) + " query " + db + " " + ShellQuote(DumpJson(params)));
    EXPECT_EQ(r.status, 0) << r.out;
    Json reply = Json::parse(r.out);
    Json rows = Json::object();
    for (Json row : reply[0]["rows"]) {
      std::string uuid = row["_uuid"][1];
      row.erase("_uuid");
      row.erase("_version");
      rows[uuid] = row;
    }
    out[t.name] = rows;
  }
  return out;
}

std::string SbSchema() { return SourcePath("ovsdb/schemas/ovn.ovsschema"); }

const char* kTxns[] = {
    R"(["OVN",{"op":"insert","table":"Chassis","row":{"name":"hv1","encaps":["named-uuid","e"]}},
              {"op":"insert","table":"Encap","row":{"type":"geneve","ip":"10.0.0.1"},"uuid-name":"e"},
              {"op":"comment","comment":"add hv1"}])",
    R"(["OVN",{"op":"insert","table":"Bindings","row":{"logical_port":"lp1","tunnel_key":1,"mac":["set",["00:00:00:00:00:01","unknown"]]}}])",
    R"(["OVN",{"op":"update","table":"Bindings","where":[["logical_port","==","lp1"]],"row":{"chassis":"hv1"}}])",
    R"(["OVN",{"op":"mutate","table":"Bindings","where":[],"mutations":[["mac","delete","unknown"],["mac","insert","00:00:00:00:00:02"]]}])",
    R"(["OVN",{"op":"insert","table":"Pipeline","row":{"table_id":1,"priority":100,"match":"eth.dst == ff:ff:ff:ff:ff:ff","actions":"output;"}}])",
    R"(["OVN",{"op":"mutate","table":"Encap","where":[],"mutations":[["options","insert",["map",[["csum","true"]]]]]}])",
    R"(["OVN",{"op":"delete","table":"Pipeline","where":[]}])",
    R"(["OVN",{"op":"update","table":"Chassis","where":[],"row":{"encaps":["named-uuid","e2"]}},
              {"op":"insert","table":"Encap","row":{"type":"stt","ip":"10.0.0.2"},"uuid-name":"e2"}])",
};

std::unique_ptr<DatabaseFile> OpenOk(const std::string& path, FileOptions o = {}) {
  auto f = DatabaseFile::Open(path, o);
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().ToString());
  return f.ok() ? std::move(*f) : nullptr;
}

TEST(FileTest, OurFileIsReadByOpenVswitch) {
  TempDir dir;
  std::string db = dir / "ovn.db";
  auto schema = DatabaseSchema::FromFile(SbSchema());
  ASSERT_TRUE(schema.ok());
  ASSERT_TRUE(DatabaseFile::Create(db, *schema).ok());
  Json expected;
  {
    auto f = OpenOk(db);
    for (const char* t : kTxns) {
      TransactResult r = f->Transact(Json::parse(t), {});
      ASSERT_FALSE(r.reply.dump().find("error") != std::string::npos) << r.reply;
    }
    expected = Contents(f->db());
  }
  EXPECT_EQ(OvsContents(db, *schema), expected);
  auto log = RunCommand(std::string(kOvsTool) + " show-log -m " + db + " 2>&1");
  EXPECT_EQ(log.status, 0) << log.out;
  EXPECT_NE(log.out.find("\"add hv1\""), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("record 8:"), std::string::npos) << log.out;
  auto reopened = OpenOk(db);
  EXPECT_EQ(Contents(reopened->db()), expected);
}

// Records, at commit time, both forms of the log record.
class RecordSink : public CommitSink {
 public:
  Status Write(const Database& db, const ChangeSet& changes) override {
    Json rec = RecordFromChangeSet(db, changes);
    tree_texts.push_back(rec.empty() ? "" : DumpJson(rec));
    direct_texts.push_back(RecordTextFromChangeSet(db, changes));
    return Status::Ok();
  }
  std::vector<std::string> tree_texts;    // DumpJson(RecordFromChangeSet).
  std::vector<std::string> direct_texts;  // RecordTextFromChangeSet.
};

TEST(FileTest, RecordTextMatchesTheJsonTreeByteForByte) {
  auto schema = DatabaseSchema::FromFile(SbSchema());
  ASSERT_TRUE(schema.ok());
  Database db(std::make_shared<const DatabaseSchema>(std::move(*schema)));
  RecordSink sink;
  TransactOptions o;
  o.sink = &sink;
  o.now_ms = 1700000000123;
  std::vector<std::string> txns(std::begin(kTxns), std::end(kTxns));
  // Escapes, non-ASCII text, a real-free schema's integers, a comment with
  // quotes, several tables and rows in one record, and a no-op.
  txns.push_back(R"(["OVN",{"op":"insert","table":"Bindings","row":{"logical_port":"q\"\\\u0001\n\u00e9\u4e2d","tunnel_key":7,"mac":["set",["b","a","c"]]}},
                   {"op":"insert","table":"Bindings","row":{"logical_port":"x","tunnel_key":8}},
                   {"op":"insert","table":"Pipeline","row":{"table_id":2,"priority":5,"match":"1","actions":"drop;"}},
                   {"op":"comment","comment":"say \"hi\""}])");
  txns.push_back(R"(["OVN",{"op":"update","table":"Bindings","where":[],"row":{"chassis":"hv2"}},
                   {"op":"delete","table":"Pipeline","where":[]},
                   {"op":"delete","table":"Chassis","where":[]}])");
  txns.push_back(R"(["OVN",{"op":"update","table":"Bindings","where":[],"row":{"chassis":"hv2"}}])");
  for (const std::string& t : txns) {
    TransactResult r = Transact(db, Json::parse(t), o);
    ASSERT_EQ(r.reply.dump().find("error"), std::string::npos) << r.reply;
  }
  ASSERT_GE(sink.tree_texts.size(), txns.size() - 1);
  EXPECT_EQ(sink.direct_texts, sink.tree_texts);
}

TEST(FileTest, WeOpenFilesWrittenByOpenVswitch) {
  TempDir dir;
  std::string db = dir / "ovn.db";
  auto c = RunCommand(std::string(kOvsTool) + " create " + db + " " + SbSchema() + " 2>&1");
  ASSERT_EQ(c.status, 0) << c.out;
  for (const char* t : kTxns) {
    auto r = RunCommand(std::string(kOvsTool) + " transact " + db + " " + ShellQuote(t));
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(r.out.find("error"), std::string::npos) << r.out;
  }
  auto schema = DatabaseSchema::FromFile(SbSchema());
  Json expected = OvsContents(db, *schema);
  auto f = OpenOk(db);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->recovery_message(), "");
  EXPECT_EQ(Contents(f->db()), expected);
  // Reference counts were rebuilt: the old Encap was collected by OVS and
  // the remaining one is referenced once.
  const Table* encaps = f->db().FindTable("Encap");
  ASSERT_EQ(encaps->size(), 1u);
  EXPECT_EQ(encaps->rows().begin()->second->n_strong_refs, 1u);
}

TEST(FileTest, TornTailAtEveryOffsetKeepsEarlierTransactions) {
  TempDir dir;
  std::string db = dir / "ovn.db";
  auto schema = DatabaseSchema::FromFile(SbSchema());
  ASSERT_TRUE(DatabaseFile::Create(db, *schema).ok());
  Json before_last;
  uint64_t last_start = 0;
  {
    auto f = OpenOk(db);
    for (size_t i = 0; i + 1 < std::size(kTxns); ++i) f->Transact(Json::parse(kTxns[i]), {});
    before_last = Contents(f->db());
    last_start = f->file_bytes();
    f->Transact(Json::parse(kTxns[std::size(kTxns) - 1]), {});
  }
  std::string full = ReadFile(db);
  ASSERT_GT(full.size(), last_start);
  for (uint64_t cut = last_start; cut < full.size(); ++cut) {
    WriteFile(db, full.substr(0, cut));
    auto f = OpenOk(db);
    ASSERT_TRUE(f) << "cut at " << cut;
    EXPECT_EQ(Contents(f->db()), before_last) << "cut at " << cut;
    if (cut == last_start) {
      EXPECT_EQ(f->recovery_message(), "");
    } else {
      EXPECT_NE(f->recovery_message().find(std::to_string(cut - last_start) + " bytes truncated"),
                std::string::npos)
          << f->recovery_message();
      EXPECT_EQ(f->bytes_dropped(), cut - last_start);
    }
    EXPECT_EQ(f->file_bytes(), last_start);
  }
  // After recovery the file accepts new commits and Open vSwitch reads it.
  {
    auto f = OpenOk(db);
    TransactResult r = f->Transact(Json::parse(kTxns[std::size(kTxns) - 1]), {});
    ASSERT_TRUE(r.changes);
  }
  auto log = RunCommand(std::string(kOvsTool) + " show-log " + db + " 2>&1");
  EXPECT_EQ(log.status, 0);
  EXPECT_NE(log.out.find("record 8:"), std::string::npos) << log.out;
}

TEST(FileTest, CorruptByteIsDetectedBySha1) {
  TempDir dir;
  std::string db = dir / "ovn.db";
  auto schema = DatabaseSchema::FromFile(SbSchema());
  ASSERT_TRUE(DatabaseFile::Create(db, *schema).ok());
  uint64_t start = 0;
  {
    auto f = OpenOk(db);
    f->Transact(Json::parse(kTxns[0]), {});
    start = f->file_bytes();
    f->Transact(Json::parse(kTxns[1]), {});
  }
  std::string data = ReadFile(db);
  data[data.size() - 5] ^= 0x20;
  WriteFile(db, data);
  auto f = OpenOk(db);
  EXPECT_NE(f->recovery_message().find("SHA-1"), std::string::npos) << f->recovery_message();
  EXPECT_EQ(f->db().FindTable("Bindings")->size(), 0u);
  EXPECT_EQ(f->db().FindTable("Chassis")->size(), 1u);
  EXPECT_EQ(f->file_bytes(), start);
}

TEST(FileTest, CompactionRewritesAtomically) {
  TempDir dir;
  std::string db = dir / "ovn.db";
  auto schema = DatabaseSchema::FromFile(SbSchema());
  ASSERT_TRUE(DatabaseFile::Create(db, *schema).ok());
  Json expected;
  {
    auto f = OpenOk(db);
    for (const char* t : kTxns) f->Transact(Json::parse(t), {});
    uint64_t before = f->file_bytes();
    ASSERT_TRUE(f->Compact(WallClockMs()).ok());
    EXPECT_LT(f->file_bytes(), before);
    EXPECT_FALSE(std::filesystem::exists(db + ".tmp"));
    // Appending after compaction still works.
    f->Transact(Json::parse(R"(["OVN",{"op":"insert","table":"Bindings","row":{"logical_port":"lp2","tunnel_key":2}}])"), {});
    expected = Contents(f->db());
  }
  auto log = testing::ParseLogForTest(ReadFile(db));
  EXPECT_EQ(log, 3u);
  EXPECT_EQ(OvsContents(db, *schema), expected);
  EXPECT_EQ(Contents(OpenOk(db)->db()), expected);
}

TEST(FileTest, CompactionPolicy) {
  TempDir dir;
  std::string db = dir / "ovn.db";
  auto schema = DatabaseSchema::FromFile(SbSchema());
  ASSERT_TRUE(DatabaseFile::Create(db, *schema).ok());
  auto f = OpenOk(db);
  CompactionPolicy p;
  p.min_interval_ms = 0;
  p.min_transactions = 3;
  p.min_bytes = 0;
  int64_t now = WallClockMs();
  EXPECT_FALSE(f->ShouldCompact(now, p));
  for (int i = 0; i < 3; ++i) f->Transact(Json::parse(kTxns[i]), {});
  EXPECT_TRUE(f->ShouldCompact(now, p));
  f->NoteCompactionFailure(now);
  EXPECT_FALSE(f->ShouldCompact(now + 1, p));
  EXPECT_TRUE(f->ShouldCompact(now + p.retry_ms, p));
  EXPECT_FALSE(f->ShouldCompact(now, CompactionPolicy{}));  // 10 MB default.
}

TEST(FileTest, LockFileKeepsOthersOut) {
  TempDir dir;
  std::string db = dir / "ovn.db";
  auto schema = DatabaseSchema::FromFile(SbSchema());
  ASSERT_TRUE(DatabaseFile::Create(db, *schema).ok());
  auto f = OpenOk(db);
  EXPECT_TRUE(std::filesystem::exists(dir / ".ovn.db.~lock~"));
  auto second = DatabaseFile::Open(db);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().tag(), "I/O error");
  auto ovs = RunCommand(std::string(kOvsTool) + " transact " + db + " " +
                        ShellQuote(kTxns[1]) + " 2>&1");
  EXPECT_NE(ovs.status, 0) << ovs.out;
  FileOptions ro;
  ro.read_only = true;
  EXPECT_TRUE(DatabaseFile::Open(db, ro).ok());
  f.reset();
  EXPECT_TRUE(DatabaseFile::Open(db).ok());
}

TEST(FileTest, SetMutationWritesOnlyTheDifference) {
  TempDir dir;
  std::string db = dir / "ovn.db";
  auto schema = DatabaseSchema::FromFile(SbSchema());
  ASSERT_TRUE(DatabaseFile::Create(db, *schema).ok());
  Json macs = Json::array();
  for (int i = 0; i < 200; ++i) macs.push_back("00:00:00:00:01:" + std::to_string(100 + i));
  Json expected;
  {
    auto f = OpenOk(db);
    Json insert = Json::array({"OVN", Json{{"op", "insert"}, {"table", "Bindings"},
                                           {"row", {{"logical_port", "lp"}, {"tunnel_key", 1},
                                                    {"mac", Json::array({"set", macs})}}}}});
    ASSERT_TRUE(f->Transact(insert, {}).changes);
    uint64_t before = f->file_bytes();
    ASSERT_TRUE(f->Transact(Json::parse(R"(["OVN",{"op":"mutate","table":"Bindings","where":[],"mutations":[["mac","insert","unknown"]]}])"), {}).changes);
    EXPECT_LT(f->file_bytes() - before, 300u);
    expected = Contents(f->db());
  }
  EXPECT_EQ(Contents(OpenOk(db)->db()), expected);
  EXPECT_EQ(OvsContents(db, *schema), expected);
}

TEST(FileTest, DurableCommitAndErrors) {
  TempDir dir;
  auto missing = DatabaseFile::Open(dir / "nope.db");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().tag(), "I/O error");
  WriteFile(dir / "garbage.db", "hello\n");
  EXPECT_FALSE(DatabaseFile::Open(dir / "garbage.db").ok());
  std::string db = dir / "ovn.db";
  auto schema = DatabaseSchema::FromFile(SbSchema());
  ASSERT_TRUE(DatabaseFile::Create(db, *schema).ok());
  EXPECT_FALSE(DatabaseFile::Create(db, *schema).ok());
  auto f = OpenOk(db);
  TransactResult r = f->Transact(Json::parse(R"(["OVN",{"op":"insert","table":"Chassis","row":{"name":"x","encaps":["named-uuid","e"]}},{"op":"insert","table":"Encap","row":{"type":"vxlan"},"uuid-name":"e"},{"op":"commit","durable":true}])"), {});
  EXPECT_TRUE(r.durable);
  ASSERT_TRUE(r.changes);
  EXPECT_EQ(f->n_transactions(), 1u);
}

}  // namespace
}  // namespace spate::ovsdb
