// CreatePort: Interface type and options to a Port.  See port_factory.h.
#include "datapath/port_factory.h"

#include <net/if.h>

#include <charconv>
#include <set>

#include "datapath/dpdk_eth_port.h"
#include "datapath/dummy_port.h"

namespace spate::datapath {
namespace {

std::string What(const InterfaceConfig& iface) {
  return "interface \"" + iface.name + "\"";
}

Status CheckOptions(const InterfaceConfig& iface,
                    const std::set<std::string>& known) {
  for (const auto& [key, value] : iface.options) {
    if (known.count(key) == 0) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return Error("port", What(iface) + ": unknown option \"" + key +
                               "\" for type " + iface.type + " (supported: " +
                               list + ")");
    }
  }
  return Status::Ok();
}

// options[key] as an integer in [lo, hi], or `fallback` when absent.
Result<int> IntOption(const InterfaceConfig& iface, const std::string& key,
                      int fallback, int lo, int hi) {
  auto it = iface.options.find(key);
  if (it == iface.options.end()) return fallback;
  const std::string& s = it->second;
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) {
    return Error("port", What(iface) + ": options:" + key + "=\"" + s +
                             "\" is not an integer in " + std::to_string(lo) +
                             ".." + std::to_string(hi));
  }
  return v;
}

std::string Option(const InterfaceConfig& iface, const std::string& key) {
  auto it = iface.options.find(key);
  return it == iface.options.end() ? "" : it->second;
}

Result<std::unique_ptr<Port>> CreateDpdk(const InterfaceConfig& iface,
                                         const PortContext& ctx) {
  if (Status s = CheckOptions(iface, {"dpdk-devargs", "n_rxq", "n_rxq_desc",
                                      "n_txq_desc"});
      !s.ok()) {
    return s.error();
  }
  if (ctx.eal == nullptr) {
    return Error("port", What(iface) + ": type dpdk needs DPDK, which is not "
                                       "initialised (other_config:dpdk-init)");
  }
  DpdkPortConfig c;
  c.name = iface.name;
  c.devargs = Option(iface, "dpdk-devargs");
  if (c.devargs.empty()) {
    return Error("port", What(iface) + ": type dpdk needs "
                                       "options:dpdk-devargs (e.g. "
                                       "\"net_null0\", \"net_pcap0,rx_pcap="
                                       "in.pcap\" or a PCI address)");
  }
  Result<int> n_rxq = IntOption(iface, "n_rxq", 1, 1, 1024);
  Result<int> rxd = IntOption(iface, "n_rxq_desc", 1024, 1, 32768);
  Result<int> txd = IntOption(iface, "n_txq_desc", 1024, 1, 32768);
  for (const Result<int>* r : {&n_rxq, &rxd, &txd}) {
    if (!r->ok()) return r->error();
  }
  c.n_rxq = *n_rxq;
  c.rxq_size = *rxd;
  c.txq_size = *txd;
  c.n_txq = ctx.n_txq;
  c.mtu = iface.mtu_request;
  c.pool = ctx.pool;
  Result<std::unique_ptr<DpdkEthPort>> port = DpdkEthPort::Create(*ctx.eal, c);
  if (!port.ok()) return port.error();
  return std::unique_ptr<Port>(std::move(*port));
}

Result<std::unique_ptr<Port>> CreateDummy(const InterfaceConfig& iface,
                                          const PortContext& ctx) {
  if (Status s = CheckOptions(iface, {"n_rxq", "pcap", "rxq_pcap", "tx_pcap",
                                      "rx_pcap"});
      !s.ok()) {
    return s.error();
  }
  Result<int> n_rxq = IntOption(iface, "n_rxq", 1, 1, 64);
  if (!n_rxq.ok()) return n_rxq.error();
  DummyPortConfig c;
  c.name = iface.name;
  c.n_rxq = *n_rxq;
  c.n_txq = std::min(std::max(ctx.n_txq, 1), 64);
  c.pool = ctx.pool;
  c.pcap = Option(iface, "pcap");
  c.rxq_pcap = Option(iface, "rxq_pcap");
  c.tx_pcap = Option(iface, "tx_pcap");
  c.rx_pcap = Option(iface, "rx_pcap");
  if (iface.mtu_request != 0) c.mtu = iface.mtu_request;
  Result<std::unique_ptr<DummyPort>> port = DummyPort::Create(c);
  if (!port.ok()) return port.error();
  return std::unique_ptr<Port>(std::move(*port));
}

// An AF_XDP socket on a kernel interface, through DPDK's net_af_xdp driver
// (libxdp loads the XDP program that redirects to the socket; libbpf and
// libxdp also do the umem and ring set-up).  The interface must exist in the
// calling thread's network namespace.
Result<std::unique_ptr<Port>> CreateAfXdp(const InterfaceConfig& iface,
                                          const PortContext& ctx) {
  if (Status s = CheckOptions(iface, {"n_rxq", "xdp-mode"}); !s.ok()) {
    return s.error();
  }
  if (ctx.eal == nullptr) {
    return Error("port", What(iface) + ": type afxdp needs DPDK, which is "
                                       "not initialised (other_config:"
                                       "dpdk-init)");
  }
  Result<int> n_rxq = IntOption(iface, "n_rxq", 1, 1, 64);
  if (!n_rxq.ok()) return n_rxq.error();
  std::string mode = Option(iface, "xdp-mode");
  std::string copy;
  if (mode == "native") {
    copy = ",force_copy=1";
  } else if (!mode.empty() && mode != "best-effort" &&
             mode != "native-with-zerocopy") {
    return Error("port", What(iface) + ": options:xdp-mode=\"" + mode +
                             "\" is not one of best-effort, native, "
                             "native-with-zerocopy");
  }
  if (if_nametoindex(iface.name.c_str()) == 0) {
    return Error("port", What(iface) + ": type afxdp needs a kernel network "
                                       "interface of that name, and there "
                                       "is none in this network namespace");
  }
  DpdkPortConfig c;
  c.name = iface.name;
  c.devargs = "net_af_xdp_" + iface.name + ",iface=" + iface.name +
              ",start_queue=0,queue_count=" + std::to_string(*n_rxq) + copy;
  c.n_rxq = *n_rxq;
  c.n_txq = *n_rxq;  // The driver pairs each tx queue with an rx queue.
  c.mtu = iface.mtu_request;
  c.pool = ctx.pool;
  c.type = "afxdp";
  Result<std::unique_ptr<DpdkEthPort>> port = DpdkEthPort::Create(*ctx.eal, c);
  if (!port.ok()) return port.error();
  return std::unique_ptr<Port>(std::move(*port));
}

}  // namespace

bool IsTunnelType(std::string_view type) {
  return type == "geneve" || type == "vxlan" || type == "stt";
}

Result<std::unique_ptr<Port>> CreatePort(const InterfaceConfig& iface,
                                         const PortContext& ctx) {
  if (iface.name.empty()) return Error("port", "interface without a name");
  if (ctx.pool == nullptr) {
    return Error("port", What(iface) + ": no packet pool to receive into");
  }
  if (iface.type == "dpdk") return CreateDpdk(iface, ctx);
  if (iface.type == "dummy") return CreateDummy(iface, ctx);
  if (iface.type == "afxdp") return CreateAfXdp(iface, ctx);
  if (IsTunnelType(iface.type)) {
    return Error("port", What(iface) + ": type " + iface.type +
                             " is a tunnel, which has no device: add it with "
                             "TunnelManager::AddTunnelPort");
  }
  return Error("port", What(iface) + ": unsupported type \"" + iface.type +
                           "\" (supported: dpdk, dummy, afxdp)");
}

}  // namespace spate::datapath
