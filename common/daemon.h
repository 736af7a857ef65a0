// Daemon conventions shared by every Spate daemon and tool, as Open vSwitch
// has them: the common command-line options, default directories, --help
// and --version, pidfiles, and detaching.
//
// What
//   Options: --detach, --monitor, --no-chdir, --pidfile[=FILE],
//   --overwrite-pidfile, --log-file[=FILE], -v[SPEC] / --verbose[=SPEC],
//   --unixctl=SOCKET, -h/--help, -V/--version.  Defaults follow Open
//   vSwitch: pidfile RUNDIR/PROGRAM.pid, log LOGDIR/PROGRAM.log, control
//   socket RUNDIR/PROGRAM.PID.ctl, with RUNDIR = $OVS_RUNDIR or
//   /var/run/openvswitch, LOGDIR = $OVS_LOGDIR or /var/log/openvswitch,
//   DBDIR = $OVS_DBDIR, else $OVS_SYSCONFDIR/openvswitch, else
//   /etc/openvswitch.  Relative FILE names are taken relative to RUNDIR
//   (pidfile, control socket) or the current directory (log file).
//
// Design
//   A daemon's main() is:
//     Vlog vlog("ovsdb-server");  vlog.Module("ovsdb_server");  // modules
//     CommandLine cl = ParseCommandLineOrExit(info, vlog, argc, argv, own, h);
//     auto daemon = Daemon::Start(cl.daemon, vlog);   // forks if --detach
//     EventLoop loop;                                 // after the fork!
//     ... open listeners, UnixctlServer at daemon->UnixctlPath() ...
//     daemon->Complete();                             // parent exits 0 now
//     loop.Run();
//   Detaching works like OVS's daemonize_start()/daemonize_complete(): the
//   parent forks and waits on a pipe; the child reports readiness in
//   Complete() (after its sockets listen), and the parent exits 0; if the
//   child exits first, the parent exits with the child's status.  The
//   child calls setsid(), chdir("/") unless --no-chdir, and points
//   stdin/stdout/stderr at /dev/null (console logging is turned off, as
//   OVS does).  With --monitor, a monitor process restarts the daemon when
//   it dies from a crash signal (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL,
//   SIGXCPU, SIGXFSZ); any other exit ends the monitor with the same
//   status.  The pidfile is written through a temporary name, renamed into
//   place, and kept fcntl-locked for the daemon's lifetime; a live lock
//   holder makes Start() fail unless --overwrite-pidfile.
//
//   Asio: create the EventLoop only after Daemon::Start() (fork).
//
// Thread-safety
//   Call everything here from the main thread, before starting threads.
#ifndef SPATE_COMMON_DAEMON_H
#define SPATE_COMMON_DAEMON_H

#include <sys/types.h>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/vlog.h"

namespace spate::common {

// ------------------------------------------------------------ directories

// $OVS_RUNDIR, or /var/run/openvswitch.
std::string OvsRundir();
// $OVS_LOGDIR, or /var/log/openvswitch.
std::string OvsLogdir();
// $OVS_DBDIR, else $OVS_SYSCONFDIR/openvswitch, else /etc/openvswitch.
std::string OvsDbdir();
// $OVS_SYSCONFDIR, or /etc.
std::string OvsSysconfdir();
// `name` if absolute, else "dir/name".
std::string AbsFileName(const std::string& dir, const std::string& name);

// ------------------------------------------------------------ version

// The project version from CMake, e.g. "0.1.0".
std::string_view SpateVersion();
// "PROGRAM (Spate) VERSION", what --version and unixctl "version" print.
std::string VersionLine(std::string_view program);

// ------------------------------------------------------------ options

// The common daemon options after parsing.  Paths are absolute.
struct DaemonOptions {
  std::string program;            // Program name, e.g. "ovsdb-server".
  bool detach = false;            // --detach.
  bool monitor = false;           // --monitor.
  bool no_chdir = false;          // --no-chdir.
  bool overwrite_pidfile = false; // --overwrite-pidfile.
  std::string pidfile;            // --pidfile; "" = no pidfile.
  std::string log_file;           // --log-file; "" = no log file.
  std::string unixctl;            // --unixctl; "" = default, "none" = off.
};

// Describes the program to the parser and the help text.
struct ProgramInfo {
  std::string name;          // argv[0]'s base name as OVS prints it.
  std::string usage;         // Program-specific --help text, printed first.
  bool is_daemon = true;     // Accept the daemon options; tools set false
                             // and get only -v, -h and -V.
};

// How a program-specific option takes its argument.
enum class ArgKind { kNone, kRequired, kOptional };

// One program-specific option.
struct ProgramOption {
  const char* long_name;  // Without "--"; nullptr only as a terminator.
  char short_name;        // Single-letter alias, or 0.
  ArgKind arg;            // Argument kind.
  int code;               // Passed to the handler; use >= 256 unless it is
                          // the short_name.
};

// Called for each program-specific option with its code and argument
// (nullptr if none).  An error ends parsing with that error.
using OptionHandler = std::function<Status(int code, const char* arg)>;

// What the command line asks for.
enum class ParseOutcome { kRun, kHelp, kVersion };

// The parsed command line.
struct CommandLine {
  ParseOutcome outcome = ParseOutcome::kRun;  // Run, or print help/version.
  DaemonOptions daemon;                       // Common options.
  std::vector<std::string> args;              // Non-option arguments.
};

// Parses argv with getopt_long (permuting, as OVS does): the common
// options, -v specs (applied to `vlog` at once, so register modules
// first) and `own` options (passed to `handler`).  Errors are one line:
// "unrecognized option '--foo'", "option '--unixctl' requires an argument",
// "processing \"foo:bar\": no destination, level, or module \"foo\"".
[[nodiscard]] Result<CommandLine> ParseCommandLine(
    const ProgramInfo& info, Vlog& vlog, int argc, char** argv,
    std::span<const ProgramOption> own, const OptionHandler& handler);

// ParseCommandLine(), then: on error prints "PROGRAM: ERROR" to stderr and
// exits 1; on --help prints info.usage and CommonOptionsHelp() and exits 0;
// on --version prints VersionLine() and exits 0.  Returns only to run.
CommandLine ParseCommandLineOrExit(const ProgramInfo& info, Vlog& vlog,
                                   int argc, char** argv,
                                   std::span<const ProgramOption> own,
                                   const OptionHandler& handler);

// The --help section for the common options, in OVS's wording, with this
// program's default paths.
std::string CommonOptionsHelp(const ProgramInfo& info);

// Prints "PROGRAM: MESSAGE" to stderr and exits with `status`.
[[noreturn]] void FatalError(std::string_view program,
                             std::string_view message, int status = 1);

// ------------------------------------------------------------ pidfiles

// Reads a pidfile written by a live process (ours or Open vSwitch's): the
// pid if the file exists and is fcntl-locked by a live process.  Errors:
// "PATH: open: No such file or directory", "PATH: pidfile is stale".  If
// `error_number` is given it receives the errno behind an error (ESRCH for
// a stale or unparsable file).
[[nodiscard]] Result<pid_t> ReadPidfile(const std::string& path,
                                        int* error_number = nullptr);

// ------------------------------------------------------------ daemon

class Daemon {
 public:
  // Ignores SIGPIPE, opens the log file, then detaches (--detach: returns only in the
  // child; the parent waits and exits), starts the monitor (--monitor:
  // returns only in the monitored child), and writes and locks the
  // pidfile.  Must run before any thread or EventLoop exists.  Errors: a
  // pidfile held by a live process ("PATH: already running as pid N,
  // aborting"), I/O errors creating the pidfile or log file.
  [[nodiscard]] static Result<std::unique_ptr<Daemon>> Start(
      const DaemonOptions& options, Vlog& vlog);

  // Removes the pidfile (if this process still owns it).
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Startup succeeded: with --detach, lets the waiting parent exit 0,
  // then setsid(), chdir("/") unless --no-chdir, stdio to /dev/null and
  // console logging off.  Idempotent.
  void Complete();

  // The control socket path: --unixctl (relative to RUNDIR), else
  // RUNDIR/PROGRAM.PID.ctl; "" for --unixctl=none.
  std::string UnixctlPath() const;

  const DaemonOptions& options() const { return options_; }

 private:
  Daemon(const DaemonOptions& options, Vlog& vlog);

  DaemonOptions options_;   // As parsed.
  Vlog& vlog_;              // For console-off on detach.
  int ready_fd_ = -1;       // Write end of the parent's pipe, or -1.
  int pidfile_fd_ = -1;     // Locked pidfile, or -1.
  bool completed_ = false;  // Complete() ran.
};

}  // namespace spate::common

#endif  // SPATE_COMMON_DAEMON_H
