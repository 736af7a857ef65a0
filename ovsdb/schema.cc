#include "ovsdb/schema.h"

#include <cctype>
#include <fstream>
#include <sstream>

namespace spate::ovsdb {
namespace {

Error Bad(std::string details) { return Error("syntax error", std::move(details)); }

bool IsVersion(const std::string& v) {
  int parts = 0;
  size_t i = 0;
  while (i < v.size()) {
    size_t start = i;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
    if (i == start || i - start > 9) return false;
    ++parts;
    if (i < v.size()) {
      if (v[i] != '.') return false;
      ++i;
      if (i == v.size()) return false;
    }
  }
  return parts == 3;
}

Result<ColumnSchema> ParseColumn(const std::string& table, const std::string& name,
                                 const Json& json) {
  std::string where = "table " + table + " column " + name + ": ";
  if (!IsValidId(name) || name[0] == '_') {
    return Bad(where + "names beginning with \"_\" are reserved and names must be "
                       "identifiers");
  }
  if (!json.is_object() || !json.contains("type")) {
    return Bad(where + "column schema must be an object with a \"type\"");
  }
  ColumnSchema c;
  c.name = name;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& k = it.key();
    if (k != "type" && k != "ephemeral" && k != "mutable") {
      return Bad(where + "unknown member \"" + k + "\"");
    }
  }
  auto type = Type::FromJson(json["type"]);
  if (!type) return Bad(where + type.error().details());
  c.type = std::move(*type);
  if (json.contains("ephemeral")) {
    if (!json["ephemeral"].is_boolean()) return Bad(where + "\"ephemeral\" must be a boolean");
    c.ephemeral = json["ephemeral"].get<bool>();
  }
  if (json.contains("mutable")) {
    if (!json["mutable"].is_boolean()) return Bad(where + "\"mutable\" must be a boolean");
    c.mutable_ = json["mutable"].get<bool>();
  }
  return c;
}

Status ParseIndexes(const Json& json, TableSchema* t) {
  if (!json.is_array()) return Bad("table " + t->name + ": \"indexes\" must be an array");
  for (const Json& idx : json) {
    if (!idx.is_array() || idx.empty()) {
      return Bad("table " + t->name + ": index must be a non-empty array of column names");
    }
    std::vector<int> cols;
    for (const Json& c : idx) {
      const ColumnSchema* col = c.is_string() ? t->FindColumn(c.get<std::string>()) : nullptr;
      if (col == nullptr) {
        return Bad("table " + t->name + " index: " + DumpJson(c) + " is not a column");
      }
      if (col->ephemeral) {
        return Bad("table " + t->name + ": ephemeral columns (such as " + col->name +
                   ") may not be indexed because the index could become "
                   "inconsistent after the database is reloaded");
      }
      for (int prev : cols) {
        if (prev == col->index) {
          return Bad("table " + t->name + ": column " + col->name +
                     " appears twice in one index");
        }
      }
      cols.push_back(col->index);
    }
    t->indexes.push_back(std::move(cols));
  }
  return Status::Ok();
}

Result<TableSchema> ParseTable(const std::string& name, const Json& json) {
  if (!IsValidId(name) || name[0] == '_') {
    return Bad("\"" + name + "\" is not a valid table name");
  }
  if (!json.is_object() || !json.contains("columns") || !json["columns"].is_object()) {
    return Bad("table " + name + ": table schema must be an object with \"columns\"");
  }
  TableSchema t;
  t.name = name;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& k = it.key();
    if (k != "columns" && k != "maxRows" && k != "isRoot" && k != "indexes") {
      return Bad("table " + name + ": unknown member \"" + k + "\"");
    }
  }
  if (json["columns"].empty()) return Bad("table " + name + ": table must have at least one column");
  ColumnSchema uuid{"_uuid", Type::Scalar(AtomicType::kUuid), false, false, 0};
  ColumnSchema version{"_version", Type::Scalar(AtomicType::kUuid), false, false, 1};
  t.columns.push_back(uuid);
  t.columns.push_back(version);
  for (auto it = json["columns"].begin(); it != json["columns"].end(); ++it) {
    auto c = ParseColumn(name, it.key(), it.value());
    if (!c) return c.error();
    c->index = static_cast<int>(t.columns.size());
    t.columns.push_back(std::move(*c));
  }
  for (const ColumnSchema& c : t.columns) t.column_index[c.name] = c.index;
  if (json.contains("maxRows")) {
    const Json& m = json["maxRows"];
    if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() >= kUnlimited) {
      return Bad("table " + name + ": \"maxRows\" must be a positive integer");
    }
    t.max_rows = m.get<unsigned>();
  }
  if (json.contains("isRoot")) {
    if (!json["isRoot"].is_boolean()) return Bad("table " + name + ": \"isRoot\" must be a boolean");
    t.is_root_set = json["isRoot"].get<bool>();
  }
  if (json.contains("indexes")) {
    if (Status s = ParseIndexes(json["indexes"], &t); !s) return s.error();
  }
  return t;
}

Status ResolveRefs(DatabaseSchema* db) {
  for (TableSchema& t : db->tables) {
    for (ColumnSchema& c : t.columns) {
      for (auto [base, slot] : {std::pair{&c.type.key, &c.key_ref_table},
                                {&c.type.value, &c.value_ref_table}}) {
        if (base == &c.type.value && !c.type.has_value) continue;
        if (base->ref_table.empty()) continue;
        auto it = db->table_index.find(base->ref_table);
        if (it == db->table_index.end()) {
          return Bad("table " + t.name + " column " + c.name +
                     ": reference to nonexistent table " + base->ref_table);
        }
        *slot = it->second;
        t.has_refs = true;
      }
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsValidId(std::string_view name) {
  if (name.empty()) return false;
  unsigned char c0 = static_cast<unsigned char>(name[0]);
  if (!std::isalpha(c0) && c0 != '_') return false;
  for (char ch : name) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (!std::isalnum(c) && c != '_') return false;
  }
  return true;
}

const ColumnSchema* TableSchema::FindColumn(std::string_view name) const {
  auto it = column_index.find(name);
  return it == column_index.end() ? nullptr : &columns[it->second];
}

Json TableSchema::ToJson(bool all_root) const {
  Json j = Json::object();
  Json cols = Json::object();
  for (size_t i = 2; i < columns.size(); ++i) {
    const ColumnSchema& c = columns[i];
    Json cj = Json::object();
    cj["type"] = c.type.ToJson();
    if (c.ephemeral) cj["ephemeral"] = true;
    if (!c.mutable_) cj["mutable"] = false;
    cols[c.name] = std::move(cj);
  }
  j["columns"] = std::move(cols);
  if (max_rows != kUnlimited) j["maxRows"] = max_rows;
  if (!all_root && is_root) j["isRoot"] = true;
  if (!indexes.empty()) {
    Json idx = Json::array();
    for (const auto& cols_of : indexes) {
      Json one = Json::array();
      for (int c : cols_of) one.push_back(columns[c].name);
      idx.push_back(std::move(one));
    }
    j["indexes"] = std::move(idx);
  }
  return j;
}

Result<DatabaseSchema> DatabaseSchema::FromJson(const Json& json) {
  if (!json.is_object()) return Bad("database schema must be a JSON object");
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& k = it.key();
    if (k != "name" && k != "version" && k != "cksum" && k != "tables" &&
        k != "doc") {
      return Bad("database schema: unknown member \"" + k + "\"");
    }
  }
  DatabaseSchema db;
  if (!json.contains("name") || !json["name"].is_string() ||
      !IsValidId(json["name"].get<std::string>())) {
    return Bad("database schema: \"name\" must be an identifier");
  }
  db.name = json["name"].get<std::string>();
  if (!json.contains("version") || !json["version"].is_string()) {
    return Bad("database schema: \"version\" is required");
  }
  db.version = json["version"].get<std::string>();
  if (!IsVersion(db.version)) {
    return Bad("schema version \"" + db.version + "\" not in format x.y.z");
  }
  if (json.contains("cksum")) {
    if (!json["cksum"].is_string()) return Bad("database schema: \"cksum\" must be a string");
    db.cksum = json["cksum"].get<std::string>();
  }
  if (!json.contains("tables") || !json["tables"].is_object()) {
    return Bad("database schema: \"tables\" must be an object");
  }
  for (auto it = json["tables"].begin(); it != json["tables"].end(); ++it) {
    auto t = ParseTable(it.key(), it.value());
    if (!t) return t.error();
    t->index = static_cast<int>(db.tables.size());
    db.table_index[t->name] = t->index;
    db.tables.push_back(std::move(*t));
  }
  bool any_root = false;
  for (const TableSchema& t : db.tables) any_root |= t.is_root_set;
  for (TableSchema& t : db.tables) t.is_root = any_root ? t.is_root_set : true;
  if (Status s = ResolveRefs(&db); !s) return s.error();
  return db;
}

Result<DatabaseSchema> DatabaseSchema::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error("I/O error", path + ": cannot open schema file");
  std::stringstream ss;
  ss << in.rdbuf();
  auto json = ParseJson(ss.str());
  if (!json) return Error("syntax error", path + ": " + json.error().details());
  auto schema = FromJson(*json);
  if (!schema) return Error(schema.error().tag(), path + ": " + schema.error().details());
  return schema;
}

Json DatabaseSchema::ToJson() const {
  bool all_root = true;
  for (const TableSchema& t : tables) all_root &= t.is_root;
  Json j = Json::object();
  j["name"] = name;
  j["version"] = version;
  if (!cksum.empty()) j["cksum"] = cksum;
  Json ts = Json::object();
  for (const TableSchema& t : tables) ts[t.name] = t.ToJson(all_root);
  j["tables"] = std::move(ts);
  return j;
}

const TableSchema* DatabaseSchema::FindTable(std::string_view table) const {
  auto it = table_index.find(table);
  return it == table_index.end() ? nullptr : &tables[it->second];
}

bool DatabaseSchema::operator==(const DatabaseSchema& other) const {
  return ToJson() == other.ToJson();
}

}  // namespace spate::ovsdb
