// Vswitch: creation, the reconcile loop and queries (see bridge.h).  The
// steps live in bridge_dpdk.cc (EAL, pool, PMDs), bridge_ports.cc (bridges
// and interfaces) and bridge_db.cc (the write-back transaction).
#include "controller/bridge.h"

#include <charconv>
#include <utility>

#include "controller/bridge_internal.h"

namespace spate::controller {

Result<std::unique_ptr<Vswitch>> Vswitch::Create(common::EventLoop& loop, VswitchOptions options,
                                                 common::Vlog& vlog) {
  ovsdb::idl::IdlOptions idl_options;
  idl_options.remote = options.remote;
  idl_options.database = "Open_vSwitch";
  for (const char* table : {"Open_vSwitch", "Bridge", "Port", "Interface"}) {
    idl_options.tables.push_back({table, {}, nullptr});
  }
  Result<std::unique_ptr<ovsdb::idl::Idl>> idl = ovsdb::idl::Idl::Create(loop, idl_options);
  if (!idl.ok()) return idl.error();
  return std::unique_ptr<Vswitch>(
      new Vswitch(loop, std::move(options), vlog, std::move(idl).value()));
}

Vswitch::Vswitch(common::EventLoop& loop, VswitchOptions options, common::Vlog& vlog,
                 std::unique_ptr<ovsdb::idl::Idl> idl)
    : loop_(loop),
      options_(std::move(options)),
      vlog_(vlog),
      log_(vlog.Module("bridge")),
      idl_(std::move(idl)),
      stats_timer_(loop) {}

Vswitch::~Vswitch() {
  *alive_ = false;
  stats_timer_.Cancel();
  bridges_.clear();  // Stops the PMDs and destroys the ports first.
  pool_.reset();
  eal_.reset();
}

void Vswitch::Start() {
  idl_->SetChangeHandler([this] { ScheduleReconcile(); });
  idl_->Start();
}

void Vswitch::ScheduleReconcile() {
  if (reconcile_posted_) return;
  reconcile_posted_ = true;
  std::weak_ptr<bool> alive = alive_;
  loop_.Post([this, alive] {
    if (alive.expired() || !*alive.lock()) return;
    reconcile_posted_ = false;
    Reconcile();
  });
}

void Vswitch::Reconcile() {
  if (!idl_->synced()) return;
  if (txn_in_flight_) {
    rerun_after_txn_ = true;
    return;
  }
  std::optional<ovsdb::idl::RowView> ovs = OpenVswitchRow(*idl_);
  if (!ovs) return;
  std::map<std::string, std::string> other_config = ovs->GetStringMap("other_config");
  EnsureEal(other_config);
  if (pool_) ApplyPmdMask(other_config);
  Desired want = ReadDesired();
  ApplyBridges(want);
  ApplyInterfaces(want);
  WriteBack();
}

std::vector<std::string> Vswitch::BridgeNames() const {
  std::vector<std::string> names;
  for (const auto& [name, rec] : bridges_) names.push_back(name);
  return names;
}

datapath::Datapath* Vswitch::FindBridge(const std::string& name) const {
  auto it = bridges_.find(name);
  return it == bridges_.end() ? nullptr : it->second.dp.get();
}

datapath::TunnelManager* Vswitch::FindTunnels(const std::string& name) const {
  auto it = bridges_.find(name);
  return it == bridges_.end() ? nullptr : it->second.tunnels.get();
}

Status Vswitch::AddInterfaceAddress(const std::string& iface, const std::string& prefix,
                                    bool v6) {
  auto it = ifaces_.find(iface);
  if (it == ifaces_.end()) return Error("appctl", "no such dummy netdev '" + iface + "'");
  if (datapath::IsTunnelType(it->second.config.type)) {
    return Error("appctl", iface + " is a tunnel port, which cannot be an underlay");
  }
  const size_t slash = prefix.find('/');
  std::optional<tunnels::IpAddr> ip = tunnels::IpAddr::Parse(prefix.substr(0, slash));
  const int max = v6 ? 128 : 32;
  int plen = -1;
  if (slash != std::string::npos) {
    const char* end = prefix.data() + prefix.size();
    auto [ptr, ec] = std::from_chars(prefix.data() + slash + 1, end, plen);
    if (ec != std::errc() || ptr != end) plen = -1;
  }
  if (!ip || ip->IsV4() == v6 || plen < 0 || plen > max) {
    return Error("appctl", std::string(v6 ? "Invalid IPv6 address or prefix length: "
                                          : "Invalid IP address or prefix length: ") + prefix);
  }
  std::vector<datapath::UnderlayAddress>& addrs = underlay_addrs_[iface];
  addrs.push_back({*ip, static_cast<uint8_t>(plen)});
  datapath::TunnelManager* tunnels =
      it->second.ofport == 0 ? nullptr : FindTunnels(it->second.bridge);
  if (tunnels == nullptr) return Status::Ok();  // Applied when it is added.
  return tunnels->SetUnderlayPort(iface, addrs);
}

std::string Vswitch::BridgeOfInterface(const std::string& name) const {
  auto it = ifaces_.find(name);
  return it == ifaces_.end() || it->second.ofport == 0 ? "" : it->second.bridge;
}

std::string Vswitch::MemoryReport() const {
  size_t n_ports = 0, n_rules = 0;
  for (const auto& [name, rec] : bridges_) {
    n_ports += rec.dp->ListPorts().size();
    n_rules += rec.dp->DumpRules().size();
  }
  size_t n_cells = 0;
  if (ovsdb::idl::Replica* replica = idl_->replica()) {
    for (const auto& table : replica->tables()) {
      n_cells += table->size() * table->columns().size();
    }
  }
  return "bridges:" + std::to_string(bridges_.size()) + " idl-cells-Open_vSwitch:" +
         std::to_string(n_cells) + " ports:" + std::to_string(n_ports) +
         " rules:" + std::to_string(n_rules);
}

std::optional<ovsdb::idl::RowView> OpenVswitchRow(ovsdb::idl::Idl& idl) {
  ovsdb::idl::ReplicaTable* table = idl.table("Open_vSwitch");
  if (table == nullptr || table->size() == 0) return std::nullopt;
  return table->All().front();
}

}  // namespace spate::controller
