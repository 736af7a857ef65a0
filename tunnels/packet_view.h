// PacketView: a packet as a window onto a caller-owned buffer.
//
// What: every encap/decap function in tunnels/ works on a PacketView, never on
// a DPDK mbuf.  A view is a buffer (start pointer and capacity) plus the data
// window inside it (offset and length), so it has headroom in front of the
// data and tailroom behind it, exactly like an mbuf's single segment
// (buf_addr, buf_len, data_off, data_len).  The datapath adapts an mbuf by
// constructing a view from those four fields, calling into tunnels/, and
// writing data_off/data_len back; no bytes are copied.
//
// Design: a small value type with inline accessors, so prepend and strip
// compile to a compare and an add.  Multi-segment (chained) mbufs are not
// represented; the datapath linearises them first (they only occur for
// frames larger than one mbuf, which tunnels/ never produces except through
// STT segmentation, where the caller supplies one buffer per segment).
//
// Thread-safety: a view is a plain value; it is as thread-safe as the buffer
// it points at (one packet belongs to one thread at a time).
#ifndef SPATE_TUNNELS_PACKET_VIEW_H
#define SPATE_TUNNELS_PACKET_VIEW_H

#include <cstddef>
#include <cstdint>

namespace spate::tunnels {

class PacketView {
 public:
  PacketView() = default;

  // A view of `buffer` (capacity `buffer_bytes`) whose data starts at
  // `data_offset` and spans `data_bytes`.  Requires data_offset + data_bytes
  // <= buffer_bytes (asserted by callers' construction; not checked here so
  // that the mbuf adapter stays free of branches).
  PacketView(uint8_t* buffer, uint32_t buffer_bytes, uint32_t data_offset,
             uint32_t data_bytes)
      : buffer_(buffer),
        buffer_bytes_(buffer_bytes),
        offset_(data_offset),
        length_(data_bytes) {}

  uint8_t* data() const { return buffer_ + offset_; }   // First data byte.
  uint32_t length() const { return length_; }           // Data bytes.
  uint32_t offset() const { return offset_; }           // Headroom bytes.
  uint32_t headroom() const { return offset_; }         // Free bytes before.
  uint32_t tailroom() const {                           // Free bytes after.
    return buffer_bytes_ - offset_ - length_;
  }
  uint8_t* buffer() const { return buffer_; }           // Buffer start.
  uint32_t buffer_bytes() const { return buffer_bytes_; }  // Capacity.

  // Grows the data window by `n` bytes at the front and returns the new
  // first byte, or nullptr (view unchanged) when headroom is short.
  uint8_t* Prepend(uint32_t n) {
    if (n > offset_) return nullptr;
    offset_ -= n;
    length_ += n;
    return data();
  }

  // Removes `n` bytes from the front and returns the new first byte, or
  // nullptr (view unchanged) when the data is shorter than `n`.
  uint8_t* Strip(uint32_t n) {
    if (n > length_) return nullptr;
    offset_ += n;
    length_ -= n;
    return data();
  }

  // Grows the data window by `n` bytes at the end and returns a pointer to
  // the first new byte, or nullptr (view unchanged) when tailroom is short.
  uint8_t* Append(uint32_t n) {
    if (n > tailroom()) return nullptr;
    uint8_t* tail = data() + length_;
    length_ += n;
    return tail;
  }

  // Shortens the data to `n` bytes (drops trailing bytes, e.g. Ethernet
  // padding).  Returns false (view unchanged) when n > length().
  bool TrimTo(uint32_t n) {
    if (n > length_) return false;
    length_ = n;
    return true;
  }

 private:
  uint8_t* buffer_ = nullptr;  // Start of the underlying buffer.
  uint32_t buffer_bytes_ = 0;  // Capacity of the underlying buffer.
  uint32_t offset_ = 0;        // Offset of the first data byte.
  uint32_t length_ = 0;        // Number of data bytes.
};

}  // namespace spate::tunnels

#endif  // SPATE_TUNNELS_PACKET_VIEW_H
