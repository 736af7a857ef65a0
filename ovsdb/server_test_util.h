// Test-only helpers for the server tests: a raw JSON-RPC client over a unix
// socket (exact control of what is sent and of message order) and a child
// process running one of our binaries.
//
// Thread-safety: none; one test thread.
#ifndef SPATE_OVSDB_SERVER_TEST_UTIL_H
#define SPATE_OVSDB_SERVER_TEST_UTIL_H

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/jsonrpc.h"

namespace spate::ovsdb::testing {

// A blocking raw client: Send() writes text, Next() returns messages in
// arrival order.
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Writes all of `text`; false on error.
  bool Send(const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = write(fd_, text.data() + done, text.size() - done);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  // Sends a request built from its parts.
  bool Request(const std::string& method, const nlohmann::json& params, const nlohmann::json& id) {
    return Send(common::Message::Request(method, params, id).ToString());
  }
  // The next message, or nullopt on timeout, EOF or error.
  std::optional<common::Message> Next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (inbox_.empty() && !eof_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) {
        eof_ = true;
        break;
      }
      Status s = reader_.Feed(std::string_view(buf, static_cast<size_t>(n)),
                              [this](common::Message&& m) {
                                inbox_.push_back(std::move(m));
                                return true;
                              });
      if (!s.ok()) eof_ = true;
    }
    if (inbox_.empty()) return std::nullopt;
    common::Message m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }
  // Skips notifications until the reply with `id`; nullopt on timeout.
  std::optional<common::Message> Reply(const nlohmann::json& id,
                                       std::vector<common::Message>* skipped = nullptr) {
    while (std::optional<common::Message> m = Next()) {
      if ((m->type == common::MessageType::kReply || m->type == common::MessageType::kError) &&
          m->id == id) {
        return m;
      }
      if (skipped) skipped->push_back(std::move(*m));
    }
    return std::nullopt;
  }
  // Reads until `n` more messages have arrived, counting their "id"
  // members without parsing (every reply and notification has exactly
  // one; the replies of the benchmark's inserts contain no other).
  // False on EOF.
  bool CountMessages(int n) {
    static constexpr std::string_view kId = "\"id\":";
    while (n > 0) {
      char buf[65536];
      ssize_t got = read(fd_, buf, sizeof(buf));
      if (got <= 0) return false;
      carry_.append(buf, static_cast<size_t>(got));
      size_t pos = 0;
      while ((pos = carry_.find(kId, pos)) != std::string::npos) {
        --n;
        pos += kId.size();
      }
      carry_.erase(0, carry_.size() > kId.size() ? carry_.size() - kId.size() + 1 : 0);
    }
    return true;
  }
  // True once the server closed the connection.
  bool Closed(std::chrono::milliseconds timeout) {
    while (Next(timeout)) {
    }
    return eof_;
  }

 private:
  int fd_ = -1;                       // Socket.
  common::JsonRpcReader reader_;      // Splits input.
  std::deque<common::Message> inbox_;  // Parsed, not yet returned.
  bool eof_ = false;                  // Connection ended.
  std::string carry_;                 // CountMessages: unscanned tail.
};

// A child process (our server, or a peer tool) with stdout/stderr to a file.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& output) {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::fopen(output.c_str(), "w");
      if (f != nullptr) {
        dup2(fileno(f), 1);
        dup2(fileno(f), 2);
      }
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Child() { Kill(SIGKILL); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Sends `sig` and reaps the child.  Idempotent.
  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int pid() const { return pid_; }

 private:
  pid_t pid_ = -1;  // Child pid, or -1 once reaped.
};

}  // namespace spate::ovsdb::testing

#endif  // SPATE_OVSDB_SERVER_TEST_UTIL_H
