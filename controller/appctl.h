// RegisterSwitchCommands: ovn-controller's `ovs-appctl` commands over the
// switch (bridge.h), as ovs-vswitchd names and prints them.
//
// Commands
//   dpif/show                              ports and lookup totals
//   dpif/dump-flows BRIDGE                 the datapath (megaflow) cache
//   dpif-netdev/pmd-stats-show [-pmd CORE] [DP]   per-PMD counters
//   dpif-netdev/pmd-stats-clear [-pmd CORE] [DP]  zero them
//   dpif-netdev/pmd-rxq-show [-pmd CORE] [DP]     receive queues per PMD
//   ofproto/trace [BRIDGE] FLOW [PACKET]   the slow path's explanation;
//                                          FLOW in datapath or ofctl form
//                                          (flow_compose.h), PACKET in hex
//   netdev-dummy/receive PORT PACKET...    inject frames (hex or a flow)
//   netdev-dummy/set-admin-state PORT up|down   a dummy port's link state
//   ofctl/add-flow BRIDGE FLOW             ovs-ofctl add-flow
//   ofctl/add-flows BRIDGE FILE            one flow per line, '#' comments,
//                                          all in one atomic commit
//   ofctl/mod-flows BRIDGE [--strict] FLOW
//   ofctl/del-flows BRIDGE [--strict] [MATCH]
//   ofctl/dump-flows BRIDGE [MATCH]        ovs-ofctl dump-flows's lines
//   netdev-dummy/ip4addr|ip6addr IFACE IP/PLEN   the interface's address:
//                                          it becomes its bridge's tunnel
//                                          underlay (Open vSwitch's br-phy)
//   ovs/route/*, tnl/neigh/*, tnl/arp/*, tnl/ports/show
//                                          datapath/tunnel_commands.h's,
//                                          run against the bridge named by
//                                          the command (route's output
//                                          device, neigh/set's bridge) or,
//                                          for the others, every bridge in
//                                          name order, replies joined
//   memory/show, exit (and, from common/unixctl, list-commands, version,
//   vlog/*)
//   Each handler parses its arguments, calls DatapathControl and formats the
//   result with datapath/flow_dump.h (or in Open vSwitch 3.1's layout here
//   where several bridges are involved, dpif/show).  Errors are one line.
//
// Thread-safety: the handlers run on the EventLoop thread, like the
// Vswitch they read.
#ifndef SPATE_CONTROLLER_APPCTL_H
#define SPATE_CONTROLLER_APPCTL_H

#include "common/unixctl.h"
#include "controller/bridge.h"

namespace spate::controller {

// Registers every command above on `server`; `vswitch` must outlive it.
void RegisterSwitchCommands(common::UnixctlServer& server, Vswitch& vswitch);

// dpif/show's text for the whole switch (exposed for tests).
std::string FormatSwitchShow(const Vswitch& vswitch);

}  // namespace spate::controller

#endif  // SPATE_CONTROLLER_APPCTL_H
