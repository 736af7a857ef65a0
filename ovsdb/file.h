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
// Group commit: with FileOptions::group_commit, Write() formats the record
// into a buffer; the owner (the server) calls Flush() once per event-loop
// round, which writes every buffered record with one write(2) and fsyncs
// once if any of them asked for durability, before it sends the replies.
// If that write or fsync fails, every later commit fails with "I/O error"
// (the file may end in a torn record, which the next open truncates).
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
  bool group_commit = false;       // Write() only buffers the record; the
                                   // owner calls Flush() before replying.
};

// Open vSwitch's 2015 automatic compaction thresholds (reference §8.7).
struct CompactionPolicy {
  int64_t min_interval_ms = 10 * 60 * 1000;  // Since the last compaction.
  uint64_t min_transactions = 100;           // Commits since then.
  uint64_t min_bytes = 10 * 1024 * 1024;     // Current file size.
  int64_t retry_ms = 60 * 1000;              // Wait after a failure.
};

class DatabaseFile;

// A compaction whose expensive part (formatting and writing the snapshot)
// runs off the owner's thread: DatabaseFile::StartCompaction() takes the
// snapshot, Run() writes it (any one thread), FinishCompaction() switches
// the file over.  Discard() removes the temporary file of a job whose
// database went away.
class CompactionJob {
 public:
  // Formats the schema and snapshot records and writes them, fsynced, to a
  // temporary file beside the database.  Errors: ("I/O error", ...).
  Status Run();
  // Removes the temporary file (the job will not be finished).
  void Discard();

 private:
  friend class DatabaseFile;
  uint64_t id_ = 0;        // Matches DatabaseFile::job_id_ while current.
  std::string tmp_path_;   // "<db>.bg.tmp".
  Json schema_;            // Schema record.
  Json snapshot_;          // Every row, as of StartCompaction().
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
  uint64_t file_bytes() const { return writer_.size() + pending_.size(); }
  uint64_t n_transactions() const { return n_transactions_; }

  // Runs a transaction with this file as its sink (see transaction.h); a
  // durable commit is fsynced before this returns.
  TransactResult Transact(const Json& params, TransactOptions options);
  // CommitSink: appends the record for `changes`.
  Status Write(const Database& db, const ChangeSet& changes) override;
  // Writes the records buffered by group_commit, then fsyncs the log if
  // one of them was durable (or `force_sync`).  Errors: ("I/O error", ...).
  Status Flush(bool force_sync = false);
  // fsync of the log (after Flush()).
  Status Sync() { return Flush(true); }
  // True while group_commit holds records that Flush() has not written.
  bool flush_pending() const { return !pending_.empty(); }

  // Rewrites the file as the schema plus one record with every row.
  Status Compact(int64_t now_ms);
  // Starts a background compaction (see CompactionJob): takes the
  // snapshot now; until FinishCompaction() every committed record is also
  // kept for the new file.  Errors: read-only, or one is already running.
  Result<std::shared_ptr<CompactionJob>> StartCompaction(int64_t now_ms);
  // Completes `job` after its Run() returned `run_status`: appends the
  // records committed since the snapshot, fsyncs, renames the result over
  // the database and appends there from now on.  On error (or for a job a
  // synchronous Compact() superseded) the current file stays in use.
  Status FinishCompaction(CompactionJob& job, const Status& run_status, int64_t now_ms);
  // True between StartCompaction() and FinishCompaction().
  bool compacting() const { return job_id_ != 0; }
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
  std::string pending_;              // group_commit: records not yet written.
  bool sync_pending_ = false;        // group_commit: one of them is durable.
  Status failed_;                    // A failed Flush(): later writes fail.
  uint64_t job_id_ = 0;              // Running background compaction, or 0.
  std::string since_snapshot_;       // Its records committed since the snapshot.
  uint64_t n_since_snapshot_ = 0;    // How many.
};

// Converts a log transaction record to a pending ChangeSet for `db`
// (honours "_is_diff").  Errors: ("syntax error", ...).
Result<std::unique_ptr<ChangeSet>> ChangeSetFromRecord(const Database& db, const Json& record);
// The log record for a pending ChangeSet ("_is_diff" form: modified set
// and map columns hold the difference from the old value).
Json RecordFromChangeSet(const Database& db, const ChangeSet& changes);
// The same record as JSON text, DumpJson(RecordFromChangeSet(db, changes))
// byte for byte ("" for an empty record), written straight from the change
// set without building a Json tree.
std::string RecordTextFromChangeSet(const Database& db, const ChangeSet& changes);
// The single record holding every row of `db` (as compaction writes it).
Json SnapshotRecord(const Database& db, int64_t now_ms, const std::string& comment);
// The lock file path for a database path: "dir/.name.~lock~".
std::string LockFilePath(const std::string& db_path);
// Milliseconds since the epoch.
int64_t WallClockMs();

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_FILE_H
