// PortMap: an immutable snapshot of the datapath's ports, by number.
//
// What it is
//   What the slow path needs to expand output/flood/all and what the fast
//   path needs to turn a port number into a Port and a transmit queue.
//   The control thread builds a new PortMap for every port change and
//   publishes it by pointer (datapath.cc); PMD threads load the pointer at
//   the start of a batch and use it until the batch ends, so a snapshot is
//   freed only after every PMD has moved past it.
//
// Thread-safety
//   Immutable after construction: any thread.
#ifndef SPATE_DATAPATH_PORT_MAP_H
#define SPATE_DATAPATH_PORT_MAP_H

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "datapath/port.h"

namespace spate::datapath {

inline constexpr uint32_t kMaxPortNumber = 0xfeff;  // Highest ofport (OFPP_MAX).

// One port of the snapshot.
struct PortEntry {
  uint32_t number = 0;     // Datapath port number (ofport), 1..kMaxPortNumber.
  std::string name;        // Interface name.
  Port* port = nullptr;    // The device; nullptr for a tunnel (virtual) port.
  bool flood = true;       // Included in "flood" (ovs-ofctl mod-port no-flood).
  bool tunnel = false;     // A tunnel port (output goes through TunnelHook).
  std::shared_ptr<std::mutex> tx_mutex;  // Serialises TxBurst when PMDs share
                                         // a transmit queue; null otherwise.
};

class PortMap {
 public:
  PortMap() = default;
  // A snapshot of `entries` (numbers unique, 1..kMaxPortNumber).
  explicit PortMap(std::vector<PortEntry> entries);

  // The port numbered `number`, or nullptr.
  const PortEntry* Find(uint32_t number) const {
    if (number >= index_.size()) return nullptr;
    int32_t i = index_[number];
    return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)];
  }
  // The entry whose device is `port`, or nullptr (linear: few ports).
  const PortEntry* FindByDevice(const Port* port) const {
    for (const PortEntry& e : entries_) {
      if (e.port == port) return &e;
    }
    return nullptr;
  }
  // Every port, in ascending number order.
  const std::vector<PortEntry>& entries() const { return entries_; }

 private:
  std::vector<PortEntry> entries_;  // Sorted by number.
  std::vector<int32_t> index_;      // number -> index in entries_, or -1.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_PORT_MAP_H
