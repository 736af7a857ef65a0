// ovn-controller: Spate's hypervisor daemon.  Today it runs the switch
// (controller/bridge.h: the Open_vSwitch database to the DPDK datapath)
// and its ovs-appctl commands (controller/appctl.h); the OVN controller
// logic joins it in a later issue.  This file parses the command line,
// starts the daemon, the control socket, and runs the loop.
#include <csignal>
#include <memory>
#include <string>
#include <utility>

#include "common/daemon.h"
#include "common/event_loop.h"
#include "common/unixctl.h"
#include "common/vlog.h"
#include "controller/appctl.h"
#include "controller/bridge.h"
#include "ovsdb/idl.h"

namespace {

using spate::Result;
using spate::Status;
using namespace spate::common;
using spate::controller::DummyMode;

constexpr int kEnableDummy = 256;

const ProgramOption kOptions[] = {
    {"enable-dummy", 0, ArgKind::kOptional, kEnableDummy},
};

std::string Usage() {
  return "ovn-controller: Spate hypervisor daemon (an Open vSwitch-style switch over DPDK)\n"
         "usage: ovn-controller [OPTIONS] [DATABASE]\n"
         "where DATABASE is a socket on which ovsdb-server is listening\n"
         "      (default: \"unix:" + OvsRundir() + "/db.sock\").\n"
         "\n"
         "Options:\n"
         "  --enable-dummy[=override]\n"
         "                          allow dummy interfaces and datapaths; with\n"
         "                          override, system, tap and internal interfaces\n"
         "                          become dummy ones too\n";
}

}  // namespace

int main(int argc, char** argv) {
  Vlog vlog("ovn-controller");
  VlogModule& log = vlog.Module("main");
  vlog.Module("bridge");
  vlog.Module("reconnect");
  spate::controller::VswitchOptions options;
  ProgramInfo info{"ovn-controller", Usage(), true};
  CommandLine cl = ParseCommandLineOrExit(
      info, vlog, argc, argv, kOptions, [&](int code, const char* arg) -> Status {
        if (code != kEnableDummy) return Status::Ok();
        std::string value = arg == nullptr ? "" : arg;
        if (value.empty()) {
          options.dummy = DummyMode::kOn;
        } else if (value == "override") {
          options.dummy = DummyMode::kOverride;
        } else {
          return spate::Error("usage", "--enable-dummy=" + value + ": expected \"override\"");
        }
        return Status::Ok();
      });
  if (cl.args.size() > 1) FatalError(info.name, "exactly zero or one non-option argument required");
  options.remote = cl.args.empty() ? "unix:" + OvsRundir() + "/db.sock" : cl.args[0];
  if (auto r = spate::ovsdb::idl::ParseRemotes(options.remote); !r.ok()) {
    FatalError(info.name, options.remote + ": " + r.error().details());
  }

  Result<std::unique_ptr<Daemon>> daemon = Daemon::Start(cl.daemon, vlog);
  if (!daemon.ok()) FatalError(info.name, daemon.error().details());

  EventLoop loop;  // After Daemon::Start(): it may have forked.
  loop.OnSignals({SIGTERM, SIGINT}, [&loop](int) { loop.Stop(); });
  Result<std::unique_ptr<spate::controller::Vswitch>> vswitch =
      spate::controller::Vswitch::Create(loop, options, vlog);
  if (!vswitch.ok()) FatalError(info.name, vswitch.error().details());
  std::unique_ptr<UnixctlServer> unixctl;
  if (std::string path = (*daemon)->UnixctlPath(); !path.empty()) {
    Result<std::unique_ptr<UnixctlServer>> created = UnixctlServer::Create(loop, path, vlog);
    if (!created.ok()) FatalError(info.name, created.error().details());
    unixctl = std::move(created).value();
    unixctl->SetExitHandler([&loop] { loop.Stop(); });
    spate::controller::RegisterSwitchCommands(*unixctl, **vswitch);
  }
  vlog.Log(log, LogLevel::kInfo, VersionLine(info.name));
  (*vswitch)->Start();
  (*daemon)->Complete();
  loop.Run();
  vlog.Log(log, LogLevel::kInfo, "exiting");
  unixctl.reset();
  vswitch->reset();  // PMD threads and ports go before the EAL.
  return 0;
}
