// The bodies of ovn-nbctl's commands (see nbctl_commands.h).
#include "northd/nbctl_commands.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>

#include "ovsdb/atom.h"
#include "ovsdb/datum.h"

namespace spate::northd {
namespace {

using ovsdb::Atom;
using ovsdb::Datum;
using ovsdb::Uuid;
using ovsdb::idl::RowView;
using Args = std::vector<std::string>;

constexpr std::string_view kSwitch = "Logical_Switch";
constexpr std::string_view kPort = "Logical_Port";

Error NotFound(std::string_view what, std::string_view id) {
  const char* kind = Uuid::Parse(id) ? "UUID" : "name";
  return Error("not found", std::string(what) + " not found for " + kind + ": '" +
                                std::string(id) + "'");
}

// Rows of `table` sorted by name, then UUID.
std::vector<RowView> SortedRows(NbctlContext& ctx, std::string_view table) {
  std::vector<RowView> rows = ctx.idl.table(table)->All();
  std::sort(rows.begin(), rows.end(), [](const RowView& a, const RowView& b) {
    std::string na = a.GetString("name"), nb = b.GetString("name");
    return na != nb ? na < nb : a.uuid() < b.uuid();
  });
  return rows;
}

// Reference §3.2: UUID first, then every row with that name.
Result<RowView> FindSwitch(NbctlContext& ctx, const std::string& id) {
  const ovsdb::idl::ReplicaTable* table = ctx.idl.table(kSwitch);
  if (std::optional<Uuid> uuid = Uuid::Parse(id)) {
    if (std::optional<RowView> row = table->Get(*uuid)) return *row;
  }
  std::vector<RowView> matches;
  for (const RowView& row : SortedRows(ctx, kSwitch)) {
    if (row.GetString("name") == id) matches.push_back(row);
  }
  if (matches.empty()) return NotFound("lswitch", id);
  if (matches.size() > 1) {
    std::string list;
    for (const RowView& row : matches) list += (list.empty() ? "" : ", ") + row.uuid().ToString();
    return Error("ambiguous", "there is more than one logical switch named '" + id +
                                  "' (" + list + "); use a UUID");
  }
  return matches.front();
}

// Ports: UUID first, then the (unique, by index) name.
Result<RowView> FindPort(NbctlContext& ctx, const std::string& id) {
  const ovsdb::idl::ReplicaTable* table = ctx.idl.table(kPort);
  if (std::optional<Uuid> uuid = Uuid::Parse(id)) {
    if (std::optional<RowView> row = table->Get(*uuid)) return *row;
  }
  if (std::optional<RowView> row = table->FindBy("name", Atom(id))) return *row;
  return NotFound("lport", id);
}

std::string Listing(const RowView& row) {
  return row.uuid().ToString() + " (" + row.GetString("name") + ")\n";
}

// A set-of-strings column value from `values`.
Result<Datum> StringSet(NbctlContext& ctx, std::string_view table, std::string_view column,
                        const std::vector<std::string>& values) {
  const ovsdb::ColumnSchema* col =
      ctx.idl.replica()->schema().FindTable(table)->FindColumn(column);
  std::vector<Atom> atoms;
  for (const std::string& v : values) atoms.emplace_back(v);
  std::sort(atoms.begin(), atoms.end());
  atoms.erase(std::unique(atoms.begin(), atoms.end()), atoms.end());
  return Datum::FromAtoms(col->type, std::move(atoms), {});
}

// Read-modify-write of the whole map guarded by a verify, as the 2015 tool
// did: a concurrent change to external_ids makes the commit try again.
// (Txn::SetMapEntry's delete+insert mutate pair is not used: the IDL's
// "replica has seen it" check never accepts it, so CommitBlock would wait
// for its whole timeout.)
Status SetExternalId(NbctlContext& ctx, std::string_view table, const RowView& row,
                     const Args& a) {
  std::map<std::string, std::string> ids = row.GetStringMap("external_ids");
  if (a.size() == 3) {
    ids[a[1]] = a[2];
  } else {
    ids.erase(a[1]);
  }
  std::vector<Atom> keys, values;
  for (auto& [key, value] : ids) {
    keys.emplace_back(key);
    values.emplace_back(value);
  }
  const ovsdb::ColumnSchema* col =
      ctx.idl.replica()->schema().FindTable(table)->FindColumn("external_ids");
  Result<Datum> datum = Datum::FromAtoms(col->type, std::move(keys), std::move(values));
  if (!datum) return datum.error();
  Status s = ctx.txn.Verify(table, row.uuid(), "external_ids");
  if (!s) return s;
  return ctx.txn.Set(table, row.uuid(), "external_ids", std::move(*datum));
}

// With a key: the value (nothing if unset); without: key=value lines.
void GetExternalId(NbctlContext& ctx, const RowView& row, const Args& a) {
  std::map<std::string, std::string> ids = row.GetStringMap("external_ids");
  if (a.size() == 2) {
    auto it = ids.find(a[1]);
    if (it != ids.end()) ctx.out += it->second + "\n";
    return;
  }
  for (const auto& [key, value] : ids) ctx.out += key + "=" + value + "\n";
}

void PrintLines(NbctlContext& ctx, std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  for (const std::string& line : lines) ctx.out += line + "\n";
}

// ---- Logical switch commands ----

Status LswitchAdd(NbctlContext& ctx, const Args& a) {
  Uuid row = ctx.txn.Insert(kSwitch);
  if (a.empty()) return Status::Ok();
  return ctx.txn.SetString(kSwitch, row, "name", a[0]);
}

Status LswitchDel(NbctlContext& ctx, const Args& a) {
  Result<RowView> sw = FindSwitch(ctx, a[0]);
  if (!sw) return sw.error();
  // Rows still referring to it would make the server refuse the commit
  // (strong references, no garbage collection in the April-2015 schema).
  for (std::string_view table : {kPort, std::string_view("ACL")}) {
    for (const RowView& row : ctx.idl.table(table)->All()) {
      if (row.GetOptionalUuid("lswitch") != sw->uuid()) continue;
      return Error("usage", "logical switch '" + a[0] + "' still has " +
                                (table == kPort ? "ports" : "ACLs") + "; delete them first");
    }
  }
  return ctx.txn.Delete(kSwitch, sw->uuid());
}

Status LswitchList(NbctlContext& ctx, const Args&) {
  for (const RowView& row : SortedRows(ctx, kSwitch)) ctx.out += Listing(row);
  return Status::Ok();
}

Status LswitchSetExternalId(NbctlContext& ctx, const Args& a) {
  Result<RowView> sw = FindSwitch(ctx, a[0]);
  if (!sw) return sw.error();
  return SetExternalId(ctx, kSwitch, *sw, a);
}

Status LswitchGetExternalId(NbctlContext& ctx, const Args& a) {
  Result<RowView> sw = FindSwitch(ctx, a[0]);
  if (!sw) return sw.error();
  GetExternalId(ctx, *sw, a);
  return Status::Ok();
}

// ---- Logical port commands ----

Status LportAdd(NbctlContext& ctx, const Args& a) {
  if (a.size() != 2 && a.size() != 4) {
    return Error("usage", "lport-add takes LPORT LSWITCH or LPORT LSWITCH PARENT TAG");
  }
  Result<RowView> sw = FindSwitch(ctx, a[1]);
  if (!sw) return sw.error();
  if (ctx.idl.table(kPort)->FindBy("name", Atom(a[0]))) {
    return Error("usage", "lport with name '" + a[0] + "' already exists");
  }
  std::optional<int64_t> tag;
  if (a.size() == 4 && !(tag = ParseTag(a[3]))) {
    return Error("usage", "invalid tag '" + a[3] + "' (must be an integer 0..4095)");
  }
  Uuid port = ctx.txn.Insert(kPort);
  Status s = ctx.txn.SetString(kPort, port, "name", a[0]);
  if (s) s = ctx.txn.Set(kPort, port, "lswitch", Datum(Atom(sw->uuid())));
  if (s && tag) s = ctx.txn.SetString(kPort, port, "parent_name", a[2]);
  if (s && tag) s = ctx.txn.SetInteger(kPort, port, "tag", *tag);
  return s;
}

Status LportDel(NbctlContext& ctx, const Args& a) {
  Result<RowView> port = FindPort(ctx, a[0]);
  if (!port) return port.error();
  return ctx.txn.Delete(kPort, port->uuid());
}

Status LportList(NbctlContext& ctx, const Args& a) {
  Result<RowView> sw = FindSwitch(ctx, a[0]);
  if (!sw) return sw.error();
  for (const RowView& port : SortedRows(ctx, kPort)) {
    if (port.GetOptionalUuid("lswitch") == sw->uuid()) ctx.out += Listing(port);
  }
  return Status::Ok();
}

Status LportSetExternalId(NbctlContext& ctx, const Args& a) {
  Result<RowView> port = FindPort(ctx, a[0]);
  if (!port) return port.error();
  return SetExternalId(ctx, kPort, *port, a);
}

Status LportGetExternalId(NbctlContext& ctx, const Args& a) {
  Result<RowView> port = FindPort(ctx, a[0]);
  if (!port) return port.error();
  GetExternalId(ctx, *port, a);
  return Status::Ok();
}

// lport-set-macs / lport-set-port-security: Ethernet addresses ("unknown"
// too for macs), replacing the column; no addresses clears it.
Status SetAddresses(NbctlContext& ctx, const Args& a, std::string_view column) {
  Result<RowView> port = FindPort(ctx, a[0]);
  if (!port) return port.error();
  std::vector<std::string> addrs(a.begin() + 1, a.end());
  for (const std::string& addr : addrs) {
    if (!IsEthernetAddress(addr) && !(column == "macs" && addr == "unknown")) {
      return Error("usage", "invalid MAC address '" + addr + "'");
    }
  }
  Result<Datum> value = StringSet(ctx, kPort, column, addrs);
  if (!value) return value.error();
  return ctx.txn.Set(kPort, port->uuid(), column, std::move(*value));
}

Status LportSetMacs(NbctlContext& ctx, const Args& a) { return SetAddresses(ctx, a, "macs"); }
Status LportSetPortSecurity(NbctlContext& ctx, const Args& a) {
  return SetAddresses(ctx, a, "port_security");
}

// Prints one line per element of a set-of-strings column.
Status GetStrings(NbctlContext& ctx, const Args& a, std::string_view column) {
  Result<RowView> port = FindPort(ctx, a[0]);
  if (!port) return port.error();
  PrintLines(ctx, port->GetStrings(column));
  return Status::Ok();
}

Status LportGetMacs(NbctlContext& ctx, const Args& a) { return GetStrings(ctx, a, "macs"); }
Status LportGetPortSecurity(NbctlContext& ctx, const Args& a) {
  return GetStrings(ctx, a, "port_security");
}

Status LportGetUp(NbctlContext& ctx, const Args& a) {
  Result<RowView> port = FindPort(ctx, a[0]);
  if (!port) return port.error();
  bool up = !port->Get("up").empty() && port->GetBool("up");
  ctx.out += up ? "up\n" : "down\n";
  return Status::Ok();
}

Status LportGetParent(NbctlContext& ctx, const Args& a) {
  Result<RowView> port = FindPort(ctx, a[0]);
  if (!port) return port.error();
  if (auto parent = port->GetOptionalString("parent_name")) ctx.out += *parent + "\n";
  return Status::Ok();
}

Status LportGetTag(NbctlContext& ctx, const Args& a) {
  Result<RowView> port = FindPort(ctx, a[0]);
  if (!port) return port.error();
  if (auto tag = port->GetOptionalInteger("tag")) ctx.out += std::to_string(*tag) + "\n";
  return Status::Ok();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status LportSetEnabled(NbctlContext& ctx, const Args& a) {
  Result<RowView> port = FindPort(ctx, a[0]);
  if (!port) return port.error();
  std::string state = Lower(a[1]);
  if (state != "enabled" && state != "disabled") {
    return Error("usage", "invalid state '" + a[1] + "' (must be enabled or disabled)");
  }
  return ctx.txn.SetBool(kPort, port->uuid(), "enabled", state == "enabled");
}

Status LportGetEnabled(NbctlContext& ctx, const Args& a) {
  Result<RowView> port = FindPort(ctx, a[0]);
  if (!port) return port.error();
  bool enabled = port->Get("enabled").empty() || port->GetBool("enabled");
  ctx.out += enabled ? "enabled\n" : "disabled\n";
  return Status::Ok();
}

// ---- ACL commands (June 2015: no direction column) ----

constexpr std::string_view kAcl = "ACL";

// The ACLs of `sw`, sorted as acl-list prints them: priority descending,
// then match, then action, then UUID.
std::vector<RowView> SwitchAcls(NbctlContext& ctx, const RowView& sw) {
  std::vector<RowView> acls;
  for (const RowView& acl : ctx.idl.table(kAcl)->All()) {
    if (acl.GetOptionalUuid("lswitch") == sw.uuid()) acls.push_back(acl);
  }
  std::sort(acls.begin(), acls.end(), [](const RowView& a, const RowView& b) {
    int64_t pa = a.GetInteger("priority"), pb = b.GetInteger("priority");
    if (pa != pb) return pa > pb;
    std::string ma = a.GetString("match"), mb = b.GetString("match");
    if (ma != mb) return ma < mb;
    std::string aa = a.GetString("action"), ab = b.GetString("action");
    return aa != ab ? aa < ab : a.uuid() < b.uuid();
  });
  return acls;
}

Result<int64_t> AclPriority(const std::string& text) {
  std::optional<int64_t> priority = ParseAclPriority(text);
  if (!priority) {
    return Error("usage", "invalid priority '" + text + "' (must be an integer " +
                              std::to_string(kMinAclPriority) + ".." +
                              std::to_string(kMaxAclPriority) + ")");
  }
  return *priority;
}

// acl-add LSWITCH PRIORITY MATCH ACTION [log]
Status AclAdd(NbctlContext& ctx, const Args& a) {
  Result<RowView> sw = FindSwitch(ctx, a[0]);
  if (!sw) return sw.error();
  Result<int64_t> priority = AclPriority(a[1]);
  if (!priority) return priority.error();
  if (a[2].empty()) return Error("usage", "ACL match must not be empty");
  if (!IsAclAction(a[3])) {
    return Error("usage", "invalid action '" + a[3] +
                              "' (must be allow, allow-related, drop or reject)");
  }
  if (a.size() == 5 && a[4] != "log") {
    return Error("usage", "invalid argument '" + a[4] + "' (the only option is 'log')");
  }
  for (const RowView& acl : SwitchAcls(ctx, *sw)) {
    if (acl.GetInteger("priority") == *priority && acl.GetString("match") == a[2]) {
      return Error("usage", "an ACL with priority " + a[1] + " and match '" + a[2] +
                                "' already exists on lswitch '" + a[0] + "'");
    }
  }
  Uuid acl = ctx.txn.Insert(kAcl);
  Status s = ctx.txn.Set(kAcl, acl, "lswitch", Datum(Atom(sw->uuid())));
  if (s) s = ctx.txn.SetInteger(kAcl, acl, "priority", *priority);
  if (s) s = ctx.txn.SetString(kAcl, acl, "match", a[2]);
  if (s) s = ctx.txn.SetString(kAcl, acl, "action", a[3]);
  if (s) s = ctx.txn.SetBool(kAcl, acl, "log", a.size() == 5);
  return s;
}

// acl-del LSWITCH [PRIORITY MATCH]: all of the switch's ACLs, or one.
Status AclDel(NbctlContext& ctx, const Args& a) {
  if (a.size() == 2) return Error("usage", "acl-del takes LSWITCH or LSWITCH PRIORITY MATCH");
  Result<RowView> sw = FindSwitch(ctx, a[0]);
  if (!sw) return sw.error();
  std::vector<RowView> acls = SwitchAcls(ctx, *sw);
  if (a.size() == 1) {
    for (const RowView& acl : acls) {
      if (Status s = ctx.txn.Delete(kAcl, acl.uuid()); !s) return s;
    }
    return Status::Ok();
  }
  Result<int64_t> priority = AclPriority(a[1]);
  if (!priority) return priority.error();
  for (const RowView& acl : acls) {
    if (acl.GetInteger("priority") == *priority && acl.GetString("match") == a[2]) {
      return ctx.txn.Delete(kAcl, acl.uuid());
    }
  }
  return Error("not found", "no ACL with priority " + a[1] + " and match '" + a[2] +
                                "' on lswitch '" + a[0] + "'");
}

// acl-list LSWITCH: "%5d (%s) %s%s" per ACL (reference §3.4 without the
// direction column, which came in August 2015).
Status AclList(NbctlContext& ctx, const Args& a) {
  Result<RowView> sw = FindSwitch(ctx, a[0]);
  if (!sw) return sw.error();
  for (const RowView& acl : SwitchAcls(ctx, *sw)) {
    std::string priority = std::to_string(acl.GetInteger("priority"));
    if (priority.size() < 5) priority.insert(0, 5 - priority.size(), ' ');
    ctx.out += priority + " (" + acl.GetString("match") + ") " + acl.GetString("action") +
               (acl.GetBool("log") ? " log" : "") + "\n";
  }
  return Status::Ok();
}

// ---- show ----

void ShowSwitch(NbctlContext& ctx, const RowView& sw,
                const std::vector<RowView>& ports) {
  ctx.out += "    lswitch " + Listing(sw);
  for (const RowView& port : ports) {
    if (port.GetOptionalUuid("lswitch") != sw.uuid()) continue;
    ctx.out += "        lport " + port.GetString("name") + "\n";
    auto parent = port.GetOptionalString("parent_name");
    auto tag = port.GetOptionalInteger("tag");
    if (parent && tag) {
      ctx.out += "            parent: " + *parent + ", tag:" + std::to_string(*tag) + "\n";
    }
    std::vector<std::string> macs = port.GetStrings("macs");
    if (!macs.empty()) {
      std::string line = "            macs:";
      for (const std::string& mac : macs) line += " " + mac;
      ctx.out += line + "\n";
    }
  }
}

Status Show(NbctlContext& ctx, const Args& a) {
  std::vector<RowView> ports = SortedRows(ctx, kPort);
  if (!a.empty()) {
    Result<RowView> sw = FindSwitch(ctx, a[0]);
    if (!sw) return sw.error();
    ShowSwitch(ctx, *sw, ports);
    return Status::Ok();
  }
  for (const RowView& sw : SortedRows(ctx, kSwitch)) ShowSwitch(ctx, sw, ports);
  return Status::Ok();
}

constexpr std::string_view kGeneral = "General commands";
constexpr std::string_view kSwitches = "Logical switch commands";
constexpr std::string_view kPorts = "Logical port commands";
constexpr std::string_view kAcls = "ACL commands";

}  // namespace

bool IsEthernetAddress(std::string_view text) {
  if (text.size() != 17) return false;
  for (size_t i = 0; i < text.size(); i++) {
    bool ok = i % 3 == 2 ? text[i] == ':' : std::isxdigit(static_cast<unsigned char>(text[i]));
    if (!ok) return false;
  }
  return true;
}

std::optional<int64_t> ParseTag(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < 0 || value > 4095) {
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> ParseAclPriority(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < kMinAclPriority ||
      value > kMaxAclPriority) {
    return std::nullopt;
  }
  return value;
}

bool IsAclAction(std::string_view text) {
  return text == "allow" || text == "allow-related" || text == "drop" || text == "reject";
}

const std::vector<NbctlCommand>& NbctlCommands() {
  static const std::vector<NbctlCommand> kCommands = {
      {"show", 0, 1, "show [LSWITCH]              print overview of database contents",
       kGeneral, false, Show},
      {"lswitch-add", 0, 1, "lswitch-add [LSWITCH]       create a logical switch named LSWITCH",
       kSwitches, true, LswitchAdd},
      {"lswitch-del", 1, 1, "lswitch-del LSWITCH         delete LSWITCH (it must have no ports)",
       kSwitches, true, LswitchDel},
      {"lswitch-list", 0, 0, "lswitch-list                print the names of all logical switches",
       kSwitches, false, LswitchList},
      {"lswitch-set-external-id", 2, 3,
       "lswitch-set-external-id LSWITCH KEY [VALUE]\n"
       "                              set or delete an external-id on LSWITCH",
       kSwitches, true, LswitchSetExternalId},
      {"lswitch-get-external-id", 1, 2,
       "lswitch-get-external-id LSWITCH [KEY]\n"
       "                              list one or all external-ids on LSWITCH",
       kSwitches, false, LswitchGetExternalId},
      {"lport-add", 2, 4,
       "lport-add LPORT LSWITCH [PARENT TAG]\n"
       "                              add logical port LPORT on LSWITCH (with\n"
       "                              parent port PARENT and VLAN TAG)",
       kPorts, true, LportAdd},
      {"lport-del", 1, 1, "lport-del LPORT             delete LPORT from its attached switch",
       kPorts, true, LportDel},
      {"lport-list", 1, 1, "lport-list LSWITCH          print the names of all ports on LSWITCH",
       kPorts, false, LportList},
      {"lport-get-parent", 1, 1, "lport-get-parent LPORT      get the parent of LPORT if set",
       kPorts, false, LportGetParent},
      {"lport-get-tag", 1, 1, "lport-get-tag LPORT         get the LPORT's tag if set", kPorts,
       false, LportGetTag},
      {"lport-set-external-id", 2, 3,
       "lport-set-external-id LPORT KEY [VALUE]\n"
       "                              set or delete an external-id on LPORT",
       kPorts, true, LportSetExternalId},
      {"lport-get-external-id", 1, 2,
       "lport-get-external-id LPORT [KEY]\n"
       "                              list one or all external-ids on LPORT",
       kPorts, false, LportGetExternalId},
      {"lport-set-macs", 1, -1, "lport-set-macs LPORT [MAC]...\n"
       "                              set MAC addresses for LPORT",
       kPorts, true, LportSetMacs},
      {"lport-get-macs", 1, 1, "lport-get-macs LPORT        get a list of MACs on LPORT", kPorts,
       false, LportGetMacs},
      {"lport-set-port-security", 1, -1, "lport-set-port-security LPORT [ADDRS]...\n"
       "                              set port security addresses for LPORT",
       kPorts, true, LportSetPortSecurity},
      {"lport-get-port-security", 1, 1,
       "lport-get-port-security LPORT  get LPORT's port security addresses", kPorts, false,
       LportGetPortSecurity},
      {"lport-get-up", 1, 1, "lport-get-up LPORT          get state of LPORT ('up' or 'down')",
       kPorts, false, LportGetUp},
      {"lport-set-enabled", 2, 2,
       "lport-set-enabled LPORT STATE\n"
       "                              set administrative state LPORT\n"
       "                              ('enabled' or 'disabled')",
       kPorts, true, LportSetEnabled},
      {"lport-get-enabled", 1, 1,
       "lport-get-enabled LPORT     get administrative state LPORT\n"
       "                              ('enabled' or 'disabled')",
       kPorts, false, LportGetEnabled},
      {"acl-add", 4, 5,
       "acl-add LSWITCH PRIORITY MATCH ACTION [log]\n"
       "                              add an ACL to LSWITCH (ACTION: allow,\n"
       "                              allow-related, drop or reject)",
       kAcls, true, AclAdd},
      {"acl-del", 1, 3,
       "acl-del LSWITCH [PRIORITY MATCH]\n"
       "                              remove ACLs from LSWITCH (all, or the one\n"
       "                              with PRIORITY and MATCH)",
       kAcls, true, AclDel},
      {"acl-list", 1, 1, "acl-list LSWITCH            print ACLs for LSWITCH", kAcls, false,
       AclList},
  };
  return kCommands;
}

const NbctlCommand* FindNbctlCommand(std::string_view name) {
  for (const NbctlCommand& command : NbctlCommands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

}  // namespace spate::northd
