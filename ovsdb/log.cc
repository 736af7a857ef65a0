#include "ovsdb/log.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace spate::ovsdb {
namespace {

Error IoError(const std::string& what, const std::string& path) {
  return Error("I/O error", path + ": " + what + " (" + std::strerror(errno) + ")");
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write failed", path);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Parses "OVSDB JSON <len> <sha1>"; false if malformed.
bool ParseHeader(std::string_view line, uint64_t* len, std::string* sha1) {
  if (line.substr(0, kLogMagic.size()) != kLogMagic) return false;
  line.remove_prefix(kLogMagic.size());
  if (line.empty() || line[0] != ' ') return false;
  line.remove_prefix(1);
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp > 15) return false;
  uint64_t n = 0;
  for (char c : line.substr(0, sp)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  std::string_view hex = line.substr(sp + 1);
  if (hex.size() != 40) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  *len = n;
  *sha1 = std::string(hex);
  return true;
}

}  // namespace

std::string Sha1Hex(std::string_view data) {
  // The digest is fetched once and each thread reuses one context: the
  // implicit fetch and context allocation of EVP_Digest() cost more than
  // hashing a typical record.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (md == nullptr || !ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha1(), nullptr);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

std::string FormatRecord(const Json& json) { return FormatRecordText(DumpJson(json)); }

std::string FormatRecordText(std::string_view body) {
  std::string length = std::to_string(body.size() + 1);  // With the newline.
  std::string rec;
  rec.reserve(kLogMagic.size() + length.size() + 44 + body.size());
  rec.append(kLogMagic);
  rec += ' ';
  rec += length;
  rec += ' ';
  size_t hash_at = rec.size();
  rec.append(40, '0');
  rec += '\n';
  size_t body_at = rec.size();
  rec.append(body);
  rec += '\n';
  std::string hash = Sha1Hex(std::string_view(rec).substr(body_at));
  rec.replace(hash_at, 40, hash);
  return rec;
}

LogContents ParseLog(std::string_view data) {
  LogContents out;
  out.file_bytes = data.size();
  uint64_t pos = 0;
  while (pos < data.size()) {
    std::string where = "record at offset " + std::to_string(pos);
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos || nl - pos > 200) {
      out.tail_error = where + ": truncated or unterminated header";
      break;
    }
    uint64_t len = 0;
    std::string sha1;
    if (!ParseHeader(data.substr(pos, nl - pos), &len, &sha1)) {
      out.tail_error = where + ": bad header line";
      break;
    }
    uint64_t body = nl + 1;
    if (len > data.size() - body) {
      out.tail_error = where + ": record is truncated (" +
                       std::to_string(data.size() - body) + " of " + std::to_string(len) +
                       " bytes present)";
      break;
    }
    std::string_view text = data.substr(body, len);
    if (Sha1Hex(text) != sha1) {
      out.tail_error = where + ": SHA-1 checksum mismatch";
      break;
    }
    auto json = ParseJson(text);
    if (!json || !json->is_object()) {
      out.tail_error = where + ": record is not a JSON object";
      break;
    }
    out.records.push_back({std::move(*json), pos, body + len - pos});
    pos = body + len;
    out.good_bytes = pos;
  }
  return out;
}

Result<LogContents> ReadLog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return IoError("read failed", path);
  return ParseLog(ss.str());
}

LogWriter::~LogWriter() { Close(); }

Status LogWriter::Open(const std::string& path, bool create, uint64_t truncate_to) {
  Close();
  path_ = path;
  int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
  fd_ = ::open(path.c_str(), flags, 0640);
  if (fd_ < 0) return IoError(create ? "cannot create" : "cannot open for writing", path);
  struct stat st;
  if (::fstat(fd_, &st) != 0) return IoError("fstat failed", path);
  size_ = static_cast<uint64_t>(st.st_size);
  if (!create && truncate_to < size_) {
    if (::ftruncate(fd_, static_cast<off_t>(truncate_to)) != 0) {
      return IoError("cannot truncate corrupt tail", path);
    }
    size_ = truncate_to;
    if (::fsync(fd_) != 0) return IoError("fsync failed", path);
  }
  return Status::Ok();
}

Status LogWriter::AppendRaw(std::string_view bytes, bool sync) {
  if (fd_ < 0) return Error("I/O error", path_ + ": log is not open for writing");
  if (Status s = WriteAll(fd_, bytes, path_); !s) return s;
  size_ += bytes.size();
  return sync ? Sync() : Status::Ok();
}

Status LogWriter::Append(const Json& json, bool sync) {
  return AppendRaw(FormatRecord(json), sync);
}

Status LogWriter::Sync() {
  if (fd_ >= 0 && ::fdatasync(fd_) != 0) return IoError("fsync failed", path_);
  return Status::Ok();
}

void LogWriter::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status WriteLogAtomically(const std::string& path, const std::vector<Json>& records) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return IoError("cannot create", tmp);
  Status s;
  for (const Json& r : records) {
    s = WriteAll(fd, FormatRecord(r), tmp);
    if (!s) break;
  }
  if (s && ::fsync(fd) != 0) s = IoError("fsync failed", tmp);
  ::close(fd);
  if (s && ::rename(tmp.c_str(), path.c_str()) != 0) s = IoError("cannot rename to " + path, tmp);
  if (!s) {
    ::unlink(tmp.c_str());
    return s;
  }
  int dir = ::open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::Ok();
}

Status WriteLogFile(const std::string& tmp_path, std::string_view bytes) {
  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return IoError("cannot create", tmp_path);
  Status s = WriteAll(fd, bytes, tmp_path);
  if (s && ::fsync(fd) != 0) s = IoError("fsync failed", tmp_path);
  ::close(fd);
  if (!s) ::unlink(tmp_path.c_str());
  return s;
}

Status ReplaceLogFile(const std::string& tmp_path, std::string_view tail, const std::string& path) {
  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", tmp_path);
  Status s = WriteAll(fd, tail, tmp_path);
  if (s && ::fsync(fd) != 0) s = IoError("fsync failed", tmp_path);
  ::close(fd);
  if (s && ::rename(tmp_path.c_str(), path.c_str()) != 0) {
    s = IoError("cannot rename to " + path, tmp_path);
  }
  if (!s) {
    ::unlink(tmp_path.c_str());
    return s;
  }
  int dir = ::open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::Ok();
}

}  // namespace spate::ovsdb
