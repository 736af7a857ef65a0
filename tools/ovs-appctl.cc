// ovs-appctl: sends one command to a daemon's control socket (Open
// vSwitch's unixctl protocol, common/unixctl.h) and prints the reply.
//
//   ovs-appctl [-t|--target=TARGET] [-T|--timeout=SECS] COMMAND [ARG...]
//
// TARGET is a daemon name (RUNDIR/TARGET.pid names the process, whose
// socket is RUNDIR/TARGET.PID.ctl) or an absolute socket path; the default
// is ovs-vswitchd, as in Open vSwitch.  Output matches Open vSwitch's: the
// result text on stdout (exit 0); an error reply's text on stderr followed
// by "ovs-appctl: TARGET: server returned an error" (exit 2); connection
// and option problems as one line on stderr (exit 1).
#include <getopt.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/daemon.h"
#include "common/jsonrpc_client.h"
#include "common/unixctl.h"
#include "common/vlog.h"

namespace {

using namespace spate::common;

constexpr const char* kProgram = "ovs-appctl";

struct Options {
  std::string target = "ovs-vswitchd";  // -t.
  int timeout_secs = 0;                 // -T; 0 = wait forever.
  std::vector<std::string> command;     // COMMAND [ARG...].
};

void PrintHelp() {
  std::printf(
      "%s, for querying and controlling Open vSwitch daemon\n"
      "usage: %s [TARGET] COMMAND [ARG...]\n"
      "Targets:\n"
      "  -t, --target=TARGET  pidfile or socket to contact\n"
      "Common commands:\n"
      "  list-commands      List commands supported by the target\n"
      "  version            Print version of the target\n"
      "  vlog/list          List current logging levels\n"
      "  vlog/list-pattern  List logging patterns for each destination.\n"
      "  vlog/set [SPEC]\n"
      "      Set log levels as detailed in SPEC, which may include:\n"
      "      A valid module name (all modules, by default)\n"
      "      'syslog', 'console', 'file' (all destinations, by default))\n"
      "      'off', 'emer', 'err', 'warn', 'info', or 'dbg' ('dbg', by default)\n"
      "  vlog/reopen        Make the program reopen its log file\n"
      "Other options:\n"
      "  --timeout=SECS     wait at most SECS seconds for a response\n"
      "  -h, --help         Print this helpful information\n"
      "  -V, --version      Display %s version information\n",
      kProgram, kProgram, kProgram);
}

// Parses argv; exits on --help, --version and errors.
Options ParseOptions(int argc, char** argv) {
  static const option kLong[] = {
      {"target", required_argument, nullptr, 't'},
      {"timeout", required_argument, nullptr, 'T'},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0},
  };
  Options o;
  opterr = 0;
  // '+': stop at COMMAND, so its arguments may start with '-'.
  for (int c; (c = getopt_long(argc, argv, "+:t:T:hV", kLong, nullptr)) != -1;) {
    switch (c) {
      case 't': o.target = optarg; break;
      case 'T': {
        std::string_view s(optarg);
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), o.timeout_secs);
        if (ec != std::errc() || end != s.data() + s.size() || o.timeout_secs <= 0) {
          FatalError(kProgram, "value " + std::string(s) + " on -T or --timeout is invalid");
        }
        break;
      }
      case 'h': PrintHelp(); std::exit(0);
      case 'V': std::printf("%s\n", VersionLine(kProgram).c_str()); std::exit(0);
      case ':':
        FatalError(kProgram, std::strncmp(argv[optind - 1], "--", 2) == 0
                                 ? "option '" + std::string(argv[optind - 1]) +
                                       "' requires an argument"
                                 : "option requires an argument -- '" +
                                       std::string(1, static_cast<char>(optopt)) + "'");
      default:
        FatalError(kProgram, optopt ? "invalid option -- '" +
                                          std::string(1, static_cast<char>(optopt)) + "'"
                                    : "unrecognized option '" +
                                          std::string(argv[optind - 1]) + "'");
    }
  }
  for (int i = optind; i < argc; i++) o.command.emplace_back(argv[i]);
  if (o.command.empty()) {
    FatalError(kProgram,
               "at least one non-option argument is required (use --help for help)");
  }
  return o;
}

// The reason inside the last "(...)" of an error text, or the whole text.
std::string Reason(const std::string& details) {
  size_t open = details.rfind('(');
  size_t close = details.rfind(')');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    return details.substr(open + 1, close - open - 1);
  }
  return details;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseOptions(argc, argv);
  Vlog vlog(kProgram);
  vlog.SetLevels(nullptr, LogDestination::kConsole, LogLevel::kWarn);
  vlog.SetLevels(nullptr, LogDestination::kSyslog, LogLevel::kOff);

  spate::Result<std::string> path = ResolveUnixctlTarget(o.target);
  if (!path.ok()) FatalError(kProgram, path.error().details());

  auto timeout = o.timeout_secs > 0 ? std::chrono::milliseconds(o.timeout_secs * 1000)
                                    : BlockingClient::kForever;
  std::vector<std::string> args(o.command.begin() + 1, o.command.end());
  // Connect separately from the transaction, to word the two failures as
  // Open vSwitch does.
  auto client = BlockingClient::Connect("unix:" + *path, SslConfig{}, timeout);
  if (!client.ok()) {
    vlog.Log(vlog.Module("unixctl"), LogLevel::kWarn, "failed to connect to " + *path);
    FatalError(kProgram, "cannot connect to \"" + *path + "\" (" +
                             Reason(client.error().details()) + ")");
  }
  nlohmann::json params = nlohmann::json::array();
  for (const std::string& a : args) params.push_back(a);
  auto reply = (*client)->Transact(o.command[0], std::move(params), timeout);
  if (!reply.ok()) {
    FatalError(kProgram, o.target + ": transaction error (" +
                             reply.error().details() + ")");
  }
  const nlohmann::json& body =
      reply->type == spate::common::MessageType::kError ? reply->error : reply->result;
  std::string text = body.is_string() ? body.get<std::string>() : body.dump();
  if (reply->type == spate::common::MessageType::kError) {
    std::fputs(text.c_str(), stderr);
    FatalError(kProgram, o.target + ": server returned an error", 2);
  }
  std::fputs(text.c_str(), stdout);
  return 0;
}
