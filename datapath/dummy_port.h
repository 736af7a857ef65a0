// DummyPort: a Port with no device, for the sandbox and for tests.
//
// What
//   Open vSwitch's netdev-dummy, as a Port.  Frames are injected by a call
//   (Receive: what `ovs-appctl netdev-dummy/receive PORT PACKET` does) or
//   read from an `rx_pcap=` capture at creation, and are handed to whoever
//   polls the receive queue.  Transmitted frames are kept in a bounded queue
//   for tests (TakeTransmitted) and appended to a `tx_pcap=` capture.
//   Options, as netdev-dummy names them: `pcap=` (one file capturing both
//   received and transmitted frames), `rxq_pcap=` (received frames),
//   `tx_pcap=` (transmitted frames).  `rx_pcap=` is ours (netdev-dummy has
//   no reader): like DPDK's net_pcap, its frames are received on queue 0.
//
// Design
//   Queued frames are kept as bytes and copied into packets from the pool
//   when polled, so a large rx_pcap does not pin the pool.  A per-queue
//   atomic count lets an idle poll return without taking the port's lock.
//   A PMD thread sleeping while idle is woken by Receive through the
//   RxWaker registered for the queue.
//
// Thread-safety: as Port; Receive, TakeTransmitted and SetLinkState may be
// called from any thread concurrently with the bursts (one internal mutex).
#ifndef SPATE_DATAPATH_DUMMY_PORT_H
#define SPATE_DATAPATH_DUMMY_PORT_H

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "datapath/packet.h"
#include "datapath/pcap_file.h"
#include "datapath/port.h"

namespace spate::datapath {

// How to create a DummyPort.
struct DummyPortConfig {
  std::string name = {};         // Interface name.
  int n_rxq = 1;            // Receive queues (1..64).
  int n_txq = 1;            // Transmit queues (1..64).
  Mempool* pool = nullptr;  // Received frames are copied into these.
  std::string pcap = {};         // Capture of received and transmitted frames.
  std::string rxq_pcap = {};     // Capture of received frames.
  std::string tx_pcap = {};      // Capture of transmitted frames.
  std::string rx_pcap = {};      // Frames to receive on queue 0 at start.
  MacAddress mac = {};           // All zero: derived from the name.
  int mtu = 1500;           // Reported MTU.
  size_t max_kept_tx = 65536;      // Transmitted frames kept for tests.
  size_t max_queued_rx = 65536;    // Frames waiting per receive queue.
};

class DummyPort : public Port {
 public:
  // Creates the port.  Errors: bad queue counts, no pool, capture files
  // that cannot be opened or read, rx_pcap frames larger than a buffer.
  static Result<std::unique_ptr<DummyPort>> Create(const DummyPortConfig& c);
  ~DummyPort() override;

  const std::string& name() const override { return name_; }
  const char* type() const override { return "dummy"; }
  int n_rxq() const override { return static_cast<int>(rxqs_.size()); }
  int n_txq() const override { return n_txq_; }
  uint32_t RxBurst(int qid, PacketBatch* batch) override;
  uint32_t TxBurst(int qid, PacketBatch* batch) override;
  MacAddress mac() const override { return mac_; }
  int mtu() const override { return mtu_.load(std::memory_order_relaxed); }
  Status SetMtu(int mtu) override;
  LinkState link_state() const override;
  PortStats GetStats() const override;
  void SetRxWaker(int qid, RxWaker* waker) override;

  // Queues `frame` for reception on queue `qid` (netdev-dummy/receive) and
  // wakes its poller.  Errors: an empty frame, one larger than a packet
  // buffer, a bad qid, or a full queue (counted in rx_dropped).
  Status Receive(std::span<const uint8_t> frame, int qid = 0);
  // Removes and returns the transmitted frames kept so far, oldest first.
  std::vector<std::vector<uint8_t>> TakeTransmitted();
  // Frames transmitted and kept, not yet taken.
  size_t n_kept_tx() const;
  // Sets the reported link state.
  void SetLinkState(LinkState state);

 private:
  struct RxQueue {
    std::deque<std::vector<uint8_t>> frames;  // Waiting, oldest first.
    std::atomic<size_t> n_frames{0};          // frames.size(), lock-free.
    RxWaker* waker = nullptr;                 // Poller to wake, or nullptr.
  };

  explicit DummyPort(const DummyPortConfig& c);

  std::string name_;               // Interface name.
  int n_txq_;                      // Transmit queues.
  Mempool* pool_;                  // Buffers for received frames.
  MacAddress mac_;                 // Reported address.
  std::atomic<int> mtu_;           // Reported MTU.
  std::atomic<LinkState> link_{LinkState::kUp};  // Reported link state.
  size_t max_kept_tx_;             // Bound on kept_tx_.
  size_t max_queued_rx_;           // Bound per receive queue.

  mutable std::mutex mutex_;       // Guards everything below.
  std::vector<std::unique_ptr<RxQueue>> rxqs_;  // Fixed size after Create.
  std::deque<std::vector<uint8_t>> kept_tx_;    // Transmitted, for tests.
  std::shared_ptr<PcapWriter> rx_capture_;      // rxq_pcap= or pcap=.
  std::shared_ptr<PcapWriter> tx_capture_;      // tx_pcap= or pcap=.
  PortStats stats_;                             // Counters.
};

// Parses a frame written as hex digits ("50540000000150540000000208004500...";
// spaces, colons and a leading "0x" are ignored), as netdev-dummy/receive
// accepts it.  Errors: an odd number of digits or a non-hex character.
Result<std::vector<uint8_t>> ParseHexFrame(const std::string& hex);

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_DUMMY_PORT_H
