// ovn-nbd's writers: the transaction operations that bring the southbound
// database (Bindings, Pipeline) and Logical_Port.up in line with what the
// indexes say is dirty.
//
// What
//   WriteSouthbound() handles Dirty::bindings (reference §4.2: one Bindings
//   row per logical port with logical_port, mac, parent_port + tag when
//   both are set, logical_datapath = the switch UUID, and a tunnel_key
//   chosen once, at insertion; rows without a port are deleted) and
//   Dirty::switches (§4.4: the switch's flows from BuildSwitchFlows,
//   diffed against its existing Pipeline rows: identical rows are left
//   alone, missing ones inserted, leftovers and duplicates deleted).
//   WriteNorthbound() handles Dirty::up (§4.3).  Both empty the sets they
//   handled and return how many operations they added, so the caller
//   commits only a non-empty transaction (restarting on a consistent
//   database writes nothing).
//
// Design
//   Tunnel keys follow 2015's choose_tunnel_key: a counter that continues
//   after the last key chosen, wraps through 1..65535 (0 is reserved) and
//   takes the first key no Bindings row and no insertion of this
//   transaction uses; when all are taken the port is skipped with the
//   warning "all tunnel keys exhausted" (and retried on a later change).
//   A key never changes while its row exists.
//
// Thread-safety
//   None: the Idl's loop thread only.
#ifndef SPATE_NORTHD_NBD_SYNC_H
#define SPATE_NORTHD_NBD_SYNC_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>

#include "northd/logical_flows.h"
#include "northd/nbd_index.h"
#include "ovsdb/idl_txn.h"

namespace spate::northd {

// Counters since start, for tests and the control socket.
struct SyncStats {
  uint64_t bindings_inserted = 0;  // Bindings rows inserted.
  uint64_t bindings_updated = 0;   // Bindings rows rewritten.
  uint64_t bindings_deleted = 0;   // Bindings rows deleted.
  uint64_t flows_inserted = 0;     // Pipeline rows inserted.
  uint64_t flows_deleted = 0;      // Pipeline rows deleted.
  uint64_t switches_computed = 0;  // Switch flow computations.
  uint64_t up_writes = 0;          // Logical_Port.up writes.
  uint64_t acls_skipped = 0;       // ACLs left out for a bad match.
};

// What the writers read and update besides the transaction.
struct SyncContext {
  ovsdb::idl::Idl& nb;              // OVN_Northbound replica.
  ovsdb::idl::Idl& sb;              // Southbound replica.
  const NbIndex& nb_index;          // Over `nb`.
  const SbIndex& sb_index;          // Over `sb`.
  MatchChecker check;               // ACL match checker.
  std::function<void(bool warn, const std::string&)> log;  // Notes and warnings.
  int64_t* last_key;                // The tunnel-key counter (kept by the caller).
  SyncStats* stats;                 // Counters to bump.
  std::unordered_set<int64_t> taken_keys{};  // Keys chosen by this context's
                                             // transaction (not yet in sb_index).
};

// Adds to `txn` (on ctx.sb) the Bindings and Pipeline operations for
// everything in dirty.switches and dirty.bindings (switch by switch: a
// switch's flows with its dirty ports' bindings, then the other bindings),
// then clears both.  Returns the number of operations added.
size_t WriteSouthbound(SyncContext& ctx, Dirty& dirty, ovsdb::idl::Txn& txn);

// Adds to `txn` (on ctx.nb) the Logical_Port.up writes for dirty.up, then
// clears it.  Returns the number of operations added.
size_t WriteNorthbound(SyncContext& ctx, Dirty& dirty, ovsdb::idl::Txn& txn);

}  // namespace spate::northd

#endif  // SPATE_NORTHD_NBD_SYNC_H
