// Pcap capture files: a tiny reader and writer (libpcap's classic format).
//
// What
//   DummyPort reads frames to receive from `rx_pcap=` files and appends
//   received or transmitted frames to `pcap=`, `rxq_pcap=` and `tx_pcap=`
//   files; tests write input captures and read net_pcap's output.
//
// Format
//   A 24-byte global header (magic 0xa1b2c3d4 for microsecond or 0xa1b23c4d
//   for nanosecond timestamps, in either byte order; version 2.4; snaplen;
//   link type 1 = Ethernet), then per frame a 16-byte record header
//   (seconds, sub-seconds, captured length, original length) and the bytes.
//   The writer emits little-endian microsecond files with link type 1.
//
// Errors
//   A file that is not a pcap, has another link type, or ends inside a
//   record is an error naming the file and the byte offset; a record longer
//   than kMaxFrameBytes is refused rather than allocated.
//
// Thread-safety: a PcapWriter is used by one thread at a time (DummyPort
// holds its lock while writing); ReadPcapFile is reentrant.
#ifndef SPATE_DATAPATH_PCAP_FILE_H
#define SPATE_DATAPATH_PCAP_FILE_H

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace spate::datapath {

// Largest frame a pcap record may hold for us (jumbo frames and then some).
inline constexpr uint32_t kMaxFrameBytes = 262144;

// Reads every frame of the pcap file at `path`.
Result<std::vector<std::vector<uint8_t>>> ReadPcapFile(const std::string& path);

// Appends frames to a pcap file.
class PcapWriter {
 public:
  // Opens `path` for appending, writing the global header when the file is
  // new or empty (as Open vSwitch's netdev-dummy does).  Errors: the file
  // cannot be opened, or it is not empty and not a little-endian
  // microsecond Ethernet pcap.
  static Result<std::unique_ptr<PcapWriter>> Open(const std::string& path);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Appends one frame with the current time and flushes, so readers see it
  // at once.  Errors: a write failure.
  Status Write(std::span<const uint8_t> frame);
  // The file's path.
  const std::string& path() const { return path_; }

 private:
  PcapWriter(FILE* file, std::string path) : file_(file), path_(std::move(path)) {}

  FILE* file_;        // Open for appending.
  std::string path_;  // For messages.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_PCAP_FILE_H
