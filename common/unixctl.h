// Unixctl: Open vSwitch's control-socket protocol, server and client.
//
// What
//   JSON-RPC over a unix socket.  A request is {"method": COMMAND,
//   "params": [ARG, ...] (strings), "id": N}; the reply's "result" is the
//   command's text (possibly "") or its "error" is an error text.  As in
//   OVS, a non-empty text gets a trailing newline if it lacks one.  Both
//   Debian's ovs-appctl and ours (tools/ovs-appctl.cc) speak it.
//
// Design
//   UnixctlServer listens on punix:PATH through Listener and keeps a
//   registry of commands (name, usage, min/max argument counts, handler).
//   It registers the built-ins list-commands (OVS's exact format), version,
//   vlog/set, vlog/list, vlog/list-pattern, vlog/reopen and vlog/close
//   itself; the daemon adds exit (SetExitHandler) and memory/show
//   (SetMemoryReporter) and its own commands.  Errors for unknown commands
//   and wrong argument counts use OVS's wording.
//
// Thread-safety
//   Single-threaded: create, register and serve on the EventLoop's thread
//   (registering before the loop runs is fine).
#ifndef SPATE_COMMON_UNIXCTL_H
#define SPATE_COMMON_UNIXCTL_H

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "common/jsonrpc_session.h"
#include "common/result.h"
#include "common/vlog.h"

namespace spate::common {

class UnixctlServer {
 public:
  // A command's implementation: the text to reply, or an Error whose
  // details() is the error text sent to the client.
  using Handler =
      std::function<Result<std::string>(const std::vector<std::string>& args)>;

  // Listens on the unix socket `path` (absolute; an existing socket file
  // is replaced) and registers the built-ins, logging through `vlog`.
  // Errors: bind failures, path too long.
  [[nodiscard]] static Result<std::unique_ptr<UnixctlServer>> Create(
      EventLoop& loop, const std::string& path, Vlog& vlog);
  ~UnixctlServer();  // Closes sessions; removes the socket file.

  // Adds or replaces command `name`.  `usage` is shown by list-commands
  // (e.g. "DB" or "[module]..."); commands with an empty usage still
  // appear, as OVS lists them.  `max_args` < 0 means unlimited.
  void Register(const std::string& name, const std::string& usage,
                int min_args, int max_args, Handler handler);

  // Registers "exit": replies "", then runs `on_exit` once the reply has
  // been written (the daemon stops its loop there).
  void SetExitHandler(std::function<void()> on_exit);
  // Registers "memory/show", replying with `report()` (e.g.
  // "cells:20 monitors:0").
  void SetMemoryReporter(std::function<std::string()> report);

  const std::string& path() const { return path_; }
  // Clients connected now.
  size_t n_sessions() const { return sessions_.size(); }

 private:
  struct Command {
    std::string usage;  // For list-commands.
    int min_args;       // Fewest arguments.
    int max_args;       // Most arguments; < 0 = unlimited.
    Handler handler;    // Implementation.
  };

  UnixctlServer(EventLoop& loop, std::string path, Vlog& vlog);
  void RegisterBuiltins();
  void OnAccept(std::shared_ptr<Session> session);
  void OnRequest(Session& session, Message&& message);
  std::string ListCommands() const;

  EventLoop& loop_;                             // Runs everything.
  std::string path_;                            // Socket path.
  Vlog& vlog_;                                  // vlog/* and our logging.
  VlogModule& log_;                             // Module "unixctl".
  std::map<std::string, Command> commands_;     // Sorted registry.
  std::map<Session*, std::shared_ptr<Session>> sessions_;  // Connected.
  std::unique_ptr<Listener> listener_;          // punix:PATH.
  std::function<void()> on_exit_;               // SetExitHandler().
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // For
                                                // callbacks after ~.
};

// The result of one unixctl command.
struct UnixctlReply {
  bool is_error = false;  // True if the server replied with an error.
  std::string text;       // Result or error text (usually ends in '\n').
};

// Sends one command over the socket at `path` and waits for the reply.
// Errors (tag "I/O error"): cannot connect, connection closed, timeout,
// a malformed reply.
[[nodiscard]] Result<UnixctlReply> UnixctlTransact(
    const std::string& path, const std::string& command,
    const std::vector<std::string>& args, std::chrono::milliseconds timeout);

// Resolves an ovs-appctl target as OVS does: an absolute path is the
// socket; otherwise read RUNDIR/TARGET.pid and use RUNDIR/TARGET.PID.ctl.
// Error details are OVS's: "cannot read pidfile \"PATH\" (REASON)".
[[nodiscard]] Result<std::string> ResolveUnixctlTarget(const std::string& target);

}  // namespace spate::common

#endif  // SPATE_COMMON_UNIXCTL_H
