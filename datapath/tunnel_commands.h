// The tunnel and underlay `ovs-appctl` commands of a datapath daemon.
//
// What
//   RegisterTunnelCommands adds to a UnixctlServer, with Open vSwitch 3.1's
//   names, usages, argument counts and output texts:
//     ovs/route/add ip_addr/prefix_len out_br_name [gw] [pkt_mark=mark]
//                   (src=IP also accepted)
//     ovs/route/del ip_addr/prefix_len [pkt_mark=mark]
//     ovs/route/lookup ip_addr [pkt_mark=mark]
//     ovs/route/show
//     tnl/neigh/set BRIDGE IP MAC, tnl/neigh/show, tnl/neigh/flush
//     (and the older tnl/arp/* spellings, as Open vSwitch keeps them)
//     tnl/ports/show [-v]
//   RunTunnelCommand runs one of them by name without a server (tests, or
//   a daemon with its own dispatcher).
//
// Thread-safety: the handlers run on the server's thread and call the
// TunnelManager's control methods (which are thread-safe).
#ifndef SPATE_DATAPATH_TUNNEL_COMMANDS_H
#define SPATE_DATAPATH_TUNNEL_COMMANDS_H

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unixctl.h"
#include "datapath/tunnel_manager.h"

namespace spate::datapath {

// Registers the commands above on `server`, served by `tunnels` (which
// must outlive the server's use of them).
void RegisterTunnelCommands(common::UnixctlServer& server, TunnelManager& tunnels);

// Runs command `name` with `args` against `tunnels`: the reply text, or an
// Error whose details() is Open vSwitch's error text.  Unknown names and
// argument counts outside the command's range are errors.
Result<std::string> RunTunnelCommand(TunnelManager& tunnels, const std::string& name,
                                     const std::vector<std::string>& args);

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_TUNNEL_COMMANDS_H
