// Table, column and record lookups and the command registry (see
// vsctl_commands.h).
#include <algorithm>
#include <cctype>
#include <strings.h>

#include "ovsdb/json_codec.h"
#include "tools/vsctl/vsctl_commands.h"

namespace spate::vsctl {
namespace {

bool EqualNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool PrefixNoCase(std::string_view prefix, std::string_view s) {
  return prefix.size() <= s.size() && EqualNoCase(prefix, s.substr(0, prefix.size()));
}

// The column that names records of `table` ("name"), or nullptr.
const ovsdb::ColumnSchema* NameColumn(const ovsdb::TableSchema& table) {
  if (table.name == "Bridge" || table.name == "Port" || table.name == "Interface") {
    return table.FindColumn("name");
  }
  return nullptr;
}

// True if `id` could be an abbreviated UUID (4+ hex digits and dashes).
bool IsPartialUuid(std::string_view id) {
  size_t digits = 0;
  for (char c : id) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      digits++;
    } else if (c != '-') {
      return false;
    }
  }
  return digits >= 4 && id.size() <= 36;
}

}  // namespace

std::string Context::Option(std::string_view option) const {
  auto it = command.options.find(std::string(option));
  return it == command.options.end() ? std::string() : it->second;
}

std::span<const CommandSpec> AllCommands() {
  static const std::vector<CommandSpec> all = [] {
    std::vector<CommandSpec> v(BridgeCommands().begin(), BridgeCommands().end());
    v.insert(v.end(), DatabaseCommands().begin(), DatabaseCommands().end());
    return v;
  }();
  return all;
}

const CommandSpec* FindCommand(std::string_view name) {
  for (const CommandSpec& spec : AllCommands()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

Result<const ovsdb::TableSchema*> LookupTable(const ovsdb::DatabaseSchema& db,
                                              std::string_view name) {
  const ovsdb::TableSchema* match = nullptr;
  for (const ovsdb::TableSchema& t : db.tables) {
    if (EqualNoCase(t.name, name)) return &t;
  }
  for (const ovsdb::TableSchema& t : db.tables) {
    if (!name.empty() && PrefixNoCase(name, t.name)) {
      if (match) return Error("usage", "multiple table names match \"" + std::string(name) + "\"");
      match = &t;
    }
  }
  if (!match) return Error("not found", "unknown table \"" + std::string(name) + "\"");
  return match;
}

Result<const ovsdb::ColumnSchema*> LookupColumn(const ovsdb::TableSchema& table,
                                                std::string_view name) {
  const ovsdb::ColumnSchema* match = nullptr;
  for (const ovsdb::ColumnSchema& c : table.columns) {
    if (c.name == name && c.index != ovsdb::kVersionColumn) return &c;
  }
  for (const ovsdb::ColumnSchema& c : table.columns) {
    if (c.index == ovsdb::kVersionColumn || name.empty() || !PrefixNoCase(name, c.name)) continue;
    if (match) {
      return Error("usage", table.name + " contains more than one column whose name matches \"" +
                                std::string(name) + "\"");
    }
    match = &c;
  }
  if (!match) {
    return Error("not found", table.name + " does not contain a column whose name matches \"" +
                                  std::string(name) + "\"");
  }
  return match;
}

Result<std::optional<ovsdb::Uuid>> FindRecord(View& view, const ovsdb::TableSchema& table,
                                              std::string_view id) {
  std::vector<ovsdb::Uuid> rows = view.Rows(table);
  if (std::optional<ovsdb::Uuid> uuid = ovsdb::Uuid::Parse(id)) {
    if (view.Exists(table, *uuid)) return std::optional<ovsdb::Uuid>(*uuid);
  }
  if (table.name == "Open_vSwitch" && id == "." && !rows.empty()) {
    return std::optional<ovsdb::Uuid>(rows.front());
  }
  if (const ovsdb::ColumnSchema* name = NameColumn(table)) {
    std::optional<ovsdb::Uuid> found;
    for (const ovsdb::Uuid& row : rows) {
      const ovsdb::Datum& d = view.Read(table, row, name->index);
      if (d.size() != 1 || d.keys()[0].string() != id) continue;
      if (found) {
        return Error("usage", "multiple rows in " + table.name + " match \"" + std::string(id) + "\"");
      }
      found = row;
    }
    if (found) return found;
  }
  if (IsPartialUuid(id)) {
    std::optional<ovsdb::Uuid> found;
    for (const ovsdb::Uuid& row : rows) {
      if (row.ToString().rfind(std::string(id), 0) != 0) continue;
      if (found) {
        return Error("usage", "multiple rows in " + table.name + " match \"" + std::string(id) + "\"");
      }
      found = row;
    }
    if (found) return found;
  }
  return std::optional<ovsdb::Uuid>();
}

Result<ovsdb::Uuid> MustFindRecord(View& view, const ovsdb::TableSchema& table,
                                   std::string_view id) {
  Result<std::optional<ovsdb::Uuid>> row = FindRecord(view, table, id);
  if (!row) return row.error();
  if (!*row) {
    return Error("not found", "no row \"" + std::string(id) + "\" in table " + table.name);
  }
  return **row;
}

ovsdb::OutputCell FormatCell(const ovsdb::Datum& datum, const ovsdb::Type& type, DataFormat data) {
  ovsdb::OutputCell cell;
  cell.json = datum.ToJson(type);
  switch (data) {
    case DataFormat::kString: cell.text = datum.ToString(type); break;
    case DataFormat::kBare: cell.text = BareString(datum); break;
    case DataFormat::kJson: cell.text = ovsdb::DumpJson(cell.json); break;
  }
  return cell;
}

}  // namespace spate::vsctl
