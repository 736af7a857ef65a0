// Vswitch: bridges and interfaces from the database to the datapaths (see
// bridge.h).
#include <utility>

#include "controller/bridge_internal.h"
#include "datapath/port_map.h"

namespace spate::controller {

using common::LogLevel;

namespace {

// Why a bridge of `type` cannot be served ("" if it can).
std::string BridgeTypeError(const std::string& bridge, const std::string& type, DummyMode dummy) {
  if (type == "netdev" || type == "dummy") return "";
  if (type.empty() || type == "system") {
    if (dummy != DummyMode::kOff) return "";
    return "bridge " + bridge + ": datapath_type \"" + type +
           "\" needs the kernel datapath, which Spate does not have (ovs-vsctl set Bridge " +
           bridge + " datapath_type=netdev)";
  }
  return "bridge " + bridge + ": unknown datapath_type \"" + type + "\" (supported: netdev)";
}

// True when `have` must be re-created to become `want`.
bool Differs(const IfaceState& have, const IfaceState& want) {
  if (have.bridge != want.bridge || have.config.type != want.config.type ||
      have.config.options != want.config.options ||
      have.config.mtu_request != want.config.mtu_request) {
    return true;
  }
  if (have.refused || !want.error.empty()) return have.error != want.error;
  if (want.ofport_request != have.ofport_request) return true;
  return false;
}

}  // namespace

Vswitch::Desired Vswitch::ReadDesired() {
  Desired want;
  std::optional<ovsdb::idl::RowView> ovs = OpenVswitchRow(*idl_);
  ovsdb::idl::ReplicaTable* bridges = idl_->table("Bridge");
  ovsdb::idl::ReplicaTable* ports = idl_->table("Port");
  ovsdb::idl::ReplicaTable* ifaces = idl_->table("Interface");
  if (!ovs || !bridges || !ports || !ifaces) return want;
  for (const ovsdb::Uuid& b : ovs->GetUuids("bridges")) {
    std::optional<ovsdb::idl::RowView> br = bridges->Get(b);
    if (!br) continue;
    std::string bridge = br->GetString("name");
    std::string refusal = BridgeTypeError(bridge, br->GetString("datapath_type"), options_.dummy);
    if (refusal.empty()) want.bridges[bridge] = br->GetString("datapath_type");
    for (const ovsdb::Uuid& p : br->GetUuids("ports")) {
      std::optional<ovsdb::idl::RowView> port = ports->Get(p);
      if (!port) continue;
      for (const ovsdb::Uuid& i : port->GetUuids("interfaces")) {
        std::optional<ovsdb::idl::RowView> row = ifaces->Get(i);
        if (!row) continue;
        IfaceState st;
        st.bridge = bridge;
        st.config.name = row->GetString("name");
        st.config.type = row->GetString("type");
        st.config.options = row->GetStringMap("options");
        st.config.mtu_request = static_cast<int>(row->GetOptionalInteger("mtu_request").value_or(0));
        st.ofport_request = row->GetOptionalInteger("ofport_request").value_or(0);
        st.error = refusal;
        auto [it, added] = want.ifaces.emplace(st.config.name, st);
        if (!added && it->second.bridge != bridge) {
          it->second.error = "interface " + st.config.name + " is in two bridges (" +
                             it->second.bridge + ", " + bridge + ")";
        }
      }
    }
  }
  return want;
}

void Vswitch::ApplyBridges(const Desired& want) {
  for (auto it = bridges_.begin(); it != bridges_.end();) {
    if (want.bridges.count(it->first) != 0) {
      ++it;
      continue;
    }
    std::erase_if(ifaces_, [&](const auto& e) { return e.second.bridge == it->first; });
    vlog_.Log(log_, LogLevel::kInfo, "bridge " + it->first + ": deleted");
    it = bridges_.erase(it);  // Stops its PMDs and destroys its ports.
  }
  if (!pool_) return;
  for (const auto& [name, type] : want.bridges) {
    if (bridges_.count(name) != 0) continue;
    BridgeRec rec;
    if (Status s = NewDatapath(&rec); !s.ok()) {
      vlog_.Log(log_, LogLevel::kErr, "bridge " + name + ": " + s.error().details());
      continue;
    }
    bridges_[name] = std::move(rec);
    vlog_.Log(log_, LogLevel::kInfo, "bridge " + name + ": added (datapath_type " +
                                         (type.empty() ? "system, served by netdev" : type) + ")");
  }
}

void Vswitch::ApplyInterfaces(const Desired& want) {
  bool removed = false;
  for (auto it = ifaces_.begin(); it != ifaces_.end();) {
    auto w = want.ifaces.find(it->first);
    if (w != want.ifaces.end() && !Differs(it->second, w->second)) {
      ++it;
      continue;
    }
    if (it->second.ofport != 0) {
      RemoveInterface(it->first);
      removed = true;
    }
    it = ifaces_.erase(it);
  }
  if (removed) {  // A freed number or device may let a failed port succeed.
    std::erase_if(ifaces_, [](const auto& e) { return e.second.ofport == 0 && !e.second.refused; });
  }
  // Requested numbers first, so that an automatic one never takes them.
  for (bool requested : {true, false}) {
    for (const auto& [name, w] : want.ifaces) {
      if (ifaces_.count(name) == 0 && (w.ofport_request > 0) == requested) AddInterface(name, w);
    }
  }
}

void Vswitch::RemoveInterface(const std::string& name) {
  const IfaceState& st = ifaces_.at(name);
  auto bridge = bridges_.find(st.bridge);
  if (bridge == bridges_.end()) return;  // The bridge (and its ports) went first.
  Status s = IsTunnelType(st.config.type) ? bridge->second.tunnels->RemoveTunnelPort(name)
                                          : bridge->second.dp->RemovePort(name);
  if (!s.ok()) {
    vlog_.Log(log_, LogLevel::kWarn, "bridge " + st.bridge + ": " + s.error().details());
    return;
  }
  vlog_.Log(log_, LogLevel::kInfo, "bridge " + st.bridge + ": deleted interface " + name +
                                       " on port " + std::to_string(st.ofport));
}

void Vswitch::AddInterface(const std::string& name, IfaceState want) {
  IfaceState& st = ifaces_[name] = std::move(want);
  if (!st.error.empty()) {
    st.refused = true;
    vlog_.Log(log_, LogLevel::kWarn, st.error);
    return;
  }
  if (!pool_) {
    st.error = dpdk_status_.ok() ? "DPDK has not started" : dpdk_status_.error().details();
    return;
  }
  uint32_t number = 0;
  if (st.ofport_request >= 1 && st.ofport_request <= datapath::kMaxPortNumber) {
    number = static_cast<uint32_t>(st.ofport_request);
  } else if (name == st.bridge) {
    // The bridge's own interface: Open vSwitch's LOCAL port (65534) is
    // above the datapath's range, so it takes the highest number instead.
    number = datapath::kMaxPortNumber;
  }
  if (Status s = AttachPort(&st, number); !s.ok()) {
    st.error = s.error().details();
    vlog_.Log(log_, LogLevel::kWarn, "could not add interface " + name + " to bridge " +
                                         st.bridge + ": " + st.error);
  }
}

Status Vswitch::AttachPort(IfaceState* state, uint32_t number) {
  auto bridge = bridges_.find(state->bridge);
  if (bridge == bridges_.end()) {
    return Error("bridge", "bridge " + state->bridge + " has no datapath");
  }
  datapath::Datapath* dp = bridge->second.dp.get();
  if (number != 0 && dp->ListPorts().size() > 0) {
    for (const datapath::PortInfo& p : dp->ListPorts()) {
      if (p.number != number) continue;
      vlog_.Log(log_, LogLevel::kWarn, state->config.name + ": ofport_request " +
                                           std::to_string(number) + " is used by " + p.name +
                                           "; choosing another number");
      number = 0;
      break;
    }
  }
  Result<uint32_t> added = 0u;
  if (IsTunnelType(state->config.type)) {
    // Tunnel dispatch: the bridge's TunnelManager parses Open vSwitch's
    // tunnel options and adds a device-less port to the datapath.
    added = bridge->second.tunnels->AddTunnelPort(state->config, number);
  } else {
    Result<std::unique_ptr<datapath::Port>> port = CreateInterfacePort(*state);
    if (!port.ok()) return port.error();
    datapath::PortSpec spec;
    spec.name = state->config.name;
    spec.number = number;
    spec.port = std::move(port).value();
    added = dp->AddPort(std::move(spec));
  }
  if (!added.ok()) return added.error();
  state->ofport = *added;
  state->error.clear();
  if (auto addrs = underlay_addrs_.find(state->config.name); addrs != underlay_addrs_.end()) {
    Status u = bridge->second.tunnels->SetUnderlayPort(state->config.name, addrs->second);
    if (!u.ok()) vlog_.Log(log_, LogLevel::kWarn, u.error().details());
  }
  vlog_.Log(log_, LogLevel::kInfo, "bridge " + state->bridge + ": added interface " +
                                       state->config.name + " on port " + std::to_string(*added));
  return Status::Ok();
}

Result<std::unique_ptr<datapath::Port>> Vswitch::CreateInterfacePort(const IfaceState& want) {
  datapath::InterfaceConfig config = want.config;
  datapath::PortContext context;
  context.eal = eal_.get();
  context.pool = pool_.get();
  context.n_txq = static_cast<int>(pmd_cpus_.size()) + 1;
  const std::string& type = config.type;
  if (type.empty() || type == "system" || type == "tap") {
    if (options_.dummy != DummyMode::kOverride) {
      return Error("port", "type \"" + type + "\" needs a kernel datapath, which Spate does not " +
                               "have: use type=afxdp (a kernel interface over AF_XDP), type=dpdk, " +
                               "or ovn-controller --enable-dummy=override");
    }
    config.type = "dummy";
  } else if (type == "internal") {
    config.type = "dummy";  // No kernel interface behind a bridge port.
  } else if (type == "dummy" && options_.dummy == DummyMode::kOff) {
    return Error("port", "type \"dummy\" needs ovn-controller --enable-dummy");
  } else if (type == "dpdk" && !dpdk_enabled_) {
    return Error("port", "type \"dpdk\" needs DPDK enabled: ovs-vsctl set Open_vSwitch . "
                         "other_config:dpdk-init=true");
  }
  return datapath::CreatePort(config, context);
}

}  // namespace spate::controller
