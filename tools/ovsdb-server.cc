// ovsdb-server: serves OVSDB database files over JSON-RPC (RFC 7047 with
// Open vSwitch's extensions).  The server is ovsdb/server.h; this file
// parses the command line, starts the daemon and runs the loop.
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "common/daemon.h"
#include "common/event_loop.h"
#include "common/unixctl.h"
#include "common/vlog.h"
#include "ovsdb/server.h"

namespace {

using spate::Result;
using spate::Status;
using namespace spate::common;

enum OptionCode { kRemote = 256, kPrivateKey, kCertificate, kCaCert, kSyncEveryCommit };

const ProgramOption kOptions[] = {
    {"remote", 0, ArgKind::kRequired, kRemote},
    {"private-key", 'p', ArgKind::kRequired, kPrivateKey},
    {"certificate", 'c', ArgKind::kRequired, kCertificate},
    {"ca-cert", 'C', ArgKind::kRequired, kCaCert},
    {"sync-every-commit", 0, ArgKind::kNone, kSyncEveryCommit},
};

constexpr const char* kUsage =
    "ovsdb-server: Open vSwitch database server\n"
    "usage: ovsdb-server [OPTIONS] [DATABASE...]\n"
    "where each DATABASE is a database file in ovsdb format.\n"
    "The default DATABASE, if none is given, is\n"
    "$OVS_DBDIR/conf.db.\n"
    "\n"
    "JSON-RPC options (may be specified any number of times):\n"
    "  --remote=REMOTE         connect or listen to REMOTE\n"
    "                          (punix:FILE, ptcp:PORT[:IP], pssl:PORT[:IP],\n"
    "                           unix:FILE, tcp:IP:PORT, ssl:IP:PORT)\n"
    "\n"
    "PKI configuration (required to use SSL):\n"
    "  -p, --private-key=FILE  file with private key\n"
    "  -c, --certificate=FILE  file with certificate for private key\n"
    "  -C, --ca-cert=FILE      file with peer CA certificate\n"
    "\n"
    "Other options:\n"
    "  --sync-every-commit     fsync every commit, not only durable ones\n";

}  // namespace

int main(int argc, char** argv) {
  Vlog vlog("ovsdb-server");
  VlogModule& log = vlog.Module("ovsdb_server");
  vlog.Module("ovsdb_monitor");
  std::vector<std::string> remotes;
  spate::ovsdb::ServerOptions options;
  ProgramInfo info{"ovsdb-server", kUsage, true};
  CommandLine cl = ParseCommandLineOrExit(
      info, vlog, argc, argv, kOptions, [&](int code, const char* arg) -> Status {
        switch (code) {
          case kRemote: remotes.emplace_back(arg); break;
          case kPrivateKey: options.ssl.private_key = arg; break;
          case kCertificate: options.ssl.certificate = arg; break;
          case kCaCert: options.ssl.ca_cert = arg; break;
          case kSyncEveryCommit: options.sync_every_commit = true; break;
          default: break;
        }
        return Status::Ok();
      });
  if (cl.args.empty()) cl.args.push_back(OvsDbdir() + "/conf.db");

  Result<std::unique_ptr<Daemon>> daemon = Daemon::Start(cl.daemon, vlog);
  if (!daemon.ok()) FatalError(info.name, daemon.error().details());

  EventLoop loop;  // After Daemon::Start(): it may have forked.
  loop.OnSignals({SIGTERM, SIGINT}, [&loop](int) { loop.Stop(); });
  spate::ovsdb::OvsdbServer server(loop, vlog, options);
  for (const std::string& file : cl.args) {
    if (Status s = server.AddDatabase(file); !s.ok()) {
      FatalError(info.name, file + ": " + s.error().ToString());
    }
  }
  for (const std::string& remote : remotes) {
    if (Status s = server.AddRemote(remote); !s.ok()) {
      FatalError(info.name, s.error().details());
    }
  }
  std::unique_ptr<UnixctlServer> unixctl;
  if (std::string path = (*daemon)->UnixctlPath(); !path.empty()) {
    Result<std::unique_ptr<UnixctlServer>> created = UnixctlServer::Create(loop, path, vlog);
    if (!created.ok()) FatalError(info.name, created.error().details());
    unixctl = std::move(created).value();
    spate::ovsdb::RegisterServerCommands(*unixctl, server, loop);
  }
  vlog.Log(log, LogLevel::kInfo, VersionLine(info.name));
  (*daemon)->Complete();
  loop.Run();
  vlog.Log(log, LogLevel::kInfo, "exiting");
  return 0;
}
