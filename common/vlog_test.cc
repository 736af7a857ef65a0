// Tests for Vlog: patterns, spec parsing (OVS's wording), vlog/list
// layout, file logging with reopen/close, console output and rate limits.
#include "common/vlog.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing.h"

namespace spate::common {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using testing::ReadFile;
using testing::TempDir;

// 2026-11-24T01:00:00.123Z
std::chrono::system_clock::time_point FixedTime() {
  return std::chrono::system_clock::from_time_t(1795482000) +
         std::chrono::milliseconds(123);
}

TEST(VlogFormat, FileDefaultPatternMatchesOvs) {
  LogRecord r{"ovsdb-server", "ovsdb_server", LogLevel::kInfo, "msg", 1,
              FixedTime(), 0};
  EXPECT_EQ(FormatLogLine(Vlog::kFilePattern, r),
            "2026-11-24T01:00:00.123Z|00001|ovsdb_server|INFO|msg");
  EXPECT_EQ(FormatLogLine(Vlog::kConsolePattern, r),
            "2026-11-24T01:00:00Z|00001|ovsdb_server|INFO|msg");
  EXPECT_EQ(FormatLogLine(Vlog::kSyslogPattern, r),
            "ovs|00001|ovsdb_server|INFO|msg");
}

TEST(VlogFormat, WidthsProgramAndEscapes) {
  LogRecord r{"prog", "mod", LogLevel::kWarn, "hi", 42, FixedTime(), 7};
  EXPECT_EQ(FormatLogLine("[%-6c][%6c][%A][%p][%3N][%%][%r][%m]", r),
            "[mod   ][   mod][prog][WARN][ 42][%][7][hi]");
  EXPECT_EQ(FormatLogLine("%B", r), "4");  // LOG_WARNING.
  EXPECT_EQ(FormatLogLine("%q", r), "%q");  // Unknown escapes stay.
}

TEST(VlogSpec, LevelsPerModuleAndDestination) {
  Vlog vlog("test");
  VlogModule& a = vlog.Module("alpha");
  VlogModule& b = vlog.Module("beta");
  ASSERT_TRUE(vlog.SetLevelsFromString("alpha:file:dbg").ok());
  EXPECT_EQ(a.level(LogDestination::kFile), LogLevel::kDbg);
  EXPECT_EQ(a.level(LogDestination::kConsole), LogLevel::kInfo);
  EXPECT_EQ(b.level(LogDestination::kFile), LogLevel::kInfo);

  ASSERT_TRUE(vlog.SetLevelsFromString("console:off").ok());
  EXPECT_EQ(a.level(LogDestination::kConsole), LogLevel::kOff);
  EXPECT_EQ(b.level(LogDestination::kConsole), LogLevel::kOff);
  EXPECT_EQ(b.level(LogDestination::kSyslog), LogLevel::kInfo);

  ASSERT_TRUE(vlog.SetLevelsFromString("ANY:warn").ok());
  for (auto d : {LogDestination::kConsole, LogDestination::kSyslog,
                 LogDestination::kFile}) {
    EXPECT_EQ(b.level(d), LogLevel::kWarn);
  }
  // No level means dbg; "" means everything at dbg.
  ASSERT_TRUE(vlog.SetLevelsFromString("beta").ok());
  EXPECT_EQ(b.level(LogDestination::kSyslog), LogLevel::kDbg);
  ASSERT_TRUE(vlog.SetLevelsFromString("").ok());
  EXPECT_EQ(a.level(LogDestination::kConsole), LogLevel::kDbg);
  // Modules registered later take the current defaults.
  ASSERT_TRUE(vlog.SetLevelsFromString("file:err").ok());
  EXPECT_EQ(vlog.Module("gamma").level(LogDestination::kFile), LogLevel::kErr);
}

TEST(VlogSpec, ErrorsUseOvsWording) {
  Vlog vlog("test");
  auto error = [&](const char* spec) {
    Status s = vlog.SetLevelsFromString(spec);
    return s.ok() ? std::string("ok") : s.error().details();
  };
  EXPECT_EQ(error("foo:bar"), "no destination, level, or module \"foo\"");
  EXPECT_EQ(error("ANY:file:dbg:console"), "cannot specify multiple destinations");
  EXPECT_EQ(error("console:dbg:info"), "cannot specify multiple levels");
  EXPECT_EQ(error("vlog:unixctl"), "cannot specify multiple modules");
  EXPECT_EQ(error("pattern:foo:%m"), "unknown destination \"foo\"");
  EXPECT_EQ(error("facility:nowhere"), "unknown facility \"nowhere\"");
  EXPECT_EQ(error("facility:local0"), "ok");
}

TEST(VlogSpec, PatternKeepsColons) {
  Vlog vlog("test");
  ASSERT_TRUE(vlog.SetLevelsFromString("pattern:file:%c:%p:%m").ok());
  EXPECT_THAT(vlog.ListPatterns(), HasSubstr("FILE     none"));
  EXPECT_THAT(vlog.ListPatterns(), HasSubstr("%c:%p:%m\n"));
}

TEST(VlogList, OvsTableLayout) {
  Vlog vlog("test");
  ASSERT_TRUE(vlog.SetLevelsFromString("jsonrpc:dbg").ok());
  ASSERT_TRUE(vlog.SetLevelsFromString("console:off").ok());
  std::string list = vlog.ListLevels();
  EXPECT_THAT(list, ::testing::StartsWith(
                        "                 console    syslog    file\n"
                        "                 -------    ------    ------\n"));
  EXPECT_THAT(list, HasSubstr("\njsonrpc            OFF        DBG        DBG\n"));
  EXPECT_THAT(list, HasSubstr("\nvlog               OFF       INFO       INFO\n"));
  // Sorted by name.
  EXPECT_LT(list.find("daemon "), list.find("jsonrpc "));
  EXPECT_LT(list.find("unixctl "), list.find("vlog "));
}

TEST(VlogFile, WritesReopensAndCloses) {
  TempDir dir;
  Vlog vlog("test");
  VlogModule& m = vlog.Module("ovsdb_server");
  vlog.SetConsoleFd(-1);
  Status no_file = vlog.ReopenLogFile();
  ASSERT_FALSE(no_file.ok());
  EXPECT_EQ(no_file.error().details(), "Logging to file not configured");

  std::string path = dir.File("test.log");
  ASSERT_TRUE(vlog.SetLogFile(path).ok());
  vlog.Log(m, LogLevel::kInfo, "first");
  vlog.Log(m, LogLevel::kDbg, "hidden");  // Default level is info.
  std::string text = ReadFile(path);
  EXPECT_THAT(text, MatchesRegex(
      "[0-9-]+T[0-9:]+\\.[0-9]{3}Z\\|00001\\|vlog\\|INFO\\|opened log file .*\n"
      "[0-9-]+T[0-9:]+\\.[0-9]{3}Z\\|00002\\|ovsdb_server\\|INFO\\|first\n"));

  // Rotation: rename, reopen, and the new file gets new messages.
  ASSERT_EQ(rename(path.c_str(), dir.File("test.log.1").c_str()), 0);
  ASSERT_TRUE(vlog.ReopenLogFile().ok());
  vlog.Logf(m, LogLevel::kWarn, "after %d", 2);
  EXPECT_THAT(ReadFile(path), HasSubstr("|ovsdb_server|WARN|after 2\n"));
  vlog.CloseLogFile();
  vlog.Log(m, LogLevel::kWarn, "while closed");
  EXPECT_THAT(ReadFile(path), ::testing::Not(HasSubstr("while closed")));
}

TEST(VlogFile, UnwritablePathIsAnError) {
  Vlog vlog("test");
  Status s = vlog.SetLogFile("/nonexistent-dir/x.log");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().details(), HasSubstr("No such file or directory"));
  EXPECT_EQ(vlog.log_file(), "");
}

TEST(VlogConsole, WritesToConsoleFd) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  Vlog vlog("test");
  vlog.SetConsoleFd(fds[1]);
  ASSERT_TRUE(vlog.SetLevelsFromString("syslog:off").ok());
  vlog.Log(vlog.Module("m"), LogLevel::kErr, "to console");
  close(fds[1]);
  char buf[256];
  ssize_t n = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  ASSERT_GT(n, 0);
  EXPECT_THAT(std::string(buf, n), HasSubstr("|m|ERR|to console\n"));
}

TEST(VlogRateLimit, TokenBucket) {
  RateLimit limit(60, 2);  // One per second, bursts of two.
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(limit.Allow(t0));
  EXPECT_TRUE(limit.Allow(t0));
  EXPECT_FALSE(limit.Allow(t0));
  EXPECT_FALSE(limit.Allow(t0 + std::chrono::milliseconds(500)));
  EXPECT_TRUE(limit.Allow(t0 + std::chrono::milliseconds(1600)));
  RateLimit::Drops d = limit.TakeDrops();
  EXPECT_EQ(d.n_dropped, 2u);
  EXPECT_EQ(limit.TakeDrops().n_dropped, 0u);
}

TEST(VlogRateLimit, ReportsDrops) {
  TempDir dir;
  Vlog vlog("test");
  vlog.SetConsoleFd(-1);
  ASSERT_TRUE(vlog.SetLevelsFromString("syslog:off").ok());
  ASSERT_TRUE(vlog.SetLogFile(dir.File("x.log")).ok());
  VlogModule& m = vlog.Module("m");
  RateLimit limit(1, 1);  // One a minute.
  auto t0 = std::chrono::steady_clock::now();
  vlog.LogRateLimited(m, LogLevel::kInfo, limit, "one", t0);
  vlog.LogRateLimited(m, LogLevel::kInfo, limit, "dropped", t0);
  vlog.LogRateLimited(m, LogLevel::kInfo, limit, "later",
                      t0 + std::chrono::seconds(61));
  std::string text = ReadFile(dir.File("x.log"));
  EXPECT_THAT(text, HasSubstr("|m|INFO|one\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("|dropped")));
  EXPECT_THAT(text, HasSubstr("|vlog|WARN|Dropped 1 log messages in last 62 "
                              "seconds (most recently, 61 seconds ago) due "
                              "to excessive rate\n"));
  EXPECT_THAT(text, HasSubstr("|m|INFO|later\n"));
}

}  // namespace
}  // namespace spate::common
