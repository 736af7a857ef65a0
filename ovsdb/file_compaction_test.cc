// Background compaction (CompactionJob): commits made while the snapshot is
// written are carried into the new file; a synchronous Compact() supersedes
// a running job; the result is read by Debian's ovsdb-tool.
#include <sys/stat.h>

#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/testing.h"
#include "ovsdb/file.h"

namespace spate::ovsdb {
namespace {

using common::testing::RunProgram;
using common::testing::TempDir;
using nlohmann::json;

class FileCompactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<DatabaseSchema> schema = DatabaseSchema::FromFile(
        std::string(SPATE_SOURCE_ROOT) + "/ovsdb/schemas/ovn-nb.ovsschema");
    ASSERT_TRUE(schema.ok());
    ASSERT_TRUE(DatabaseFile::Create(path_, *schema).ok());
    Reopen();
  }
  void Reopen() {
    file_.reset();
    Result<std::unique_ptr<DatabaseFile>> f = DatabaseFile::Open(path_);
    ASSERT_TRUE(f.ok()) << f.error().ToString();
    file_ = std::move(f).value();
  }
  void Run(const json& op) {
    TransactResult r = file_->Transact(json::array({"OVN_Northbound", op}), TransactOptions{});
    ASSERT_TRUE(r.changes != nullptr) << r.reply.dump();
  }
  void Insert(const std::string& name) {
    Run({{"op", "insert"}, {"table", "Logical_Switch"}, {"row", {{"name", name}}}});
  }
  std::set<std::string> Names() const {
    std::set<std::string> names;
    const Table* t = file_->db().FindTable("Logical_Switch");
    const ColumnSchema* c = t->schema().FindColumn("name");
    for (const auto& [uuid, row] : t->rows()) {
      names.insert(row->fields[c->index].ToJson(c->type).get<std::string>());
    }
    return names;
  }
  static bool Exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  TempDir dir_;
  std::string path_ = dir_.File("nb.db");
  std::unique_ptr<DatabaseFile> file_;
};

TEST_F(FileCompactionTest, CommitsDuringTheJobReachTheNewFile) {
  for (int i = 0; i < 50; ++i) Insert("a" + std::to_string(i));
  Result<std::shared_ptr<CompactionJob>> job = file_->StartCompaction(WallClockMs());
  ASSERT_TRUE(job.ok());
  EXPECT_TRUE(file_->compacting());
  EXPECT_FALSE(file_->StartCompaction(WallClockMs()).ok());  // One at a time.
  // Commits while the snapshot is written on another thread.
  Status run_status;
  std::thread writer([&] { run_status = (*job)->Run(); });
  Insert("during1");
  Run({{"op", "delete"}, {"table", "Logical_Switch"}, {"where", {{"name", "==", "a0"}}}});
  Run({{"op", "update"}, {"table", "Logical_Switch"}, {"where", {{"name", "==", "a1"}}},
       {"row", {{"name", "renamed"}}}});
  writer.join();
  ASSERT_TRUE(run_status.ok()) << run_status.error().ToString();
  ASSERT_TRUE(file_->FinishCompaction(**job, run_status, WallClockMs()).ok());
  EXPECT_FALSE(file_->compacting());
  EXPECT_EQ(file_->n_transactions(), 3u);
  Insert("after");
  std::set<std::string> expected = Names();
  EXPECT_EQ(expected.size(), 51u);
  Reopen();
  EXPECT_EQ(Names(), expected);
  EXPECT_EQ(file_->recovery_message(), "");
  EXPECT_FALSE(Exists(path_ + ".bg.tmp"));
  // Schema, snapshot, three commits during the job and one after.
  auto r = RunProgram({"/usr/bin/ovsdb-tool", "show-log", path_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("record 5:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("record 6:"), std::string::npos) << r.out;
}

TEST_F(FileCompactionTest, SynchronousCompactSupersedesAJob) {
  for (int i = 0; i < 10; ++i) Insert("b" + std::to_string(i));
  Result<std::shared_ptr<CompactionJob>> job = file_->StartCompaction(WallClockMs());
  ASSERT_TRUE(job.ok());
  Status run_status = (*job)->Run();
  Insert("between");
  ASSERT_TRUE(file_->Compact(WallClockMs()).ok());
  Insert("late");
  // The stale job changes nothing and leaves no file behind.
  ASSERT_TRUE(file_->FinishCompaction(**job, run_status, WallClockMs()).ok());
  EXPECT_FALSE(Exists(path_ + ".bg.tmp"));
  std::set<std::string> expected = Names();
  EXPECT_EQ(expected.size(), 12u);
  Reopen();
  EXPECT_EQ(Names(), expected);
}

TEST_F(FileCompactionTest, FailedJobKeepsTheCurrentFile) {
  Insert("c");
  Result<std::shared_ptr<CompactionJob>> job = file_->StartCompaction(WallClockMs());
  ASSERT_TRUE(job.ok());
  Insert("d");
  Status failed = Error("I/O error", "disk full");
  EXPECT_FALSE(file_->FinishCompaction(**job, failed, WallClockMs()).ok());
  EXPECT_FALSE(file_->compacting());
  EXPECT_FALSE(file_->ShouldCompact(WallClockMs(), CompactionPolicy{0, 0, 0, 60000}));
  Insert("e");
  Reopen();
  EXPECT_EQ(Names(), (std::set<std::string>{"c", "d", "e"}));
}

}  // namespace
}  // namespace spate::ovsdb
