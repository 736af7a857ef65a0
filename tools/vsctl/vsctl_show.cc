// ovs-vsctl's "show": the Open_vSwitch row, its bridges, their ports and
// interfaces as a tree, with Open vSwitch 3.1's layout and columns.
#include <algorithm>

#include "tools/vsctl/vsctl_commands.h"

namespace spate::vsctl {
namespace {

using ovsdb::Atom;
using ovsdb::Datum;
using ovsdb::TableSchema;
using ovsdb::Uuid;

// What `show` prints of one table (Open vSwitch 3.1's cmd_show_tables).
struct ShowTable {
  std::string_view table;                 // Table name.
  bool named;                             // Print "Table NAME" (else the UUID).
  std::vector<std::string_view> columns;  // Columns in order.
};

const ShowTable kShowTables[] = {
    {"Open_vSwitch", false, {"manager_options", "bridges", "ovs_version"}},
    {"Bridge", true, {"controller", "fail_mode", "datapath_type", "ports"}},
    {"Port", true, {"tag", "trunks", "interfaces"}},
    {"Interface", true, {"type", "options", "error", "bfd_status"}},
    {"Controller", true, {"is_connected"}},
    {"Manager", true, {"is_connected"}},
};

const ShowTable* FindShowTable(std::string_view name) {
  for (const ShowTable& s : kShowTables) {
    if (s.table == name) return &s;
  }
  return nullptr;
}

void ShowRow(Context& ctx, const ShowTable& show, const TableSchema& table, const Uuid& row,
             int level, std::vector<std::string_view>* shown) {
  std::string indent(static_cast<size_t>(level) * 4, ' ');
  if (show.named) {
    const ovsdb::ColumnSchema* name = table.FindColumn("name");
    ctx.out += indent + table.name + " " +
               (name ? ctx.view.Read(table, row, name->index).ToString(name->type) : "") + "\n";
  } else {
    ctx.out += indent + row.ToString() + "\n";
  }
  if (std::find(shown->begin(), shown->end(), show.table) != shown->end()) return;
  shown->push_back(show.table);
  std::string inner(static_cast<size_t>(level + 1) * 4, ' ');
  for (std::string_view column : show.columns) {
    const ovsdb::ColumnSchema* c = table.FindColumn(column);
    if (!c) continue;
    const Datum& datum = ctx.view.Read(table, row, c->index);
    const ShowTable* ref = c->type.key.type == ovsdb::AtomicType::kUuid && !c->type.IsMap()
                               ? FindShowTable(c->type.key.ref_table)
                               : nullptr;
    const TableSchema* ref_table = ref ? ctx.view.schema().FindTable(ref->table) : nullptr;
    if (ref_table) {
      for (const Atom& a : datum.keys()) {
        if (ctx.view.Exists(*ref_table, a.uuid())) {
          ShowRow(ctx, *ref, *ref_table, a.uuid(), level + 1, shown);
        }
      }
      continue;
    }
    if (!datum.IsDefault(c->type)) {
      ctx.out += inner + c->name + ": " + datum.ToString(c->type) + "\n";
    }
  }
  shown->pop_back();
}

}  // namespace

Status CmdShow(Context& ctx) {
  const TableSchema* ovs = ctx.view.schema().FindTable("Open_vSwitch");
  if (!ovs) return Error("usage", "database " + ctx.view.schema().name + " has no Open_vSwitch table");
  std::vector<std::string_view> shown;
  for (const Uuid& row : ctx.view.Rows(*ovs)) ShowRow(ctx, kShowTables[0], *ovs, row, 0, &shown);
  return Status::Ok();
}

}  // namespace spate::vsctl

