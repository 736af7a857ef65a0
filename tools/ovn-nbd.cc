// ovn-nbd: keeps the southbound OVN database equal to what OVN_Northbound
// implies (northd/nbd.h).  This file parses the command line, starts the
// daemon, the control socket, and runs the loop.
#include <csignal>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/daemon.h"
#include "common/event_loop.h"
#include "common/unixctl.h"
#include "common/vlog.h"
#include "northd/nbd.h"
#include "ovsdb/idl.h"

namespace {

using spate::Result;
using spate::Status;
using namespace spate::common;

enum OptionCode { kNbDb = 256, kSbDb };

const ProgramOption kOptions[] = {
    {"ovnnb-db", 0, ArgKind::kRequired, kNbDb},
    {"ovn-db", 0, ArgKind::kRequired, kSbDb},
    {"ovnsb-db", 0, ArgKind::kRequired, kSbDb},
};

std::string Usage() {
  std::string db = spate::northd::DefaultNbdDb();
  return "ovn-nbd: OVN northbound management daemon\n"
         "usage: ovn-nbd [OPTIONS]\n"
         "\n"
         "Options:\n"
         "  --ovnnb-db=DATABASE     connect to ovn-nb database at DATABASE\n"
         "                          (default: " + db + ")\n"
         "  --ovn-db=DATABASE       connect to ovn database at DATABASE\n"
         "                          (default: " + db + ";\n"
         "                          --ovnsb-db is an alias)\n";
}

}  // namespace

int main(int argc, char** argv) {
  Vlog vlog("ovn-nbd");
  VlogModule& log = vlog.Module("ovn_nbd");
  vlog.Module("reconnect");
  spate::northd::NbdOptions options;
  options.nb_db = spate::northd::DefaultNbdDb();
  options.sb_db = options.nb_db;
  ProgramInfo info{"ovn-nbd", Usage(), true};
  CommandLine cl = ParseCommandLineOrExit(
      info, vlog, argc, argv, kOptions, [&](int code, const char* arg) -> Status {
        if (code == kNbDb) options.nb_db = arg;
        if (code == kSbDb) options.sb_db = arg;
        return Status::Ok();
      });
  if (!cl.args.empty()) FatalError(info.name, "too many arguments");
  for (const auto& [option, db] : {std::pair{"ovnnb-db", options.nb_db},
                                   std::pair{"ovn-db", options.sb_db}}) {
    if (auto r = spate::ovsdb::idl::ParseRemotes(db); !r.ok()) {
      FatalError(info.name, std::string("--") + option + "=" + db + ": " + r.error().details());
    }
  }

  Result<std::unique_ptr<Daemon>> daemon = Daemon::Start(cl.daemon, vlog);
  if (!daemon.ok()) FatalError(info.name, daemon.error().details());

  EventLoop loop;  // After Daemon::Start(): it may have forked.
  loop.OnSignals({SIGTERM, SIGINT}, [&loop](int) { loop.Stop(); });
  Result<std::unique_ptr<spate::northd::Nbd>> nbd =
      spate::northd::Nbd::Create(loop, options, vlog, log);
  if (!nbd.ok()) FatalError(info.name, nbd.error().details());
  std::unique_ptr<UnixctlServer> unixctl;
  if (std::string path = (*daemon)->UnixctlPath(); !path.empty()) {
    Result<std::unique_ptr<UnixctlServer>> created = UnixctlServer::Create(loop, path, vlog);
    if (!created.ok()) FatalError(info.name, created.error().details());
    unixctl = std::move(created).value();
    unixctl->SetExitHandler([&loop] { loop.Stop(); });
    spate::northd::Nbd* n = nbd->get();
    unixctl->Register("status", "", 0, 0,
                      [n](const std::vector<std::string>&) -> Result<std::string> {
                        return n->StatusText();
                      });
  }
  vlog.Log(log, LogLevel::kInfo, VersionLine(info.name));
  (*nbd)->Start();
  (*daemon)->Complete();
  loop.Run();
  vlog.Log(log, LogLevel::kInfo, "exiting");
  return 0;
}
