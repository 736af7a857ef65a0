// ovsdb-tool show-log, in Open vSwitch's output format.
#include <ctime>
#include <map>

#include "ovsdb/file.h"
#include "ovsdb/tool.h"

namespace spate::ovsdb {
namespace {

std::string FormatDate(int64_t ms) {
  if (ms < (int64_t{1} << 32)) ms *= 1000;  // Very old files used seconds.
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  char out[80];
  snprintf(out, sizeof out, "%s.%03d", buf, static_cast<int>(ms % 1000));
  return out;
}

void PrintRows(const DatabaseSchema& schema, const Json& rec, int more, bool is_diff,
               std::map<std::string, std::string>* names, std::ostream& out) {
  for (auto t = rec.begin(); t != rec.end(); ++t) {
    if (t.key().empty() || t.key()[0] == '_' || !t.value().is_object()) continue;
    const TableSchema* ts = schema.FindTable(t.key());
    for (auto r = t.value().begin(); r != t.value().end(); ++r) {
      const std::string& uuid = r.key();
      std::string uuid8 = uuid.substr(0, 8);
      auto known = names->find(uuid);
      bool has_name = r.value().is_object() && r.value().contains("name") &&
                      r.value()["name"].is_string();
      out << "  table " << t.key();
      if (known == names->end()) {
        std::string name = has_name ? DumpJson(r.value()["name"]) : uuid8;
        out << " insert row " << (has_name ? name + " (" + uuid8 + ")" : name) << ":\n";
        (*names)[uuid] = name;
      } else {
        out << " row " << known->second << " (" << uuid8 << ")" << (is_diff ? " diff" : "")
            << ":\n";
        if (has_name) known->second = DumpJson(r.value()["name"]);
      }
      if (r.value().is_null()) {
        out << "    delete row\n";
        names->erase(uuid);
        continue;
      }
      if (more < 2 || ts == nullptr || !r.value().is_object()) continue;
      for (auto c = r.value().begin(); c != r.value().end(); ++c) {
        const ColumnSchema* col = ts->FindColumn(c.key());
        if (col == nullptr) continue;
        Type type = col->type;
        if (known != names->end() && is_diff && type.IsComposite()) {
          type.n_min = 0;
          type.n_max = kUnlimited;
        }
        auto v = Datum::FromJson(type, c.value(), nullptr);
        out << "    " << c.key() << "=" << (v ? v->ToString(type) : DumpJson(c.value()))
            << "\n";
      }
    }
  }
}

}  // namespace

bool ShowLog(const std::string& path, int more, std::ostream& out, std::ostream& err) {
  auto log = ReadLog(path);
  if (!log) {
    err << "ovsdb-tool: " << log.error().ToString() << "\n";
    return false;
  }
  std::map<std::string, std::string> names;
  std::optional<DatabaseSchema> schema;
  for (size_t i = 0; i < log->records.size(); ++i) {
    const Json& rec = log->records[i].json;
    out << "record " << i << ":";
    if (i == 0) {
      auto s = DatabaseSchema::FromJson(rec);
      if (!s) {
        err << "ovsdb-tool: " << path << ": " << s.error().ToString() << "\n";
        return false;
      }
      out << " " << DumpJson(Json(s->name)) << " schema, version=" << DumpJson(Json(s->version))
          << ", cksum=" << DumpJson(Json(s->cksum)) << "\n\n";
      schema = std::move(*s);
      continue;
    }
    if (rec.contains("_date") && rec["_date"].is_number()) {
      out << " " << FormatDate(rec["_date"].get<int64_t>());
    }
    if (rec.contains("_comment") && rec["_comment"].is_string()) {
      out << " " << DumpJson(rec["_comment"]);
    }
    out << "\n";
    if (more > 0) {
      bool is_diff = rec.contains("_is_diff") && rec["_is_diff"] == true;
      PrintRows(*schema, rec, more, is_diff, &names, out);
      out << "\n";
    }
  }
  if (!log->tail_error.empty()) {
    err << "ovsdb-tool: " << path << ": " << log->tail_error << "\n";
  }
  return true;
}

}  // namespace spate::ovsdb
