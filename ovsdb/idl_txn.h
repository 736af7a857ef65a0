// Txn: a transaction built against an Idl's replica and committed through
// its connection.
//
// What
//   Insert() returns the UUID of a new row, chosen by the client and sent
//   as the insert's "uuid" (Open vSwitch's extension, supported by its
//   ovsdb-server since 2.x and by ours); references to it are that UUID
//   (["uuid", u], never "named-uuid"), and inserts are sent before every
//   update/mutate/delete, so the build order does not matter.
//   TxnResult::Real() maps it to the UUID the server reports (the same).  Set() writes
//   whole columns (one "update" per row), Mutate()/InsertToSet()/
//   SetMapEntry()/... change part of a set or map with "mutate", so adding
//   one element to a large set sends one element.  Verify() records the
//   replica's current value of a column as a prerequisite: a "wait" with
//   timeout 0 and until "==" (Open vSwitch's IDL "verify"); if another
//   client changed the column first, the commit reports kTryAgain and the
//   caller re-runs its logic against the refreshed replica.  If the Idl
//   holds a lock, an "assert" of it is added.  AddComment() adds a
//   "comment" operation.
//
//   Lost replies: if the connection drops after the transaction was handed
//   to it, nobody knows whether it committed.  The Txn then waits until the
//   Idl is synced again (any server of the remote list) and resends the
//   same operations, preceded by guards: the client-chosen insert UUIDs
//   make a second insert fail with "duplicate uuid", and each column
//   changed by an arithmetic mutator ("+=", ...) gets a "wait" for the
//   value the replica showed when the transaction was first sent.  The
//   other operations (update, set/map insert/delete, row delete) are
//   idempotent.  The resend's success means the first attempt did not
//   commit (kResent); its failure plus a replica that shows every effect
//   (or "duplicate uuid") means it did (kFoundCommitted, reported as
//   success); otherwise the resend's own outcome is reported.  So the
//   caller gets success exactly when the transaction's effects were
//   applied once.  The rule is exact when no other client changes the same
//   rows meanwhile; ovsdb/idl.md states the limits.
//
//   Commit(done) is the non-blocking form for daemons: `done` runs on the
//   loop once the reply arrived and, on success, once the replica shows the
//   transaction's effects (inserted rows present, except rows of non-root
//   tables nothing in it references, which the server garbage-collects;
//   deleted rows gone,
//   written columns equal, set/map mutations visible), so the caller never
//   acts on a stale view.  CommitBlock() is the same for tools: it runs the
//   loop until then.
//
// Design
//   Building only records operations (indexed by row, kind and table, so
//   repeated Set()s of one row go into one operation); at Commit() the
//   request is written as JSON text straight into one string (no Json
//   tree: a full ovn-nbd build is 40k operations), handed to
//   Idl::RequestText, and dropped once the reply arrives.  What the "seen"
//   check needs besides the operations (rows the server garbage-collects,
//   which operation writes a column last) is worked out once, at Commit().
//   Values are checked against the column types as they are added (a bad
//   value makes Commit() fail with that error, nothing is sent).  The
//   "seen" check skips tables replicated with a condition (the row may be
//   filtered out) and columns not replicated.
//
// Thread-safety
//   The Idl's loop thread only.  A Txn may be destroyed right after
//   Commit(); the callback still runs (unless the Idl is destroyed first).
#ifndef SPATE_OVSDB_IDL_TXN_H
#define SPATE_OVSDB_IDL_TXN_H

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ovsdb/idl.h"

namespace spate::ovsdb::idl {

enum class TxnStatus {
  kSuccess,   // Committed.
  kTryAgain,  // Not committed: a verified column changed, or there was no
              // connection: refresh and re-run the caller's logic.
  kError,     // A clear error (constraint violation, not owner, bad value...).
};

// "success", "try again", "error".
std::string_view TxnStatusName(TxnStatus status);

// How the outcome of a transaction whose reply was lost (the connection
// dropped after it was sent) was determined; see "Lost replies" above.
enum class TxnRecovery {
  kNone,            // The reply arrived: nothing to recover.
  kResent,          // The first attempt had not committed; the resend did
                    // (or failed, for the reason given).
  kFoundCommitted,  // The first attempt had committed; nothing was repeated.
};

struct TxnResult {
  TxnStatus status = TxnStatus::kError;  // Outcome.
  Error error{""};                       // kTryAgain/kError: why.
  std::map<Uuid, Uuid> inserted;         // New-row UUID -> real UUID.
  bool replica_seen = false;             // Success and replica caught up.
  Json reply;                            // The raw transact result.
  TxnRecovery recovery = TxnRecovery::kNone;  // After a lost reply.
  std::chrono::steady_clock::time_point sent_at;     // Request handed to the
                                                     // connection (last attempt).
  std::chrono::steady_clock::time_point replied_at;  // Its reply parsed.

  // The real UUID for a UUID from Insert() (or `uuid` itself).
  Uuid Real(const Uuid& uuid) const;
  bool ok() const { return status == TxnStatus::kSuccess; }
};

class Txn {
 public:
  explicit Txn(Idl& idl);
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  // A new row in `table`; returns its UUID (random, chosen here and sent
  // with the insert).  Columns not Set() take their defaults.
  Uuid Insert(std::string_view table);
  // Writes the whole value of `column` of `row` (existing or inserted).
  // Errors: unknown table/column, a value that violates the column type.
  Status Set(std::string_view table, const Uuid& row, std::string_view column, Datum value);
  // Conveniences for scalar columns.
  Status SetString(std::string_view table, const Uuid& row, std::string_view column,
                   std::string value);
  Status SetInteger(std::string_view table, const Uuid& row, std::string_view column,
                    int64_t value);
  Status SetBool(std::string_view table, const Uuid& row, std::string_view column, bool value);
  // Deletes `row`.
  Status Delete(std::string_view table, const Uuid& row);
  // Adds a prerequisite: `column` of `row` still has the value the replica
  // shows now.  Errors: the row or the column is not replicated, unknown
  // column.  (A no-op for rows inserted by this transaction.)
  Status Verify(std::string_view table, const Uuid& row, std::string_view column);
  // A "mutate" of `column`: mutator is one of RFC 7047's ("insert",
  // "delete", "+=", ...); `value` is checked for the column's element types.
  Status Mutate(std::string_view table, const Uuid& row, std::string_view column,
                std::string mutator, Datum value);
  // Partial set/map updates built on Mutate.
  Status InsertToSet(std::string_view table, const Uuid& row, std::string_view column, Atom a);
  Status RemoveFromSet(std::string_view table, const Uuid& row, std::string_view column, Atom a);
  Status SetMapEntry(std::string_view table, const Uuid& row, std::string_view column,
                     Atom key, Atom value);
  Status RemoveMapKey(std::string_view table, const Uuid& row, std::string_view column, Atom key);
  // Adds a "comment" operation (appears in the server's log).
  void AddComment(std::string comment);

  // Sends the transaction; `done` runs on the loop thread as described
  // above.  Call once.
  void Commit(std::function<void(TxnResult)> done);
  // Commit() and run the loop until done, or `timeout` (then kError with
  // tag "timed out"; if the reply came but the replica did not catch up,
  // the success result with replica_seen false).
  TxnResult CommitBlock(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  struct Op;    // One recorded operation (idl_txn.cc).
  struct State;  // What a commit in flight needs (idl_txn.cc).

 private:
  Status Record(std::string_view table, const Uuid& row, std::string_view column,
                const ColumnSchema** out_column);
  Op& OpFor(int kind, std::string_view table, const Uuid& row);
  std::shared_ptr<State> Send(std::function<void(TxnResult)> done);

  Idl& idl_;                          // Replica and connection.
  std::unique_ptr<State> state_;      // Operations recorded so far.
};

}  // namespace spate::ovsdb::idl

#endif  // SPATE_OVSDB_IDL_TXN_H
