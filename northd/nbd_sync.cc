// ovn-nbd's writers; see nbd_sync.h.
#include "northd/nbd_sync.h"

#include <algorithm>
#include <optional>
#include <unordered_set>
#include <vector>

namespace spate::northd {
namespace {

using ovsdb::Atom;
using ovsdb::Datum;
using ovsdb::idl::ReplicaTable;
using ovsdb::idl::RowView;
using ovsdb::idl::Txn;

constexpr int64_t kMaxTunnelKey = 65535;

Datum StringSet(const std::vector<std::string>& values) {
  Datum d;
  for (const std::string& v : values) d.mutable_keys().emplace_back(v);
  return d;  // Already sorted and unique: it comes from a replica set.
}

Datum Optional(const std::optional<Atom>& value) {
  return value ? Datum(*value) : Datum();
}

// ---- Bindings -------------------------------------------------------------

// The Bindings columns (other than tunnel_key and chassis) a port implies.
struct WantedBinding {
  Uuid datapath;                   // logical_datapath.
  std::vector<std::string> macs;   // mac.
  std::optional<Atom> parent;      // parent_port (with tag only).
  std::optional<Atom> tag;         // tag (with parent only).
};

WantedBinding Wanted(const RowView& port) {
  WantedBinding w;
  w.datapath = port.GetOptionalUuid("lswitch").value_or(Uuid{});
  w.macs = port.GetStrings("macs");
  std::optional<std::string> parent = port.GetOptionalString("parent_name");
  std::optional<int64_t> tag = port.GetOptionalInteger("tag");
  if (parent && tag) {
    w.parent = Atom(*parent);
    w.tag = Atom(*tag);
  }
  return w;
}

// 2015's choose_tunnel_key; 0 when every key is in use.
int64_t ChooseKey(SyncContext& ctx) {
  for (int64_t i = 0; i < kMaxTunnelKey; ++i) {
    int64_t key = *ctx.last_key % kMaxTunnelKey + 1;
    *ctx.last_key = key;
    if (!ctx.sb_index.used_keys.contains(key) && !ctx.taken_keys.contains(key)) return key;
  }
  return 0;
}

size_t SetBindingColumns(Txn& txn, const Uuid& row, const WantedBinding& w,
                         const std::optional<RowView>& old) {
  size_t n = 0;
  auto set = [&](const char* column, Datum value) {
    if (old && old->Get(column) == value) return;
    (void)txn.Set("Bindings", row, column, std::move(value));
    ++n;
  };
  set("logical_datapath", Datum(Atom(w.datapath)));
  set("mac", StringSet(w.macs));
  set("parent_port", Optional(w.parent));
  set("tag", Optional(w.tag));
  return n;
}

size_t SyncBinding(SyncContext& ctx, const std::string& name, Txn& txn) {
  std::optional<RowView> port;
  if (auto it = ctx.nb_index.port_by_name.find(name); it != ctx.nb_index.port_by_name.end()) {
    port = ctx.nb.table("Logical_Port")->Get(it->second);
  }
  std::optional<RowView> binding;
  if (auto it = ctx.sb_index.binding_by_name.find(name); it != ctx.sb_index.binding_by_name.end()) {
    binding = ctx.sb.table("Bindings")->Get(it->second);
  }
  if (!port) {
    if (!binding) return 0;
    (void)txn.Delete("Bindings", binding->uuid());
    ++ctx.stats->bindings_deleted;
    return 1;
  }
  WantedBinding w = Wanted(*port);
  if (binding) {
    size_t n = SetBindingColumns(txn, binding->uuid(), w, binding);
    if (n > 0) {
      (void)txn.Verify("Bindings", binding->uuid(), "logical_port");  // As for up, below.
      ++ctx.stats->bindings_updated;
    }
    return n;
  }
  int64_t key = ChooseKey(ctx);
  if (key == 0) {
    ctx.log(true, "all tunnel keys exhausted");
    return 0;
  }
  ctx.taken_keys.insert(key);
  Uuid row = txn.Insert("Bindings");
  (void)txn.SetString("Bindings", row, "logical_port", name);
  (void)txn.SetInteger("Bindings", row, "tunnel_key", key);
  SetBindingColumns(txn, row, w, std::nullopt);
  ++ctx.stats->bindings_inserted;
  return 1;
}

// ---- Pipeline -------------------------------------------------------------

SwitchFlowInput SwitchInput(SyncContext& ctx, const Uuid& sw) {
  SwitchFlowInput input;
  ReplicaTable* ports = ctx.nb.table("Logical_Port");
  if (auto it = ctx.nb_index.switch_ports.find(sw); it != ctx.nb_index.switch_ports.end()) {
    for (const Uuid& uuid : it->second) {
      std::optional<RowView> p = ports->Get(uuid);
      if (!p) continue;
      const Datum& e = p->Get("enabled");
      input.ports.push_back({p->GetString("name"), p->GetStrings("macs"),
                             p->GetStrings("port_security"),
                             e.empty() || e.keys()[0].boolean()});
    }
  }
  ReplicaTable* acls = ctx.nb.table("ACL");
  if (auto it = ctx.nb_index.switch_acls.find(sw); it != ctx.nb_index.switch_acls.end()) {
    for (const Uuid& uuid : it->second) {
      std::optional<RowView> a = acls->Get(uuid);
      if (!a) continue;
      input.acls.push_back(
          {a->GetInteger("priority"), a->GetString("match"), a->GetString("action")});
    }
  }
  return input;
}

std::vector<LogicalFlow> DesiredFlows(SyncContext& ctx, const Uuid& sw) {
  ReplicaTable* switches = ctx.nb.table("Logical_Switch");
  if (switches == nullptr || switches->Find(sw) == nullptr) return {};  // Switch gone.
  ++ctx.stats->switches_computed;
  std::vector<std::string> notes;
  std::vector<LogicalFlow> flows = BuildSwitchFlows(SwitchInput(ctx, sw), ctx.check, &notes);
  for (const std::string& note : notes) {
    bool acl = note.rfind("ACL", 0) == 0;
    if (acl) ++ctx.stats->acls_skipped;
    ctx.log(acl, "logical switch " + sw.ToString() + ": " + note);
  }
  return flows;
}

size_t InsertFlow(Txn& txn, const Uuid& sw, const LogicalFlow& f) {
  Uuid row = txn.Insert("Pipeline");
  (void)txn.Set("Pipeline", row, "logical_datapath", Datum(Atom(sw)));
  (void)txn.SetInteger("Pipeline", row, "table_id", f.table_id);
  (void)txn.SetInteger("Pipeline", row, "priority", f.priority);
  (void)txn.SetString("Pipeline", row, "match", f.match);
  (void)txn.SetString("Pipeline", row, "actions", f.actions);
  return 1;
}

// True if the Pipeline row `row` holds `f`.
bool RowHolds(ReplicaTable& pipeline, const Uuid& row, const LogicalFlow& f) {
  std::optional<RowView> r = pipeline.Get(row);
  return r && FlowOf(*r) == f;
}

// Diffs the desired flows of `sw` against its existing rows (found by
// hash, confirmed against the replica): a row holding a desired flow is
// kept (one per flow), missing flows are inserted, every other row of the
// datapath (leftovers, duplicates) is deleted.
size_t SyncPipeline(SyncContext& ctx, const Uuid& sw, Txn& txn) {
  std::vector<LogicalFlow> want = DesiredFlows(ctx, sw);
  DatapathFlows have;
  if (auto found = ctx.sb_index.flows.find(sw); found != ctx.sb_index.flows.end()) {
    have = found->second;
  }
  std::sort(have.begin(), have.end());
  std::vector<bool> kept(have.size(), false);
  ReplicaTable* pipeline = ctx.sb.table("Pipeline");
  size_t n = 0;
  for (const LogicalFlow& f : want) {
    uint64_t h = FlowHash(f);
    auto i = std::lower_bound(have.begin(), have.end(), std::make_pair(h, Uuid{}));
    for (; i != have.end() && i->first == h; ++i) {
      size_t k = i - have.begin();
      if (!kept[k] && RowHolds(*pipeline, i->second, f)) {
        kept[k] = true;
        break;
      }
    }
    if (i == have.end() || i->first != h) {
      n += InsertFlow(txn, sw, f);
      ++ctx.stats->flows_inserted;
    }
  }
  for (size_t k = 0; k < have.size(); ++k) {
    if (kept[k]) continue;
    (void)txn.Delete("Pipeline", have[k].second);
    ++ctx.stats->flows_deleted;
    ++n;
  }
  return n;
}

}  // namespace

size_t WriteSouthbound(SyncContext& ctx, Dirty& dirty, Txn& txn) {
  size_t n = 0;
  while (!dirty.switches.empty()) {
    Uuid sw = *dirty.switches.begin();
    dirty.switches.erase(dirty.switches.begin());
    auto ports = ctx.nb_index.switch_ports.find(sw);
    if (ports != ctx.nb_index.switch_ports.end() && !dirty.bindings.empty()) {
      for (const Uuid& port : ports->second) {
        auto name = ctx.nb_index.port_name.find(port);
        if (name == ctx.nb_index.port_name.end()) continue;
        auto d = dirty.bindings.find(name->second);
        if (d == dirty.bindings.end()) continue;
        n += SyncBinding(ctx, name->second, txn);
        dirty.bindings.erase(d);
      }
    }
    n += SyncPipeline(ctx, sw, txn);
  }
  // Bindings of ports on no dirty switch (or on none at all).
  while (!dirty.bindings.empty()) {
    std::string name = std::move(dirty.bindings.extract(dirty.bindings.begin()).value());
    n += SyncBinding(ctx, name, txn);
  }
  return n;
}

size_t WriteNorthbound(SyncContext& ctx, Dirty& dirty, Txn& txn) {
  size_t n = 0;
  ReplicaTable* ports = ctx.nb.table("Logical_Port");
  ReplicaTable* bindings = ctx.sb.table("Bindings");
  for (const std::string& name : dirty.up) {
    auto port_it = ctx.nb_index.port_by_name.find(name);
    auto binding_it = ctx.sb_index.binding_by_name.find(name);
    if (port_it == ctx.nb_index.port_by_name.end() ||
        binding_it == ctx.sb_index.binding_by_name.end()) {
      continue;  // No port (the binding goes away on the SB pass), or no binding yet.
    }
    std::optional<RowView> port = ports->Get(port_it->second);
    std::optional<RowView> binding = bindings->Get(binding_it->second);
    if (!port || !binding) continue;
    const Datum& up = port->Get("up");
    bool bound = !binding->GetString("chassis").empty();
    bool is_true = !up.empty() && up.keys()[0].boolean();
    if ((bound && !is_true) || (!bound && (up.empty() || is_true))) {
      // If the port is deleted meanwhile, the commit fails (try again)
      // instead of waiting for an update that never comes.
      (void)txn.Verify("Logical_Port", port->uuid(), "name");
      (void)txn.SetBool("Logical_Port", port->uuid(), "up", bound);
      ++ctx.stats->up_writes;
      ++n;
    }
  }
  dirty.up.clear();
  return n;
}

}  // namespace spate::northd
