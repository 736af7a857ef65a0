// ovsdb-client output formats and the dump table.
#include "ovsdb/client_format.h"

#include <algorithm>
#include <numeric>

#include "ovsdb/datum.h"
#include "ovsdb/json_codec.h"

namespace spate::ovsdb {
namespace {

void PrintPlain(const OutputTable& t, bool headings, std::string* out) {
  if (!t.caption.empty()) *out += t.caption + "\n";
  std::vector<size_t> widths(t.headings.size(), 0);
  for (size_t x = 0; x < t.headings.size(); ++x) {
    if (headings) widths[x] = t.headings[x].size();
    for (const auto& row : t.rows) widths[x] = std::max(widths[x], row[x].text.size());
  }
  auto line = [&](auto cell_text) {
    std::string l;
    for (size_t x = 0; x < widths.size(); ++x) {
      if (x) l += ' ';
      std::string_view text = cell_text(x);
      l += text;
      if (x + 1 < widths.size()) l.append(widths[x] - text.size(), ' ');
    }
    *out += l + "\n";
  };
  if (headings) {
    line([&](size_t x) -> std::string_view { return t.headings[x]; });
    std::vector<std::string> dashes;
    for (size_t w : widths) dashes.emplace_back(w, '-');
    line([&](size_t x) -> std::string_view { return dashes[x]; });
  }
  for (const auto& row : t.rows) line([&](size_t x) -> std::string_view { return row[x].text; });
}

void PrintList(const OutputTable& t, bool headings, std::string* out) {
  if (!t.caption.empty()) *out += t.caption + "\n";
  for (size_t y = 0; y < t.rows.size(); ++y) {
    if (y) *out += "\n";
    for (size_t x = 0; x < t.headings.size(); ++x) {
      if (headings) {
        std::string h = t.headings[x];
        if (h.size() < 20) h.append(20 - h.size(), ' ');
        *out += h + ": ";
      }
      *out += t.rows[y][x].text + "\n";
    }
  }
}

std::string CsvCell(const std::string& text) {
  if (text.find_first_of("\n\",") == std::string::npos) return text;
  std::string q = "\"";
  for (char c : text) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

void PrintCsv(const OutputTable& t, bool headings, std::string* out) {
  if (!t.caption.empty()) *out += t.caption + "\n";
  auto line = [&](auto cell) {
    for (size_t x = 0; x < t.headings.size(); ++x) *out += (x ? "," : "") + CsvCell(cell(x));
    *out += "\n";
  };
  if (headings) line([&](size_t x) { return t.headings[x]; });
  for (const auto& row : t.rows) line([&](size_t x) { return row[x].text; });
}

void PrintJson(const OutputTable& t, std::string* out) {
  Json j = Json::object();
  if (!t.caption.empty()) j["caption"] = t.caption;
  Json data = Json::array();
  for (const auto& row : t.rows) {
    Json r = Json::array();
    for (const auto& c : row) r.push_back(c.json);
    data.push_back(std::move(r));
  }
  j["data"] = std::move(data);
  j["headings"] = t.headings;  // Even with --no-headings, as OVS.
  *out += DumpJson(j) + "\n";
}

// OVSDB's datum order: fewer elements first, then keys, then values.
bool DatumLess(const Datum& a, const Datum& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  if (a.keys() != b.keys()) return a.keys() < b.keys();
  return a.values() < b.values();
}

}  // namespace

Result<TableFormat> ParseTableFormat(std::string_view name) {
  if (name == "table") return TableFormat::kTable;
  if (name == "list") return TableFormat::kList;
  if (name == "csv") return TableFormat::kCsv;
  if (name == "json") return TableFormat::kJson;
  return Error("usage", "unknown output format \"" + std::string(name) + "\"");
}

std::string FormatTable(const OutputTable& table, const FormatOptions& options) {
  std::string out;
  switch (options.format) {
    case TableFormat::kTable: PrintPlain(table, options.headings, &out); break;
    case TableFormat::kList: PrintList(table, options.headings, &out); break;
    case TableFormat::kCsv: PrintCsv(table, options.headings, &out); break;
    case TableFormat::kJson: PrintJson(table, &out); break;
  }
  return out;
}

Result<OutputTable> DumpTable(const TableSchema& table, const Json& rows,
                              const std::vector<std::string>& columns) {
  std::vector<const ColumnSchema*> cols;
  for (const std::string& name : columns) {
    const ColumnSchema* c = table.FindColumn(name);
    if (c == nullptr) {
      return Error("syntax error", "Table \"" + table.name + "\" has no column " + name + ".");
    }
    cols.push_back(c);
  }
  if (columns.empty()) {
    for (const ColumnSchema& c : table.columns) {
      if (c.index != kVersionColumn) cols.push_back(&c);
    }
  }
  std::sort(cols.begin(), cols.end(), [](const ColumnSchema* a, const ColumnSchema* b) {
    if ((a->index == kUuidColumn) != (b->index == kUuidColumn)) return a->index == kUuidColumn;
    return a->name < b->name;
  });
  cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
  if (!rows.is_array()) return Error("syntax error", "rows must be an array");
  std::vector<std::vector<Datum>> data;
  for (const Json& row : rows) {
    std::vector<Datum> values;
    for (const ColumnSchema* c : cols) {
      auto it = row.is_object() ? row.find(c->name) : row.end();
      if (it == row.end()) return Error("syntax error", "row lacks column " + c->name);
      Result<Datum> d = Datum::FromJson(c->type, *it, nullptr);
      if (!d.ok()) return d.error();
      values.push_back(std::move(d).value());
    }
    data.push_back(std::move(values));
  }
  std::vector<size_t> order(data.size());
  std::iota(order.begin(), order.end(), 0);
  auto less = [&](size_t a, size_t b) {
    for (size_t x = 0; x < cols.size(); ++x) {
      if (cols[x]->type.key.type == AtomicType::kUuid) continue;
      if (DatumLess(data[a][x], data[b][x])) return true;
      if (DatumLess(data[b][x], data[a][x])) return false;
    }
    for (size_t x = 0; x < cols.size(); ++x) {
      if (cols[x]->index == kUuidColumn) return DatumLess(data[a][x], data[b][x]);
    }
    return false;
  };
  std::stable_sort(order.begin(), order.end(), less);
  OutputTable out;
  out.caption = table.name + " table";
  for (const ColumnSchema* c : cols) out.headings.push_back(c->name);
  for (size_t y : order) {
    std::vector<OutputCell> cells;
    for (size_t x = 0; x < cols.size(); ++x) {
      cells.push_back({data[y][x].ToString(cols[x]->type), data[y][x].ToJson(cols[x]->type)});
    }
    out.rows.push_back(std::move(cells));
  }
  return out;
}

namespace {

// Appends one monitor line: `row`, `action`, then each column's value in
// `values` (blank if absent).
Status AddMonitorLine(const TableSchema& table, const std::vector<std::string>& columns,
                      const std::string& row, const std::string& action, const Json& values,
                      OutputTable* out) {
  std::vector<OutputCell> cells = {{row, Json(row)}, {action, Json(action)}};
  for (const std::string& name : columns) {
    const ColumnSchema* c = table.FindColumn(name);
    auto it = values.is_object() ? values.find(name) : values.end();
    if (c == nullptr || it == values.end()) {
      cells.push_back({"", Json("")});
      continue;
    }
    Result<Datum> d = Datum::FromJson(c->type, *it, nullptr);
    if (!d.ok()) return d.error();
    cells.push_back({d->ToString(c->type), d->ToJson(c->type)});
  }
  out->rows.push_back(std::move(cells));
  return Status::Ok();
}

}  // namespace

Result<OutputTable> MonitorUpdateTable(const TableSchema& table,
                                       const std::vector<std::string>& columns,
                                       const Json& table_update, bool initial) {
  OutputTable out;
  out.headings = {"row", "action"};
  out.headings.insert(out.headings.end(), columns.begin(), columns.end());
  if (!table_update.is_object()) return Error("syntax error", "table-update must be an object");
  for (auto it = table_update.begin(); it != table_update.end(); ++it) {
    const Json& u = *it;
    bool has_old = u.is_object() && u.contains("old");
    bool has_new = u.is_object() && u.contains("new");
    Status s = Status::Ok();
    if (has_old && has_new) {
      s = AddMonitorLine(table, columns, it.key(), "old", u["old"], &out);
      if (s.ok()) s = AddMonitorLine(table, columns, "", "new", u["new"], &out);
    } else if (has_new) {
      s = AddMonitorLine(table, columns, it.key(), initial ? "initial" : "insert", u["new"], &out);
    } else if (has_old) {
      s = AddMonitorLine(table, columns, it.key(), "delete", u["old"], &out);
    } else {
      return Error("syntax error", "row-update lacks \"old\" and \"new\"");
    }
    if (!s.ok()) return s.error();
  }
  return out;
}

}  // namespace spate::ovsdb
