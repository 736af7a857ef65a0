// Schema: the database schema of RFC 7047 §3.2 plus Open vSwitch's
// extensions (isRoot, indexes, maxRows, version, cksum, ephemeral, mutable).
//
// What: DatabaseSchema -> TableSchema -> ColumnSchema, parsed from and
// printed to the .ovsschema JSON, with validation that names what is wrong
// ("table Foo column bar: reference to nonexistent table Baz").
//
// Design: every table gets the implicit columns _uuid (index 0) and
// _version (index 1); user columns follow in name order, so a column is a
// small integer index into a row's field vector.  Tables are kept in name
// order and addressed by index too.  Each base type's refTable is resolved
// to a table index.  Backward-compatibility rule of Open vSwitch: if no
// table sets isRoot, every table is root (no garbage collection).
//
// Thread-safety: immutable after Parse; share it freely.
#ifndef SPATE_OVSDB_SCHEMA_H
#define SPATE_OVSDB_SCHEMA_H

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "ovsdb/types.h"

namespace spate::ovsdb {

inline constexpr int kUuidColumn = 0;     // Index of _uuid in every table.
inline constexpr int kVersionColumn = 1;  // Index of _version.

struct ColumnSchema {
  std::string name;        // Column name.
  Type type;               // Column type.
  bool ephemeral = false;  // Not written to disk.
  bool mutable_ = true;    // May be changed by update/mutate.
  int index = 0;           // Position in the table's column vector.
  int key_ref_table = -1;    // Resolved key refTable index, or -1.
  int value_ref_table = -1;  // Resolved value refTable index, or -1.

  bool HasRefs() const { return key_ref_table >= 0 || value_ref_table >= 0; }
  bool HasStrongRefs() const {
    return (key_ref_table >= 0 && type.key.ref_type == RefType::kStrong) ||
           (value_ref_table >= 0 && type.value.ref_type == RefType::kStrong);
  }
  bool HasWeakRefs() const {
    return (key_ref_table >= 0 && type.key.ref_type == RefType::kWeak) ||
           (value_ref_table >= 0 && type.value.ref_type == RefType::kWeak);
  }
};

struct TableSchema {
  std::string name;                  // Table name.
  std::vector<ColumnSchema> columns;  // _uuid, _version, then by name.
  std::map<std::string, int, std::less<>> column_index;  // Name -> index.
  bool is_root = false;       // Effective root flag (after the compat rule).
  bool is_root_set = false;   // "isRoot": true appeared in the JSON.
  unsigned max_rows = kUnlimited;       // "maxRows", kUnlimited if absent.
  std::vector<std::vector<int>> indexes;  // Unique column sets.
  int index = 0;              // Position in the database's table vector.
  bool has_refs = false;      // Some column references a table.

  // The column named `name`, or nullptr.
  const ColumnSchema* FindColumn(std::string_view name) const;
  Json ToJson(bool all_root) const;
};

struct DatabaseSchema {
  std::string name;     // Database name.
  std::string version;  // "x.y.z".
  std::string cksum;    // "CRC32 LENGTH" or "".
  std::vector<TableSchema> tables;  // In name order.
  std::map<std::string, int, std::less<>> table_index;  // Name -> index.

  // Parses and validates a schema.  Errors: ("syntax error", what is wrong
  // and where).
  static Result<DatabaseSchema> FromJson(const Json& json);
  // Reads and parses a schema file.  Errors also ("I/O error", ...).
  static Result<DatabaseSchema> FromFile(const std::string& path);
  Json ToJson() const;
  // The table named `name`, or nullptr.
  const TableSchema* FindTable(std::string_view name) const;
  // Semantic equality (same JSON form).
  bool operator==(const DatabaseSchema& other) const;
};

// True if `name` is a valid OVSDB identifier ([A-Za-z_][A-Za-z0-9_]*).
bool IsValidId(std::string_view name);

}  // namespace spate::ovsdb

#endif  // SPATE_OVSDB_SCHEMA_H
