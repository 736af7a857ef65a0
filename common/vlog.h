// Vlog: Open vSwitch's logging model, as a context object.
//
// What
//   Named modules ("ovsdb_server", "jsonrpc", ...), each with a level per
//   destination (console = stderr, syslog, file).  Levels, from quietest:
//   off, emer, err, warn, info, dbg.  A message at level L from module M is
//   written to destination D when L <= level(M, D).  Each destination has a
//   pattern; the file default is Open vSwitch's
//   "%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m", e.g.
//   2026-11-24T01:00:00.123Z|00001|ovsdb_server|INFO|msg
//
// Design
//   No global singleton: a process creates one Vlog in main() and passes it
//   (or the VlogModule handles it hands out) to whatever logs.  Modules are
//   registered by name before the command line is parsed, so that -vMODULE
//   specs can name them.  Specs are parsed exactly as Open vSwitch's
//   vlog_set_levels_from_string() does (words split on ' ', ',', ':' and
//   tab; "any" matches every module or destination; a missing level means
//   dbg; "pattern:DEST:PATTERN" and "facility:NAME").  The unixctl commands
//   vlog/set, vlog/list, vlog/list-pattern, vlog/reopen and vlog/close are
//   registered by UnixctlServer::RegisterVlogCommands (common/unixctl.h);
//   their texts come from the functions here.
//
// Thread-safety
//   Every member function is thread-safe.  IsEnabled() is a relaxed atomic
//   load, so a disabled debug message costs one load and a compare; output
//   and configuration are serialized by one mutex.  VlogModule references
//   stay valid for the Vlog's lifetime.
#ifndef SPATE_COMMON_VLOG_H
#define SPATE_COMMON_VLOG_H

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace spate::common {

// Severity, ordered from "log nothing" to "log everything".
enum class LogLevel : uint8_t { kOff, kEmer, kErr, kWarn, kInfo, kDbg };
constexpr int kNumLogLevels = 6;

// Where a message goes.
enum class LogDestination : uint8_t { kConsole, kSyslog, kFile };
constexpr int kNumLogDestinations = 3;

// "off", "emer", ... (lowercase, as accepted in specs).
std::string_view LogLevelName(LogLevel level);
// "console", "syslog", "file".
std::string_view LogDestinationName(LogDestination destination);

// One named logging module.  Obtained from Vlog::Module(); never copied.
class VlogModule {
 public:
  VlogModule(std::string name, LogLevel initial);
  VlogModule(const VlogModule&) = delete;
  VlogModule& operator=(const VlogModule&) = delete;

  const std::string& name() const { return name_; }
  // True if a message at `level` would reach at least one destination.
  bool IsEnabled(LogLevel level) const {
    return static_cast<uint8_t>(level) <=
           max_level_.load(std::memory_order_relaxed);
  }
  // This module's level for one destination.
  LogLevel level(LogDestination d) const {
    return static_cast<LogLevel>(
        levels_[static_cast<int>(d)].load(std::memory_order_relaxed));
  }

 private:
  friend class Vlog;
  void SetLevel(LogDestination d, LogLevel level);

  std::string name_;                                    // e.g. "jsonrpc".
  std::array<std::atomic<uint8_t>, kNumLogDestinations> levels_;  // Per dest.
  std::atomic<uint8_t> max_level_;                      // Max over levels_.
};

// A token bucket: at most `per_minute` messages a minute on average, bursts
// of up to `burst`.  Thread-safe.  Use one per call site (a static member or
// a member of the object that logs).
class RateLimit {
 public:
  RateLimit(int per_minute, int burst);

  // Takes a token at time `now`; false if none is left (the message is
  // dropped and counted).
  bool Allow(std::chrono::steady_clock::time_point now);
  // Returns and resets the count of messages dropped since the last call,
  // with the times of the first and last drop.
  struct Drops {
    uint64_t n_dropped = 0;                           // Messages dropped.
    std::chrono::steady_clock::time_point first_drop;  // Oldest drop.
    std::chrono::steady_clock::time_point last_drop;   // Newest drop.
  };
  Drops TakeDrops();

 private:
  std::mutex mutex_;
  double tokens_;                                      // Available tokens.
  double per_ms_;                                      // Refill rate.
  double burst_;                                       // Bucket size.
  std::chrono::steady_clock::time_point last_refill_;  // Last Allow() time.
  Drops drops_;                                        // Since TakeDrops().
};

// Inputs for formatting one log line (used by Vlog and by tests).
struct LogRecord {
  std::string_view program;   // %A
  std::string_view module;    // %c
  LogLevel level;             // %p (uppercase name), %B (syslog priority)
  std::string_view message;   // %m
  uint64_t seqno;             // %N
  std::chrono::system_clock::time_point time;  // %d / %D
  int64_t uptime_ms;          // %r
};

// Expands an Open vSwitch log pattern: %A %B %c %d{FMT} %D{FMT} %E %m %N %n
// %p %P %r %t %T %%, each with an optional [-][0]WIDTH.  In FMT, "###" is
// the milliseconds.  Unknown escapes are copied literally.
std::string FormatLogLine(std::string_view pattern, const LogRecord& record);

class Vlog {
 public:
  // Open vSwitch's default patterns.
  static constexpr std::string_view kConsolePattern =
      "%D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m";
  static constexpr std::string_view kSyslogPattern = "ovs|%05N|%c%T|%p|%m";
  static constexpr std::string_view kFilePattern =
      "%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m";

  // `program` is the name used for %A, syslog and default file names.
  // Registers the modules common/ itself logs to ("vlog", "daemon",
  // "unixctl", "jsonrpc", "reconnect").  Every level starts at info.
  explicit Vlog(std::string program);
  ~Vlog();
  Vlog(const Vlog&) = delete;
  Vlog& operator=(const Vlog&) = delete;

  const std::string& program() const { return program_; }

  // Returns the module named `name`, registering it at the current default
  // levels if new.  The reference is valid for this Vlog's lifetime.
  VlogModule& Module(std::string_view name);
  // The module named `name`, or nullptr.
  VlogModule* FindModule(std::string_view name);

  // Writes `message` from `module` at `level` to every destination whose
  // level admits it.  Never fails (write errors are ignored, as in OVS).
  void Log(VlogModule& module, LogLevel level, std::string_view message);
  // printf-style Log().
  void Logf(VlogModule& module, LogLevel level, const char* format, ...)
      __attribute__((format(printf, 4, 5)));
  // Log() if `limit` has a token at `now`; first reports how many messages
  // `limit` dropped since the last one that got through, as OVS does.
  void LogRateLimited(VlogModule& module, LogLevel level, RateLimit& limit,
                      std::string_view message,
                      std::chrono::steady_clock::time_point now =
                          std::chrono::steady_clock::now());

  // Applies one spec as Open vSwitch's -v option and vlog/set take it
  // ("", "dbg", "console:off", "jsonrpc:file:dbg", "ANY:info",
  // "pattern:file:%m", "facility:local0").  The empty spec means
  // everything at dbg.  Error details are OVS's texts ("no destination,
  // level, or module \"foo\"").
  [[nodiscard]] Status SetLevelsFromString(std::string_view spec);
  // Sets `level` for `module` (nullptr = all, and the default for modules
  // registered later) at `destination` (nullopt = all).
  void SetLevels(VlogModule* module, std::optional<LogDestination> destination,
                 LogLevel level);
  // Sets a destination's pattern.
  void SetPattern(LogDestination destination, std::string pattern);
  // Syslog facility by name ("daemon", "local0", ...).
  [[nodiscard]] Status SetSyslogFacility(std::string_view name);

  // Starts logging to the file at `path` (appending; created 0644).  Logs
  // "opened log file PATH" at info through module "vlog".
  [[nodiscard]] Status SetLogFile(const std::string& path);
  // Closes and reopens the configured file (after log rotation).  Error if
  // no file was configured ("Logging to file not configured").
  [[nodiscard]] Status ReopenLogFile();
  // Closes the log file; vlog/reopen opens it again.
  void CloseLogFile();
  // The configured log file path, or "".
  std::string log_file() const;

  // Writes console output to `fd` instead of stderr (tests, --detach).
  void SetConsoleFd(int fd);

  // vlog/list's table, sorted by module name, exactly in OVS's layout.
  std::string ListLevels() const;
  // vlog/list-pattern's table.
  std::string ListPatterns() const;

 private:
  void WriteLocked(const LogRecord& record);
  [[nodiscard]] Status OpenFileLocked();

  std::string program_;                 // For %A, syslog ident, file name.
  mutable std::mutex mutex_;            // Guards everything below.
  std::deque<VlogModule> modules_;      // Registered modules (stable refs).
  std::array<LogLevel, kNumLogDestinations> defaults_;  // For new modules.
  std::array<std::string, kNumLogDestinations> patterns_;  // Per dest.
  std::string file_path_;               // "" = no file configured.
  int file_fd_ = -1;                    // Open log file or -1.
  int console_fd_ = 2;                  // stderr unless redirected.
  int syslog_facility_;                 // LOG_DAEMON by default.
  bool syslog_open_ = false;            // openlog() called.
  uint64_t seqno_ = 0;                  // Last %N used.
  std::chrono::steady_clock::time_point start_;  // For %r.
  VlogModule* self_ = nullptr;          // Module "vlog".
};

}  // namespace spate::common

#endif  // SPATE_COMMON_VLOG_H
