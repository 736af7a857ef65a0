#include "datapath/port_map.h"

#include <algorithm>

namespace spate::datapath {

PortMap::PortMap(std::vector<PortEntry> entries) : entries_(std::move(entries)) {
  std::sort(entries_.begin(), entries_.end(),
            [](const PortEntry& a, const PortEntry& b) { return a.number < b.number; });
  uint32_t max = entries_.empty() ? 0 : entries_.back().number;
  index_.assign(max + 1, -1);
  for (size_t i = 0; i < entries_.size(); ++i) {
    index_[entries_[i].number] = static_cast<int32_t>(i);
  }
}

}  // namespace spate::datapath
