// ovsdb-client output formats and the dump table.
#include "ovsdb/client_format.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <numeric>

#include "ovsdb/datum.h"
#include "ovsdb/json_codec.h"

namespace spate::ovsdb {
namespace {

// The timestamp and caption lines, where present.
void PrintTitle(const OutputTable& t, std::string* out) {
  if (!t.timestamp.empty()) *out += t.timestamp + "\n";
  if (!t.caption.empty()) *out += t.caption + "\n";
}

void PrintPlain(const OutputTable& t, bool headings, std::string* out) {
  PrintTitle(t, out);
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
    l.erase(l.find_last_not_of(' ') + 1);  // Open vSwitch trims trailing blanks.
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
  PrintTitle(t, out);
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
  PrintTitle(t, out);
  auto line = [&](auto cell) {
    for (size_t x = 0; x < t.headings.size(); ++x) *out += (x ? "," : "") + CsvCell(cell(x));
    *out += "\n";
  };
  if (headings) line([&](size_t x) { return t.headings[x]; });
  for (const auto& row : t.rows) line([&](size_t x) { return row[x].text; });
}

void PrintJson(const OutputTable& t, bool pretty, std::string* out) {
  Json j = Json::object();
  if (!t.caption.empty()) j["caption"] = t.caption;
  if (!t.timestamp.empty()) j["time"] = t.timestamp;
  Json data = Json::array();
  for (const auto& row : t.rows) {
    Json r = Json::array();
    for (const auto& c : row) r.push_back(c.json);
    data.push_back(std::move(r));
  }
  j["data"] = std::move(data);
  j["headings"] = t.headings;  // Even with --no-headings, as OVS.
  *out += (pretty ? PrettyJson(j) : DumpJson(j)) + "\n";
}

void AppendPretty(const Json& json, int depth, std::string* out) {
  auto indent = [&] {
    *out += '\n';
    out->append(2 * static_cast<size_t>(depth + 1), ' ');
  };
  if (json.is_array()) {
    *out += '[';
    for (size_t i = 0; i < json.size(); ++i) {
      if (i) *out += ',';
      indent();
      AppendPretty(json[i], depth + 1, out);
    }
    *out += ']';
  } else if (json.is_object()) {
    *out += '{';
    if (json.empty()) indent();
    for (auto it = json.begin(); it != json.end(); ++it) {
      if (it != json.begin()) *out += ',';
      indent();
      *out += DumpJson(Json(it.key())) + ": ";
      AppendPretty(*it, depth + 1, out);
    }
    *out += '}';
  } else {
    *out += DumpJson(json);
  }
}

bool IsHexDigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// True if `text` at `pos` starts with a UUID (8-4-4-4-12 hex digits).
bool UuidAt(std::string_view text, size_t pos) {
  static constexpr std::string_view kShape = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
  if (text.size() - pos < kShape.size()) return false;
  for (size_t i = 0; i < kShape.size(); ++i) {
    char c = text[pos + i];
    if (kShape[i] == '-' ? c != '-' : !IsHexDigit(c)) return false;
  }
  return true;
}

// One <th>/<td> line: escaped text, UUIDs as links (anchors if `anchor`).
void HtmlCell(const char* element, std::string_view text, bool anchor, std::string* out) {
  *out += std::string("    <") + element + ">";
  for (size_t p = 0; p < text.size();) {
    if (UuidAt(text, p)) {
      std::string uuid(text.substr(p, 36));
      *out += std::string("<a ") + (anchor ? "name" : "href") + "=\"" + (anchor ? "" : "#") + uuid +
              "\">" + uuid.substr(0, 8) + "</a>";
      p += 36;
      continue;
    }
    switch (text[p]) {
      case '&': *out += "&amp;"; break;
      case '<': *out += "&lt;"; break;
      case '>': *out += "&gt;"; break;
      case '"': *out += "&quot;"; break;
      default: *out += text[p]; break;
    }
    ++p;
  }
  *out += std::string("</") + element + ">\n";
}

void PrintHtml(const OutputTable& t, bool headings, std::string* out) {
  if (!t.timestamp.empty()) *out += t.timestamp + "\n";
  *out += "<table border=1>\n";
  if (!t.caption.empty()) {
    std::string caption;
    HtmlCell("caption", t.caption, false, &caption);
    *out += caption;
  }
  if (headings) {
    *out += "  <tr>\n";
    for (const std::string& h : t.headings) HtmlCell("th", h, false, out);
    *out += "  </tr>\n";
  }
  for (const auto& row : t.rows) {
    *out += "  <tr>\n";
    for (size_t x = 0; x < row.size(); ++x) {
      bool anchor = x < t.headings.size() && t.headings[x] == "_uuid";
      HtmlCell("td", row[x].text, anchor, out);
    }
    *out += "  </tr>\n";
  }
  *out += "</table>\n";
}

// OVSDB's datum order: fewer elements first, then keys, then values.
bool DatumLess(const Datum& a, const Datum& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  if (a.keys() != b.keys()) return a.keys() < b.keys();
  return a.values() < b.values();
}

}  // namespace

std::string PrettyJson(const Json& json) {
  std::string out;
  AppendPretty(json, 0, &out);
  return out;
}

std::string TimestampNow() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(ms % 1000));
  return buf;
}

Result<TableFormat> ParseTableFormat(std::string_view name) {
  if (name == "table") return TableFormat::kTable;
  if (name == "list") return TableFormat::kList;
  if (name == "csv") return TableFormat::kCsv;
  if (name == "json") return TableFormat::kJson;
  if (name == "html") return TableFormat::kHtml;
  return Error("usage", "unknown output format \"" + std::string(name) + "\"");
}

bool SeparatesTables(TableFormat format) {
  return format != TableFormat::kJson && format != TableFormat::kHtml;
}

std::string FormatTable(const OutputTable& table, const FormatOptions& options) {
  std::string out;
  switch (options.format) {
    case TableFormat::kTable: PrintPlain(table, options.headings, &out); break;
    case TableFormat::kList: PrintList(table, options.headings, &out); break;
    case TableFormat::kCsv: PrintCsv(table, options.headings, &out); break;
    case TableFormat::kJson: PrintJson(table, options.pretty, &out); break;
    case TableFormat::kHtml: PrintHtml(table, options.headings, &out); break;
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

Result<OutputTable> MonitorUpdate2Table(const TableSchema& table,
                                        const std::vector<std::string>& columns,
                                        const Json& table_update) {
  OutputTable out;
  out.headings = {"row", "action"};
  out.headings.insert(out.headings.end(), columns.begin(), columns.end());
  if (!table_update.is_object()) return Error("syntax error", "table-update2 must be an object");
  TableSchema diff_table = table;  // Diffs may hold any number of elements.
  for (ColumnSchema& c : diff_table.columns) {
    if (!c.type.IsComposite()) continue;  // At most one element: the new value.
    c.type.n_min = 0;
    c.type.n_max = kUnlimited;
  }
  for (auto it = table_update.begin(); it != table_update.end(); ++it) {
    if (!it->is_object() || it->size() != 1) {
      return Error("syntax error", "row-update2 must hold exactly one member");
    }
    const std::string& action = it->begin().key();
    const Json& values = it->begin().value();
    Status s = Status::Ok();
    if (action == "initial" || action == "insert") {
      s = AddMonitorLine(table, columns, it.key(), action, values, &out);
    } else if (action == "modify") {
      s = AddMonitorLine(diff_table, columns, it.key(), action, values, &out);
    } else if (action == "delete") {
      s = AddMonitorLine(table, columns, it.key(), action, Json::object(), &out);
    } else {
      return Error("syntax error", "unknown row-update2 action \"" + action + "\"");
    }
    if (!s.ok()) return s.error();
  }
  return out;
}

}  // namespace spate::ovsdb
