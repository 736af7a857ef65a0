#include "datapath/flow_rule.h"

namespace spate::datapath {

FlowTables::FlowTables() = default;

FlowTables::~FlowTables() {
  for (auto& t : tables_) delete t.load(std::memory_order_relaxed);
}

cls::Classifier* FlowTables::MutableTable(int t) {
  auto& slot = tables_[static_cast<size_t>(t)];
  cls::Classifier* c = slot.load(std::memory_order_relaxed);
  if (c == nullptr) {
    c = new cls::Classifier(&domain_);
    slot.store(c, std::memory_order_release);
  }
  return c;
}

}  // namespace spate::datapath
