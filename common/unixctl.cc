// Unixctl server and client: see unixctl.h.
#include "common/unixctl.h"

#include <cstring>

#include "common/daemon.h"
#include "common/jsonrpc_client.h"

namespace spate::common {
namespace {

// OVS appends a newline to a non-empty reply text that lacks one.
std::string WithNewline(std::string text) {
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text;
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

UnixctlServer::UnixctlServer(EventLoop& loop, std::string path, Vlog& vlog)
    : loop_(loop),
      path_(std::move(path)),
      vlog_(vlog),
      log_(vlog.Module("unixctl")) {}

UnixctlServer::~UnixctlServer() {
  *alive_ = false;
  listener_.reset();
  for (auto& [raw, session] : sessions_) session->Close();
}

Result<std::unique_ptr<UnixctlServer>> UnixctlServer::Create(
    EventLoop& loop, const std::string& path, Vlog& vlog) {
  std::unique_ptr<UnixctlServer> server(new UnixctlServer(loop, path, vlog));
  UnixctlServer* self = server.get();
  Result<std::unique_ptr<Listener>> listener = Listener::Create(
      loop, "punix:" + path, SslConfig{}, SessionOptions{},
      [self](std::shared_ptr<Session> s) { self->OnAccept(std::move(s)); });
  if (!listener.ok()) return listener.error();
  server->listener_ = std::move(listener).value();
  server->RegisterBuiltins();
  return server;
}

void UnixctlServer::Register(const std::string& name, const std::string& usage,
                             int min_args, int max_args, Handler handler) {
  commands_[name] = Command{usage, min_args, max_args, std::move(handler)};
}

void UnixctlServer::SetExitHandler(std::function<void()> on_exit) {
  on_exit_ = std::move(on_exit);
  // The reply is sent by OnRequest; the exit itself waits for the flush
  // (see OnRequest), so the handler only has to succeed.
  Register("exit", "", 0, 0,
           [](const std::vector<std::string>&) -> Result<std::string> {
             return std::string();
           });
}

void UnixctlServer::SetMemoryReporter(std::function<std::string()> report) {
  Register("memory/show", "", 0, 0,
           [report = std::move(report)](const std::vector<std::string>&)
               -> Result<std::string> { return report(); });
}

void UnixctlServer::RegisterBuiltins() {
  using Args = const std::vector<std::string>&;
  Register("list-commands", "", 0, 0,
           [this](Args) -> Result<std::string> { return ListCommands(); });
  Register("version", "", 0, 0, [this](Args) -> Result<std::string> {
    return VersionLine(vlog_.program());
  });
  Register("vlog/list", "", 0, 0,
           [this](Args) -> Result<std::string> { return vlog_.ListLevels(); });
  Register("vlog/list-pattern", "", 0, 0, [this](Args) -> Result<std::string> {
    return vlog_.ListPatterns();
  });
  Register("vlog/set", "{spec | PATTERN:destination:pattern}", 0, -1,
           [this](Args args) -> Result<std::string> {
             if (args.empty()) {
               vlog_.SetLevels(nullptr, std::nullopt, LogLevel::kDbg);
             }
             for (const std::string& spec : args) {
               Status s = vlog_.SetLevelsFromString(spec);
               if (!s.ok()) return s.error();
             }
             return std::string();
           });
  Register("vlog/reopen", "", 0, 0, [this](Args) -> Result<std::string> {
    Status s = vlog_.ReopenLogFile();
    if (!s.ok()) return s.error();
    return std::string();
  });
  Register("vlog/close", "", 0, 0, [this](Args) -> Result<std::string> {
    vlog_.CloseLogFile();
    return std::string();
  });
}

std::string UnixctlServer::ListCommands() const {
  std::string out = "The available commands are:\n";
  char line[512];
  for (const auto& [name, command] : commands_) {
    std::snprintf(line, sizeof line, "  %-23s %s\n", name.c_str(),
                  command.usage.c_str());
    out += line;
  }
  return out;
}

void UnixctlServer::OnAccept(std::shared_ptr<Session> session) {
  Session* raw = session.get();
  sessions_[raw] = session;
  std::weak_ptr<bool> alive = alive_;
  session->Start(
      [this, alive](Session& s, Message&& m) {
        if (alive.lock()) OnRequest(s, std::move(m));
      },
      [this, alive](Session& s, const Status& reason) {
        auto a = alive.lock();
        if (!a || !*a) return;
        if (!reason.ok()) {
          vlog_.Logf(log_, LogLevel::kDbg, "%s: connection closed: %s",
                     s.name().c_str(), reason.error().ToString().c_str());
        }
        sessions_.erase(&s);
      });
}

void UnixctlServer::OnRequest(Session& session, Message&& m) {
  if (m.type != MessageType::kRequest) return;  // OVS ignores the rest.
  vlog_.Logf(log_, LogLevel::kDbg, "received request %s%s, id=%s",
             m.method.c_str(), m.params.dump().c_str(), m.id.dump().c_str());
  auto it = commands_.find(m.method);
  std::string error;
  std::vector<std::string> args;
  int n_args = static_cast<int>(m.params.size());
  if (it == commands_.end()) {
    error = Quoted(m.method) + " is not a valid command (use "
            "\"list-commands\" to see a list of valid commands)";
  } else if (n_args < it->second.min_args) {
    error = Quoted(m.method) + " command requires at least " +
            std::to_string(it->second.min_args) + " arguments";
  } else if (it->second.max_args >= 0 && n_args > it->second.max_args) {
    error = Quoted(m.method) + " command takes at most " +
            std::to_string(it->second.max_args) + " arguments";
  } else {
    for (const auto& p : m.params) {
      if (!p.is_string()) {
        error = Quoted(m.method) + " command has non-string argument";
        break;
      }
      args.push_back(p.get<std::string>());
    }
  }
  if (error.empty()) {
    Result<std::string> r = it->second.handler(args);
    if (r.ok()) {
      session.Send(Message::Reply(WithNewline(std::move(r).value()), m.id));
      if (m.method == "exit" && on_exit_) {
        // Exit only once the reply is out, so the client sees it.
        std::weak_ptr<bool> alive = alive_;
        session.WhenFlushed([this, alive]() {
          auto a = alive.lock();
          if (a && *a && on_exit_) on_exit_();
        });
      }
      return;
    }
    error = r.error().details().empty() ? r.error().tag() : r.error().details();
  }
  vlog_.Logf(log_, LogLevel::kDbg, "replying with error, id=%s: \"%s\"",
             m.id.dump().c_str(), error.c_str());
  session.Send(Message::ErrorReply(WithNewline(std::move(error)), m.id));
}

// ------------------------------------------------------------ client

Result<UnixctlReply> UnixctlTransact(const std::string& path,
                                     const std::string& command,
                                     const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout) {
  Result<std::unique_ptr<BlockingClient>> client =
      BlockingClient::Connect("unix:" + path, SslConfig{}, timeout);
  if (!client.ok()) return client.error();
  nlohmann::json params = nlohmann::json::array();
  for (const std::string& a : args) params.push_back(a);
  Result<Message> reply = (*client)->Transact(command, std::move(params), timeout);
  if (!reply.ok()) return reply.error();
  UnixctlReply out;
  const nlohmann::json& body =
      reply->type == MessageType::kError ? reply->error : reply->result;
  out.is_error = reply->type == MessageType::kError;
  if (!body.is_string()) {
    return Error("I/O error", path + ": reply is not a string: " + body.dump());
  }
  out.text = body.get<std::string>();
  return out;
}

Result<std::string> ResolveUnixctlTarget(const std::string& target) {
  if (!target.empty() && target[0] == '/') return target;
  std::string pidfile = OvsRundir() + "/" + target + ".pid";
  int error_number = 0;
  Result<pid_t> pid = ReadPidfile(pidfile, &error_number);
  if (!pid.ok()) {
    return Error("I/O error", "cannot read pidfile \"" + pidfile + "\" (" +
                                  std::strerror(error_number) + ")");
  }
  return OvsRundir() + "/" + target + "." + std::to_string(*pid) + ".ctl";
}

}  // namespace spate::common
