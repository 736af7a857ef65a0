// DatabaseFile: a Database backed by Open vSwitch's standalone log file.
//
// What: create a file from a schema, open one (ours or written by Open
// vSwitch's ovsdb-server/ovsdb-tool, including its "_is_diff" records),
// recover from a torn or corrupt tail (reported, truncated, everything
// before it loaded), append one record per committed transaction (only
// changed columns, null for deletions, "_date" in ms and "_comment"), fsync
// when the transaction asks for durability (or always, if configured),
// compact atomically (schema + one record with all rows, written to a
// temporary file, fsynced and renamed), and Open vSwitch's automatic
// compaction policy.  A lock file ".<name>.~lock~" (fcntl) beside the
// database keeps a second process from opening it for writing.
//
// Design: DatabaseFile implements CommitSink; Transact() below runs a
// transaction with the file as its sink, so a record is written before the
// in-memory database changes and an I/O error aborts the transaction.
//
// Thread-safety: none; one thread owns a DatabaseFile and its Database.
#ifndef SPATE_OVSDB_FILE_H
#define SPATE_OVSDB_FILE_H

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "ovsdb/database.h"
#include "ovsdb/log.h"
#include "ovsdb/transaction.h"

namespace spate::ovsdb {

struct FileOptions {
  bool read_only = false;          // Open without writing or locking.
  bool sync_every_commit = false;  // fsync every commit, durable or not.
};

// Open vSwitch's 2015 automatic compaction thresholds (reference §8.7).
struct CompactionPolicy {
  int64_t min_interval_ms = 10 * 60 * 1000;  // Since the last compaction.
  uint64_t min_transactions = 100;           // Commits since then.
  uint64_t min_bytes = 10 * 1024 * 1024;     // Current file size.
  int64_t retry_ms = 60 * 1000;              // Wait after a failure.
};

class DatabaseFile : public CommitSink {
 public:
  ~DatabaseFile() override;

  // Creates `path` holding only the schema record.  Fails if it exists.
  static Status Create(const std::string& path, const DatabaseSchema& schema);
  // Opens and loads `path`.  A corrupt tail is truncated (unless read-only)
  // and described in recovery_message().  Errors: ("I/O error", ...) for
  // unreadable or locked files, ("syntax error", ...) for a bad schema or
  // a record that does not fit the schema.
  static Result<std::unique_ptr<DatabaseFile>> Open(const std::string& path,
                                                    const FileOptions& options = {});

  Database& db() { return *db_; }
  const Database& db() const { return *db_; }
  const std::string& path() const { return path_; }
  // Empty if the file was intact; otherwise what was wrong and how many
  // bytes were dropped.
  const std::string& recovery_message() const { return recovery_; }
  uint64_t bytes_dropped() const { return bytes_dropped_; }
  uint64_t file_bytes() const { return writer_.size(); }
  uint64_t n_transactions() const { return n_transactions_; }

  // Runs a transaction with this file as its sink (see transaction.h); a
  // durable commit is fsynced before this returns.
  TransactResult Transact(const Json& params, TransactOptions options);
  // CommitSink: appends the record for `changes`.
  Status Write(const Database& db, const ChangeSet& changes) override;
  // fsync of the log (for callers that batch durable commits).
  Status Sync();

  // Rewrites the file as the schema plus one record with every row.
  Status Compact(int64_t now_ms);
  // True when `policy` says the server should call Compact now.
  bool ShouldCompact(int64_t now_ms, const CompactionPolicy& policy = {}) const;
  // Records a failed compaction so ShouldCompact waits policy.retry_ms.
  void NoteCompactionFailure(int64_t now_ms) { last_failure_ms_ = now_ms; }

 private:
  DatabaseFile() = default;
  Status LoadRecords(const LogContents& log);
  Status AcquireLock();

  std::string path_;                 // Database file.
  FileOptions options_;              // How it was opened.
  std::unique_ptr<Database> db_;     // The contents.
  LogWriter writer_;                 // Appends records (not when read-only).
  int lock_fd_ = -1;                 // Lock file descriptor, or -1.
  std::string lock_path_;            // ".<name>.~lock~" path.
  std::string recovery_;             // Tail recovery report.
  uint64_t bytes_dropped_ = 0;       // Bytes of corrupt tail removed.
  uint64_t n_transactions_ = 0;      // Records since open/compaction.
  int64_t last_compact_ms_ = 0;      // Time of open or last compaction.
  int64_t last_failure_ms_ = -1;     // Last failed compaction, or -1.
};

// Converts a log transaction record to a pending ChangeSet for `db`
// (honours "_is_diff").  Errors: ("syntax error", ...).
Result<std::unique_ptr<ChangeSet>> ChangeSetFromRecord(const Database& db, const Json& record);
// The log record for a pending ChangeSet ("_is_diff" form: modified set
// and map columns hold the difference from the old value).
Json RecordFromChangeSet(const Database& db, const ChangeSet& changes);
// The single record holding every row of `db` (as compaction writes it).
Json SnapshotRecord(const Database& db, int64_t now_ms, const std::string& comment);
// The lock file path for a database path: "dir/.name.~lock~".
std::string LockFilePath(const std::string& db_path);
// Milliseconds since the epoch.
int64_t WallClockMs();

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_FILE_H
