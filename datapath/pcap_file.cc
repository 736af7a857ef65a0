// Pcap reader and writer.  See pcap_file.h for the format.
#include "datapath/pcap_file.h"

#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace spate::datapath {
namespace {

constexpr uint32_t kMagicUsec = 0xa1b2c3d4;
constexpr uint32_t kMagicNsec = 0xa1b23c4d;
constexpr uint32_t kLinkEthernet = 1;
constexpr size_t kGlobalHeaderBytes = 24;
constexpr size_t kRecordHeaderBytes = 16;

uint32_t Load32(const uint8_t* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

void Store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }  // LE host.
void Store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

// Checks a global header; sets *swap.  Returns "" or what is wrong.
std::string CheckHeader(const uint8_t* h, bool* swap) {
  uint32_t magic;
  std::memcpy(&magic, h, 4);
  uint32_t swapped = __builtin_bswap32(magic);
  if (magic == kMagicUsec || magic == kMagicNsec) {
    *swap = false;
  } else if (swapped == kMagicUsec || swapped == kMagicNsec) {
    *swap = true;
  } else {
    return "not a pcap file (bad magic number)";
  }
  uint32_t link = Load32(h + 20, *swap);
  if (link != kLinkEthernet) {
    return "link type " + std::to_string(link) + " is not Ethernet (1)";
  }
  return "";
}

}  // namespace

Result<std::vector<std::vector<uint8_t>>> ReadPcapFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error("pcap", path + ": cannot open: " + std::strerror(errno));
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (bytes.size() < kGlobalHeaderBytes) {
    return Error("pcap", path + ": too short for a pcap header (" +
                             std::to_string(bytes.size()) + " bytes)");
  }
  bool swap = false;
  if (std::string why = CheckHeader(bytes.data(), &swap); !why.empty()) {
    return Error("pcap", path + ": " + why);
  }
  std::vector<std::vector<uint8_t>> frames;
  size_t off = kGlobalHeaderBytes;
  while (off < bytes.size()) {
    if (bytes.size() - off < kRecordHeaderBytes) {
      return Error("pcap", path + ": truncated record header at byte " +
                               std::to_string(off));
    }
    uint32_t caplen = Load32(&bytes[off + 8], swap);
    if (caplen > kMaxFrameBytes) {
      return Error("pcap", path + ": record at byte " + std::to_string(off) +
                               " claims " + std::to_string(caplen) +
                               " bytes (limit " +
                               std::to_string(kMaxFrameBytes) + ")");
    }
    off += kRecordHeaderBytes;
    if (bytes.size() - off < caplen) {
      return Error("pcap", path + ": record at byte " +
                               std::to_string(off - kRecordHeaderBytes) +
                               " is truncated");
    }
    frames.emplace_back(bytes.begin() + off, bytes.begin() + off + caplen);
    off += caplen;
  }
  return frames;
}

Result<std::unique_ptr<PcapWriter>> PcapWriter::Open(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "ab+");
  if (f == nullptr) {
    return Error("pcap", path + ": cannot open for writing: " +
                             std::strerror(errno));
  }
  std::unique_ptr<PcapWriter> w(new PcapWriter(f, path));
  std::fseek(f, 0, SEEK_END);
  long size = std::ftell(f);
  if (size > 0) {
    uint8_t h[kGlobalHeaderBytes];
    std::rewind(f);
    bool swap = false;
    if (std::fread(h, 1, sizeof h, f) != sizeof h ||
        !CheckHeader(h, &swap).empty() || swap ||
        Load32(h, false) != kMagicUsec) {
      return Error("pcap", path + ": exists and is not a little-endian "
                                  "microsecond Ethernet pcap; remove it or "
                                  "choose another file");
    }
    std::fseek(f, 0, SEEK_END);  // "a" mode writes at the end anyway.
    return w;
  }
  uint8_t h[kGlobalHeaderBytes] = {};
  Store32(h, kMagicUsec);
  Store16(h + 4, 2);
  Store16(h + 6, 4);
  Store32(h + 16, kMaxFrameBytes);
  Store32(h + 20, kLinkEthernet);
  if (std::fwrite(h, 1, sizeof h, f) != sizeof h || std::fflush(f) != 0) {
    return Error("pcap", path + ": write failed: " + std::strerror(errno));
  }
  return w;
}

PcapWriter::~PcapWriter() { std::fclose(file_); }

Status PcapWriter::Write(std::span<const uint8_t> frame) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  uint8_t h[kRecordHeaderBytes];
  Store32(h, static_cast<uint32_t>(tv.tv_sec));
  Store32(h + 4, static_cast<uint32_t>(tv.tv_usec));
  Store32(h + 8, static_cast<uint32_t>(frame.size()));
  Store32(h + 12, static_cast<uint32_t>(frame.size()));
  if (std::fwrite(h, 1, sizeof h, file_) != sizeof h ||
      std::fwrite(frame.data(), 1, frame.size(), file_) != frame.size() ||
      std::fflush(file_) != 0) {
    return Error("pcap", path_ + ": write failed: " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace spate::datapath
