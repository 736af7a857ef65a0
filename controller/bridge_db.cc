// Vswitch: the write-back transaction (Interface status columns and
// Open_vSwitch cur_cfg; see bridge.h).
#include <algorithm>
#include <utility>

#include "controller/bridge_internal.h"

namespace spate::controller {

using common::LogLevel;
using ovsdb::Atom;
using ovsdb::Datum;

namespace {

// Sets `column` of `row` to `value` in `txn` unless it already has it (or
// the server's schema has no such column).  True if something was set.
bool SetIfDifferent(ovsdb::idl::Txn& txn, const ovsdb::idl::RowView& row,
                    std::string_view column, const Datum& value) {
  if (row.table().FindColumn(column) == nullptr || row.Get(column) == value) return false;
  return txn.Set(row.table().name, row.uuid(), column, value).ok();
}

Datum Optional(bool present, Atom atom) { return present ? Datum(std::move(atom)) : Datum(); }

// A string set (sorted, unique) as a datum.
Datum StringSet(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  Datum d;
  for (std::string& v : values) d.mutable_keys().emplace_back(std::move(v));
  return d;
}

// Interface.statistics for `stats`, keys in Open vSwitch's names.
Datum Statistics(const ovsdb::idl::RowView& row, const datapath::PortStats& s) {
  const ovsdb::ColumnSchema* column = row.table().FindColumn("statistics");
  std::vector<std::pair<const char*, uint64_t>> items = {
      {"rx_bytes", s.rx_bytes},     {"rx_dropped", s.rx_dropped}, {"rx_errors", s.rx_errors},
      {"rx_packets", s.rx_packets}, {"tx_bytes", s.tx_bytes},     {"tx_dropped", s.tx_dropped},
      {"tx_errors", s.tx_errors},   {"tx_packets", s.tx_packets}};
  std::vector<Atom> keys, values;
  for (const auto& [k, v] : items) {
    keys.emplace_back(std::string(k));
    values.emplace_back(static_cast<int64_t>(v));
  }
  Result<Datum> d = Datum::FromAtoms(column->type, std::move(keys), std::move(values));
  return d.ok() ? std::move(d).value() : Datum();
}

}  // namespace

void Vswitch::WriteBack() {
  auto txn = std::make_unique<ovsdb::idl::Txn>(*idl_);
  bool changed = WriteInterfaces(*txn);
  changed = WriteOpenVswitch(*txn) || changed;
  stats_due_ = false;
  if (!stats_timer_.armed()) {
    stats_timer_.Start(options_.stats_interval, [this] {
      stats_due_ = true;
      ScheduleReconcile();
    });
  }
  if (!changed) return;
  txn_in_flight_ = true;
  std::weak_ptr<bool> alive = alive_;
  txn->Commit([this, alive](ovsdb::idl::TxnResult result) {
    if (alive.expired() || !*alive.lock()) return;
    txn_in_flight_ = false;
    if (result.status == ovsdb::idl::TxnStatus::kTryAgain) {
      rerun_after_txn_ = true;
    } else if (!result.ok()) {
      vlog_.Log(log_, LogLevel::kWarn, "status update failed: " + result.error.details());
    }
    if (rerun_after_txn_) {
      rerun_after_txn_ = false;
      ScheduleReconcile();
    }
  });
}

bool Vswitch::WriteInterfaces(ovsdb::idl::Txn& txn) {
  ovsdb::idl::ReplicaTable* table = idl_->table("Interface");
  if (table == nullptr) return false;
  bool changed = false;
  for (const ovsdb::idl::RowView& row : table->All()) {
    auto it = ifaces_.find(row.GetString("name"));
    if (it == ifaces_.end()) continue;
    const IfaceState& st = it->second;
    datapath::Datapath* dp = st.ofport != 0 ? FindBridge(st.bridge) : nullptr;
    datapath::Port* port = dp != nullptr ? dp->FindPort(st.config.name) : nullptr;
    bool tunnel = dp != nullptr && IsTunnelType(st.config.type);  // No device.
    int64_t ofport = port != nullptr || tunnel ? static_cast<int64_t>(st.ofport) : -1;
    changed |= SetIfDifferent(txn, row, "ofport", Datum(Atom(ofport)));
    changed |= SetIfDifferent(txn, row, "error", Optional(!st.error.empty(), Atom(st.error)));
    changed |= SetIfDifferent(txn, row, "admin_state",
                              Optional(ofport > 0, Atom(std::string("up"))));
    bool link_up = tunnel || (port != nullptr && port->link_state() == datapath::LinkState::kUp);
    changed |= SetIfDifferent(txn, row, "link_state",
                              Optional(ofport > 0, Atom(std::string(link_up ? "up" : "down"))));
    bool up = port != nullptr;
    changed |= SetIfDifferent(txn, row, "mtu", Optional(up, Atom(int64_t{up ? port->mtu() : 0})));
    changed |= SetIfDifferent(txn, row, "mac_in_use",
                              Optional(up, Atom(up ? port->mac().ToString() : "")));
    if (up && stats_due_ && row.table().FindColumn("statistics") != nullptr) {
      changed |= SetIfDifferent(txn, row, "statistics", Statistics(row, port->GetStats()));
    }
  }
  return changed;
}

bool Vswitch::WriteOpenVswitch(ovsdb::idl::Txn& txn) {
  std::optional<ovsdb::idl::RowView> ovs = OpenVswitchRow(*idl_);
  if (!ovs) return false;
  bool changed = false;
  int64_t next_cfg = ovs->GetInteger("next_cfg");
  changed |= SetIfDifferent(txn, *ovs, "cur_cfg", Datum(Atom(next_cfg)));
  changed |= SetIfDifferent(txn, *ovs, "dpdk_initialized",
                            Datum(Atom(eal_ != nullptr && dpdk_enabled_)));
  changed |= SetIfDifferent(txn, *ovs, "datapath_types", StringSet({"netdev"}));
  changed |= SetIfDifferent(txn, *ovs, "iface_types",
                            StringSet({"afxdp", "dpdk", "dummy", "geneve", "internal", "stt", "vxlan"}));
  return changed;
}

}  // namespace spate::controller
