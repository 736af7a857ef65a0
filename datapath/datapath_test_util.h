// Test helpers for the fast path and DatapathControl tests: a device-less
// port, flow loading from ovs-ofctl text, keys from frames.
//
// Thread-safety: test code; SinkPort's counters are atomics.
#ifndef SPATE_DATAPATH_DATAPATH_TEST_UTIL_H
#define SPATE_DATAPATH_DATAPATH_TEST_UTIL_H

#include <atomic>
#include <string>
#include <vector>

#include "datapath/action_parse.h"
#include "datapath/datapath_control.h"
#include "datapath/flow_extract.h"

namespace spate::datapath::testutil {

// A port that receives nothing and keeps (or frees) what it transmits.
class SinkPort : public Port {
 public:
  explicit SinkPort(std::string name, int n_txq = 1) : name_(std::move(name)), n_txq_(n_txq) {}
  const std::string& name() const override { return name_; }
  const char* type() const override { return "sink"; }
  int n_rxq() const override { return 1; }
  int n_txq() const override { return n_txq_; }
  uint32_t RxBurst(int, PacketBatch*) override { return 0; }
  // Keeps the packets in `kept` when `keep` is set (the caller frees or
  // reuses them), else frees them.
  uint32_t TxBurst(int, PacketBatch* batch) override {
    n_tx_.fetch_add(batch->n_pkts, std::memory_order_relaxed);
    if (keep) {
      for (uint32_t i = 0; i < batch->n_pkts; ++i) kept.push_back(batch->pkts[i]);
    } else {
      FreeBatch(batch);
    }
    uint32_t n = batch->n_pkts;
    batch->n_pkts = 0;
    return n;
  }
  MacAddress mac() const override { return {}; }
  int mtu() const override { return 1500; }
  Status SetMtu(int) override { return Status::Ok(); }
  LinkState link_state() const override { return LinkState::kUp; }
  PortStats GetStats() const override {
    PortStats s;
    s.tx_packets = n_tx_.load(std::memory_order_relaxed);
    return s;
  }
  uint64_t n_tx() const { return n_tx_.load(std::memory_order_relaxed); }

  bool keep = false;            // Keep transmitted packets in `kept`.
  std::vector<Packet*> kept;    // Kept packets (owned by the test).

 private:
  std::string name_;                  // Interface name.
  int n_txq_;                         // Transmit queues.
  std::atomic<uint64_t> n_tx_{0};     // Packets transmitted.
};

// Parses and commits add-flow lines as one batch; the error text on failure.
inline std::string AddFlows(DatapathControl* dp, const std::vector<std::string>& lines) {
  std::vector<RuleOp> ops;
  PortResolver names = [dp](std::string_view n) { return dp->PortNumber(n); };
  for (const std::string& l : lines) {
    auto op = ParseRuleOp(RuleOpKind::kAdd, l, false, names);
    if (!op.ok()) return l + ": " + op.error().ToString();
    ops.push_back(std::move(op.value()));
  }
  auto r = dp->Commit(ops);
  return r.ok() ? "" : r.error().ToString();
}

// The key of `frame` received on `in_port`.
inline cls::FlowKey KeyOf(const std::vector<uint8_t>& frame, uint32_t in_port) {
  cls::FlowKey k{};
  ExtractFlowKey(frame.data(), frame.size(), in_port, &k);
  return k;
}

}  // namespace spate::datapath::testutil

#endif  // SPATE_DATAPATH_DATAPATH_TEST_UTIL_H
