// Tests for the daemon conventions: option parsing and defaults, pidfiles,
// and the real spate-test-daemon detaching, answering ovs-appctl (ours and
// Debian's), refusing a second instance, restarting under --monitor and
// exiting on "exit".
#include "common/daemon.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing.h"
#include "common/unixctl.h"

namespace spate::common {
namespace {

using ::testing::HasSubstr;
using testing::ProcessAlive;
using testing::ReadFile;
using testing::RunProgram;
using testing::TempDir;
using testing::WaitFor;
using namespace std::chrono_literals;

constexpr const char* kDaemon = SPATE_TEST_DAEMON;
constexpr const char* kOurAppctl = SPATE_OVS_APPCTL;

// Sets OVS_* for one test and restores the old environment.
class EnvGuard {
 public:
  explicit EnvGuard(const std::string& dir) {
    for (const char* v : {"OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR"}) {
      unsetenv(v);
    }
    setenv("OVS_RUNDIR", dir.c_str(), 1);
    setenv("OVS_LOGDIR", (dir + "/log").c_str(), 1);
  }
  ~EnvGuard() {
    unsetenv("OVS_RUNDIR");
    unsetenv("OVS_LOGDIR");
  }
};

Result<CommandLine> Parse(Vlog& vlog, std::vector<std::string> args,
                          int* own_seen = nullptr) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  static const ProgramOption kOwn[] = {{"remote", 0, ArgKind::kRequired, 300},
                                       {"flag", 'f', ArgKind::kNone, 'f'}};
  ProgramInfo info{"prog", "usage\n", true};
  return ParseCommandLine(info, vlog, static_cast<int>(argv.size()) - 1,
                          argv.data(), kOwn, [&](int code, const char* arg) -> Status {
                            if (own_seen) *own_seen = code;
                            if (code == 300 && std::string(arg) == "bad") {
                              return Error("usage", "bad remote");
                            }
                            return Status::Ok();
                          });
}

TEST(Directories, OvsDefaultsAndOverrides) {
  for (const char* v : {"OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR"}) {
    unsetenv(v);
  }
  EXPECT_EQ(OvsRundir(), "/var/run/openvswitch");
  EXPECT_EQ(OvsLogdir(), "/var/log/openvswitch");
  EXPECT_EQ(OvsDbdir(), "/etc/openvswitch");
  EXPECT_EQ(OvsSysconfdir(), "/etc");
  setenv("OVS_SYSCONFDIR", "/sc", 1);
  EXPECT_EQ(OvsDbdir(), "/sc/openvswitch");
  setenv("OVS_DBDIR", "/db", 1);
  EXPECT_EQ(OvsDbdir(), "/db");
  unsetenv("OVS_DBDIR");
  unsetenv("OVS_SYSCONFDIR");
  EXPECT_EQ(AbsFileName("/a", "b"), "/a/b");
  EXPECT_EQ(AbsFileName("/a", "/b"), "/b");
}

TEST(ParseCommandLine, DefaultsFollowOvs) {
  TempDir dir;
  EnvGuard env(dir.path());
  Vlog vlog("prog");
  int own = 0;
  auto cl = Parse(vlog, {"--detach", "--pidfile", "--log-file", "-vconsole:off",
                         "--remote=punix:x", "db1", "-f", "db2", "--no-chdir",
                         "--monitor", "--overwrite-pidfile"}, &own);
  ASSERT_TRUE(cl.ok()) << cl.error().ToString();
  EXPECT_EQ(cl->outcome, ParseOutcome::kRun);
  EXPECT_TRUE(cl->daemon.detach);
  EXPECT_TRUE(cl->daemon.no_chdir);
  EXPECT_TRUE(cl->daemon.monitor);
  EXPECT_TRUE(cl->daemon.overwrite_pidfile);
  EXPECT_EQ(cl->daemon.pidfile, dir.File("prog.pid"));
  EXPECT_EQ(cl->daemon.log_file, dir.File("log/prog.log"));
  EXPECT_EQ(cl->args, (std::vector<std::string>{"db1", "db2"}));
  EXPECT_EQ(own, 'f');
  EXPECT_EQ(vlog.Module("vlog").level(LogDestination::kConsole), LogLevel::kOff);
}

TEST(ParseCommandLine, ExplicitFilesAndHelpVersion) {
  TempDir dir;
  EnvGuard env(dir.path());
  Vlog vlog("prog");
  auto cl = Parse(vlog, {"--pidfile=my.pid", "--log-file=/x/y.log", "--unixctl=c.ctl"});
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->daemon.pidfile, dir.File("my.pid"));
  EXPECT_EQ(cl->daemon.log_file, "/x/y.log");
  EXPECT_EQ(cl->daemon.unixctl, "c.ctl");
  EXPECT_EQ(Parse(vlog, {"--help"})->outcome, ParseOutcome::kHelp);
  EXPECT_EQ(Parse(vlog, {"-V"})->outcome, ParseOutcome::kVersion);
}

TEST(ParseCommandLine, OneLineErrors) {
  Vlog vlog("prog");
  auto error = [&](std::vector<std::string> args) {
    auto cl = Parse(vlog, std::move(args));
    return cl.ok() ? std::string("ok") : cl.error().details();
  };
  EXPECT_EQ(error({"--bogus"}), "unrecognized option '--bogus'");
  EXPECT_EQ(error({"--unixctl"}), "option '--unixctl' requires an argument");
  EXPECT_EQ(error({"-q"}), "invalid option -- 'q'");
  EXPECT_EQ(error({"-vfoo:bar"}),
            "processing \"foo:bar\": no destination, level, or module \"foo\"");
  EXPECT_EQ(error({"--remote=bad"}), "bad remote");
  EXPECT_EQ(error({"--detach=yes"}), "option '--detach' doesn't allow an argument");
}

TEST(ParseCommandLine, HelpTextNamesDefaults) {
  TempDir dir;
  EnvGuard env(dir.path());
  std::string help = CommonOptionsHelp(ProgramInfo{"prog", "", true});
  EXPECT_THAT(help, HasSubstr("--pidfile[=FILE]        create pidfile (default: " +
                              dir.File("prog.pid") + ")"));
  EXPECT_THAT(help, HasSubstr("(default: " + dir.File("log/prog.log") + ")"));
  EXPECT_THAT(CommonOptionsHelp(ProgramInfo{"tool", "", false}),
              ::testing::Not(HasSubstr("--detach")));
}

TEST(Version, LineFormat) {
  EXPECT_EQ(VersionLine("ovsdb-server"),
            "ovsdb-server (Spate) " + std::string(SpateVersion()));
  EXPECT_FALSE(SpateVersion().empty());
}

std::vector<std::pair<std::string, std::string>> DaemonEnv(const TempDir& dir) {
  return {{"OVS_RUNDIR", dir.path()}, {"OVS_LOGDIR", dir.path()}};
}

pid_t PidFromFile(const std::string& path) {
  return static_cast<pid_t>(std::atol(ReadFile(path).c_str()));
}

TEST(TestDaemon, DetachServeAndExit) {
  TempDir dir;
  auto env = DaemonEnv(dir);
  auto r = RunProgram({kDaemon, "--detach", "--pidfile", "--log-file",
                       "-vsyslog:off", "--no-chdir"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // --detach returned only once the daemon was ready: everything exists now.
  pid_t pid = PidFromFile(dir.File("spate-test-daemon.pid"));
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(ProcessAlive(pid));
  std::string ctl = dir.File("spate-test-daemon." + std::to_string(pid) + ".ctl");
  EXPECT_EQ(access(ctl.c_str(), F_OK), 0);
  EXPECT_THAT(ReadFile(dir.File("spate-test-daemon.log")),
              HasSubstr("|test_daemon|INFO|spate-test-daemon (Spate) "));

  // Target by name, resolved through the pidfile, with both ovs-appctls.
  auto v = RunProgram({kOurAppctl, "-t", "spate-test-daemon", "version"}, env);
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out, VersionLine("spate-test-daemon") + "\n");
  v = RunProgram({"/usr/bin/ovs-appctl", "-t", "spate-test-daemon", "test/echo",
                  "a", "b"}, env);
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out, "a b\n");
  v = RunProgram({kOurAppctl, "-t", "spate-test-daemon", "vlog/reopen"}, env);
  EXPECT_EQ(v.exit_code, 0) << v.err;

  // A second instance refuses to start while the first holds the pidfile.
  auto second = RunProgram({kDaemon, "--detach", "--pidfile", "-vsyslog:off"}, env);
  EXPECT_NE(second.exit_code, 0);
  EXPECT_THAT(second.err, HasSubstr("already running as pid " +
                                    std::to_string(pid) + ", aborting"));

  v = RunProgram({kOurAppctl, "-t", "spate-test-daemon", "exit"}, env);
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, 10s));
  EXPECT_TRUE(WaitFor([&] { return access(ctl.c_str(), F_OK) != 0; }, 10s));
  EXPECT_TRUE(WaitFor(
      [&] { return access(dir.File("spate-test-daemon.pid").c_str(), F_OK) != 0; },
      10s));
}

TEST(TestDaemon, StartupFailureReachesTheParent) {
  TempDir dir;
  auto r = RunProgram({kDaemon, "--detach", "--fail-startup", "-vsyslog:off"},
                      DaemonEnv(dir));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "spate-test-daemon: failing startup as asked\n");
}

TEST(TestDaemon, UnixctlOptionAndSigterm) {
  TempDir dir;
  auto env = DaemonEnv(dir);
  auto r = RunProgram({kDaemon, "--detach", "--pidfile=d.pid",
                       "--unixctl=" + dir.File("d.ctl"), "-vsyslog:off"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  pid_t pid = PidFromFile(dir.File("d.pid"));
  auto v = RunProgram({kOurAppctl, "-t", dir.File("d.ctl"), "memory/show"});
  EXPECT_EQ(v.out, "sessions:1\n");
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, 10s));
  EXPECT_TRUE(WaitFor([&] { return access(dir.File("d.pid").c_str(), F_OK) != 0; }, 10s));
}

TEST(TestDaemon, MonitorRestartsAfterCrash) {
  TempDir dir;
  auto env = DaemonEnv(dir);
  auto r = RunProgram({kDaemon, "--detach", "--monitor", "--pidfile",
                       "-vsyslog:off", "--log-file"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string pidfile = dir.File("spate-test-daemon.pid");
  pid_t first = PidFromFile(pidfile);
  ASSERT_GT(first, 0);
  auto v = RunProgram({kOurAppctl, "-t", "spate-test-daemon", "test/crash"}, env);
  EXPECT_NE(v.exit_code, 0);  // The connection dies with the process.
  pid_t second = 0;
  ASSERT_TRUE(WaitFor([&] {
    Result<pid_t> p = ReadPidfile(pidfile);
    if (p.ok() && *p != first) second = *p;
    return second != 0;
  }, 20s));
  EXPECT_FALSE(ProcessAlive(first));
  EXPECT_THAT(ReadFile(dir.File("spate-test-daemon.log")),
              HasSubstr("died, killed (Aborted), restarting"));
  v = RunProgram({kOurAppctl, "-t", "spate-test-daemon", "exit"}, env);
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(second); }, 10s));
}

TEST(TestDaemon, HelpVersionAndBadOptions) {
  auto r = RunProgram({kDaemon, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, VersionLine("spate-test-daemon") + "\n");
  r = RunProgram({kDaemon, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--fail-startup"));
  EXPECT_THAT(r.out, HasSubstr("Daemon options:"));
  r = RunProgram({kDaemon, "--nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "spate-test-daemon: unrecognized option '--nope'\n");
  r = RunProgram({kDaemon, "--unixctl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "spate-test-daemon: option '--unixctl' requires an argument\n");
}

TEST(Pidfile, StaleAndMissing) {
  TempDir dir;
  int err = 0;
  auto r = ReadPidfile(dir.File("none.pid"), &err);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(err, ENOENT);
  FILE* f = std::fopen(dir.File("stale.pid").c_str(), "w");
  std::fputs("999999\n", f);
  std::fclose(f);
  r = ReadPidfile(dir.File("stale.pid"), &err);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().details(), HasSubstr("pidfile is stale"));
  EXPECT_EQ(err, ESRCH);
}

}  // namespace
}  // namespace spate::common
