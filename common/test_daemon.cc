// spate-test-daemon: the smallest daemon built on common/, used by
// daemon_test.cc to exercise --detach, --monitor, --pidfile, --log-file and
// --unixctl end to end.  It also shows the shape every daemon's main()
// takes.
//
// Own options: --fail-startup (exit 3 before Complete(), to test that the
// --detach parent reports the failure).  Control commands: the built-ins,
// exit, memory/show, test/echo ARG... (replies the arguments joined by
// spaces), test/crash (abort(), for --monitor).
#include <sys/resource.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/daemon.h"
#include "common/event_loop.h"
#include "common/unixctl.h"
#include "common/vlog.h"

namespace {

using spate::Result;
using spate::Status;
using namespace spate::common;

constexpr int kOptFailStartup = 256;

const ProgramOption kOptions[] = {
    {"fail-startup", 0, ArgKind::kNone, kOptFailStartup},
};

void RegisterCommands(UnixctlServer& unixctl, EventLoop& loop) {
  unixctl.SetExitHandler([&loop]() { loop.Stop(); });
  unixctl.SetMemoryReporter(
      [&unixctl]() { return "sessions:" + std::to_string(unixctl.n_sessions()); });
  unixctl.Register("test/echo", "ARG...", 0, -1,
                   [](const std::vector<std::string>& args) -> Result<std::string> {
                     std::string out;
                     for (const std::string& a : args) {
                       out += (out.empty() ? "" : " ") + a;
                     }
                     return out;
                   });
  unixctl.Register("test/crash", "", 0, 0,
                   [](const std::vector<std::string>&) -> Result<std::string> {
                     rlimit no_core = {0, 0};  // No core file from a test.
                     setrlimit(RLIMIT_CORE, &no_core);
                     std::abort();
                   });
}

}  // namespace

int main(int argc, char** argv) {
  Vlog vlog("spate-test-daemon");
  VlogModule& log = vlog.Module("test_daemon");
  bool fail_startup = false;
  ProgramInfo info{"spate-test-daemon",
                   "spate-test-daemon: a minimal daemon for tests\n"
                   "usage: spate-test-daemon [OPTIONS]\n"
                   "  --fail-startup          exit with status 3 during startup\n",
                   true};
  CommandLine cl = ParseCommandLineOrExit(
      info, vlog, argc, argv, kOptions, [&](int code, const char*) -> Status {
        if (code == kOptFailStartup) fail_startup = true;
        return Status::Ok();
      });
  if (!cl.args.empty()) FatalError(info.name, "no non-option arguments allowed");

  Result<std::unique_ptr<Daemon>> daemon = Daemon::Start(cl.daemon, vlog);
  if (!daemon.ok()) FatalError(info.name, daemon.error().details());
  if (fail_startup) FatalError(info.name, "failing startup as asked", 3);

  EventLoop loop;  // After Daemon::Start(): it may have forked.
  loop.OnSignals({SIGTERM, SIGINT}, [&loop](int) { loop.Stop(); });
  std::unique_ptr<UnixctlServer> unixctl;
  if (std::string path = (*daemon)->UnixctlPath(); !path.empty()) {
    Result<std::unique_ptr<UnixctlServer>> server =
        UnixctlServer::Create(loop, path, vlog);
    if (!server.ok()) FatalError(info.name, server.error().details());
    unixctl = std::move(server).value();
    RegisterCommands(*unixctl, loop);
  }
  vlog.Log(log, LogLevel::kInfo, VersionLine(info.name));
  (*daemon)->Complete();
  loop.Run();
  vlog.Log(log, LogLevel::kInfo, "exiting");
  return 0;
}
