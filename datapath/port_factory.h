// CreatePort: a Port from an Open vSwitch-style Interface description.
//
// What
//   The Open_vSwitch database describes ports as Interface rows with a type
//   and options; this turns one into a Port:
//     type "dpdk":  options:dpdk-devargs (required), options:n_rxq (1),
//                   options:n_rxq_desc / n_txq_desc (1024); transmit queues
//                   come from the context (one per PMD thread, plus one).
//     type "afxdp": an AF_XDP socket per queue on the kernel interface of
//                   the Interface's name (DPDK's net_af_xdp driver, which
//                   uses libxdp/libbpf for the XDP program, umem and rings);
//                   options:n_rxq (1), options:xdp-mode (best-effort,
//                   native-with-zerocopy, or native = copy mode).  The
//                   interface must exist in the caller's network namespace.
//     type "dummy": options:n_rxq, options:pcap / rxq_pcap / tx_pcap
//                   (captures), options:rx_pcap (frames to receive).
//     types "geneve", "vxlan", "stt": tunnel ports have no device; they
//                   are added with TunnelManager::AddTunnelPort
//                   (tunnel_manager.h).  IsTunnelType() tells them apart
//                   and CreatePort refuses them with that advice.
//   `mtu_request` is the Interface column of that name (0: leave it).
//   Unknown types and options are errors that list what is supported, so a
//   typo never silently configures something else.
//
// Thread-safety: CreatePort is a control operation; callers serialise it.
#ifndef SPATE_DATAPATH_PORT_FACTORY_H
#define SPATE_DATAPATH_PORT_FACTORY_H

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "datapath/eal.h"
#include "datapath/packet.h"
#include "datapath/port.h"

namespace spate::datapath {

// An Interface row, as far as port creation is concerned.
struct InterfaceConfig {
  std::string name;                            // Interface.name.
  std::string type;                            // Interface.type.
  std::map<std::string, std::string> options;  // Interface.options.
  int mtu_request = 0;                         // Interface.mtu_request.
};

// What ports are created with.
struct PortContext {
  const Eal* eal = nullptr;  // The process's EAL (required for "dpdk").
  Mempool* pool = nullptr;   // Receive buffers (required).
  int n_txq = 1;             // Transmit queues per port.
};

// True for the Interface types that are tunnels (geneve, vxlan, stt).
bool IsTunnelType(std::string_view type);

// Builds the Port that `iface` describes.  Errors name the interface and
// the offending option, and list the supported types or options.
Result<std::unique_ptr<Port>> CreatePort(const InterfaceConfig& iface,
                                         const PortContext& context);

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_PORT_FACTORY_H
