// Port: the one interface through which the datapath receives and sends.
//
// What
//   A Port is a network device with n_rxq() receive and n_txq() transmit
//   queues.  Implementations: DpdkEthPort (any DPDK ethdev: NICs and the
//   vdevs net_null, net_ring, net_pcap, net_af_packet, net_tap, net_memif,
//   net_vhost; and AF_XDP sockets on kernel interfaces through DPDK's
//   net_af_xdp, Interface type "afxdp"), DummyPort (the sandbox: packets
//   injected by a call, transmitted ones kept for inspection and pcap
//   capture).  port_factory.h builds one from an Open vSwitch Interface
//   description.
//
// Design
//   The fast path calls RxBurst/TxBurst once per batch of up to 32 packets,
//   so one virtual call is spread over the batch (Open vSwitch's netdev_class
//   does the same with function pointers).  TxBurst always takes ownership
//   of every packet: what the device does not accept is freed and counted as
//   a transmit drop, never silently lost and never returned to the caller.
//
// Thread-safety
//   * A receive queue is polled by at most one thread at a time, and a
//     transmit queue is used by at most one thread at a time (DPDK's rule);
//     different queues may be used concurrently.  The owner of the port
//     (the datapath's control thread) assigns queues to threads.
//   * GetStats, mac, mtu, link_state and name may be called from any thread
//     concurrently with the bursts.
//   * SetMtu and SetRxWaker are control operations: callers serialise them.
//   * A Port is destroyed only after no thread uses it any more
//     (PmdThread::SetRxQueues returning is that point for the PMD threads).
#ifndef SPATE_DATAPATH_PORT_H
#define SPATE_DATAPATH_PORT_H

#include <array>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "datapath/packet.h"

namespace spate::datapath {

// An Ethernet address.
struct MacAddress {
  std::array<uint8_t, 6> bytes{};  // Network byte order.

  // "aa:bb:cc:dd:ee:ff".
  std::string ToString() const;
  bool operator==(const MacAddress&) const = default;
};

// Link state as Open vSwitch's Interface.link_state reports it.
enum class LinkState { kUp, kDown };

// Port counters, as Open vSwitch's Interface.statistics names them.
struct PortStats {
  uint64_t rx_packets = 0;  // Packets received.
  uint64_t rx_bytes = 0;    // Bytes received.
  uint64_t rx_errors = 0;   // Receive errors reported by the device.
  uint64_t rx_dropped = 0;  // Dropped on receive (missed, no buffers).
  uint64_t tx_packets = 0;  // Packets sent.
  uint64_t tx_bytes = 0;    // Bytes sent.
  uint64_t tx_errors = 0;   // Transmit errors reported by the device.
  uint64_t tx_dropped = 0;  // Not accepted by the device, freed by us.
};

// Something to poke when a receive queue gets packets without being polled
// (the PMD thread that polls it, when it sleeps while idle).
class RxWaker {
 public:
  virtual ~RxWaker() = default;
  // Wakes the poller.  Thread-safe, cheap when it is not asleep.
  virtual void Wake() = 0;
};

class Port {
 public:
  virtual ~Port() = default;

  // The Interface name this port was created for.
  virtual const std::string& name() const = 0;
  // The Interface type ("dpdk", "afxdp", "dummy").
  virtual const char* type() const = 0;
  // Number of receive queues (>= 1).
  virtual int n_rxq() const = 0;
  // Number of transmit queues (>= 1).
  virtual int n_txq() const = 0;

  // Receives up to PacketBatch::kMaxPackets packets from queue `qid` into
  // `batch` (overwriting it) and returns how many; the caller owns them.
  // Never blocks.  qid must be < n_rxq().
  virtual uint32_t RxBurst(int qid, PacketBatch* batch) = 0;
  // Sends every packet of `batch` on queue `qid` and empties the batch.
  // Takes ownership of all packets; returns how many the device accepted
  // (the rest are freed and counted in tx_dropped).  qid must be < n_txq().
  virtual uint32_t TxBurst(int qid, PacketBatch* batch) = 0;

  // The port's Ethernet address.
  virtual MacAddress mac() const = 0;
  // The current MTU in bytes (L3, without the Ethernet header).
  virtual int mtu() const = 0;
  // Sets the MTU.  Errors: out of range, or the device refuses.
  virtual Status SetMtu(int mtu) = 0;
  // True when the device verifies the IPv4 header and TCP/UDP checksums
  // of received packets and reports the result in their offload flags
  // (Packet::rx_checksum_good).  Decapsulation then skips the software
  // checks for packets it marked good.
  virtual bool rx_checksum_offload() const { return false; }
  // The link state (without waiting for negotiation).
  virtual LinkState link_state() const = 0;
  // A snapshot of the counters.
  virtual PortStats GetStats() const = 0;

  // Registers `waker` (or nullptr to clear) to be woken when queue `qid`
  // receives packets while nobody polls it.  Ports that cannot tell (DPDK
  // devices without interrupts) ignore it; the poller then relies on its
  // bounded idle sleep.
  virtual void SetRxWaker(int qid, RxWaker* waker) {}
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_PORT_H
