// Transactions: RFC 7047 "transact" execution against a Database.
//
// What: Transact() runs the operations of one transact params array
// ([db-name, op...]) atomically: insert (uuid-name, Open vSwitch's "uuid"),
// select, update, mutate, delete, wait (with timeout), commit (durable),
// abort, comment, assert (lock ownership supplied by the caller).  At commit
// it enforces referential integrity for strong references, removes weak
// references to missing rows (and reports the resulting min violations),
// garbage-collects unreferenced non-root rows, and checks maxRows and unique
// indexes.  The reply is the RFC 7047 result array: one element per
// operation, an error object in the failing slot followed by nulls, or an
// extra trailing error element when only the commit fails.  Errors and their
// details are worded as Open vSwitch's ovsdb-server words them.
//
// Design: execution records changes in a per-transaction overlay keyed by
// row (TxnRow: the committed row plus only the columns written), never by
// copying rows; nothing touches the Database until every check passed.  The
// commit then (1) builds a pending ChangeSet, (2) hands it to an optional
// CommitSink (the log file writes its record; an I/O error aborts the
// transaction), and (3) applies it in place, updating reference counts,
// weak-referrer lists and indexes, and turning the ChangeSet into the
// applied form that monitors consume (changes.h).
//
// A "wait" that is not yet satisfied and has not timed out makes Transact
// return blocked: the Database is untouched and the caller re-runs the same
// params when the database changes or the deadline passes (Open vSwitch's
// triggers).  Callers that cannot wait (ovsdb-tool) pass can_block = false
// and get Open vSwitch's "not supported" error instead.
//
// Thread-safety: none; run on the thread that owns the Database.
#ifndef SPATE_OVSDB_TRANSACTION_H
#define SPATE_OVSDB_TRANSACTION_H

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>

#include "common/result.h"
#include "ovsdb/changes.h"
#include "ovsdb/database.h"

namespace spate::ovsdb {

// Receives a pending ChangeSet before it is applied (the log file).
class CommitSink {
 public:
  virtual ~CommitSink() = default;
  // Persists `changes` (phase kPending).  An error aborts the transaction
  // and is reported as the extra element of the reply.
  virtual Status Write(const Database& db, const ChangeSet& changes) = 0;
};

struct TransactOptions {
  // Whether this session holds lock `name` (for "assert"); null = none held.
  std::function<bool(const std::string& name)> lock_owned;
  bool can_block = false;  // A pending "wait" may block (server) or not (tool).
  int64_t now_ms = 0;      // Current time, ms (wait timeouts, "_date").
  int64_t start_ms = 0;    // When the request first arrived (wait timeouts).
  CommitSink* sink = nullptr;  // Optional log writer.
};

struct TransactResult {
  bool blocked = false;  // A wait op is not satisfied yet: re-run later.
  // When blocked: the time at which the earliest blocked wait times out
  // (re-run then to produce "timed out"), or INT64_MAX for no timeout.
  int64_t retry_deadline_ms = std::numeric_limits<int64_t>::max();
  Json reply;          // When !blocked: the result array (or error object).
  std::shared_ptr<ChangeSet> changes;  // Applied changes; null if none.
  bool durable = false;  // A commit op asked for a durable commit.
};

// Executes a transact params array against `db`.  Never throws; malformed
// input yields the RFC error object/array in `reply`.  The db-name check:
// params[0] must be a string; if it differs from db.name() the reply is an
// "unknown database" error object.
TransactResult Transact(Database& db, const Json& params, const TransactOptions& options);

// Applies a pending ChangeSet directly (no checks): used when replaying a
// log file.  Reference counts are NOT maintained; call
// Database::RebuildDerived() after loading.
void ApplyUnchecked(Database& db, ChangeSet* changes);

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_TRANSACTION_H
