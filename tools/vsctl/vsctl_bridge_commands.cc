// ovs-vsctl's Open_vSwitch commands: init, show, and the bridge, port and
// interface commands, with Open vSwitch 3.1's output and wording.
#include <algorithm>
#include <map>

#include "tools/vsctl/vsctl.h"
#include "tools/vsctl/vsctl_commands.h"

namespace spate::vsctl {
namespace {

using ovsdb::Atom;
using ovsdb::Datum;
using ovsdb::TableSchema;
using ovsdb::Uuid;

// The four tables the bridge commands work on.
struct Tables {
  const TableSchema* ovs = nullptr;     // Open_vSwitch.
  const TableSchema* bridge = nullptr;  // Bridge.
  const TableSchema* port = nullptr;    // Port.
  const TableSchema* iface = nullptr;   // Interface.
};

Result<Tables> GetTables(Context& ctx) {
  Tables t;
  const ovsdb::DatabaseSchema& db = ctx.view.schema();
  t.ovs = db.FindTable("Open_vSwitch");
  t.bridge = db.FindTable("Bridge");
  t.port = db.FindTable("Port");
  t.iface = db.FindTable("Interface");
  if (!t.ovs || !t.bridge || !t.port || !t.iface) {
    return Error("usage", "database " + db.name + " is not an Open_vSwitch database");
  }
  return t;
}

std::string Name(Context& ctx, const TableSchema& table, const Uuid& row) {
  const Datum& d = ctx.view.Read(table, row, "name");
  return d.size() == 1 && d.keys()[0].type() == ovsdb::AtomicType::kString ? d.keys()[0].string()
                                                                          : std::string();
}

std::optional<Uuid> ByName(Context& ctx, const TableSchema& table, std::string_view name) {
  for (const Uuid& row : ctx.view.Rows(table)) {
    if (Name(ctx, table, row) == name) return row;
  }
  return std::nullopt;
}

// A port's tag when it is a valid VLAN (0..4095).
std::optional<int64_t> RowTag(Context& ctx, const Tables& t, const Uuid& port) {
  const Datum& tag = ctx.view.Read(*t.port, port, "tag");
  if (tag.size() != 1 || tag.keys()[0].type() != ovsdb::AtomicType::kInteger) return std::nullopt;
  int64_t v = tag.keys()[0].integer();
  if (v < 0 || v > 4095) return std::nullopt;
  return v;
}

// The live rows referenced by `column` of `row`.
std::vector<Uuid> Refs(Context& ctx, const TableSchema& table, const Uuid& row,
                       std::string_view column, const TableSchema& target) {
  std::vector<Uuid> out;
  for (const Atom& a : ctx.view.Read(table, row, column).keys()) {
    if (a.type() == ovsdb::AtomicType::kUuid && ctx.view.Exists(target, a.uuid())) {
      out.push_back(a.uuid());
    }
  }
  return out;
}

std::optional<Uuid> PortOfIface(Context& ctx, const Tables& t, const Uuid& iface) {
  for (const Uuid& port : ctx.view.Rows(*t.port)) {
    if (ctx.view.Read(*t.port, port, "interfaces").Find(Atom(iface)) >= 0) return port;
  }
  return std::nullopt;
}

// Adds or removes `member` in the uuid-set `column` of `row`.
void EditRefs(Context& ctx, const TableSchema& table, const Uuid& row, std::string_view column,
              const Uuid& member, bool add) {
  Datum d = ctx.view.Read(table, row, column);
  if (add) {
    d.Union(Datum(Atom(member)));
  } else {
    d.SubtractKeys(Datum(Atom(member)));
  }
  ctx.view.Write(table, row, column, std::move(d));
}

// The Open_vSwitch row (RunVsctl inserts one into an empty table).
Uuid OvsRow(Context& ctx, const Tables& t) { return ctx.view.Rows(*t.ovs).front(); }

// One bridge as ovs-vsctl sees it: a Bridge row, or a fake (VLAN) bridge,
// which is a Port with fake_bridge=true and a tag on its parent.
struct VBridge {
  std::string name;               // Bridge name.
  Uuid row;                       // The Bridge row (the parent's for fake bridges).
  std::optional<Uuid> fake_port;  // Fake bridges: their own Port.
  int64_t vlan = 0;               // Fake bridges: the VLAN; 0 for real ones.
  std::string parent;             // Fake bridges: the parent's name.
};

// Every bridge, and which bridge each port belongs to: a port tagged with
// a fake bridge's VLAN on that bridge's parent belongs to the fake bridge.
struct BridgeModel {
  std::vector<VBridge> bridges;        // Real bridges, then fake ones.
  std::map<Uuid, size_t> port_owner;   // Port -> index in bridges.

  const VBridge* Find(std::string_view name) const {
    for (const VBridge& b : bridges) {
      if (b.name == name) return &b;
    }
    return nullptr;
  }
  // The bridge owning `port`, or nullptr.
  const VBridge* Owner(const Uuid& port) const {
    auto it = port_owner.find(port);
    return it == port_owner.end() ? nullptr : &bridges[it->second];
  }
};

BridgeModel BuildModel(Context& ctx, const Tables& t) {
  BridgeModel m;
  for (const Uuid& br : ctx.view.Rows(*t.bridge)) m.bridges.push_back({Name(ctx, *t.bridge, br), br});
  size_t n_real = m.bridges.size();
  for (size_t i = 0; i < n_real; i++) {
    for (const Uuid& port : Refs(ctx, *t.bridge, m.bridges[i].row, "ports", *t.port)) {
      std::optional<int64_t> tag = RowTag(ctx, t, port);
      const Datum& fake = ctx.view.Read(*t.port, port, "fake_bridge");
      if (tag && fake.size() == 1 && fake.keys()[0].type() == ovsdb::AtomicType::kBoolean &&
          fake.keys()[0].boolean()) {
        m.bridges.push_back(
            {Name(ctx, *t.port, port), m.bridges[i].row, port, *tag, m.bridges[i].name});
      }
    }
  }
  for (size_t i = 0; i < n_real; i++) {
    for (const Uuid& port : Refs(ctx, *t.bridge, m.bridges[i].row, "ports", *t.port)) {
      size_t owner = i;
      std::optional<int64_t> tag = RowTag(ctx, t, port);
      for (size_t j = n_real; tag && j < m.bridges.size(); j++) {
        if (m.bridges[j].row == m.bridges[i].row && m.bridges[j].vlan == *tag) owner = j;
      }
      m.port_owner[port] = owner;
    }
  }
  return m;
}

Status CmdInit(Context&) { return Status::Ok(); }

// "cannot create a X named N because a port/an interface named N already
// exists on bridge B", or Ok.
Status CheckNameFree(Context& ctx, const Tables& t, const BridgeModel& m, std::string_view what,
                     std::string_view name) {
  std::string prefix = "cannot create " + std::string(what) + " named " + std::string(name) +
                       " because ";
  if (std::optional<Uuid> port = ByName(ctx, *t.port, name)) {
    const VBridge* br = m.Owner(*port);
    return Error("usage", prefix + "a port named " + std::string(name) +
                              " already exists on bridge " + (br ? br->name : ""));
  }
  if (std::optional<Uuid> iface = ByName(ctx, *t.iface, name)) {
    std::optional<Uuid> port = PortOfIface(ctx, t, *iface);
    const VBridge* br = port ? m.Owner(*port) : nullptr;
    return Error("usage", prefix + "an interface named " + std::string(name) +
                              " already exists on bridge " + (br ? br->name : ""));
  }
  return Status::Ok();
}

// A new Port with one Interface, both named `name`; returns the port.
Uuid NewPort(Context& ctx, const Tables& t, const std::string& name, bool internal) {
  Uuid iface = ctx.view.Insert(*t.iface);
  ctx.view.Write(*t.iface, iface, "name", Datum(Atom(name)));
  if (internal) ctx.view.Write(*t.iface, iface, "type", Datum(Atom(std::string("internal"))));
  Uuid port = ctx.view.Insert(*t.port);
  ctx.view.Write(*t.port, port, "name", Datum(Atom(name)));
  ctx.view.Write(*t.port, port, "interfaces", Datum(Atom(iface)));
  return port;
}

// "--may-exist add-br" on an existing bridge: Ok if it is the same kind.
Status CheckMayExist(Context& ctx, const VBridge& existing, const VBridge* parent, int64_t vlan) {
  std::string cmd = "\"--may-exist add-br";
  for (const std::string& a : ctx.command.args) cmd += " " + a;
  cmd += "\" but " + existing.name;
  if (!parent && existing.fake_port) {
    return Error("usage", cmd + " is a VLAN bridge for VLAN " + std::to_string(existing.vlan));
  }
  if (parent && !existing.fake_port) return Error("usage", cmd + " is not a VLAN bridge");
  if (parent && existing.parent != parent->name) {
    return Error("usage", cmd + " has the wrong parent " + existing.parent);
  }
  if (parent && existing.vlan != vlan) {
    return Error("usage", cmd + " is a VLAN bridge for the wrong VLAN " + std::to_string(existing.vlan));
  }
  return Status::Ok();
}

Status CmdAddBr(Context& ctx) {
  Result<Tables> t = GetTables(ctx);
  if (!t) return t.error();
  if (ctx.command.args.size() == 2) {
    return Error("usage", "'add-br' command takes exactly 1 or 3 arguments");
  }
  BridgeModel m = BuildModel(ctx, *t);
  const std::string& name = ctx.command.args[0];
  const VBridge* parent = nullptr;
  int64_t vlan = 0;
  if (ctx.command.args.size() == 3) {
    parent = m.Find(ctx.command.args[1]);
    if (!parent) return Error("not found", "no bridge named " + ctx.command.args[1]);
    if (parent->fake_port) return Error("usage", "cannot create bridge with fake bridge as parent");
    Result<Atom> tag = ParseAtom({}, ctx.command.args[2], nullptr);
    vlan = tag ? tag->integer() : -1;
    if (vlan < 0 || vlan > 4095) return Error("usage", "add-br: vlan must be between 0 and 4095");
  }
  if (const VBridge* existing = m.Find(name)) {
    if (ctx.Has("--may-exist")) return CheckMayExist(ctx, *existing, parent, vlan);
    return Error("usage", "cannot create a bridge named " + name + " because a bridge named " +
                              name + " already exists");
  }
  if (Status s = CheckNameFree(ctx, *t, m, "a bridge", name); !s) return s;
  Uuid port = NewPort(ctx, *t, name, true);
  if (parent) {
    ctx.view.Write(*t->port, port, "fake_bridge", Datum(Atom(true)));
    ctx.view.Write(*t->port, port, "tag", Datum(Atom(vlan)));
    EditRefs(ctx, *t->bridge, parent->row, "ports", port, true);
    return Status::Ok();
  }
  Uuid br = ctx.view.Insert(*t->bridge);
  ctx.view.Write(*t->bridge, br, "name", Datum(Atom(name)));
  ctx.view.Write(*t->bridge, br, "ports", Datum(Atom(port)));
  EditRefs(ctx, *t->ovs, OvsRow(ctx, *t), "bridges", br, true);
  return Status::Ok();
}

// Deletes `port` and its interfaces and removes it from its Bridge row.
void DeletePort(Context& ctx, const Tables& t, const Uuid& bridge_row, const Uuid& port) {
  for (const Uuid& iface : Refs(ctx, *t.port, port, "interfaces", *t.iface)) {
    ctx.view.Delete(*t.iface, iface);
  }
  ctx.view.Delete(*t.port, port);
  if (ctx.view.Exists(*t.bridge, bridge_row)) EditRefs(ctx, *t.bridge, bridge_row, "ports", port, false);
}

Status CmdDelBr(Context& ctx) {
  Result<Tables> t = GetTables(ctx);
  if (!t) return t.error();
  BridgeModel m = BuildModel(ctx, *t);
  const VBridge* br = m.Find(ctx.command.args[0]);
  if (!br) {
    if (ctx.Has("--if-exists")) return Status::Ok();
    return Error("not found", "no bridge named " + ctx.command.args[0]);
  }
  for (const auto& [port, owner] : m.port_owner) {
    if (!br->fake_port || &m.bridges[owner] == br) {
      if (m.bridges[owner].row == br->row) DeletePort(ctx, *t, br->row, port);
    }
  }
  if (br->fake_port) return Status::Ok();
  ctx.view.Delete(*t->bridge, br->row);
  EditRefs(ctx, *t->ovs, OvsRow(ctx, *t), "bridges", br->row, false);
  return Status::Ok();
}

Status CmdListBr(Context& ctx) {
  Result<Tables> t = GetTables(ctx);
  if (!t) return t.error();
  bool real = ctx.Has("--real");
  bool fake = ctx.Has("--fake");
  std::vector<std::string> names;
  for (const VBridge& b : BuildModel(ctx, *t).bridges) {
    if ((!real && !fake) || (real && !b.fake_port) || (fake && b.fake_port)) names.push_back(b.name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) ctx.out += n + "\n";
  return Status::Ok();
}

Status CmdBrExists(Context& ctx) {
  Result<Tables> t = GetTables(ctx);
  if (!t) return t.error();
  if (!BuildModel(ctx, *t).Find(ctx.command.args[0])) return Error(std::string(kExitStatus2));
  return Status::Ok();
}

// br-to-vlan and br-to-parent.
Status BrInfo(Context& ctx, bool vlan) {
  Result<Tables> t = GetTables(ctx);
  if (!t) return t.error();
  BridgeModel m = BuildModel(ctx, *t);
  const VBridge* br = m.Find(ctx.command.args[0]);
  if (!br) return Error("not found", "no bridge named " + ctx.command.args[0]);
  if (vlan) {
    ctx.out += std::to_string(br->vlan) + "\n";
  } else {
    ctx.out += (br->fake_port ? br->parent : br->name) + "\n";
  }
  return Status::Ok();
}

Status CmdBrToVlan(Context& ctx) { return BrInfo(ctx, true); }
Status CmdBrToParent(Context& ctx) { return BrInfo(ctx, false); }

Status CmdAddPort(Context& ctx) {
  Result<Tables> t = GetTables(ctx);
  if (!t) return t.error();
  BridgeModel m = BuildModel(ctx, *t);
  const std::string& br_name = ctx.command.args[0];
  const std::string& name = ctx.command.args[1];
  const VBridge* br = m.Find(br_name);
  if (!br) return Error("not found", "no bridge named " + br_name);
  if (std::optional<Uuid> port = ByName(ctx, *t->port, name)) {
    const VBridge* owner = m.Owner(*port);
    std::string owner_name = owner ? owner->name : "";
    if (ctx.Has("--may-exist") && owner == br) return Status::Ok();
    if (ctx.Has("--may-exist")) {
      return Error("usage", "\"--may-exist add-port " + br_name + " " + name + "\" but " + name +
                                " is actually attached to bridge " + owner_name);
    }
    return Error("usage", "cannot create a port named " + name + " because a port named " + name +
                              " already exists on bridge " + owner_name);
  }
  if (Status s = CheckNameFree(ctx, *t, m, "a port", name); !s) return s;
  Uuid port = NewPort(ctx, *t, name, false);
  if (br->fake_port) ctx.view.Write(*t->port, port, "tag", Datum(Atom(br->vlan)));
  for (size_t i = 2; i < ctx.command.args.size(); i++) {
    if (Status s = SetColumn(ctx, *t->port, port, ctx.command.args[i]); !s) return s;
  }
  EditRefs(ctx, *t->bridge, br->row, "ports", port, true);
  return Status::Ok();
}

// "bridge B does not have a port P", with Open vSwitch's hint when the
// port is on one of B's fake (child) bridges.
Error NotOnBridge(const VBridge& br, const VBridge& owner, const std::string& port) {
  std::string text = "bridge " + br.name + " does not have a port " + port;
  if (owner.fake_port && owner.parent == br.name) {
    text += " (although its child bridge " + owner.name + " does)";
  }
  return Error("not found", text);
}

Status CmdDelPort(Context& ctx) {
  Result<Tables> t = GetTables(ctx);
  if (!t) return t.error();
  BridgeModel m = BuildModel(ctx, *t);
  const std::string& name = ctx.command.args.back();
  std::optional<Uuid> port = ByName(ctx, *t->port, name);
  if (!port && ctx.Has("--with-iface")) {
    if (std::optional<Uuid> iface = ByName(ctx, *t->iface, name)) port = PortOfIface(ctx, *t, *iface);
  }
  if (!port) {
    if (ctx.Has("--if-exists")) return Status::Ok();
    return Error("not found", "no port named " + name);
  }
  const VBridge* owner = m.Owner(*port);
  if (ctx.command.args.size() == 2) {
    const VBridge* br = m.Find(ctx.command.args[0]);
    if (!br) return Error("not found", "no bridge named " + ctx.command.args[0]);
    if (owner != br) {
      if (!owner) return Error("not found", "bridge " + br->name + " does not have a port " + name);
      return NotOnBridge(*br, *owner, name);
    }
  }
  std::string port_name = Name(ctx, *t->port, *port);
  if (owner && owner->name == port_name) {
    return Error("usage", "cannot delete port " + port_name +
                              " because it is the local port for bridge " + port_name +
                              " (deleting this port requires deleting the entire bridge)");
  }
  if (owner) {
    DeletePort(ctx, *t, owner->row, *port);
  } else {
    DeletePort(ctx, *t, Uuid(), *port);
  }
  return Status::Ok();
}

// Names of the ports (or their interfaces) of bridge args[0], except the
// bridge's local port, sorted.
Status ListMembers(Context& ctx, bool ifaces) {
  Result<Tables> t = GetTables(ctx);
  if (!t) return t.error();
  BridgeModel m = BuildModel(ctx, *t);
  const VBridge* br = m.Find(ctx.command.args[0]);
  if (!br) return Error("not found", "no bridge named " + ctx.command.args[0]);
  std::vector<std::string> names;
  for (const auto& [port, owner] : m.port_owner) {
    if (&m.bridges[owner] != br || Name(ctx, *t->port, port) == br->name) continue;
    if (!ifaces) {
      names.push_back(Name(ctx, *t->port, port));
      continue;
    }
    for (const Uuid& iface : Refs(ctx, *t->port, port, "interfaces", *t->iface)) {
      names.push_back(Name(ctx, *t->iface, iface));
    }
  }
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) ctx.out += n + "\n";
  return Status::Ok();
}

Status CmdListPorts(Context& ctx) { return ListMembers(ctx, false); }
Status CmdListIfaces(Context& ctx) { return ListMembers(ctx, true); }

Status CmdPortToBr(Context& ctx) {
  Result<Tables> t = GetTables(ctx);
  if (!t) return t.error();
  BridgeModel m = BuildModel(ctx, *t);
  std::optional<Uuid> port = ByName(ctx, *t->port, ctx.command.args[0]);
  const VBridge* br = port ? m.Owner(*port) : nullptr;
  if (!br) return Error("not found", "no port named " + ctx.command.args[0]);
  ctx.out += br->name + "\n";
  return Status::Ok();
}

Status CmdIfaceToBr(Context& ctx) {
  Result<Tables> t = GetTables(ctx);
  if (!t) return t.error();
  BridgeModel m = BuildModel(ctx, *t);
  std::optional<Uuid> iface = ByName(ctx, *t->iface, ctx.command.args[0]);
  std::optional<Uuid> port = iface ? PortOfIface(ctx, *t, *iface) : std::nullopt;
  const VBridge* br = port ? m.Owner(*port) : nullptr;
  if (!br) return Error("not found", "no interface named " + ctx.command.args[0]);
  ctx.out += br->name + "\n";
  return Status::Ok();
}

const CommandSpec kBridgeCommands[] = {
    {"init", 0, 0, "", true, "init", "Open vSwitch commands", CmdInit},
    {"show", 0, 0, "", true, "show", "Open vSwitch commands", CmdShow},
    {"add-br", 1, 3, "--may-exist", false, "add-br BRIDGE [PARENT] [VLAN]", "Bridge commands",
     CmdAddBr},
    {"del-br", 1, 1, "--if-exists", false, "del-br BRIDGE", "Bridge commands", CmdDelBr},
    {"list-br", 0, 0, "--real,--fake", true, "list-br", "Bridge commands", CmdListBr},
    {"br-exists", 1, 1, "", true, "br-exists BRIDGE", "Bridge commands", CmdBrExists},
    {"br-to-vlan", 1, 1, "", true, "br-to-vlan BRIDGE", "Bridge commands", CmdBrToVlan},
    {"br-to-parent", 1, 1, "", true, "br-to-parent BRIDGE", "Bridge commands", CmdBrToParent},
    {"list-ports", 1, 1, "", true, "list-ports BRIDGE", "Port commands", CmdListPorts},
    {"add-port", 2, -1, "--may-exist", false, "add-port BRIDGE PORT [COLUMN[:KEY]=VALUE]...",
     "Port commands", CmdAddPort},
    {"del-port", 1, 2, "--if-exists,--with-iface", false, "del-port [BRIDGE] PORT",
     "Port commands", CmdDelPort},
    {"port-to-br", 1, 1, "", true, "port-to-br PORT", "Port commands", CmdPortToBr},
    {"list-ifaces", 1, 1, "", true, "list-ifaces BRIDGE", "Interface commands", CmdListIfaces},
    {"iface-to-br", 1, 1, "", true, "iface-to-br IFACE", "Interface commands", CmdIfaceToBr},
};

}  // namespace

std::span<const CommandSpec> BridgeCommands() { return kBridgeCommands; }

}  // namespace spate::vsctl
