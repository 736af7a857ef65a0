// ovsdb-tool's logic (tools/ovsdb-tool.cc is only main()).
//
// What: the standalone-database commands of Open vSwitch's ovsdb-tool with
// its output formats: create, compact, convert, needs-conversion, db-name,
// db-version, db-cksum, schema-name, schema-version, schema-cksum, query,
// transact, show-log [-m...].  Defaults follow Open vSwitch: DB is
// $OVS_DBDIR/conf.db (OVS_DBDIR defaults to /etc/openvswitch) and SCHEMA is
// $OVS_PKGDATADIR/vswitch.ovsschema (default /usr/share/openvswitch).
//
// Thread-safety: RunTool is reentrant but opens files; one call at a time
// per database.
#ifndef SPATE_OVSDB_TOOL_H
#define SPATE_OVSDB_TOOL_H

#include <ostream>
#include <string>
#include <vector>

namespace spate::ovsdb {

// Runs ovsdb-tool with `args` (without argv[0]); writes results to `out`
// and one-line errors ("ovsdb-tool: ...") to `err`.  Returns the exit code.
int RunTool(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// show-log's text for the records of `path` at verbosity `more` (0..2+).
// Errors go to `err`; returns false on failure.
bool ShowLog(const std::string& path, int more, std::ostream& out, std::ostream& err);

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_TOOL_H
