// DpdkEthPort: attach (rte_dev_probe), claim, configure, burst, detach.
#include "datapath/dpdk_eth_port.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "datapath/sanitizer.h"

namespace spate::datapath {
namespace {

constexpr int kMaxQueues = 1024;  // Sanity bound on n_rxq / n_txq.

std::string Errno(int negative_rc) { return rte_strerror(-negative_rc); }

// Runs `fn` with DPDK's log redirected into a string (the drivers explain
// their refusals only there), and returns the log's lines joined by "; ".
template <typename Fn>
std::string CaptureDpdkLog(Fn fn) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* mem = open_memstream(&buf, &len);
  if (mem != nullptr) rte_openlog_stream(mem);
  fn();
  if (mem == nullptr) return "";
  rte_openlog_stream(nullptr);
  std::fclose(mem);
  std::string text(buf, len);
  std::free(buf);
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty()) out += (out.empty() ? "" : "; ") + line;
    start = end + 1;
  }
  return out;
}

// The first ethdev port matching `devargs`, or -1.
int FindPort(const std::string& devargs) {
  rte_dev_iterator it;
  if (rte_eth_iterator_init(&it, devargs.c_str()) != 0) return -1;
  uint16_t id = rte_eth_iterator_next(&it);
  if (id == RTE_MAX_ETHPORTS) return -1;
  rte_eth_iterator_cleanup(&it);
  return id;
}

}  // namespace

Result<std::unique_ptr<DpdkEthPort>> DpdkEthPort::Create(
    const Eal& eal, const DpdkPortConfig& c) {
  (void)eal;  // Proof that the EAL is up.
  std::string what = "interface \"" + c.name + "\"";
  if (c.devargs.empty()) {
    return Error("port", what + ": empty dpdk-devargs (give e.g. \"net_null0\" "
                         "or a PCI address such as \"0000:01:00.0\")");
  }
  if (c.pool == nullptr) return Error("port", what + ": no packet pool");
  if (c.n_rxq < 1 || c.n_rxq > kMaxQueues || c.n_txq < 1 ||
      c.n_txq > kMaxQueues) {
    return Error("port", what + ": n_rxq and n_txq must be 1.." +
                             std::to_string(kMaxQueues));
  }
  if (c.rxq_size < 1 || c.rxq_size > 32768 || c.txq_size < 1 ||
      c.txq_size > 32768) {
    return Error("port", what + ": queue sizes must be 1..32768");
  }
  std::unique_ptr<DpdkEthPort> port(new DpdkEthPort());
  port->name_ = c.name;
  port->devargs_ = c.devargs;
  port->type_ = c.type;
  if (Status s = port->Attach(c); !s.ok()) return s.error();
  if (Status s = port->Configure(c); !s.ok()) return s.error();
  return port;
}

Status DpdkEthPort::Attach(const DpdkPortConfig& c) {
  std::string what = "interface \"" + c.name + "\"";
  bool existed = FindPort(c.devargs) >= 0;
  int rc = 0;
  std::string log = CaptureDpdkLog([&] { rc = rte_dev_probe(c.devargs.c_str()); });
  if (rc < 0) {
    return Error("port", what + ": cannot attach DPDK device \"" + c.devargs +
                             "\" (" + Errno(rc) + ")" +
                             (log.empty() ? "" : ": " + log) +
                             "; check the driver name and its arguments");
  }
  int id = FindPort(c.devargs);
  if (id < 0) {
    return Error("port", what + ": devargs \"" + c.devargs +
                             "\" attached no Ethernet port");
  }
  port_id_ = static_cast<uint16_t>(id);
  rte_eth_dev_info info;
  if (int r = rte_eth_dev_info_get(port_id_, &info); r != 0) {
    return Error("port", what + ": rte_eth_dev_info_get: " + Errno(r));
  }
  driver_ = info.driver_name != nullptr ? info.driver_name : "";
  if (!existed) device_ = info.device;  // Ours to detach.
  rte_eth_dev_owner owner = {};
  if (rte_eth_dev_owner_new(&owner.id) != 0) {
    return Error("port", what + ": no DPDK owner id available");
  }
  std::snprintf(owner.name, sizeof owner.name, "spate:%s", c.name.c_str());
  if (rte_eth_dev_owner_set(port_id_, &owner) != 0) {
    rte_eth_dev_owner current = {};
    rte_eth_dev_owner_get(port_id_, &current);
    rte_eth_dev_owner_delete(owner.id);
    return Error("port", what + ": DPDK device \"" + c.devargs +
                             "\" is already in use by " + current.name);
  }
  owner_id_ = owner.id;
  return Status::Ok();
}

Status DpdkEthPort::Configure(const DpdkPortConfig& c) {
  std::string what = "interface \"" + c.name + "\"";
  rte_eth_dev_info info;
  rte_eth_dev_info_get(port_id_, &info);
  n_rxq_ = std::min<int>(c.n_rxq, std::max<int>(info.max_rx_queues, 1));
  n_txq_ = std::min<int>(c.n_txq, std::max<int>(info.max_tx_queues, 1));
  rte_eth_conf conf;
  std::memset(&conf, 0, sizeof conf);
  uint64_t rss = info.flow_type_rss_offloads &
                 (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
  if (n_rxq_ > 1 && rss != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss;
  }
  // Receive checksum verification, used by decapsulation, when the device
  // has it for all of IPv4, UDP and TCP.  Not for virtio and vhost-user:
  // with the offload on they accept a guest's partial checksums instead
  // of completing them (flagging them "none"), and this datapath requests
  // no transmit checksum offload to finish them elsewhere.
  const uint64_t csum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM |
                        RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
  const bool virtio = driver_.find("virtio") != std::string::npos ||
                      driver_.find("vhost") != std::string::npos;
  rx_checksum_ = !virtio && (info.rx_offload_capa & csum) == csum;
  if (rx_checksum_) conf.rxmode.offloads |= csum;
  if (int r = rte_eth_dev_configure(port_id_, n_rxq_, n_txq_, &conf); r != 0) {
    return Error("port", what + ": rte_eth_dev_configure(" +
                             std::to_string(n_rxq_) + " rxq, " +
                             std::to_string(n_txq_) + " txq): " + Errno(r));
  }
  uint16_t nb_rxd = static_cast<uint16_t>(c.rxq_size);
  uint16_t nb_txd = static_cast<uint16_t>(c.txq_size);
  rte_eth_dev_adjust_nb_rx_tx_desc(port_id_, &nb_rxd, &nb_txd);
  int socket = rte_eth_dev_socket_id(port_id_);
  if (socket < 0) socket = static_cast<int>(SOCKET_ID_ANY);
  auto* pool = static_cast<rte_mempool*>(c.pool->native());
  for (int q = 0; q < n_rxq_; q++) {
    if (int r = rte_eth_rx_queue_setup(port_id_, q, nb_rxd, socket, nullptr,
                                       pool); r != 0) {
      return Error("port", what + ": rx queue " + std::to_string(q) +
                               " setup: " + Errno(r));
    }
  }
  for (int q = 0; q < n_txq_; q++) {
    if (int r = rte_eth_tx_queue_setup(port_id_, q, nb_txd, socket, nullptr);
        r != 0) {
      return Error("port", what + ": tx queue " + std::to_string(q) +
                               " setup: " + Errno(r));
    }
  }
  tx_drops_ = std::make_unique<QueueDrops[]>(n_txq_);
  if (c.mtu != 0) {
    if (Status s = SetMtu(c.mtu); !s.ok()) return s;
  }
  if (int r = rte_eth_dev_start(port_id_); r != 0) {
    return Error("port", what + ": rte_eth_dev_start: " + Errno(r));
  }
  started_ = true;
  rte_eth_promiscuous_enable(port_id_);  // Not all vdevs support it.
  return Status::Ok();
}

DpdkEthPort::~DpdkEthPort() {
  if (owner_id_ == 0) {  // Never claimed: at most detach what we attached.
    if (device_ != nullptr) rte_dev_remove(static_cast<rte_device*>(device_));
    return;
  }
  if (started_) rte_eth_dev_stop(port_id_);
  if (device_ != nullptr) {
    // We attached it: close the ethdev and detach the device.
    rte_eth_dev_close(port_id_);
    rte_dev_remove(static_cast<rte_device*>(device_));
  }
  rte_eth_dev_owner_delete(owner_id_);
}

uint32_t DpdkEthPort::RxBurst(int qid, PacketBatch* batch) {
  uint16_t n = rte_eth_rx_burst(port_id_, static_cast<uint16_t>(qid),
                                reinterpret_cast<rte_mbuf**>(batch->pkts),
                                PacketBatch::kMaxPackets);
#ifdef SPATE_TSAN
  for (uint16_t i = 0; i < n; i++) AcquirePacket(batch->pkts[i]);
#endif
  batch->n_pkts = n;
  return n;
}

uint32_t DpdkEthPort::TxBurst(int qid, PacketBatch* batch) {
  uint32_t n = batch->n_pkts;
#ifdef SPATE_TSAN
  for (uint32_t i = 0; i < n; i++) ReleasePacket(batch->pkts[i]);
#endif
  auto** mbufs = reinterpret_cast<rte_mbuf**>(batch->pkts);
  uint32_t sent = 0;
  while (sent < n) {
    uint16_t k = rte_eth_tx_burst(port_id_, static_cast<uint16_t>(qid),
                                  mbufs + sent, static_cast<uint16_t>(n - sent));
    if (k == 0) break;  // The queue is full: drop the rest, do not spin.
    sent += k;
  }
  if (sent < n) {
    FreePackets(batch->pkts + sent, n - sent);
    std::atomic<uint64_t>& drops = tx_drops_[qid].n;
    drops.store(drops.load(std::memory_order_relaxed) + (n - sent),
                std::memory_order_relaxed);
  }
  batch->n_pkts = 0;
  return sent;
}

MacAddress DpdkEthPort::mac() const {
  rte_ether_addr addr = {};
  rte_eth_macaddr_get(port_id_, &addr);
  MacAddress mac;
  std::memcpy(mac.bytes.data(), addr.addr_bytes, 6);
  return mac;
}

int DpdkEthPort::mtu() const {
  uint16_t mtu = 0;
  if (rte_eth_dev_get_mtu(port_id_, &mtu) != 0) return 1500;
  return mtu;
}

Status DpdkEthPort::SetMtu(int mtu) {
  if (mtu < 68 || mtu > 65535) {
    return Error("port", "interface \"" + name_ + "\": MTU " +
                             std::to_string(mtu) + " out of range 68..65535");
  }
  if (int r = rte_eth_dev_set_mtu(port_id_, static_cast<uint16_t>(mtu));
      r != 0) {
    return Error("port", "interface \"" + name_ + "\": cannot set MTU " +
                             std::to_string(mtu) + " on " + driver_ + ": " +
                             Errno(r));
  }
  return Status::Ok();
}

LinkState DpdkEthPort::link_state() const {
  rte_eth_link link = {};
  if (rte_eth_link_get_nowait(port_id_, &link) != 0) return LinkState::kDown;
  return link.link_status == RTE_ETH_LINK_UP ? LinkState::kUp
                                             : LinkState::kDown;
}

PortStats DpdkEthPort::GetStats() const {
  rte_eth_stats s = {};
  rte_eth_stats_get(port_id_, &s);
  PortStats out;
  out.rx_packets = s.ipackets;
  out.rx_bytes = s.ibytes;
  out.rx_errors = s.ierrors;
  out.rx_dropped = s.imissed + s.rx_nombuf;
  out.tx_packets = s.opackets;
  out.tx_bytes = s.obytes;
  out.tx_errors = s.oerrors;
  for (int q = 0; q < n_txq_; q++) {
    out.tx_dropped += tx_drops_[q].n.load(std::memory_order_relaxed);
  }
  return out;
}

}  // namespace spate::datapath
