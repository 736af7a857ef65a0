// Indexes over ovn-nbd's replicas, kept by change tracking; see nbd_index.h.
#include "northd/nbd_index.h"

#include <algorithm>
#include <string_view>

namespace spate::northd {
namespace {

using ovsdb::idl::ChangeKind;
using ovsdb::idl::ReplicaTable;
using ovsdb::idl::RowChange;
using ovsdb::idl::RowView;

// True if any of `columns` (schema indexes) is not one of `ignored`.
bool AnyColumnBut(const ReplicaTable& table, const std::vector<int>& columns,
                  std::initializer_list<std::string_view> ignored) {
  for (int c : columns) {
    const std::string& name = table.schema().columns[c].name;
    if (std::find(ignored.begin(), ignored.end(), name) == ignored.end()) return true;
  }
  return false;
}

bool HasColumn(const ReplicaTable& table, const std::vector<int>& columns, std::string_view name) {
  for (int c : columns) {
    if (table.schema().columns[c].name == name) return true;
  }
  return false;
}

Uuid SwitchOf(const RowView& row) { return row.GetOptionalUuid("lswitch").value_or(Uuid{}); }

// ---- northbound -----------------------------------------------------------

void ForgetPort(NbIndex& index, const Uuid& port, Dirty& dirty) {
  auto sw = index.port_switch.find(port);
  if (sw != index.port_switch.end()) {
    dirty.switches.insert(sw->second);
    auto ports = index.switch_ports.find(sw->second);
    if (ports != index.switch_ports.end()) {
      ports->second.erase(port);
      if (ports->second.empty()) index.switch_ports.erase(ports);
    }
    index.port_switch.erase(sw);
  }
  auto name = index.port_name.find(port);
  if (name != index.port_name.end()) {
    dirty.bindings.insert(name->second);
    auto by_name = index.port_by_name.find(name->second);
    if (by_name != index.port_by_name.end() && by_name->second == port) {
      index.port_by_name.erase(by_name);
    }
    index.port_name.erase(name);
  }
}

void NotePort(NbIndex& index, const RowView& row, Dirty& dirty) {
  Uuid sw = SwitchOf(row);
  std::string name = row.GetString("name");
  index.port_switch[row.uuid()] = sw;
  index.switch_ports[sw].insert(row.uuid());
  index.port_name[row.uuid()] = name;
  index.port_by_name[name] = row.uuid();
  dirty.switches.insert(sw);
  dirty.bindings.insert(name);
  dirty.up.insert(name);
}

void TakePortChanges(ReplicaTable& table, NbIndex& index, Dirty& dirty) {
  for (RowChange& change : table.TakeChanges()) {
    if (change.kind == ChangeKind::kDeleted) {
      ForgetPort(index, change.uuid, dirty);
      continue;
    }
    std::optional<RowView> row = table.Get(change.uuid);
    if (!row) continue;
    if (change.kind == ChangeKind::kInserted ||
        AnyColumnBut(table, change.columns, {"up", "external_ids"})) {
      ForgetPort(index, change.uuid, dirty);  // Marks the old switch and name.
      NotePort(index, *row, dirty);
    } else if (HasColumn(table, change.columns, "up")) {
      dirty.up.insert(row->GetString("name"));
    }
  }
}

void ForgetAcl(NbIndex& index, const Uuid& acl, Dirty& dirty) {
  auto sw = index.acl_switch.find(acl);
  if (sw == index.acl_switch.end()) return;
  dirty.switches.insert(sw->second);
  auto acls = index.switch_acls.find(sw->second);
  if (acls != index.switch_acls.end()) {
    acls->second.erase(acl);
    if (acls->second.empty()) index.switch_acls.erase(acls);
  }
  index.acl_switch.erase(sw);
}

void NoteAcl(NbIndex& index, const RowView& row, Dirty& dirty) {
  Uuid sw = SwitchOf(row);
  index.acl_switch[row.uuid()] = sw;
  index.switch_acls[sw].insert(row.uuid());
  dirty.switches.insert(sw);
}

void TakeAclChanges(ReplicaTable& table, NbIndex& index, Dirty& dirty) {
  for (RowChange& change : table.TakeChanges()) {
    ForgetAcl(index, change.uuid, dirty);
    if (change.kind == ChangeKind::kDeleted) continue;
    if (std::optional<RowView> row = table.Get(change.uuid)) NoteAcl(index, *row, dirty);
  }
}

// ---- southbound -----------------------------------------------------------

void ForgetBinding(SbIndex& index, const Uuid& row, Dirty& dirty) {
  auto it = index.bindings.find(row);
  if (it == index.bindings.end()) return;
  dirty.bindings.insert(it->second.name);
  auto by_name = index.binding_by_name.find(it->second.name);
  if (by_name != index.binding_by_name.end() && by_name->second == row) {
    index.binding_by_name.erase(by_name);
  }
  auto key = index.used_keys.find(it->second.key);
  if (key != index.used_keys.end() && --key->second == 0) index.used_keys.erase(key);
  index.bindings.erase(it);
}

void NoteBinding(SbIndex& index, const RowView& row, Dirty& dirty) {
  BindingRef ref{row.GetString("logical_port"), row.GetInteger("tunnel_key")};
  index.binding_by_name[ref.name] = row.uuid();
  ++index.used_keys[ref.key];
  dirty.bindings.insert(ref.name);
  index.bindings[row.uuid()] = std::move(ref);
}

void TakeBindingChanges(ReplicaTable& table, SbIndex& index, Dirty& dirty) {
  for (RowChange& change : table.TakeChanges()) {
    ForgetBinding(index, change.uuid, dirty);
    if (change.kind == ChangeKind::kDeleted) continue;
    std::optional<RowView> row = table.Get(change.uuid);
    if (!row) continue;
    NoteBinding(index, *row, dirty);
    if (change.kind == ChangeKind::kInserted || HasColumn(table, change.columns, "chassis") ||
        HasColumn(table, change.columns, "logical_port")) {
      dirty.up.insert(row->GetString("logical_port"));
    }
  }
}

void ForgetFlow(SbIndex& index, const Uuid& row) {
  auto it = index.flow_rows.find(row);
  if (it == index.flow_rows.end()) return;
  auto dp = index.flows.find(it->second.datapath);
  if (dp != index.flows.end()) {
    std::pair<uint64_t, Uuid> entry{it->second.hash, row};
    auto pos = std::find(dp->second.begin(), dp->second.end(), entry);
    if (pos != dp->second.end()) {
      *pos = dp->second.back();  // Unordered: move the last one here.
      dp->second.pop_back();
    }
    if (dp->second.empty()) index.flows.erase(dp);
  }
  index.flow_rows.erase(it);
}

const std::string& StringColumn(const RowView& row, std::string_view column) {
  static const std::string kEmpty;
  const ovsdb::Datum& d = row.Get(column);
  bool ok = d.size() == 1 && d.keys()[0].type() == ovsdb::AtomicType::kString;
  return ok ? d.keys()[0].string() : kEmpty;
}

void NoteFlow(SbIndex& index, const RowView& row) {
  FlowRef ref{row.GetOptionalUuid("logical_datapath").value_or(Uuid{}),
              FlowHash(row.GetInteger("table_id"), row.GetInteger("priority"),
                       StringColumn(row, "match"), StringColumn(row, "actions"))};
  index.flows[ref.datapath].emplace_back(ref.hash, row.uuid());
  index.flow_rows[row.uuid()] = ref;
}

void TakeFlowChanges(ReplicaTable& table, SbIndex& index) {
  std::vector<RowChange> changes = table.TakeChanges();
  if (changes.size() > 1024) index.flow_rows.reserve(index.flow_rows.size() + changes.size());
  for (RowChange& change : changes) {
    ForgetFlow(index, change.uuid);
    if (change.kind == ChangeKind::kDeleted) continue;
    if (std::optional<RowView> row = table.Get(change.uuid)) NoteFlow(index, *row);
  }
}

}  // namespace

uint64_t FlowHash(int64_t table_id, int64_t priority, std::string_view match,
                  std::string_view actions) {
  std::hash<std::string_view> h;
  uint64_t x = static_cast<uint64_t>(table_id) * 0x9e3779b97f4a7c15ULL;
  x = (x ^ static_cast<uint64_t>(priority)) * 0xff51afd7ed558ccdULL;
  x = (x ^ h(match)) * 0xc4ceb9fe1a85ec53ULL;
  return x ^ h(actions);
}

LogicalFlow FlowOf(const RowView& row) {
  return {row.GetInteger("table_id"), row.GetInteger("priority"), StringColumn(row, "match"),
          StringColumn(row, "actions")};
}

void TakeNbChanges(ovsdb::idl::Idl& nb, NbIndex& index, Dirty& dirty) {
  if (ReplicaTable* switches = nb.table("Logical_Switch")) {
    for (RowChange& change : switches->TakeChanges()) {
      if (change.kind != ChangeKind::kModified) dirty.switches.insert(change.uuid);
    }
  }
  if (ReplicaTable* ports = nb.table("Logical_Port")) TakePortChanges(*ports, index, dirty);
  if (ReplicaTable* acls = nb.table("ACL")) TakeAclChanges(*acls, index, dirty);
}

void TakeSbChanges(ovsdb::idl::Idl& sb, SbIndex& index, Dirty& dirty) {
  if (ReplicaTable* bindings = sb.table("Bindings")) TakeBindingChanges(*bindings, index, dirty);
  if (ReplicaTable* flows = sb.table("Pipeline")) TakeFlowChanges(*flows, index);
}

void Rebuild(ovsdb::idl::Idl& nb, ovsdb::idl::Idl& sb, NbIndex& nb_index, SbIndex& sb_index,
             Dirty& dirty) {
  nb_index = NbIndex();
  sb_index = SbIndex();
  for (const char* name : {"Logical_Switch", "Logical_Port", "ACL"}) {
    if (ReplicaTable* t = nb.table(name)) t->TakeChanges();
  }
  for (const char* name : {"Bindings", "Pipeline"}) {
    if (ReplicaTable* t = sb.table(name)) t->TakeChanges();
  }
  if (ReplicaTable* t = nb.table("Logical_Switch")) {
    for (const RowView& row : t->All()) dirty.switches.insert(row.uuid());
  }
  if (ReplicaTable* t = nb.table("Logical_Port")) {
    for (const RowView& row : t->All()) NotePort(nb_index, row, dirty);
  }
  if (ReplicaTable* t = nb.table("ACL")) {
    for (const RowView& row : t->All()) NoteAcl(nb_index, row, dirty);
  }
  if (ReplicaTable* t = sb.table("Bindings")) {
    for (const RowView& row : t->All()) {
      NoteBinding(sb_index, row, dirty);
      dirty.up.insert(row.GetString("logical_port"));
    }
  }
  if (ReplicaTable* t = sb.table("Pipeline")) {
    for (const RowView& row : t->All()) NoteFlow(sb_index, row);
  }
  for (const auto& [datapath, flows] : sb_index.flows) dirty.switches.insert(datapath);
}

}  // namespace spate::northd
