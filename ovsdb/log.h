// Log: Open vSwitch's standalone record framing ("OVSDB JSON <length>
// <sha1>\n" + <length> bytes of one compact JSON object ending in "\n").
//
// What: reading every record of a file (stopping at the first torn or
// corrupt one and saying where and why), and appending records with an
// optional fsync.  SHA-1 is computed with OpenSSL's EVP interface.
//
// Design: the reader loads the file into memory once (database files are
// compacted, so they stay small) and walks it; the writer keeps an O_APPEND
// file descriptor and writes header and body with one write(2) call so that
// a crash leaves at most one torn record at the end.
//
// Thread-safety: none; one owner per object.
#ifndef SPATE_OVSDB_LOG_H
#define SPATE_OVSDB_LOG_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ovsdb/json_codec.h"

namespace spate::ovsdb {

// "OVSDB JSON" (standalone) or "OVSDB CLUSTER" (Raft); we read only JSON.
inline constexpr std::string_view kLogMagic = "OVSDB JSON";

struct LogRecord {
  Json json;             // The parsed record.
  uint64_t offset = 0;   // Byte offset of its header line.
  uint64_t length = 0;   // Header + body bytes.
};

struct LogContents {
  std::vector<LogRecord> records;  // Every good record, in order.
  uint64_t good_bytes = 0;         // Bytes up to the end of the last good one.
  uint64_t file_bytes = 0;         // File size.
  std::string tail_error;          // Why reading stopped early, or "".
};

// Reads all records of `path`.  A bad record stops the reading: the records
// before it are returned and tail_error says what was wrong and at which
// offset.  Errors: ("I/O error", ...) if the file cannot be read.
Result<LogContents> ReadLog(const std::string& path);
// Parses records from an in-memory buffer (as ReadLog).
LogContents ParseLog(std::string_view data);

// Formats one record (header and body) for `json`.
std::string FormatRecord(const Json& json);
// Formats one record whose body is the JSON text `body` (compact, without
// the trailing newline): FormatRecord(j) == FormatRecordText(DumpJson(j)).
std::string FormatRecordText(std::string_view body);
// Lower-case hex SHA-1 of `data`.
std::string Sha1Hex(std::string_view data);

class LogWriter {
 public:
  LogWriter() = default;
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Opens `path` for appending (creating it if `create`), after truncating
  // it to `truncate_to` bytes (dropping a corrupt tail).  Errors: I/O.
  Status Open(const std::string& path, bool create, uint64_t truncate_to);
  // Appends one record; fsyncs first if `sync`.  Errors: ("I/O error", ...).
  Status Append(const Json& json, bool sync);
  // Appends pre-formatted bytes (see FormatRecord).
  Status AppendRaw(std::string_view bytes, bool sync);
  Status Sync();
  void Close();
  uint64_t size() const { return size_; }
  bool is_open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;         // O_APPEND descriptor, or -1.
  uint64_t size_ = 0;   // Current file size.
  std::string path_;    // For messages.
};

// Writes `records` to a new file at `path` atomically: a temporary file is
// written and fsynced, then renamed over `path`, and the directory fsynced.
Status WriteLogAtomically(const std::string& path, const std::vector<Json>& records);

// Phase one of a two-phase replace: writes `bytes` (formatted records) to a
// new file `tmp_path` and fsyncs it.  Errors: ("I/O error", ...).
Status WriteLogFile(const std::string& tmp_path, std::string_view bytes);
// Phase two: appends `tail` to `tmp_path`, fsyncs it, renames it over
// `path` and fsyncs the directory.  On error `tmp_path` is removed.
Status ReplaceLogFile(const std::string& tmp_path, std::string_view tail, const std::string& path);

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_LOG_H
