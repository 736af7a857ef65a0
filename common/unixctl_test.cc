// Tests for the unixctl server: Debian's real /usr/bin/ovs-appctl and our
// ovs-appctl against a UnixctlServer running in this process, and the
// in-library client.
#include "common/unixctl.h"

#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/daemon.h"
#include "common/testing.h"

namespace spate::common {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::RunProgram;
using testing::TempDir;
using namespace std::chrono_literals;

constexpr const char* kRealAppctl = "/usr/bin/ovs-appctl";
constexpr const char* kOurAppctl = SPATE_OVS_APPCTL;

// A UnixctlServer whose loop runs on a thread, as in a daemon.
class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    vlog_.SetConsoleFd(-1);
    vlog_.Module("ovsdb_server");
    socket_ = dir_.File("test.ctl");
    auto s = UnixctlServer::Create(loop_, socket_, vlog_);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    server_ = std::move(s).value();
    server_->SetMemoryReporter([] { return std::string("cells:20 monitors:0"); });
    server_->SetExitHandler([this] { exited_ = true; });
    server_->Register("test/sum", "A B", 2, 2,
                      [](const std::vector<std::string>& a) -> Result<std::string> {
                        if (a[0].empty()) return Error("usage", "A is empty");
                        return std::to_string(std::stoi(a[0]) + std::stoi(a[1]));
                      });
    thread_ = std::thread([this] { loop_.Run(); });
  }
  void TearDown() override {
    loop_.Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  testing::ProgramResult Appctl(const char* binary, std::vector<std::string> args) {
    args.insert(args.begin(), {binary, "-t", socket_});
    return RunProgram(args, {{"OVS_RUNDIR", dir_.path()}});
  }

  TempDir dir_;
  Vlog vlog_{"ovsdb-server"};
  EventLoop loop_;
  std::string socket_;
  std::unique_ptr<UnixctlServer> server_;
  std::thread thread_;
  std::atomic<bool> exited_{false};
};

const char kExpectedCommands[] =
    "The available commands are:\n"
    "  exit                    \n"
    "  list-commands           \n"
    "  memory/show             \n"
    "  test/sum                A B\n"
    "  version                 \n"
    "  vlog/close              \n"
    "  vlog/list               \n"
    "  vlog/list-pattern       \n"
    "  vlog/reopen             \n"
    "  vlog/set                {spec | PATTERN:destination:pattern}\n";

TEST_F(ServerFixture, RealOvsAppctlListCommandsAndVersion) {
  auto r = Appctl(kRealAppctl, {"list-commands"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kExpectedCommands);
  r = Appctl(kRealAppctl, {"version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ovsdb-server (Spate) " + std::string(SpateVersion()) + "\n");
}

TEST_F(ServerFixture, RealOvsAppctlErrorsAndVlog) {
  auto r = Appctl(kRealAppctl, {"nosuch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "\"nosuch\" is not a valid command (use \"list-commands\" to see a "
            "list of valid commands)\n"
            "ovs-appctl: " + socket_ + ": server returned an error\n");
  r = Appctl(kRealAppctl, {"exit", "now"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("\"exit\" command takes at most 0 arguments\n"));
  r = Appctl(kRealAppctl, {"test/sum", "1"});
  EXPECT_THAT(r.err, StartsWith("\"test/sum\" command requires at least 2 arguments\n"));
  r = Appctl(kRealAppctl, {"vlog/set", "foo:bar"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("no destination, level, or module \"foo\"\n"));
  r = Appctl(kRealAppctl, {"vlog/set", "ovsdb_server:file:dbg", "console:warn"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  r = Appctl(kRealAppctl, {"vlog/list"});
  EXPECT_THAT(r.out, HasSubstr("\novsdb_server      WARN       INFO        DBG\n"));
  r = Appctl(kRealAppctl, {"vlog/reopen"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("Logging to file not configured\n"));
  r = Appctl(kRealAppctl, {"memory/show"});
  EXPECT_EQ(r.out, "cells:20 monitors:0\n");
  r = Appctl(kRealAppctl, {"test/sum", "2", "40"});
  EXPECT_EQ(r.out, "42\n");
  r = Appctl(kRealAppctl, {"test/sum", "", "40"});
  EXPECT_THAT(r.err, StartsWith("A is empty\n"));
}

TEST_F(ServerFixture, OurAppctlMatchesTheRealOne) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"list-commands"}, {"version"}, {"nosuch"},
        {"exit", "x"}, {"vlog/set", "a:b"}, {"memory/show"}, {"vlog/list"},
        {"test/sum", "1", "2"}}) {
    auto real = Appctl(kRealAppctl, args);
    auto ours = Appctl(kOurAppctl, args);
    EXPECT_EQ(ours.exit_code, real.exit_code) << args[0];
    EXPECT_EQ(ours.out, real.out) << args[0];
    EXPECT_EQ(ours.err, real.err) << args[0];
  }
}

TEST_F(ServerFixture, ExitRunsHandlerAfterReply) {
  auto r = Appctl(kOurAppctl, {"exit"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(testing::WaitFor([&] { return exited_.load(); }));
}

TEST_F(ServerFixture, LibraryClient) {
  auto r = UnixctlTransact(socket_, "test/sum", {"5", "6"}, 5s);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_FALSE(r->is_error);
  EXPECT_EQ(r->text, "11\n");
  r = UnixctlTransact(socket_, "bogus", {}, 5s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_error);
  r = UnixctlTransact(dir_.File("absent.ctl"), "version", {}, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().details(), HasSubstr("No such file or directory"));
}

TEST(OvsAppctl, OptionErrorsAndHelp) {
  auto r = RunProgram({kOurAppctl});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "ovs-appctl: at least one non-option argument is required "
                   "(use --help for help)\n");
  r = RunProgram({kOurAppctl, "--bogus"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "ovs-appctl: unrecognized option '--bogus'\n");
  r = RunProgram({kOurAppctl, "-t"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "ovs-appctl: option requires an argument -- 't'\n");
  r = RunProgram({kOurAppctl, "-T", "soon", "version"});
  EXPECT_EQ(r.exit_code, 1);
  r = RunProgram({kOurAppctl, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "ovs-appctl (Spate) " + std::string(SpateVersion()) + "\n");
  r = RunProgram({kOurAppctl, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("-t, --target=TARGET"));
}

TEST(OvsAppctl, UnreachableTargetsAreOneLineErrors) {
  TempDir dir;
  auto r = RunProgram({kOurAppctl, "-t", "nodaemon", "version"},
                      {{"OVS_RUNDIR", dir.path()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ovs-appctl: cannot read pidfile \"" +
                               dir.File("nodaemon.pid") +
                               "\" (No such file or directory)\n"));
  r = RunProgram({kOurAppctl, "-t", dir.File("x.ctl"), "version"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ovs-appctl: cannot connect to \"" +
                               dir.File("x.ctl") + "\" (No such file or directory)\n"));
}

}  // namespace
}  // namespace spate::common
