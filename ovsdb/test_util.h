// Helpers shared by the OVSDB tests: a temporary directory removed at the
// end of the test, running a command and capturing its output, and
// replacing UUIDs in text so results can be compared with Open vSwitch's.
#ifndef SPATE_OVSDB_TEST_UTIL_H
#define SPATE_OVSDB_TEST_UTIL_H

#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace spate::ovsdb::testing {

// A fresh directory under $TMPDIR, deleted with its contents on scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ovsdb-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;  // Directory path.
};

struct CommandResult {
  int status = -1;     // Exit status.
  std::string out;     // Standard output (stderr merged if requested).
};

// Runs `cmd` through /bin/sh and captures stdout.
inline CommandResult RunCommand(const std::string& cmd) {
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Single-quotes `s` for the shell.
inline std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// Replaces every UUID (and 8-hex-digit UUID prefix after "row ") with a
// token numbered by first appearance, so two runs compare equal
// modulo the random UUIDs.
inline std::string NormalizeUuids(const std::string& text) {
  static const std::regex kUuid(
      "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  std::string out;
  std::vector<std::string> seen;
  auto begin = std::sregex_iterator(text.begin(), text.end(), kUuid);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out += text.substr(last, it->position() - last);
    std::string u = it->str();
    auto f = std::find(seen.begin(), seen.end(), u);
    size_t idx = f - seen.begin();
    if (f == seen.end()) seen.push_back(u);
    out += "<" + std::to_string(idx) + ">";
    last = it->position() + it->length();
  }
  return out + text.substr(last);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Path of a file in the source tree (tests run with SPATE_SOURCE_DIR set).
inline std::string SourcePath(const std::string& rel) {
  const char* root = std::getenv("SPATE_SOURCE_DIR");
  return std::string(root ? root : ".") + "/" + rel;
}

// Number of intact records in a log file's bytes.
inline size_t ParseLogForTest(const std::string& data) {
  size_t n = 0, pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) break;
    std::istringstream header(data.substr(pos, nl - pos));
    std::string magic, kind;
    size_t len = 0;
    header >> magic >> kind >> len;
    if (magic != "OVSDB" || nl + 1 + len > data.size()) break;
    pos = nl + 1 + len;
    ++n;
  }
  return n;
}

}  // namespace spate::ovsdb::testing

#endif  // SPATE_OVSDB_TEST_UTIL_H
