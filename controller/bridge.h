// Vswitch: follows the Open_vSwitch database and keeps Spate's datapaths
// equal to it, as ovs-vswitchd's bridge.c does.
//
// What it is
//   The plain-switch half of ovn-controller.  It replicates the
//   Open_vSwitch, Bridge, Port and Interface tables through the IDL
//   (ovsdb/idl.h) and, whenever they change:
//     1. starts DPDK's EAL once, from Open_vSwitch:other_config
//        (dpdk_config.h), and creates the packet pool;
//     2. gives each Bridge a datapath (datapath/datapath.h) whose PMD
//        threads follow other_config:pmd-cpu-mask (a changed mask rebuilds
//        the datapaths, keeping ports, numbers and rules);
//     3. adds, removes and re-creates ports so that every Interface of a
//        bridge is a datapath port (datapath/port_factory.h), honouring
//        ofport_request and reconfiguring a port whose type, options or
//        mtu_request changed;
//     4. writes back, in one transaction and only where values differ:
//        Interface ofport (-1 on failure), error, admin_state, link_state,
//        mtu, mac_in_use, statistics (every stats_interval), and
//        Open_vSwitch cur_cfg = next_cfg, dpdk_initialized, datapath_types
//        and iface_types, so `ovs-vsctl` without --no-wait returns once the
//        change has been applied.
//   Until the OVN controller logic joins this process (a later issue), the
//   flows come from `ovs-appctl ofctl/add-flow` (appctl.h); it will use
//   FindBridge() and DatapathControl the same way.
//
// Design
//   One datapath per bridge (each with its own flow tables, as OpenFlow
//   bridges have).  Interface types: dpdk (needs other_config:dpdk-init),
//   afxdp, dummy (needs --enable-dummy), internal (a dummy port: there is
//   no kernel interface behind it), "" / system / tap (only with
//   --enable-dummy=override, which makes them dummy ports, like Open
//   vSwitch's override), and the tunnel types geneve, vxlan and stt, which
//   AttachPort hands to the bridge's datapath::TunnelManager (the
//   datapath's TunnelHook; underlay ports and routes are not configured
//   from the database yet).  A port that fails keeps its error until its
//   row changes (or another port goes, or dpdk-init changes); it is not
//   retried on every change.  Bridges of datapath_type "" or system are served by the
//   userspace datapath only with --enable-dummy (as Open vSwitch's dummy
//   datapath does); otherwise their interfaces report the error.
//   Reconcile() runs on the event loop after every database change (posted,
//   so that several updates coalesce); one write-back transaction is in
//   flight at a time, and a change that arrives meanwhile runs Reconcile
//   again when it completes.
//
// Thread-safety
//   Everything runs on the EventLoop's thread (the IDL's).  The datapaths
//   are DatapathControl objects: their own PMD threads forward packets,
//   and their methods are thread-safe.
#ifndef SPATE_CONTROLLER_BRIDGE_H
#define SPATE_CONTROLLER_BRIDGE_H

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "common/result.h"
#include "common/vlog.h"
#include "datapath/datapath.h"
#include "datapath/eal.h"
#include "datapath/packet.h"
#include "datapath/port_factory.h"
#include "datapath/tunnel_manager.h"
#include "ovsdb/idl.h"
#include "ovsdb/idl_txn.h"

namespace spate::controller {

// --enable-dummy: what dummy interfaces and datapaths are allowed.
enum class DummyMode {
  kOff,       // No dummy interfaces (Open vSwitch's default).
  kOn,        // type=dummy allowed; "" / system bridges use userspace.
  kOverride,  // Also "", system, tap and internal interfaces become dummy.
};

// How to run a Vswitch.
struct VswitchOptions {
  std::string remote;            // Open_vSwitch database (--db syntax).
  DummyMode dummy = DummyMode::kOff;                 // --enable-dummy.
  std::chrono::milliseconds stats_interval{5000};    // Interface statistics.
  datapath::PmdIdleOptions idle;                     // PMD idle back-off.
  uint32_t n_packets = 16383;    // Packet pool size (buffers).
};

// One interface as the switch has it.
struct IfaceState {
  std::string bridge;                // Its bridge.
  datapath::InterfaceConfig config;  // What it was created from.
  int64_t ofport_request = 0;        // Requested number, 0 = none.
  uint32_t ofport = 0;               // Datapath port number, 0 = not added.
  std::string error;                 // Why it is not added ("" if it is).
  bool refused = false;              // `error` comes from the database view
                                     // (bridge type, duplicate name), not
                                     // from creating the port.
};

class Vswitch {
 public:
  // Validates the options and creates the IDL (not connected yet).
  // Errors: a bad remote.
  static Result<std::unique_ptr<Vswitch>> Create(common::EventLoop& loop,
                                                 VswitchOptions options,
                                                 common::Vlog& vlog);
  // Stops every PMD thread and destroys the ports, then the pool and EAL.
  ~Vswitch();
  Vswitch(const Vswitch&) = delete;
  Vswitch& operator=(const Vswitch&) = delete;

  // Connects to the database; reconciliation starts with the first sync.
  void Start();

  // Bridge names, sorted.
  std::vector<std::string> BridgeNames() const;
  // The datapath of bridge `name`, or nullptr.  Valid until the next
  // Reconcile (it runs on this thread, so within one command handler).
  datapath::Datapath* FindBridge(const std::string& name) const;
  // The bridge holding interface `name`, or "".
  std::string BridgeOfInterface(const std::string& name) const;
  // Every interface the database names, by name.
  const std::map<std::string, IfaceState>& interfaces() const { return ifaces_; }
  // The EAL, or nullptr before the first sync (or if it failed).
  const datapath::Eal* eal() const { return eal_.get(); }
  // Why the EAL or the pool could not start (Ok otherwise).
  const Status& dpdk_status() const { return dpdk_status_; }
  // PMD threads per datapath and their CPUs (-1: unpinned).
  const std::vector<int>& pmd_cpus() const { return pmd_cpus_; }
  // "bridges:N ports:N rules:N idl-cells-Open_vSwitch:N" (memory/show).
  std::string MemoryReport() const;
  // The tunnel manager of bridge `name`, or nullptr.  Valid like
  // FindBridge's datapath.
  datapath::TunnelManager* FindTunnels(const std::string& name) const;
  // `netdev-dummy/ip4addr|ip6addr IFACE IP/PLEN`: gives interface `iface`
  // the address, which makes it its bridge's tunnel underlay (Open
  // vSwitch's br-phy address).  The addresses are kept across port
  // re-creation and datapath rebuilds.  Errors: unknown interface, a
  // tunnel interface, a bad prefix or one of the wrong family (`v6`).
  Status AddInterfaceAddress(const std::string& iface, const std::string& prefix, bool v6);

 private:
  struct BridgeRec {
    std::unique_ptr<datapath::TunnelManager> tunnels;  // Its tunnel ports
                                             // (outlives dp, its hook).
    std::unique_ptr<datapath::Datapath> dp;  // Its datapath.
  };
  struct Desired;  // What the database asks for (bridge.cc).

  Vswitch(common::EventLoop& loop, VswitchOptions options, common::Vlog& vlog,
          std::unique_ptr<ovsdb::idl::Idl> idl);
  void ScheduleReconcile();
  void Reconcile();
  // bridge_dpdk.cc: EAL, pool, PMD CPUs.
  void EnsureEal(const std::map<std::string, std::string>& other_config);
  void ApplyPmdMask(const std::map<std::string, std::string>& other_config);
  Status NewDatapath(BridgeRec* rec) const;
  void RebuildDatapaths();
  // bridge_ports.cc: bridges and interfaces.
  Desired ReadDesired();
  void ApplyBridges(const Desired& want);
  void ApplyInterfaces(const Desired& want);
  void RemoveInterface(const std::string& name);
  void AddInterface(const std::string& name, IfaceState want);
  Status AttachPort(IfaceState* state, uint32_t number);
  Result<std::unique_ptr<datapath::Port>> CreateInterfacePort(const IfaceState& want);
  // bridge_db.cc: the write-back transaction.
  void WriteBack();
  bool WriteInterfaces(ovsdb::idl::Txn& txn);
  bool WriteOpenVswitch(ovsdb::idl::Txn& txn);

  common::EventLoop& loop_;                       // Runs everything.
  VswitchOptions options_;                        // As created.
  common::Vlog& vlog_;                            // Logging.
  common::VlogModule& log_;                       // Module "bridge".
  std::unique_ptr<ovsdb::idl::Idl> idl_;          // Open_vSwitch replica.
  std::unique_ptr<datapath::Eal> eal_;            // DPDK, once.
  std::unique_ptr<datapath::Mempool> pool_;       // Every packet buffer.
  bool eal_tried_ = false;                        // EnsureEal ran.
  bool dpdk_enabled_ = false;                     // dpdk-init true/try.
  Status dpdk_status_;                            // EAL/pool failure.
  std::string pmd_mask_;                          // pmd-cpu-mask applied.
  std::vector<int> pmd_cpus_ = {-1};              // CPU of each PMD.
  std::map<std::string, BridgeRec> bridges_;      // By bridge name.
  std::map<std::string, IfaceState> ifaces_;      // By interface name.
  std::map<std::string, std::vector<datapath::UnderlayAddress>>
      underlay_addrs_;                            // netdev-dummy/ip*addr.
  bool reconcile_posted_ = false;                 // A Reconcile is queued.
  bool txn_in_flight_ = false;                    // A write-back is pending.
  bool rerun_after_txn_ = false;                  // Changed meanwhile.
  bool stats_due_ = true;                         // Write statistics next.
  common::Timer stats_timer_;                     // stats_interval.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // For
                                                  // callbacks after ~.
};

}  // namespace spate::controller

#endif  // SPATE_CONTROLLER_BRIDGE_H
