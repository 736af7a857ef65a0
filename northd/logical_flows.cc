// The June-2015 logical pipeline for one switch; see logical_flows.h.
#include "northd/logical_flows.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace spate::northd {
namespace {

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// " && eth.src == {m1 m2}" for the entries of `addresses` that are MACs,
// or "" if none is (everything allowed).
std::string SecurityClause(const std::vector<std::string>& addresses, const char* field) {
  std::string macs;
  for (const std::string& a : addresses) {
    std::optional<std::string> mac = CanonicalMac(a);
    if (!mac) continue;
    if (!macs.empty()) macs += ' ';
    macs += *mac;
  }
  if (macs.empty()) return "";
  return std::string(" && ") + field + " == {" + macs + "}";
}

// "outport = "P1"; next; outport = "P2"; next;" over `ports`.
std::string FloodActions(const std::vector<const FlowPort*>& ports) {
  std::string actions;
  for (const FlowPort* p : ports) {
    if (!actions.empty()) actions += ' ';
    actions += "outport = " + QuoteName(p->name) + "; next;";
  }
  return actions;
}

void AddPortFlows(const std::vector<const FlowPort*>& ports, std::vector<LogicalFlow>& flows,
                  std::vector<std::string>* notes) {
  for (const FlowPort* p : ports) {
    std::string name = QuoteName(p->name);
    const char* pass = p->enabled ? "next;" : "drop;";
    flows.push_back({0, 50, "inport == " + name + SecurityClause(p->port_security, "eth.src"),
                     pass});
    flows.push_back({3, 50, "outport == " + name + SecurityClause(p->port_security, "eth.dst"),
                     p->enabled ? "output;" : "drop;"});
    for (const std::string& m : p->macs) {
      if (m == "unknown") continue;
      std::optional<std::string> mac = CanonicalMac(m);
      if (!mac) {
        if (notes) notes->push_back("invalid syntax '" + m + "' in macs column");
        continue;
      }
      flows.push_back({1, 50, "eth.dst == " + *mac, "outport = " + name + "; next;"});
    }
  }
}

void AddAclFlows(const std::vector<FlowAcl>& acls, const MatchChecker& check,
                 std::vector<LogicalFlow>& flows, std::vector<std::string>* notes) {
  for (const FlowAcl& acl : acls) {
    const char* actions = nullptr;
    if (acl.action == "allow" || acl.action == "allow-related") actions = "next;";
    if (acl.action == "drop" || acl.action == "reject") actions = "drop;";
    if (actions == nullptr) {
      if (notes) notes->push_back("ACL with unknown action '" + acl.action + "' skipped");
      continue;
    }
    if (check) {
      if (Status s = check(acl.match); !s.ok()) {
        if (notes) {
          notes->push_back("ACL match '" + acl.match + "' skipped: " + s.error().details());
        }
        continue;
      }
    }
    flows.push_back({2, acl.priority, acl.match, actions});
  }
}

}  // namespace

std::vector<LogicalFlow> BuildSwitchFlows(const SwitchFlowInput& input,
                                          const MatchChecker& check,
                                          std::vector<std::string>* notes) {
  std::vector<const FlowPort*> ports;
  ports.reserve(input.ports.size());
  for (const FlowPort& p : input.ports) ports.push_back(&p);
  std::sort(ports.begin(), ports.end(),
            [](const FlowPort* a, const FlowPort* b) { return a->name < b->name; });

  std::vector<LogicalFlow> flows;
  flows.reserve(ports.size() * 3 + input.acls.size() + 8);
  // Table 0: admission.
  flows.push_back({0, 100, "vlan.present", "drop;"});
  flows.push_back({0, 100, "eth.src[40]", "drop;"});
  flows.push_back({0, 0, "1", "drop;"});
  // Table 1: flood, and the ports that accept unknown destinations.
  std::string flood = FloodActions(ports);
  flows.push_back({1, 100, "eth.dst[40]", flood.empty() ? "drop;" : flood});
  std::vector<const FlowPort*> unknown;
  for (const FlowPort* p : ports) {
    if (std::find(p->macs.begin(), p->macs.end(), "unknown") != p->macs.end()) {
      unknown.push_back(p);
    }
  }
  if (!unknown.empty()) flows.push_back({1, 0, "1", FloodActions(unknown)});
  // Table 2: ACLs, default allow.  Table 3: deliver multicast.
  flows.push_back({2, 0, "1", "next;"});
  flows.push_back({3, 100, "eth.dst[40]", "output;"});
  AddPortFlows(ports, flows, notes);
  AddAclFlows(input.acls, check, flows, notes);

  std::sort(flows.begin(), flows.end());
  flows.erase(std::unique(flows.begin(), flows.end()), flows.end());
  return flows;
}

std::string QuoteName(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false,
                                                nlohmann::json::error_handler_t::replace);
}

std::optional<std::string> CanonicalMac(std::string_view text) {
  unsigned bytes[6];
  size_t pos = 0;
  for (int i = 0; i < 6; ++i) {
    if (i > 0) {
      if (pos >= text.size() || text[pos] != ':') return std::nullopt;
      ++pos;
    }
    size_t start = pos;
    unsigned value = 0;
    while (pos < text.size() && IsHex(text[pos]) && pos - start < 2) {
      value = value * 16 + HexValue(text[pos]);
      ++pos;
    }
    if (pos == start) return std::nullopt;
    bytes[i] = value;
  }
  if (pos != text.size()) return std::nullopt;
  char out[18];
  std::snprintf(out, sizeof out, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return std::string(out);
}

}  // namespace spate::northd
