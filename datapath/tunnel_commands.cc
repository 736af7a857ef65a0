#include "datapath/tunnel_commands.h"

namespace spate::datapath {
namespace {

struct CommandDef {
  const char* name;   // Command name.
  const char* usage;  // list-commands text.
  int min_args;       // Fewest arguments.
  int max_args;       // Most arguments.
};

constexpr CommandDef kCommands[] = {
    {"ovs/route/add", "ip_addr/prefix_len out_br_name [gw] [pkt_mark=mark]", 2, 5},
    {"ovs/route/del", "ip_addr/prefix_len [pkt_mark=mark]", 1, 2},
    {"ovs/route/lookup", "ip_addr [pkt_mark=mark]", 1, 2},
    {"ovs/route/show", "", 0, 0},
    {"tnl/neigh/set", "BRIDGE IP MAC", 3, 3},
    {"tnl/neigh/show", "", 0, 0},
    {"tnl/neigh/flush", "", 0, 0},
    {"tnl/arp/set", "BRIDGE IP MAC", 3, 3},
    {"tnl/arp/show", "", 0, 0},
    {"tnl/arp/flush", "", 0, 0},
    {"tnl/ports/show", "-v", 0, 1},
};

Result<std::string> Dispatch(TunnelManager& t, const std::string& name,
                             const std::vector<std::string>& args) {
  if (name == "ovs/route/add") return t.RouteAdd(args);
  if (name == "ovs/route/del") return t.RouteDel(args);
  if (name == "ovs/route/lookup") return t.RouteLookup(args);
  if (name == "ovs/route/show") return t.RouteShow();
  if (name == "tnl/neigh/set" || name == "tnl/arp/set") return t.NeighSet(args);
  if (name == "tnl/neigh/show" || name == "tnl/arp/show") return t.NeighShow();
  if (name == "tnl/neigh/flush" || name == "tnl/arp/flush") {
    t.NeighFlush();
    return std::string("OK\n");
  }
  bool verbose = !args.empty() && (args[0] == "-v" || args[0] == "-V");
  return t.PortsShow(verbose);
}

}  // namespace

Result<std::string> RunTunnelCommand(TunnelManager& tunnels, const std::string& name,
                                     const std::vector<std::string>& args) {
  for (const CommandDef& c : kCommands) {
    if (name != c.name) continue;
    int n = static_cast<int>(args.size());
    if (n < c.min_args || n > c.max_args) {
      return Error("invalid argument", "\"" + name + "\" command takes between " +
                                           std::to_string(c.min_args) + " and " +
                                           std::to_string(c.max_args) + " arguments");
    }
    return Dispatch(tunnels, name, args);
  }
  return Error("invalid argument", "\"" + name + "\" is not a valid command");
}

void RegisterTunnelCommands(common::UnixctlServer& server, TunnelManager& tunnels) {
  for (const CommandDef& c : kCommands) {
    std::string name = c.name;
    server.Register(name, c.usage, c.min_args, c.max_args,
                    [&tunnels, name](const std::vector<std::string>& args) {
                      return Dispatch(tunnels, name, args);
                    });
  }
}

}  // namespace spate::datapath
