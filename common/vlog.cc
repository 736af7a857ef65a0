// Vlog: see vlog.h.
#include "common/vlog.h"

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

namespace spate::common {
namespace {

constexpr std::array<std::string_view, kNumLogLevels> kLevelNames = {
    "off", "emer", "err", "warn", "info", "dbg"};
constexpr std::array<std::string_view, kNumLogLevels> kLevelUpper = {
    "OFF", "EMER", "ERR", "WARN", "INFO", "DBG"};
constexpr std::array<std::string_view, kNumLogDestinations> kDestNames = {
    "console", "syslog", "file"};
// syslog(3) priority per level (index by LogLevel).
constexpr std::array<int, kNumLogLevels> kSyslogPriority = {
    LOG_ALERT, LOG_ALERT, LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<LogLevel> LevelFromName(std::string_view word) {
  for (int i = 0; i < kNumLogLevels; i++) {
    if (EqualsNoCase(word, kLevelNames[i])) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

std::optional<LogDestination> DestinationFromName(std::string_view word) {
  for (int i = 0; i < kNumLogDestinations; i++) {
    if (EqualsNoCase(word, kDestNames[i])) {
      return static_cast<LogDestination>(i);
    }
  }
  return std::nullopt;
}

// Splits on OVS's delimiters " ,:\t", skipping empty words.
std::vector<std::string_view> SplitWords(std::string_view s) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_of(" ,:\t", i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) words.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return words;
}

// Appends `text` padded to `width` (left-justified if `left`).
void AppendPadded(std::string& out, std::string_view text, int width,
                  bool left) {
  int pad = width - static_cast<int>(text.size());
  if (pad > 0 && !left) out.append(pad, ' ');
  out.append(text);
  if (pad > 0 && left) out.append(pad, ' ');
}

void AppendNumber(std::string& out, long long n, int width, bool left,
                  bool zero) {
  char buf[32];
  if (zero && !left) {
    std::snprintf(buf, sizeof buf, "%0*lld", width, n);
  } else {
    std::snprintf(buf, sizeof buf, "%lld", n);
    AppendPadded(out, buf, width, left);
    return;
  }
  out.append(buf);
}

// strftime with "###" replaced by milliseconds.
void AppendTime(std::string& out, std::string_view fmt,
                std::chrono::system_clock::time_point t, bool utc) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  if (utc) {
    gmtime_r(&secs, &tm);
  } else {
    localtime_r(&secs, &tm);
  }
  std::string f(fmt);
  size_t pos = f.find("###");
  if (pos != std::string::npos) {
    char msbuf[8];
    std::snprintf(msbuf, sizeof msbuf, "%03lld",
                  static_cast<long long>(ms % 1000));
    f.replace(pos, 3, msbuf);
  }
  char buf[256];
  // The format comes from a log pattern (configuration), by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  size_t n = strftime(buf, sizeof buf, f.c_str(), &tm);
#pragma GCC diagnostic pop
  out.append(buf, n);
}

// Reads "{...}" at pattern[*i], advancing past it; "" if absent.
std::string_view TakeBraced(std::string_view pattern, size_t* i) {
  if (*i < pattern.size() && pattern[*i] == '{') {
    size_t close = pattern.find('}', *i);
    if (close != std::string_view::npos) {
      std::string_view arg = pattern.substr(*i + 1, close - *i - 1);
      *i = close + 1;
      return arg;
    }
  }
  return {};
}

std::string HostName() {
  char buf[256];
  if (gethostname(buf, sizeof buf) != 0) return "-";
  buf[sizeof buf - 1] = '\0';
  return buf;
}

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

struct FacilityName {
  std::string_view name;  // As accepted by facility:NAME.
  int value;              // LOG_* facility.
};
constexpr FacilityName kFacilities[] = {
    {"kern", LOG_KERN},     {"user", LOG_USER},     {"mail", LOG_MAIL},
    {"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},     {"syslog", LOG_SYSLOG},
    {"lpr", LOG_LPR},       {"news", LOG_NEWS},     {"uucp", LOG_UUCP},
    {"clock", LOG_CRON},    {"ftp", LOG_FTP},       {"local0", LOG_LOCAL0},
    {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
    {"local7", LOG_LOCAL7}};

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  return kLevelNames[static_cast<int>(level)];
}

std::string_view LogDestinationName(LogDestination destination) {
  return kDestNames[static_cast<int>(destination)];
}

// ---------------------------------------------------------------- modules

VlogModule::VlogModule(std::string name, LogLevel initial)
    : name_(std::move(name)) {
  for (auto& l : levels_) l.store(static_cast<uint8_t>(initial));
  max_level_.store(static_cast<uint8_t>(initial));
}

void VlogModule::SetLevel(LogDestination d, LogLevel level) {
  levels_[static_cast<int>(d)].store(static_cast<uint8_t>(level),
                                     std::memory_order_relaxed);
  uint8_t max = 0;
  for (auto& l : levels_) max = std::max(max, l.load());
  max_level_.store(max, std::memory_order_relaxed);
}

// ---------------------------------------------------------------- rate limit

RateLimit::RateLimit(int per_minute, int burst)
    : tokens_(burst),
      per_ms_(per_minute / 60000.0),
      burst_(burst),
      last_refill_(std::chrono::steady_clock::now()) {}

bool RateLimit::Allow(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (now > last_refill_) {
    double elapsed_ms =
        std::chrono::duration<double, std::milli>(now - last_refill_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed_ms * per_ms_);
    last_refill_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  if (drops_.n_dropped++ == 0) drops_.first_drop = now;
  drops_.last_drop = now;
  return false;
}

RateLimit::Drops RateLimit::TakeDrops() {
  std::lock_guard lock(mutex_);
  Drops d = drops_;
  drops_ = Drops{};
  return d;
}

// ---------------------------------------------------------------- patterns

std::string FormatLogLine(std::string_view pattern, const LogRecord& r) {
  std::string out;
  out.reserve(pattern.size() + r.message.size() + 32);
  for (size_t i = 0; i < pattern.size();) {
    char c = pattern[i++];
    if (c != '%' || i >= pattern.size()) {
      out.push_back(c);
      continue;
    }
    bool left = false, zero = false;
    if (pattern[i] == '-') left = true, i++;
    if (i < pattern.size() && pattern[i] == '0') zero = true, i++;
    int width = 0;
    while (i < pattern.size() && std::isdigit((unsigned char)pattern[i])) {
      width = width * 10 + (pattern[i++] - '0');
    }
    if (i >= pattern.size()) break;
    char esc = pattern[i++];
    switch (esc) {
      case 'A': AppendPadded(out, r.program, width, left); break;
      case 'B':
        AppendNumber(out, kSyslogPriority[static_cast<int>(r.level)], width,
                     left, zero);
        break;
      case 'c': AppendPadded(out, r.module, width, left); break;
      case 'd': case 'D': {
        std::string_view fmt = TakeBraced(pattern, &i);
        if (fmt.empty()) fmt = "%Y-%m-%d %H:%M:%S.###";
        AppendTime(out, fmt, r.time, esc == 'D');
        break;
      }
      case 'E': AppendPadded(out, HostName(), width, left); break;
      case 'm': AppendPadded(out, r.message, width, left); break;
      case 'N': AppendNumber(out, r.seqno, width, left, zero); break;
      case 'n': out.push_back('\n'); break;
      case 'p':
        AppendPadded(out, kLevelUpper[static_cast<int>(r.level)], width, left);
        break;
      case 'P': AppendNumber(out, getpid(), width, left, zero); break;
      case 'r': AppendNumber(out, r.uptime_ms, width, left, zero); break;
      case 't': AppendPadded(out, "main", width, left); break;
      case 'T': break;  // Thread name in parentheses; empty for main.
      case '%': out.push_back('%'); break;
      default: out.push_back('%'); out.push_back(esc); break;
    }
  }
  return out;
}

// ---------------------------------------------------------------- Vlog

Vlog::Vlog(std::string program)
    : program_(std::move(program)),
      syslog_facility_(LOG_DAEMON),
      start_(std::chrono::steady_clock::now()) {
  defaults_.fill(LogLevel::kInfo);
  patterns_ = {std::string(kConsolePattern), std::string(kSyslogPattern),
               std::string(kFilePattern)};
  self_ = &Module("vlog");
  for (const char* name : {"daemon", "unixctl", "jsonrpc", "reconnect"}) {
    Module(name);
  }
}

Vlog::~Vlog() {
  if (file_fd_ >= 0) close(file_fd_);
  if (syslog_open_) closelog();
}

VlogModule& Vlog::Module(std::string_view name) {
  std::lock_guard lock(mutex_);
  for (auto& m : modules_) {
    if (m.name() == name) return m;
  }
  VlogModule& m = modules_.emplace_back(std::string(name), LogLevel::kInfo);
  for (int d = 0; d < kNumLogDestinations; d++) {
    m.SetLevel(static_cast<LogDestination>(d), defaults_[d]);
  }
  return m;
}

VlogModule* Vlog::FindModule(std::string_view name) {
  std::lock_guard lock(mutex_);
  for (auto& m : modules_) {
    if (EqualsNoCase(m.name(), name)) return &m;
  }
  return nullptr;
}

void Vlog::Log(VlogModule& module, LogLevel level, std::string_view message) {
  if (level == LogLevel::kOff || !module.IsEnabled(level)) return;
  std::lock_guard lock(mutex_);
  LogRecord r{program_, module.name(), level, message, ++seqno_,
              std::chrono::system_clock::now(),
              std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start_)
                  .count()};
  auto admits = [&](LogDestination d) { return level <= module.level(d); };
  if (admits(LogDestination::kConsole) && console_fd_ >= 0) {
    WriteAll(console_fd_,
             FormatLogLine(patterns_[0], r) + "\n");
  }
  if (admits(LogDestination::kSyslog)) {
    if (!syslog_open_) {
      openlog(program_.c_str(), LOG_NDELAY, syslog_facility_);
      syslog_open_ = true;
    }
    syslog(kSyslogPriority[static_cast<int>(level)] | syslog_facility_, "%s",
           FormatLogLine(patterns_[1], r).c_str());
  }
  if (admits(LogDestination::kFile) && file_fd_ >= 0) {
    WriteAll(file_fd_, FormatLogLine(patterns_[2], r) + "\n");
  }
}

void Vlog::Logf(VlogModule& module, LogLevel level, const char* format, ...) {
  if (level == LogLevel::kOff || !module.IsEnabled(level)) return;
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string text(n > 0 ? n : 0, '\0');
  if (n > 0) std::vsnprintf(text.data(), n + 1, format, args);
  va_end(args);
  Log(module, level, text);
}

void Vlog::LogRateLimited(VlogModule& module, LogLevel level,
                          RateLimit& limit, std::string_view message,
                          std::chrono::steady_clock::time_point now) {
  if (level == LogLevel::kOff || !module.IsEnabled(level)) return;
  if (!limit.Allow(now)) return;
  RateLimit::Drops d = limit.TakeDrops();
  if (d.n_dropped > 0) {
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    Logf(*self_, LogLevel::kWarn,
         "Dropped %llu log messages in last %lld seconds (most recently, "
         "%lld seconds ago) due to excessive rate",
         static_cast<unsigned long long>(d.n_dropped),
         static_cast<long long>(
             duration_cast<seconds>(now - d.first_drop).count() + 1),
         static_cast<long long>(
             duration_cast<seconds>(now - d.last_drop).count()));
  }
  Log(module, level, message);
}

Status Vlog::SetLevelsFromString(std::string_view spec) {
  std::vector<std::string_view> words = SplitWords(spec);
  if (!words.empty() && EqualsNoCase(words[0], "pattern")) {
    if (words.size() < 2) return Error("usage", "missing destination");
    std::optional<LogDestination> dest = DestinationFromName(words[1]);
    bool any = EqualsNoCase(words[1], "any");
    if (!dest && !any) {
      return Error("usage",
                   "unknown destination \"" + std::string(words[1]) + "\"");
    }
    // The pattern is everything after "pattern:DEST:", delimiters included.
    size_t pos = spec.find(words[1]) + words[1].size();
    std::string pattern(pos < spec.size() ? spec.substr(pos + 1) : "");
    for (int d = 0; d < kNumLogDestinations; d++) {
      if (any || static_cast<int>(*dest) == d) {
        SetPattern(static_cast<LogDestination>(d), pattern);
      }
    }
    return Status::Ok();
  }
  if (!words.empty() && EqualsNoCase(words[0], "facility")) {
    if (words.size() < 2) return Error("usage", "missing facility");
    return SetSyslogFacility(words[1]);
  }
  VlogModule* module = nullptr;
  std::optional<LogLevel> level;
  std::optional<LogDestination> dest;
  for (std::string_view word : words) {
    if (EqualsNoCase(word, "any")) continue;
    if (auto d = DestinationFromName(word)) {
      if (dest) return Error("usage", "cannot specify multiple destinations");
      dest = d;
    } else if (auto l = LevelFromName(word)) {
      if (level) return Error("usage", "cannot specify multiple levels");
      level = l;
    } else if (VlogModule* m = FindModule(word)) {
      if (module) return Error("usage", "cannot specify multiple modules");
      module = m;
    } else {
      return Error("usage", "no destination, level, or module \"" +
                                std::string(word) + "\"");
    }
  }
  SetLevels(module, dest, level.value_or(LogLevel::kDbg));
  return Status::Ok();
}

void Vlog::SetLevels(VlogModule* module,
                     std::optional<LogDestination> destination,
                     LogLevel level) {
  std::lock_guard lock(mutex_);
  for (int d = 0; d < kNumLogDestinations; d++) {
    if (destination && static_cast<int>(*destination) != d) continue;
    auto dest = static_cast<LogDestination>(d);
    if (module) {
      module->SetLevel(dest, level);
    } else {
      defaults_[d] = level;
      for (auto& m : modules_) m.SetLevel(dest, level);
    }
  }
}

void Vlog::SetPattern(LogDestination destination, std::string pattern) {
  std::lock_guard lock(mutex_);
  patterns_[static_cast<int>(destination)] = std::move(pattern);
}

Status Vlog::SetSyslogFacility(std::string_view name) {
  for (const FacilityName& f : kFacilities) {
    if (EqualsNoCase(f.name, name)) {
      std::lock_guard lock(mutex_);
      syslog_facility_ = f.value;
      if (syslog_open_) {
        closelog();
        syslog_open_ = false;
      }
      return Status::Ok();
    }
  }
  return Error("usage", "unknown facility \"" + std::string(name) + "\"");
}

Status Vlog::OpenFileLocked() {
  int fd = open(file_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                0644);
  if (fd < 0) {
    return Error("I/O error", file_path_ + ": failed to open log file (" +
                                  std::strerror(errno) + ")");
  }
  if (file_fd_ >= 0) close(file_fd_);
  file_fd_ = fd;
  return Status::Ok();
}

Status Vlog::SetLogFile(const std::string& path) {
  {
    std::lock_guard lock(mutex_);
    std::string old = file_path_;
    file_path_ = path;
    Status s = OpenFileLocked();
    if (!s.ok()) {
      file_path_ = old;
      return s;
    }
  }
  Log(*self_, LogLevel::kInfo, "opened log file " + path);
  return Status::Ok();
}

Status Vlog::ReopenLogFile() {
  std::string path;
  {
    std::lock_guard lock(mutex_);
    if (file_path_.empty()) {
      return Error("usage", "Logging to file not configured");
    }
    Status s = OpenFileLocked();
    if (!s.ok()) return s;
    path = file_path_;
  }
  Log(*self_, LogLevel::kInfo, "opened log file " + path);
  return Status::Ok();
}

void Vlog::CloseLogFile() {
  std::lock_guard lock(mutex_);
  if (file_fd_ >= 0) close(file_fd_);
  file_fd_ = -1;
}

std::string Vlog::log_file() const {
  std::lock_guard lock(mutex_);
  return file_path_;
}

void Vlog::SetConsoleFd(int fd) {
  std::lock_guard lock(mutex_);
  console_fd_ = fd;
}

std::string Vlog::ListLevels() const {
  std::vector<std::string> lines;
  {
    std::lock_guard lock(mutex_);
    for (const VlogModule& m : modules_) {
      char line[256];
      std::snprintf(line, sizeof line, "%-16s  %4s       %4s       %4s\n",
                    m.name().c_str(),
                    kLevelUpper[static_cast<int>(m.level(LogDestination::kConsole))].data(),
                    kLevelUpper[static_cast<int>(m.level(LogDestination::kSyslog))].data(),
                    kLevelUpper[static_cast<int>(m.level(LogDestination::kFile))].data());
      lines.emplace_back(line);
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string out =
      "                 console    syslog    file\n"
      "                 -------    ------    ------\n";
  for (const std::string& l : lines) out += l;
  return out;
}

std::string Vlog::ListPatterns() const {
  std::lock_guard lock(mutex_);
  char line[512];
  std::string out =
      "         prefix                            format\n"
      "         ------                            ------\n";
  std::snprintf(line, sizeof line, "%-9s%-34s%s\n", "SYSLOG",
                "<%B> %D{%h %e %T} %E %A:", patterns_[1].c_str());
  out += line;
  std::snprintf(line, sizeof line, "%-9s%-34s%s\n", "CONSOLE", "none",
                patterns_[0].c_str());
  out += line;
  std::snprintf(line, sizeof line, "%-9s%-34s%s\n", "FILE", "none",
                patterns_[2].c_str());
  out += line;
  return out;
}

}  // namespace spate::common
