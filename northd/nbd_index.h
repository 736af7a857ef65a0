// ovn-nbd's indexes over its two replicas, and the "dirty" sets that say
// what a change affects.
//
// What
//   NbIndex answers, for the northbound replica: which switch a port or
//   ACL belongs to, which ports and ACLs a switch has, and which port has
//   a name.  SbIndex answers, for the southbound replica: which Bindings
//   row a port name has, which tunnel keys are taken, and which Pipeline
//   rows exist per logical datapath and flow.  Dirty collects what must be
//   recomputed: switches (their Pipeline rows), port names (their
//   Bindings row) and port names whose Logical_Port.up must be checked.
//
// Design
//   The Idl's change tracking (ReplicaTable::TakeChanges) drives
//   everything: TakeNbChanges/TakeSbChanges update the indexes row by row
//   and mark only what a row's change affects (a port's switch, its
//   binding, its up; an ACL's switch; a binding's port).  The indexes keep
//   the values they were last told (port -> switch, binding -> key,
//   Pipeline row -> datapath and flow hash), because the replica no longer
//   shows a modified row's old values.  Pipeline rows (most of the
//   southbound database) are indexed by hash, without copies of their
//   strings: a candidate row is compared with the replica's row.
//   Changes to Logical_Port.up and external_ids do not touch the
//   southbound side; Pipeline changes only update the index
//   (like 2015's "omit alert": a row edited by someone else is repaired
//   the next time its switch is recomputed or ovn-nbd restarts).
//   Rebuild() discards the indexes, rebuilds them from the replicas and
//   marks everything, including datapaths and bindings that no longer
//   have a northbound counterpart.
//
// Thread-safety
//   None: used on the Idl's loop thread only.
#ifndef SPATE_NORTHD_NBD_INDEX_H
#define SPATE_NORTHD_NBD_INDEX_H

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "northd/logical_flows.h"
#include "ovsdb/idl.h"

namespace spate::northd {

using ovsdb::Uuid;
using ovsdb::UuidHash;
using UuidSet = std::unordered_set<Uuid, UuidHash>;

// What the southbound side must recompute.
struct Dirty {
  UuidSet switches;                         // Datapaths whose Pipeline rows to diff.
  std::unordered_set<std::string> bindings;  // Port names whose Bindings row to sync.
  std::unordered_set<std::string> up;        // Port names whose `up` to check.

  bool sb_work() const { return !switches.empty() || !bindings.empty(); }
};

// Indexes over the OVN_Northbound replica.
struct NbIndex {
  std::unordered_map<Uuid, Uuid, UuidHash> port_switch;        // Port -> its lswitch.
  std::unordered_map<Uuid, std::string, UuidHash> port_name;   // Port -> its name.
  std::unordered_map<std::string, Uuid> port_by_name;          // Name -> port.
  std::unordered_map<Uuid, UuidSet, UuidHash> switch_ports;    // Switch -> ports.
  std::unordered_map<Uuid, Uuid, UuidHash> acl_switch;         // ACL -> its lswitch.
  std::unordered_map<Uuid, UuidSet, UuidHash> switch_acls;     // Switch -> ACLs.
};

// What ovn-nbd remembers of one Bindings row.
struct BindingRef {
  std::string name;     // logical_port.
  int64_t key = 0;      // tunnel_key.
};

// What ovn-nbd remembers of one Pipeline row: no copy of its strings (the
// replica holds them), only what finds the row again.
struct FlowRef {
  Uuid datapath;      // logical_datapath.
  uint64_t hash = 0;  // FlowHash() of its table_id, priority, match, actions.
};

// A datapath's Pipeline rows as (FlowHash, row) pairs, in no order.
using DatapathFlows = std::vector<std::pair<uint64_t, Uuid>>;

// A hash of a flow's four columns (equal flows, equal hashes).
uint64_t FlowHash(int64_t table_id, int64_t priority, std::string_view match,
                  std::string_view actions);
inline uint64_t FlowHash(const LogicalFlow& f) {
  return FlowHash(f.table_id, f.priority, f.match, f.actions);
}
// The flow a Pipeline row holds (its four columns).
LogicalFlow FlowOf(const ovsdb::idl::RowView& row);

// Indexes over the southbound replica.
struct SbIndex {
  std::unordered_map<std::string, Uuid> binding_by_name;       // logical_port -> row.
  std::unordered_map<Uuid, BindingRef, UuidHash> bindings;     // Row -> what it was.
  std::unordered_map<int64_t, int> used_keys;                  // tunnel_key -> rows using it.
  std::unordered_map<Uuid, FlowRef, UuidHash> flow_rows;       // Pipeline row -> flow.
  std::unordered_map<Uuid, DatapathFlows, UuidHash> flows;     // Datapath -> its rows.
};

// Takes the northbound replica's pending changes (Logical_Switch,
// Logical_Port, ACL), updates `index` and marks what they affect.
void TakeNbChanges(ovsdb::idl::Idl& nb, NbIndex& index, Dirty& dirty);
// Takes the southbound replica's pending changes (Bindings, Pipeline),
// updates `index` and marks what they affect.
void TakeSbChanges(ovsdb::idl::Idl& sb, SbIndex& index, Dirty& dirty);
// Discards pending changes, rebuilds both indexes from the replicas and
// marks every switch, datapath, port and binding.
void Rebuild(ovsdb::idl::Idl& nb, ovsdb::idl::Idl& sb, NbIndex& nb_index, SbIndex& sb_index,
             Dirty& dirty);

}  // namespace spate::northd

#endif  // SPATE_NORTHD_NBD_INDEX_H
