// DpdkEthPort: a Port on any DPDK ethdev, attached at run time by devargs.
//
// What
//   Create() hot-plugs the device named by a devargs string (rte_dev_probe:
//   "net_null0,size=64", "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap",
//   "net_ring0", "net_af_packet0,iface=veth0", "net_tap0,iface=t0",
//   "net_memif0,role=server,socket=/tmp/m.sock",
//   "net_vhost0,iface=/tmp/vhu0.sock,queues=2", or a PCI address), claims
//   the ethdev with DPDK's ownership API so that no second Port can drive
//   it, configures n_rxq/n_txq queues (RSS across receive queues when the
//   device supports it), and starts it.  The destructor stops and closes the
//   ethdev and detaches the device (rte_dev_remove) if this port attached it,
//   so ports can come and go while the process runs.
//
// Errors
//   A bad devargs string is an ordinary error that quotes the driver's own
//   complaint (DPDK's log is captured while probing).
//
// Thread-safety: as Port (port.h).  Create and the destructor are control
// operations: callers serialise them with other control operations.
#ifndef SPATE_DATAPATH_DPDK_ETH_PORT_H
#define SPATE_DATAPATH_DPDK_ETH_PORT_H

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datapath/eal.h"
#include "datapath/packet.h"
#include "datapath/port.h"

namespace spate::datapath {

// How to create a DpdkEthPort.
struct DpdkPortConfig {
  std::string name;          // Interface name (for messages and stats).
  std::string devargs;       // DPDK devargs, e.g. "net_null0,size=64".
  int n_rxq = 1;             // Receive queues wanted (clamped: see n_rxq()).
  int n_txq = 1;             // Transmit queues wanted (clamped likewise).
  int rxq_size = 1024;       // Receive descriptors per queue.
  int txq_size = 1024;       // Transmit descriptors per queue.
  int mtu = 0;               // MTU to set at start; 0 keeps the device's.
  Mempool* pool = nullptr;   // Receive buffers come from here (required).
  const char* type = "dpdk"; // Interface type reported by type().
};

class DpdkEthPort : public Port {
 public:
  // Attaches, configures and starts the device.  Errors: bad devargs
  // (with the driver's reason), a device already driven by another port,
  // queue or start failures.
  static Result<std::unique_ptr<DpdkEthPort>> Create(const Eal& eal,
                                                     const DpdkPortConfig& c);
  ~DpdkEthPort() override;

  const std::string& name() const override { return name_; }
  const char* type() const override { return type_; }
  int n_rxq() const override { return n_rxq_; }
  int n_txq() const override { return n_txq_; }
  uint32_t RxBurst(int qid, PacketBatch* batch) override;
  uint32_t TxBurst(int qid, PacketBatch* batch) override;
  MacAddress mac() const override;
  int mtu() const override;
  Status SetMtu(int mtu) override;
  LinkState link_state() const override;
  PortStats GetStats() const override;
  // True when the device can check IPv4, UDP and TCP checksums on receive
  // (all three offloads are then enabled).
  bool rx_checksum_offload() const override { return rx_checksum_; }

  // The DPDK port id (for benchmarks and diagnostics).
  uint16_t port_id() const { return port_id_; }
  // The devargs the port was created from.
  const std::string& devargs() const { return devargs_; }
  // The DPDK driver name, e.g. "net_null".
  const std::string& driver() const { return driver_; }

 private:
  DpdkEthPort() = default;
  Status Attach(const DpdkPortConfig& c);
  Status Configure(const DpdkPortConfig& c);

  // A counter with one writer (the queue's thread) and any readers.
  struct alignas(64) QueueDrops {
    std::atomic<uint64_t> n{0};  // Packets the device did not accept.
  };

  std::string name_;            // Interface name.
  std::string devargs_;         // As given.
  std::string driver_;          // Driver name.
  const char* type_ = "dpdk";   // Interface type ("dpdk", "afxdp").
  uint16_t port_id_ = 0;        // DPDK ethdev port id.
  uint64_t owner_id_ = 0;       // Our DPDK ownership id (0: none taken).
  void* device_ = nullptr;      // rte_device* to remove, if we attached it.
  bool started_ = false;        // rte_eth_dev_start succeeded.
  int n_rxq_ = 0;               // Configured receive queues.
  int n_txq_ = 0;               // Configured transmit queues.
  bool rx_checksum_ = false;    // Receive checksum offloads enabled.
  std::unique_ptr<QueueDrops[]> tx_drops_;  // Per transmit queue.
};

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_DPDK_ETH_PORT_H
