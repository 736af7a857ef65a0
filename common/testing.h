// Test-only helpers for common/'s tests (and any test that runs programs):
// a temporary directory, running a program with captured output, and
// waiting on a condition with a deadline.  Not part of spate_common.
//
// Thread-safety: TempDir and RunProgram are safe to use from any thread;
// WaitFor calls its predicate on the calling thread.
#ifndef SPATE_COMMON_TESTING_H
#define SPATE_COMMON_TESTING_H

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace spate::common::testing {

// A fresh directory under /tmp (short, so unix socket paths fit), removed
// with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;  // Absolute path.
};

// What a finished program did.
struct ProgramResult {
  int exit_code = -1;   // Exit status, or 128 + signal, or -1 on timeout.
  std::string out;      // Everything written to stdout.
  std::string err;      // Everything written to stderr.
};

// Runs `argv` (argv[0] is a path) with `env` added to the environment,
// waits until it exits and its output pipes close, and returns what it
// did.  A program still running after `timeout` is killed (exit_code -1).
ProgramResult RunProgram(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Polls `done` until it is true or `timeout` passes; returns done().
bool WaitFor(const std::function<bool()>& done,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

// True if process `pid` exists and is not a zombie.
bool ProcessAlive(int pid);

// Reads a whole file ("" if missing).
std::string ReadFile(const std::string& path);

}  // namespace spate::common::testing

#endif  // SPATE_COMMON_TESTING_H
