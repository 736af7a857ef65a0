// Daemon conventions: see daemon.h.
#include "common/daemon.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#ifndef SPATE_VERSION
#error "SPATE_VERSION must be defined by the build (project version)"
#endif

namespace spate::common {
namespace {

// Codes for the common long options (program codes must avoid them).
enum CommonCode {
  kOptDetach = 0x10000,
  kOptMonitor,
  kOptNoChdir,
  kOptPidfile,
  kOptOverwritePidfile,
  kOptLogFile,
  kOptUnixctl,
  kOptVerbose,
  kOptHelp,
  kOptVersion,
};

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && v[0] ? v : fallback;
}

std::string ErrnoText(int error) { return std::strerror(error); }

// Builds the getopt tables from the common and the program's options.
struct OptionTables {
  std::vector<option> longs;     // Terminated by a zero entry.
  std::string shorts;            // "+"-less short option string.
};

OptionTables BuildTables(const ProgramInfo& info,
                         std::span<const ProgramOption> own) {
  OptionTables t;
  auto add = [&](const char* name, int has_arg, int code) {
    t.longs.push_back(option{name, has_arg, nullptr, code});
  };
  if (info.is_daemon) {
    add("detach", no_argument, kOptDetach);
    add("monitor", no_argument, kOptMonitor);
    add("no-chdir", no_argument, kOptNoChdir);
    add("pidfile", optional_argument, kOptPidfile);
    add("overwrite-pidfile", no_argument, kOptOverwritePidfile);
    add("log-file", optional_argument, kOptLogFile);
    add("unixctl", required_argument, kOptUnixctl);
  }
  add("verbose", optional_argument, kOptVerbose);
  add("help", no_argument, kOptHelp);
  add("version", no_argument, kOptVersion);
  t.shorts = ":v::hV";  // Leading ':' reports a missing argument as ':'.
  for (const ProgramOption& o : own) {
    if (!o.long_name) break;
    int has_arg = o.arg == ArgKind::kNone       ? no_argument
                  : o.arg == ArgKind::kRequired ? required_argument
                                                : optional_argument;
    add(o.long_name, has_arg, o.code);
    if (o.short_name) {
      t.shorts += o.short_name;
      if (o.arg == ArgKind::kRequired) t.shorts += ':';
      if (o.arg == ArgKind::kOptional) t.shorts += "::";
    }
  }
  t.longs.push_back(option{nullptr, 0, nullptr, 0});
  return t;
}

// The text of a getopt error, in GNU getopt's words, for the option at
// argv[optind_after - 1].
std::string OptionError(int c, char** argv, int optind_after,
                        const std::vector<option>& longs) {
  std::string arg = argv[optind_after - 1];
  bool is_long = arg.compare(0, 2, "--") == 0;
  std::string letter(1, static_cast<char>(optopt));
  if (!is_long) {
    return c == ':' ? "option requires an argument -- '" + letter + "'"
                    : "invalid option -- '" + letter + "'";
  }
  std::string name = arg.substr(0, arg.find('='));
  if (c == ':') return "option '" + name + "' requires an argument";
  if (arg.find('=') != std::string::npos) {
    for (const option& o : longs) {
      if (o.name && o.has_arg == no_argument && name == std::string("--") + o.name) {
        return "option '" + name + "' doesn't allow an argument";
      }
    }
  }
  return "unrecognized option '" + name + "'";
}

Status HandleCommon(int c, const char* arg, Vlog& vlog, CommandLine& cl) {
  DaemonOptions& d = cl.daemon;
  switch (c) {
    case kOptDetach: d.detach = true; break;
    case kOptMonitor: d.monitor = true; break;
    case kOptNoChdir: d.no_chdir = true; break;
    case kOptOverwritePidfile: d.overwrite_pidfile = true; break;
    case kOptPidfile:
      d.pidfile = AbsFileName(OvsRundir(), arg && arg[0]
                                               ? arg
                                               : d.program + ".pid");
      break;
    case kOptLogFile:
      d.log_file = arg && arg[0]
                       ? AbsFileName(std::filesystem::current_path(), arg)
                       : OvsLogdir() + "/" + d.program + ".log";
      break;
    case kOptUnixctl: d.unixctl = arg; break;
    case 'v': case kOptVerbose: {
      Status s = vlog.SetLevelsFromString(arg ? arg : "");
      if (!s.ok()) {
        return Error("usage", "processing \"" + std::string(arg ? arg : "") +
                                  "\": " + s.error().details());
      }
      break;
    }
    case 'h': case kOptHelp: cl.outcome = ParseOutcome::kHelp; break;
    case 'V': case kOptVersion: cl.outcome = ParseOutcome::kVersion; break;
    default: return Error("usage", "internal error: unknown option code");
  }
  return Status::Ok();
}

bool IsCommonCode(int c) {
  return c == 'v' || c == 'h' || c == 'V' || (c >= kOptDetach && c <= kOptVersion);
}

}  // namespace

// ------------------------------------------------------------ directories

std::string OvsRundir() { return EnvOr("OVS_RUNDIR", "/var/run/openvswitch"); }
std::string OvsLogdir() { return EnvOr("OVS_LOGDIR", "/var/log/openvswitch"); }
std::string OvsSysconfdir() { return EnvOr("OVS_SYSCONFDIR", "/etc"); }
std::string OvsDbdir() {
  const char* dbdir = std::getenv("OVS_DBDIR");
  if (dbdir && dbdir[0]) return dbdir;
  const char* sysconfdir = std::getenv("OVS_SYSCONFDIR");
  return sysconfdir ? std::string(sysconfdir) + "/openvswitch"
                    : "/etc/openvswitch";
}

std::string AbsFileName(const std::string& dir, const std::string& name) {
  if (!name.empty() && name[0] == '/') return name;
  return dir + "/" + name;
}

// ------------------------------------------------------------ version

std::string_view SpateVersion() { return SPATE_VERSION; }

std::string VersionLine(std::string_view program) {
  return std::string(program) + " (Spate) " + std::string(SpateVersion());
}

// ------------------------------------------------------------ options

Result<CommandLine> ParseCommandLine(const ProgramInfo& info, Vlog& vlog,
                                     int argc, char** argv,
                                     std::span<const ProgramOption> own,
                                     const OptionHandler& handler) {
  CommandLine cl;
  cl.daemon.program = info.name;
  OptionTables t = BuildTables(info, own);
  optind = 0;  // Full reinitialisation (GNU), so parsing can run twice.
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, t.shorts.c_str(), t.longs.data(), nullptr);
    if (c == -1) break;
    if (c == '?' || c == ':') {
      return Error("usage", OptionError(c, argv, optind, t.longs));
    }
    Status s = IsCommonCode(c) ? HandleCommon(c, optarg, vlog, cl)
               : handler       ? handler(c, optarg)
                               : Status(Error("usage", "unexpected option"));
    if (!s.ok()) return s.error();
  }
  for (int i = optind; i < argc; i++) cl.args.emplace_back(argv[i]);
  return cl;
}

CommandLine ParseCommandLineOrExit(const ProgramInfo& info, Vlog& vlog,
                                   int argc, char** argv,
                                   std::span<const ProgramOption> own,
                                   const OptionHandler& handler) {
  Result<CommandLine> cl = ParseCommandLine(info, vlog, argc, argv, own,
                                            handler);
  if (!cl.ok()) FatalError(info.name, cl.error().details());
  if (cl->outcome == ParseOutcome::kHelp) {
    std::fputs(info.usage.c_str(), stdout);
    std::fputs(CommonOptionsHelp(info).c_str(), stdout);
    std::exit(0);
  }
  if (cl->outcome == ParseOutcome::kVersion) {
    std::printf("%s\n", VersionLine(info.name).c_str());
    std::exit(0);
  }
  return std::move(cl).value();
}

std::string CommonOptionsHelp(const ProgramInfo& info) {
  std::string s;
  if (info.is_daemon) {
    s += "\nDaemon options:\n"
         "  --detach                run in background as daemon\n"
         "  --monitor               creates a process to monitor this daemon\n"
         "  --no-chdir              do not chdir to '/'\n"
         "  --pidfile[=FILE]        create pidfile (default: " +
         OvsRundir() + "/" + info.name + ".pid)\n"
         "  --overwrite-pidfile     with --pidfile, start even if already "
         "running\n";
  }
  s += "\nLogging options:\n"
       "  -vSPEC, --verbose=SPEC   set logging levels\n"
       "  -v, --verbose            set maximum verbosity level\n";
  if (info.is_daemon) {
    s += "  --log-file[=FILE]        enable logging to specified FILE\n"
         "                           (default: " +
         OvsLogdir() + "/" + info.name + ".log)\n";
  }
  s += "\nOther options:\n";
  if (info.is_daemon) {
    s += "  --unixctl=SOCKET        override default control socket name\n";
  }
  s += "  -h, --help              display this help message\n"
       "  -V, --version           display version information\n";
  return s;
}

void FatalError(std::string_view program, std::string_view message,
                int status) {
  std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(program.size()),
               program.data(), static_cast<int>(message.size()),
               message.data());
  std::exit(status);
}

// ------------------------------------------------------------ pidfiles

Result<pid_t> ReadPidfile(const std::string& path, int* error_number) {
  int unused;
  int& err = error_number ? *error_number : unused;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return Error("I/O error", path + ": open: " + ErrnoText(err));
  }
  char buf[32] = {};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  long pid = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
  struct flock lck = {};
  lck.l_type = F_WRLCK;
  lck.l_whence = SEEK_SET;
  int rc = fcntl(fd, F_GETLK, &lck);
  int saved = errno;
  close(fd);
  err = ESRCH;
  if (pid <= 0) return Error("I/O error", path + ": cannot parse pidfile");
  if (pid == getpid()) return static_cast<pid_t>(pid);  // Our own lock.
  if (rc < 0) {
    err = saved;
    return Error("I/O error", path + ": fcntl: " + ErrnoText(saved));
  }
  if (lck.l_type == F_UNLCK) {
    return Error("I/O error", path + ": pidfile is stale");
  }
  if (lck.l_pid != pid) {
    return Error("I/O error", path + ": locked by pid " +
                                  std::to_string(lck.l_pid) + " instead of " +
                                  std::to_string(pid));
  }
  return static_cast<pid_t>(pid);
}

namespace {

// Creates, locks and fills the pidfile; returns its fd.
Result<int> MakePidfile(const std::string& path, bool overwrite) {
  if (!overwrite) {
    Result<pid_t> running = ReadPidfile(path);
    if (running.ok() && *running != getpid()) {
      return Error("I/O error", path + ": already running as pid " +
                                    std::to_string(*running) + ", aborting");
    }
  }
  std::string tmp = path + ".tmp";
  unlink(tmp.c_str());
  int fd = open(tmp.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error("I/O error", tmp + ": create failed (" + ErrnoText(errno) + ")");
  }
  struct flock lck = {};
  lck.l_type = F_WRLCK;
  lck.l_whence = SEEK_SET;
  std::string text = std::to_string(getpid()) + "\n";
  if (fcntl(fd, F_SETLK, &lck) < 0 ||
      write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      rename(tmp.c_str(), path.c_str()) < 0) {
    int saved = errno;
    close(fd);
    unlink(tmp.c_str());
    return Error("I/O error", path + ": " + ErrnoText(saved));
  }
  return fd;
}

// In the parent of --detach: waits for the child's readiness byte; exits 0
// on it, or with the child's status when the pipe closes without it.
[[noreturn]] void WaitForStartup(int read_fd, pid_t child) {
  char byte;
  ssize_t n;
  do {
    n = read(read_fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1) _exit(0);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
  _exit(1);
}

bool IsCrash(int status) {
  if (!WIFSIGNALED(status)) return false;
  switch (WTERMSIG(status)) {
    case SIGABRT: case SIGBUS: case SIGFPE: case SIGILL: case SIGSEGV:
    case SIGXCPU: case SIGXFSZ:
      return true;
    default:
      return false;
  }
}

// Detaches the monitor's stdio from the caller (with --detach the parent
// reads nothing more from us).
void DetachStdio() {
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return;
  dup2(null_fd, 0);
  dup2(null_fd, 1);
  dup2(null_fd, 2);
  close(null_fd);
}

// The --monitor loop: returns only in a (re)started daemon child.  Restarts
// are spaced at least 10 s apart, as OVS does, so a crash loop does not
// spin; the first restart is immediate.
void MonitorDaemon(Vlog& vlog, bool detach, int& ready_fd) {
  VlogModule& log = vlog.Module("daemon");
  std::optional<std::chrono::steady_clock::time_point> last_restart;
  for (bool first = true;; first = false) {
    if (!first) {
      auto now = std::chrono::steady_clock::now();
      if (last_restart && now - *last_restart < std::chrono::seconds(10)) {
        std::this_thread::sleep_for(std::chrono::seconds(10) -
                                    (now - *last_restart));
      }
      last_restart = std::chrono::steady_clock::now();
    }
    pid_t child = fork();
    if (child < 0) FatalError(vlog.program(), "fork failed: " + ErrnoText(errno));
    if (child == 0) return;
    if (first && detach) {
      setsid();
      DetachStdio();
      vlog.SetLevels(nullptr, LogDestination::kConsole, LogLevel::kOff);
    }
    if (ready_fd >= 0) {  // Only the first daemon reports readiness.
      close(ready_fd);
      ready_fd = -1;
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (!IsCrash(status)) {
      _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
    }
    vlog.Logf(log, LogLevel::kErr, "pid %ld died, killed (%s), restarting",
              static_cast<long>(child), strsignal(WTERMSIG(status)));
  }
}

}  // namespace

// ------------------------------------------------------------ daemon

Daemon::Daemon(const DaemonOptions& options, Vlog& vlog)
    : options_(options), vlog_(vlog) {}

Result<std::unique_ptr<Daemon>> Daemon::Start(const DaemonOptions& options,
                                              Vlog& vlog) {
  std::unique_ptr<Daemon> d(new Daemon(options, vlog));
  // A peer that hangs up must cost a connection, not the daemon (OVS
  // ignores SIGPIPE too; writes then fail with EPIPE).
  signal(SIGPIPE, SIG_IGN);
  if (!options.log_file.empty()) {
    Status s = vlog.SetLogFile(options.log_file);
    if (!s.ok()) return s.error();
  }
  if (options.detach) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
      return Error("I/O error", "pipe failed: " + ErrnoText(errno));
    }
    std::fflush(nullptr);
    pid_t child = fork();
    if (child < 0) return Error("I/O error", "fork failed: " + ErrnoText(errno));
    if (child > 0) {
      close(fds[1]);
      WaitForStartup(fds[0], child);
    }
    close(fds[0]);
    d->ready_fd_ = fds[1];
  }
  if (options.monitor) MonitorDaemon(vlog, options.detach, d->ready_fd_);
  if (!options.pidfile.empty()) {
    Result<int> fd = MakePidfile(options.pidfile, options.overwrite_pidfile);
    if (!fd.ok()) return fd.error();
    d->pidfile_fd_ = *fd;
  }
  return d;
}

Daemon::~Daemon() {
  if (pidfile_fd_ >= 0) {
    Result<pid_t> owner = ReadPidfile(options_.pidfile);
    if (owner.ok() && *owner == getpid()) unlink(options_.pidfile.c_str());
    close(pidfile_fd_);
  }
  if (ready_fd_ >= 0) close(ready_fd_);
}

void Daemon::Complete() {
  if (completed_) return;
  completed_ = true;
  if (!options_.detach) return;
  setsid();
  if (!options_.no_chdir && chdir("/") < 0) {
    vlog_.Logf(vlog_.Module("daemon"), LogLevel::kWarn, "chdir(\"/\") failed: %s",
               std::strerror(errno));
  }
  vlog_.SetLevels(nullptr, LogDestination::kConsole, LogLevel::kOff);
  DetachStdio();
  if (ready_fd_ >= 0) {
    char byte = 0;
    ssize_t n;
    do {
      n = write(ready_fd_, &byte, 1);
    } while (n < 0 && errno == EINTR);
    close(ready_fd_);
    ready_fd_ = -1;
  }
}

std::string Daemon::UnixctlPath() const {
  if (options_.unixctl == "none") return "";
  if (!options_.unixctl.empty()) return AbsFileName(OvsRundir(), options_.unixctl);
  return OvsRundir() + "/" + options_.program + "." +
         std::to_string(getpid()) + ".ctl";
}

}  // namespace spate::common
