// Output tables of ovsdb-client, in Open vSwitch's formats.
//
// What: a table (caption, headings, rows of cells) printed as "table"
// (columns padded to their widest cell, separated by one space, the last
// column unpadded, trailing blanks trimmed, a line of dashes under the
// headings), "list" (one "%-20s: value" line per cell, records separated
// by blank lines), "csv" (cells holding a comma, quote or newline are
// quoted, quotes doubled),
// "json" ({"caption","data","headings"} with wire-form cells); and the
// "dump" table of one database table: columns sorted by name with _uuid
// first, rows sorted by their columns in that order except those holding
// UUIDs (an OVSDB datum comparison: size first, then elements), then by
// _uuid, which is the order Debian's ovsdb-client 3.1 prints.  A table may
// carry a timestamp line (monitor --timestamp), printed before its caption.
// PrettyJson is Open vSwitch's --pretty layout.  "html" is a <table
// border=1> with an indented <caption>, <th> headings and <td> cells, text
// HTML-escaped and each UUID shown as its first 8 digits linking to
// "#UUID" (an anchor named UUID in a "_uuid" column).
// Byte-for-byte what Debian's ovsdb-client 3.1 prints (client_format_test
// compares with the real client).
//
// Thread-safety: pure functions on values.
#ifndef SPATE_OVSDB_CLIENT_FORMAT_H
#define SPATE_OVSDB_CLIENT_FORMAT_H

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ovsdb/schema.h"

namespace spate::ovsdb {

enum class TableFormat { kTable, kList, kCsv, kJson, kHtml };

// "table", "list", "csv", "json", "html".  Error: ("usage", "unknown output
// format \"x\"").
Result<TableFormat> ParseTableFormat(std::string_view name);

struct OutputCell {
  std::string text;  // Display form (table, list, csv, html).
  Json json;         // Wire form (json format).
};

struct OutputTable {
  std::string timestamp;                     // "2026-01-02 03:04:05.678"; "" = none.
  std::string caption;                       // e.g. "Chassis table"; "" = none.
  std::vector<std::string> headings;         // Column headings.
  std::vector<std::vector<OutputCell>> rows;  // One cell per heading.
};

struct FormatOptions {
  TableFormat format = TableFormat::kTable;  // Output style.
  bool headings = true;                      // Print headings (--no-headings).
  bool pretty = false;                       // Json format laid out by PrettyJson.
};

// `json` as Open vSwitch's --pretty prints it: each array element and
// object member on its own line indented two spaces per level, closing
// brackets right after the last element, "[]" for an empty array, an empty
// object as "{", a newline, the inner indentation and "}"; object members
// in key order as "key": value.  No trailing newline.
std::string PrettyJson(const Json& json);

// The current wall-clock time (UTC) as monitor --timestamp prints it:
// "YYYY-MM-DD HH:MM:SS.mmm".
std::string TimestampNow();

// True if consecutive tables in `format` are separated by a blank line
// (table, list, csv; not json or html).
bool SeparatesTables(TableFormat format);

// The text of `table` in `options.format`, ending in a newline.
std::string FormatTable(const OutputTable& table, const FormatOptions& options);

// The dump of one table from a "select" result's rows (every column
// selected).  `columns` (empty = all but _version) are validated.  Errors:
// ("syntax error", "Table \"T\" has no column C."), malformed rows.
Result<OutputTable> DumpTable(const TableSchema& table, const Json& rows,
                              const std::vector<std::string>& columns);

// The table `ovsdb-client monitor` prints for one <table-update> (the
// initial reply or an "update" notification): headings "row", "action" and
// `columns`; one line per row: "initial"/"insert"/"delete" with the row's
// values, or for a modification an "old" line (changed columns only)
// followed by a "new" line with an empty "row" cell.  Rows appear in the
// JSON object's order.  Errors: malformed update ("syntax error", ...).
Result<OutputTable> MonitorUpdateTable(const TableSchema& table,
                                       const std::vector<std::string>& columns,
                                       const Json& table_update, bool initial);

// The same for one <table-update2> (a "monitor_cond" reply or an
// "update2" notification): one line per row, action "initial", "insert",
// "modify" (the changed columns' diffs: a scalar's new value, for other
// columns any number of elements) or "delete" (no values).  Errors: malformed update.
Result<OutputTable> MonitorUpdate2Table(const TableSchema& table,
                                        const std::vector<std::string>& columns,
                                        const Json& table_update);

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_CLIENT_FORMAT_H
