// ovn-controller's ovs-appctl commands (see appctl.h).
#include "controller/appctl.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "controller/flow_compose.h"
#include "datapath/action_parse.h"
#include "datapath/dummy_port.h"
#include "datapath/flow_dump.h"
#include "datapath/flow_extract.h"
#include "datapath/tunnel_commands.h"

namespace spate::controller {
namespace {

using Args = std::vector<std::string>;
using datapath::Datapath;

Result<Datapath*> GetBridge(const Vswitch& vs, const std::string& name) {
  Datapath* dp = vs.FindBridge(name);
  if (dp == nullptr) return Error("appctl", "no such bridge " + name);
  return dp;
}

datapath::PortResolver Resolver(Datapath* dp) {
  return [dp](std::string_view n) { return dp->PortNumber(n); };
}

// The PMD blocks of every bridge, filtered by "-pmd CORE"; a trailing DP
// argument ("netdev@ovs-netdev") is accepted.
Result<std::vector<datapath::PmdInfo>> Pmds(const Vswitch& vs, const Args& args) {
  int only = -1;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-pmd") {
      if (i + 1 >= args.size()) return Error("appctl", "-pmd needs a core number");
      try {
        only = std::stoi(args[++i]);
      } catch (const std::exception&) {
        return Error("appctl", "invalid core number \"" + args[i] + "\"");
      }
    } else if (args[i] != "netdev@ovs-netdev" && args[i] != "ovs-netdev") {
      return Error("appctl", "no such datapath \"" + args[i] + "\"");
    }
  }
  std::vector<datapath::PmdInfo> out;
  for (const std::string& name : vs.BridgeNames()) {
    for (datapath::PmdInfo& p : vs.FindBridge(name)->GetPmdInfo()) {
      int core = p.cpu < 0 ? p.index : p.cpu;
      if (only < 0 || core == only) out.push_back(std::move(p));
    }
  }
  return out;
}

std::string ShownType(const IfaceState& st) {
  const std::string& t = st.config.type;
  if (t == "internal") return "dummy-internal";
  if (t.empty() || t == "system" || t == "tap") return "dummy";
  return t;
}

Result<std::string> DpifDumpFlows(const Vswitch& vs, const Args& args) {
  Result<Datapath*> dp = GetBridge(vs, args.back());
  if (!dp.ok()) return dp.error();
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch()).count();
  return datapath::FormatDpifFlows((*dp)->DumpDatapathFlows(), now);
}

// ofproto/trace [BRIDGE] FLOW [PACKET].
Result<std::string> Trace(const Vswitch& vs, const Args& args) {
  std::vector<std::string> names = vs.BridgeNames();
  size_t at = 0;
  std::string bridge;
  if (vs.FindBridge(args[0]) != nullptr) {
    bridge = args[at++];
  } else if (names.size() == 1) {
    bridge = names[0];
  } else {
    return Error("appctl", "no such bridge " + args[0] + " (name the bridge first)");
  }
  if (at >= args.size()) return Error("appctl", "missing flow");
  Datapath* dp = vs.FindBridge(bridge);
  Result<cls::FlowKey> key = ParseFlowDescription(args[at], Resolver(dp));
  if (!key.ok()) return key.error();
  if (at + 1 < args.size()) {
    Result<std::vector<uint8_t>> frame = datapath::ParseHexFrame(args[at + 1]);
    if (!frame.ok()) return frame.error();
    uint32_t in_port = key->in_port();
    datapath::ExtractFlowKey(frame->data(), frame->size(), in_port, &*key);
  }
  // Open vSwitch's layout: the flow, then a "bridge(...)" heading.
  datapath::TraceResult trace = dp->Trace(*key);
  std::vector<std::string>& lines = trace.lines;
  size_t heading = lines.size() >= 2 && lines[1].empty() ? 2 : 0;
  std::string title = "bridge(\"" + bridge + "\")";
  lines.insert(lines.begin() + static_cast<ptrdiff_t>(heading),
               {title, std::string(title.size(), '-')});
  return datapath::FormatTrace(trace);
}

// netdev-dummy/receive PORT PACKET...
Result<std::string> Receive(const Vswitch& vs, const Args& args) {
  std::string bridge = vs.BridgeOfInterface(args[0]);
  Datapath* dp = bridge.empty() ? nullptr : vs.FindBridge(bridge);
  auto* port = dp == nullptr ? nullptr : dynamic_cast<datapath::DummyPort*>(dp->FindPort(args[0]));
  if (port == nullptr) return Error("appctl", "no such dummy netdev '" + args[0] + "'");
  for (size_t i = 1; i < args.size(); ++i) {
    Result<std::vector<uint8_t>> frame = ParsePacket(args[i], Resolver(dp));
    if (!frame.ok()) return Error("appctl", "\"" + args[i] + "\": " + frame.error().details());
    if (Status s = port->Receive(*frame); !s.ok()) return s.error();
  }
  return std::string();
}

Result<std::string> SetAdminState(const Vswitch& vs, const Args& args) {
  std::string bridge = vs.BridgeOfInterface(args[0]);
  Datapath* dp = bridge.empty() ? nullptr : vs.FindBridge(bridge);
  auto* port = dp == nullptr ? nullptr : dynamic_cast<datapath::DummyPort*>(dp->FindPort(args[0]));
  if (port == nullptr) return Error("appctl", "no such dummy netdev '" + args[0] + "'");
  if (args[1] != "up" && args[1] != "down") return Error("appctl", "Invalid Admin State");
  port->SetLinkState(args[1] == "up" ? datapath::LinkState::kUp : datapath::LinkState::kDown);
  return std::string("OK");
}

// Parses `lines` as ops of `kind` and commits them as one batch.
Result<std::string> CommitLines(Datapath* dp, datapath::RuleOpKind kind, bool strict,
                                const std::vector<std::string>& lines) {
  std::vector<datapath::RuleOp> ops;
  for (size_t i = 0; i < lines.size(); ++i) {
    Result<datapath::RuleOp> op = datapath::ParseRuleOp(kind, lines[i], strict, Resolver(dp));
    if (!op.ok()) {
      std::string where = lines.size() > 1 ? "line " + std::to_string(i + 1) + ": " : "";
      return Error("appctl", where + op.error().details());
    }
    ops.push_back(std::move(op).value());
  }
  Result<datapath::CommitResult> r = dp->Commit(ops);
  if (!r.ok()) return r.error();
  return std::string();
}

// ofctl/add-flow, mod-flows, del-flows: BRIDGE [--strict] [FLOW].
Result<std::string> FlowCommand(const Vswitch& vs, datapath::RuleOpKind kind, Args args) {
  Result<Datapath*> dp = GetBridge(vs, args[0]);
  if (!dp.ok()) return dp.error();
  bool strict = args.size() > 1 && args[1] == "--strict";
  if (strict) args.erase(args.begin() + 1);
  if (args.size() > 2) return Error("appctl", "too many arguments (quote the flow)");
  std::string text = args.size() > 1 ? args[1] : "";
  if (text.empty() && kind != datapath::RuleOpKind::kDelete) {
    return Error("appctl", "missing flow");
  }
  return CommitLines(*dp, kind, strict, {text});
}

Result<std::string> AddFlows(const Vswitch& vs, const Args& args) {
  Result<Datapath*> dp = GetBridge(vs, args[0]);
  if (!dp.ok()) return dp.error();
  std::ifstream in(args[1]);
  if (!in) return Error("appctl", args[1] + ": cannot open");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    lines.push_back(line.substr(first));
  }
  return CommitLines(*dp, datapath::RuleOpKind::kAdd, false, lines);
}

Result<std::string> DumpFlows(const Vswitch& vs, const Args& args) {
  Result<Datapath*> dp = GetBridge(vs, args[0]);
  if (!dp.ok()) return dp.error();
  std::vector<datapath::RuleInfo> rules = (*dp)->DumpRules();
  if (args.size() > 1) {
    Result<datapath::RuleOp> filter =
        datapath::ParseRuleOp(datapath::RuleOpKind::kDelete, args[1], false, Resolver(*dp));
    if (!filter.ok()) return filter.error();
    std::erase_if(rules, [&](const datapath::RuleInfo& r) {
      const datapath::RuleOp& f = *filter;
      if (!f.all_tables && r.spec.table != f.spec.table) return true;
      for (int w = 0; w < cls::kFlowWords; ++w) {  // Rule at least as specific.
        if ((r.spec.match.mask.w[w] & f.spec.match.mask.w[w]) != f.spec.match.mask.w[w]) return true;
        if ((r.spec.match.key.w[w] & f.spec.match.mask.w[w]) != f.spec.match.key.w[w]) return true;
      }
      return false;
    });
  }
  return datapath::FormatDumpFlows(rules);
}

void RegisterDpif(common::UnixctlServer& server, Vswitch& vs) {
  server.Register("dpif/show", "", 0, 0, [&vs](const Args&) -> Result<std::string> {
    return FormatSwitchShow(vs);
  });
  server.Register("dpif/dump-flows", "bridge", 1, 1,
                  [&vs](const Args& a) { return DpifDumpFlows(vs, a); });
  server.Register("dpif-netdev/pmd-stats-show", "[-pmd core] [dp]", 0, 3,
                  [&vs](const Args& a) -> Result<std::string> {
                    auto pmds = Pmds(vs, a);
                    if (!pmds.ok()) return pmds.error();
                    return datapath::FormatPmdStats(*pmds);
                  });
  server.Register("dpif-netdev/pmd-stats-clear", "[-pmd core] [dp]", 0, 3,
                  [&vs](const Args& a) -> Result<std::string> {
                    if (auto pmds = Pmds(vs, a); !pmds.ok()) return pmds.error();
                    for (const std::string& b : vs.BridgeNames()) vs.FindBridge(b)->ClearPmdStats();
                    return std::string();
                  });
  server.Register("dpif-netdev/pmd-rxq-show", "[-pmd core] [dp]", 0, 3,
                  [&vs](const Args& a) -> Result<std::string> {
                    auto pmds = Pmds(vs, a);
                    if (!pmds.ok()) return pmds.error();
                    return datapath::FormatPmdRxqs(*pmds);
                  });
  server.Register("ofproto/trace", "[bridge] flow [packet]", 1, 3,
                  [&vs](const Args& a) { return Trace(vs, a); });
  server.Register("netdev-dummy/receive", "name packet|flow...", 2, -1,
                  [&vs](const Args& a) { return Receive(vs, a); });
  server.Register("netdev-dummy/set-admin-state", "iface up|down", 2, 2,
                  [&vs](const Args& a) { return SetAdminState(vs, a); });
}

void RegisterOfctl(common::UnixctlServer& server, Vswitch& vs) {
  using datapath::RuleOpKind;
  server.Register("ofctl/add-flow", "bridge flow", 2, 2,
                  [&vs](const Args& a) { return FlowCommand(vs, RuleOpKind::kAdd, a); });
  server.Register("ofctl/add-flows", "bridge file", 2, 2,
                  [&vs](const Args& a) { return AddFlows(vs, a); });
  server.Register("ofctl/mod-flows", "bridge [--strict] flow", 2, 3,
                  [&vs](const Args& a) { return FlowCommand(vs, RuleOpKind::kModify, a); });
  server.Register("ofctl/del-flows", "bridge [--strict] [match]", 1, 3,
                  [&vs](const Args& a) { return FlowCommand(vs, RuleOpKind::kDelete, a); });
  server.Register("ofctl/dump-flows", "bridge [match]", 1, 2,
                  [&vs](const Args& a) { return DumpFlows(vs, a); });
}

}  // namespace

std::string FormatSwitchShow(const Vswitch& vs) {
  uint64_t hit = 0, missed = 0;
  std::string body;
  for (const std::string& name : vs.BridgeNames()) {
    Datapath* dp = vs.FindBridge(name);
    for (const datapath::PmdInfo& p : dp->GetPmdInfo()) {
      hit += p.fastpath.n_emc_hits + p.fastpath.n_megaflow_hits;
      missed += p.fastpath.n_upcalls;
    }
    body += "  " + name + ":\n";
    std::vector<datapath::PortInfo> ports = dp->ListPorts();
    std::sort(ports.begin(), ports.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    for (const datapath::PortInfo& p : ports) {
      auto it = vs.interfaces().find(p.name);
      std::string type = it == vs.interfaces().end() ? p.type : ShownType(it->second);
      std::string n = std::to_string(p.number);
      body += "    " + p.name + " " + n + "/" + n + ": (" + type + ")\n";
    }
  }
  return "netdev@ovs-netdev: hit:" + std::to_string(hit) + " missed:" + std::to_string(missed) +
         "\n" + body;
}

namespace {

// The bridge a tunnel command names: ovs/route/add's output device (an
// interface or a bridge) or tnl/neigh/set's bridge; "" for the others.
std::string NamedBridge(const Vswitch& vs, const std::string& name, const Args& args) {
  std::string named;
  if (name == "ovs/route/add" && args.size() >= 2) named = args[1];
  if ((name == "tnl/neigh/set" || name == "tnl/arp/set") && !args.empty()) named = args[0];
  if (named.empty() || vs.FindBridge(named) != nullptr) return named;
  std::string bridge = vs.BridgeOfInterface(named);
  return bridge.empty() ? named : bridge;
}

// Runs tunnel command `name` on the bridge it names, or on every bridge.
Result<std::string> TunnelCommand(const Vswitch& vs, const std::string& name, const Args& args) {
  std::string named = NamedBridge(vs, name, args);
  std::vector<std::string> bridges = named.empty() ? vs.BridgeNames() : Args{named};
  std::string reply;
  for (const std::string& bridge : bridges) {
    datapath::TunnelManager* tunnels = vs.FindTunnels(bridge);
    if (tunnels == nullptr) return Error("appctl", "no such bridge " + bridge);
    Result<std::string> one = datapath::RunTunnelCommand(*tunnels, name, args);
    if (!one.ok()) return one.error();
    reply += *one;
  }
  return reply;
}

void RegisterTunnels(common::UnixctlServer& server, Vswitch& vs) {
  for (const char* name : {"ovs/route/add", "ovs/route/del", "ovs/route/lookup",
                           "ovs/route/show", "tnl/neigh/set", "tnl/neigh/show",
                           "tnl/neigh/flush", "tnl/arp/set", "tnl/arp/show",
                           "tnl/arp/flush", "tnl/ports/show"}) {
    // RunTunnelCommand checks the argument counts, with OVS's texts.
    server.Register(name, "", 0, -1, [&vs, n = std::string(name)](const Args& a) {
      return TunnelCommand(vs, n, a);
    });
  }
  for (bool v6 : {false, true}) {
    server.Register(v6 ? "netdev-dummy/ip6addr" : "netdev-dummy/ip4addr",
                    v6 ? "netdev ipv6addr/mask" : "netdev ipaddr/mask", 2, 2,
                    [&vs, v6](const Args& a) -> Result<std::string> {
                      Status s = vs.AddInterfaceAddress(a[0], a[1], v6);
                      if (!s.ok()) return s.error();
                      return std::string("OK");
                    });
  }
}

}  // namespace

void RegisterSwitchCommands(common::UnixctlServer& server, Vswitch& vswitch) {
  server.SetMemoryReporter([&vswitch] { return vswitch.MemoryReport(); });
  RegisterDpif(server, vswitch);
  RegisterOfctl(server, vswitch);
  RegisterTunnels(server, vswitch);
}

}  // namespace spate::controller
