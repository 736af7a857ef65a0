// ovs-vsctl's commands: the table of command specifications, the context a
// command runs in, and the lookups every command shares (tables, columns
// and records by the names Open vSwitch accepts).
//
// What
//   A CommandSpec names a command, its argument counts, the per-command
//   options it accepts ("--if-exists", "--id=", ...), whether it only reads,
//   and the function that runs it.  Commands read and write through the
//   chain's View (vsctl_view.h) and append their output to Context::out.
//   Lookups: a table by case-insensitive name or unique prefix
//   ("open" -> Open_vSwitch); a column by name or unique prefix; a record
//   by UUID, by a unique UUID prefix of at least 4 digits, by name
//   (Bridge, Port, Interface) or "." (Open_vSwitch's only row).
//
// Thread-safety
//   The tables are immutable; a Context belongs to one run.
#ifndef SPATE_TOOLS_VSCTL_VSCTL_COMMANDS_H
#define SPATE_TOOLS_VSCTL_VSCTL_COMMANDS_H

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ovsdb/client_format.h"
#include "tools/vsctl/vsctl_value.h"
#include "tools/vsctl/vsctl_view.h"

namespace spate::vsctl {

// How list/find print cells (--data=).
enum class DataFormat { kString, kBare, kJson };

// Output settings shared by the chain's commands.
struct OutputOptions {
  ovsdb::TableFormat format = ovsdb::TableFormat::kList;  // --format (list/find).
  DataFormat data = DataFormat::kString;                  // --data / --bare.
  bool headings = true;                                   // --no-headings.
  bool pretty = false;                                    // --pretty (json).
};

// One command of a "--" chain as typed.
struct ParsedCommand {
  std::string name;                            // e.g. "add-br".
  std::vector<std::string> args;               // Its arguments.
  std::map<std::string, std::string> options;  // "--if-exists" -> "", "--id" -> "@p".
};

// What a command runs with.
struct Context {
  View& view;                          // The database as the chain sees it.
  SymbolTable& symbols;                // The chain's @names.
  const OutputOptions& output;         // --format and friends.
  const ParsedCommand& command;        // This command.
  std::string out;                     // What the command prints.
  std::vector<std::string>& warnings;  // Lines for stderr (exit status unaffected).

  bool Has(std::string_view option) const { return command.options.count(std::string(option)); }
  // The value of "--name=VALUE", or "".
  std::string Option(std::string_view option) const;
};

struct CommandSpec {
  std::string_view name;     // Command name.
  int min_args;              // Fewest arguments.
  int max_args;              // Most arguments; -1 = unlimited.
  std::string_view options;  // Accepted options, e.g. "--if-exists,--id=".
  bool read_only;            // Never changes the database (no cur_cfg wait).
  std::string_view usage;    // "add-br BR" for --help.
  std::string_view group;    // --help section.
  Status (*run)(Context& ctx);  // Runs the command.
};

// Every command, in --help order.
std::span<const CommandSpec> AllCommands();
// The command named `name`, or nullptr.
const CommandSpec* FindCommand(std::string_view name);
// The bridge/port commands and the database commands (their two files).
std::span<const CommandSpec> BridgeCommands();
std::span<const CommandSpec> DatabaseCommands();

// The table matching `name`.  Errors ("not found"/"usage"): `unknown table
// "x"`, `multiple table names match "x"`.
[[nodiscard]] Result<const ovsdb::TableSchema*> LookupTable(const ovsdb::DatabaseSchema& db,
                                                            std::string_view name);
// The column matching `name` (exact, else a unique prefix).  Errors:
// `Bridge does not contain a column whose name matches "x"`, ambiguity.
[[nodiscard]] Result<const ovsdb::ColumnSchema*> LookupColumn(const ovsdb::TableSchema& table,
                                                              std::string_view name);
// The record `id` of `table`: nullopt if none (callers word the error, or
// use MustFindRecord).  Errors: an ambiguous UUID prefix or name.
[[nodiscard]] Result<std::optional<ovsdb::Uuid>> FindRecord(View& view,
                                                            const ovsdb::TableSchema& table,
                                                            std::string_view id);
// FindRecord, with `no row "id" in table T` when it is missing.
[[nodiscard]] Result<ovsdb::Uuid> MustFindRecord(View& view, const ovsdb::TableSchema& table,
                                                 std::string_view id);

// Applies one "COLUMN[:KEY]=VALUE" argument to `row` of `table` (set,
// create, add-port).  Errors: lookups, read-only column, bad value.
[[nodiscard]] Status SetColumn(Context& ctx, const ovsdb::TableSchema& table,
                               const ovsdb::Uuid& row, std::string_view arg);

// "show" (vsctl_show.cc), listed with the bridge commands.
[[nodiscard]] Status CmdShow(Context& ctx);

// The text of one cell for list/find in `data` format.
ovsdb::OutputCell FormatCell(const ovsdb::Datum& datum, const ovsdb::Type& type, DataFormat data);

}  // namespace spate::vsctl

#endif  // SPATE_TOOLS_VSCTL_VSCTL_COMMANDS_H
