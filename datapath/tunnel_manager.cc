// TunnelManager's control side: ports, underlays, routes, neighbours,
// counters and the command texts.  The packet path is tunnel_packet.cc.
#include "datapath/tunnel_manager.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "datapath/tunnel_internal.h"

namespace spate::datapath {
namespace {

std::atomic<uint64_t> g_next_manager_id{1};

const char* const kTunnelErrorNames[kNumTunnelErrors] = {
    "no_route",      "no_neighbor",     "no_local_ip", "no_underlay", "no_tunnel_port",
    "not_tunnel_port", "no_remote_for_flow", "no_buffer", "non_contiguous"};

// Open vSwitch's datapath device name for a tunnel's receive port.
std::string DpifPortName(tunnels::TunnelType type, uint16_t dst_port) {
  const char* prefix = type == tunnels::TunnelType::kGeneve  ? "genev_sys_"
                       : type == tunnels::TunnelType::kVxlan ? "vxlan_sys_"
                                                             : "stt_sys_";
  return prefix + std::to_string(dst_port);
}

// The address with the host bits of a `plen`-bit prefix (mapped space) zero.
tunnels::IpAddr MaskPrefix(tunnels::IpAddr ip, int plen) {
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(plen - i * 8, 0, 8);
    ip.bytes[static_cast<size_t>(i)] &= static_cast<uint8_t>(0xff00 >> keep);
  }
  return ip;
}

// RouteTable puts Open vSwitch's message in the error's tag; the unixctl
// reply text is the details.
Result<std::string> OvsText(Result<std::string> r) {
  if (r.ok() || !r.error().details().empty()) return r;
  return Error("invalid argument", r.error().tag());
}

int MappedPlen(const UnderlayAddress& a) { return a.ip.IsV4() ? a.plen + 96 : a.plen; }

}  // namespace

const char* TunnelErrorName(TunnelError e) {
  int i = static_cast<int>(e);
  return i >= 0 && i < kNumTunnelErrors ? kTunnelErrorNames[i] : "unknown";
}

tunnels::IpAddr IpFromV4(uint32_t v4) {
  uint8_t b[4] = {static_cast<uint8_t>(v4 >> 24), static_cast<uint8_t>(v4 >> 16),
                  static_cast<uint8_t>(v4 >> 8), static_cast<uint8_t>(v4)};
  return tunnels::IpAddr::FromV4Bytes(b);
}

uint32_t V4FromIp(const tunnels::IpAddr& ip) {
  const uint8_t* b = ip.V4Bytes();
  return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
         static_cast<uint32_t>(b[2]) << 8 | b[3];
}

tunnels::IpAddr IpFromU128(cls::U128 v) {
  uint8_t b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(v.hi >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(v.lo >> (56 - 8 * i));
  }
  return tunnels::IpAddr::FromV6Bytes(b);
}

cls::U128 U128FromIp(const tunnels::IpAddr& ip) {
  cls::U128 v;
  for (int i = 0; i < 8; ++i) {
    v.hi = v.hi << 8 | ip.bytes[static_cast<size_t>(i)];
    v.lo = v.lo << 8 | ip.bytes[static_cast<size_t>(8 + i)];
  }
  return v;
}

// ---- Config ----

const TunnelManager::PortRec* TunnelManager::Config::FindPort(uint32_t number) const {
  for (const PortRec& p : ports) {
    if (p.number == number) return &p;
  }
  return nullptr;
}

const UnderlayInfo* TunnelManager::Config::FindUnderlay(uint32_t number) const {
  for (const UnderlayInfo& u : underlays) {
    if (u.number == number) return &u;
  }
  return nullptr;
}

const UnderlayInfo* TunnelManager::Config::FindUnderlay(std::string_view name) const {
  for (const UnderlayInfo& u : underlays) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

bool TunnelManager::Config::IsAddressOf(const UnderlayInfo& u, const tunnels::IpAddr& ip) {
  for (const UnderlayAddress& a : u.addresses) {
    if (a.ip == ip) return true;
  }
  return false;
}

bool TunnelManager::Config::IsEndpointIp(const tunnels::IpAddr& ip) const {
  for (const tunnels::LocalEndpoint& e : endpoints) {
    if (e.ip == ip) return true;
  }
  return false;
}

// ---- Construction ----

TunnelManager::TunnelManager(const TunnelManagerOptions& options)
    : id_(g_next_manager_id.fetch_add(1)),
      options_(options),
      config_(std::make_unique<Config>()),
      neighbors_(options.neigh_idle_ns),
      counters_(std::make_unique<Counters>()) {
  config_->version = 1;
  RegisterTunnelManagerId(id_, true);
}

TunnelManager::~TunnelManager() { RegisterTunnelManagerId(id_, false); }

void TunnelManager::Attach(DatapathControl* datapath) {
  std::lock_guard<std::mutex> lock(mutex_);
  datapath_ = datapath;
}

void TunnelManager::Count(tunnels::DropReason r) const {
  counters_->Add(static_cast<int>(r));
}

void TunnelManager::Count(TunnelError e) const {
  counters_->Add(tunnels::kNumDropReasons + static_cast<int>(e));
}

void TunnelManager::BumpUnderlay() { underlay_version_.fetch_add(1, std::memory_order_acq_rel); }

// Rebuilds the endpoint list and publishes a new config version.
void TunnelManager::PublishLocked() {
  Config& c = *config_;
  c.endpoints.clear();
  c.has_stt = false;
  auto add = [&c](const tunnels::IpAddr& ip, const PortRec& p) {
    for (const tunnels::LocalEndpoint& e : c.endpoints) {
      if (e.ip == ip && e.dst_port == p.config.dst_port && e.type == p.config.type) return;
    }
    tunnels::LocalEndpoint e;
    e.ip = ip;
    e.type = p.config.type;
    e.dst_port = p.config.dst_port;
    e.key_flow = true;  // The port is chosen after Decap (SelectPort).
    e.port_id = p.number;
    c.endpoints.push_back(e);
  };
  for (const PortRec& p : c.ports) {
    if (p.config.type == tunnels::TunnelType::kStt) c.has_stt = true;
    bool v4 = p.config.remote_ip_flow ? true : p.config.remote_ip.IsV4();
    if (p.config.local_ip) {
      add(*p.config.local_ip, p);
      continue;
    }
    for (const UnderlayInfo& u : c.underlays) {
      for (const UnderlayAddress& a : u.addresses) {
        if (p.config.remote_ip_flow || a.ip.IsV4() == v4) add(a.ip, p);
      }
    }
  }
  c.version = config_version_.load(std::memory_order_relaxed) + 1;
  config_version_.store(c.version, std::memory_order_release);
  BumpUnderlay();
}

// Makes every PMD re-translate its megaflows: the underlay decisions
// (MatchUnderlay) depend on this manager's state, which the datapath does
// not see (DatapathControl::Revalidate).
void TunnelManager::Revalidate() {
  DatapathControl* dp;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dp = datapath_;
  }
  if (dp != nullptr) dp->Revalidate();
}

Status TunnelManager::CheckPortConflict(const tunnels::TunnelConfig& config,
                                        std::string_view skip) const {
  for (const PortRec& p : config_->ports) {
    if (p.name != skip && p.config.dst_port == config.dst_port && p.config.type != config.type) {
      return Error("invalid tunnel option",
                   "dst_port " + std::to_string(config.dst_port) + " is already used by " +
                       std::string(tunnels::TunnelTypeName(p.config.type)) + " port " + p.name);
    }
  }
  return Status::Ok();
}

Result<uint32_t> TunnelManager::AddTunnelPort(const InterfaceConfig& iface, uint32_t number) {
  Result<tunnels::TunnelConfig> cfg = tunnels::ParseTunnelConfig(iface.type, iface.options);
  if (!cfg.ok()) {
    return Error(cfg.error().tag(), "interface " + iface.name + ": " + cfg.error().details());
  }
  DatapathControl* dp;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (datapath_ == nullptr) return Error("invalid argument", "tunnel manager not attached");
    Status s = CheckPortConflict(*cfg, iface.name);
    if (!s.ok()) return s.error();
    dp = datapath_;
  }
  PortSpec spec;
  spec.name = iface.name;
  spec.number = number;
  spec.tunnel = true;
  uint32_t provisional = 0;
  // (The datapath assigns the number; the manager learns the port right
  // after.  A packet pushed to it in between is dropped as
  // not_tunnel_port, and only flood/all can reach it before a rule does.)
  Result<uint32_t> added = dp->AddPort(std::move(spec));
  if (!added.ok()) return added;
  provisional = *added;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    PortRec rec{iface.name, provisional, *cfg};
    auto& ports = config_->ports;
    ports.insert(std::upper_bound(ports.begin(), ports.end(), rec,
                                  [](const PortRec& a, const PortRec& b) {
                                    return a.number < b.number;
                                  }),
                 rec);
    PublishLocked();
  }
  Revalidate();
  return provisional;
}

Status TunnelManager::ReconfigureTunnelPort(const InterfaceConfig& iface) {
  Result<tunnels::TunnelConfig> cfg = tunnels::ParseTunnelConfig(iface.type, iface.options);
  if (!cfg.ok()) {
    return Error(cfg.error().tag(), "interface " + iface.name + ": " + cfg.error().details());
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(config_->ports.begin(), config_->ports.end(),
                           [&](const PortRec& p) { return p.name == iface.name; });
    if (it == config_->ports.end()) {
      return Error("invalid argument", "no tunnel port named " + iface.name);
    }
    if (it->config.type != cfg->type) {
      return Error("invalid argument", "interface " + iface.name + ": cannot change the type of a "
                                       "tunnel port (remove it and add it again)");
    }
    Status s = CheckPortConflict(*cfg, iface.name);
    if (!s.ok()) return s;
    it->config = *cfg;
    PublishLocked();
  }
  Revalidate();
  return Status::Ok();
}

Status TunnelManager::RemoveTunnelPort(std::string_view name) {
  DatapathControl* dp;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(config_->ports.begin(), config_->ports.end(),
                           [&](const PortRec& p) { return p.name == name; });
    if (it == config_->ports.end()) {
      return Error("invalid argument", "no tunnel port named " + std::string(name));
    }
    dp = datapath_;
  }
  // The datapath forgets the port first (no more pushes to it), then the
  // manager.
  Status s = dp != nullptr ? dp->RemovePort(name) : Status::Ok();
  std::lock_guard<std::mutex> lock(mutex_);
  std::erase_if(config_->ports, [&](const PortRec& p) { return p.name == name; });
  PublishLocked();
  return s;
}

void TunnelManager::SetCachedRoutesLocked(const UnderlayInfo& u, bool add) {
  for (const UnderlayAddress& a : u.addresses) {
    int plen = MappedPlen(a);
    if (add) {
      tunnels::Route r;
      r.prefix = MaskPrefix(a.ip, plen);
      r.plen = static_cast<uint8_t>(plen);
      r.output_bridge = u.name;
      r.src = a.ip;
      r.user = false;
      (void)routes_.Add(r);
    } else {
      for (const tunnels::Route& r : routes_.Routes()) {
        if (!r.user && r.output_bridge == u.name && r.plen == plen &&
            r.prefix == MaskPrefix(a.ip, plen)) {
          (void)routes_.Del(r.prefix, r.plen, r.mark);
        }
      }
    }
  }
}

Status TunnelManager::SetUnderlayPort(std::string_view name,
                                      std::vector<UnderlayAddress> addresses) {
  DatapathControl* dp;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dp = datapath_;
  }
  if (dp == nullptr) return Error("invalid argument", "tunnel manager not attached");
  for (const UnderlayAddress& a : addresses) {
    if (a.plen > (a.ip.IsV4() ? 32 : 128) || a.ip.IsUnspecified()) {
      return Error("invalid argument", "bad underlay address for " + std::string(name));
    }
  }
  std::optional<uint32_t> number = dp->PortNumber(name);
  Port* device = dp->FindPort(name);
  if (!number || device == nullptr) {
    return Error("invalid argument", "no underlay device named " + std::string(name));
  }
  UnderlayInfo info;
  info.name = std::string(name);
  info.number = *number;
  info.mac.bytes = device->mac().bytes;
  info.mtu = device->mtu() > 0 ? device->mtu() : 1500;
  info.rx_checksum_offload = device->rx_checksum_offload();
  info.addresses = std::move(addresses);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& us = config_->underlays;
    auto it = std::find_if(us.begin(), us.end(), [&](const UnderlayInfo& u) { return u.name == name; });
    if (it != us.end()) {
      SetCachedRoutesLocked(*it, false);
      *it = info;
    } else {
      us.push_back(info);
    }
    SetCachedRoutesLocked(info, true);
    PublishLocked();
  }
  Revalidate();
  return Status::Ok();
}

Status TunnelManager::RemoveUnderlayPort(std::string_view name) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& us = config_->underlays;
    auto it = std::find_if(us.begin(), us.end(), [&](const UnderlayInfo& u) { return u.name == name; });
    if (it == us.end()) return Error("invalid argument", "no underlay named " + std::string(name));
    SetCachedRoutesLocked(*it, false);
    us.erase(it);
    PublishLocked();
  }
  Revalidate();
  return Status::Ok();
}

// ---- Routes and neighbours ----

Result<std::string> TunnelManager::RouteAdd(const std::vector<std::string>& args) {
  std::lock_guard<std::mutex> lock(mutex_);
  Result<std::string> r = OvsText(routes_.RunAdd(args));
  if (!r.ok() || args.empty()) return r;
  auto prefix = tunnels::RouteTable::ParsePrefix(args[0]);
  uint32_t mark = 0;
  for (const std::string& a : args) {
    if (a.rfind("pkt_mark=", 0) == 0) mark = static_cast<uint32_t>(std::strtoul(a.c_str() + 9, nullptr, 0));
  }
  for (tunnels::Route route : routes_.Routes()) {
    if (!prefix || !route.user || route.prefix != prefix->first || route.plen != prefix->second ||
        route.mark != mark || !route.src.IsZero()) {
      continue;
    }
    const UnderlayInfo* u = config_->FindUnderlay(route.output_bridge);
    const UnderlayAddress* src = nullptr;
    for (size_t i = 0; u != nullptr && i < u->addresses.size() && src == nullptr; ++i) {
      if (u->addresses[i].ip.IsV4() == route.prefix.IsV4()) src = &u->addresses[i];
    }
    if (src == nullptr) {
      (void)routes_.Del(route.prefix, route.plen, route.mark);
      return Error("invalid argument", "Error while inserting route.");
    }
    route.src = src->ip;
    (void)routes_.Add(route);
  }
  BumpUnderlay();
  return r;
}

Result<std::string> TunnelManager::RouteDel(const std::vector<std::string>& args) {
  Result<std::string> r = OvsText(routes_.RunDel(args));
  BumpUnderlay();
  return r;
}

Result<std::string> TunnelManager::RouteLookup(const std::vector<std::string>& args) const {
  return OvsText(routes_.RunLookup(args));
}

std::string TunnelManager::RouteShow() const { return routes_.Show(); }

Result<std::string> TunnelManager::NeighSet(const std::vector<std::string>& args) {
  if (args.size() != 3) return Error("invalid argument", "usage: tnl/neigh/set BRIDGE IP MAC");
  std::optional<tunnels::IpAddr> ip = tunnels::IpAddr::Parse(args[1]);
  if (!ip) return Error("invalid argument", "bad IP address");
  std::optional<tunnels::MacAddr> mac = tunnels::MacAddr::Parse(args[2]);
  if (!mac) return Error("invalid argument", "bad MAC address");
  neighbors_.SetStatic(*ip, *mac, args[0]);
  BumpUnderlay();
  return std::string("OK\n");
}

void TunnelManager::NeighFlush() {
  neighbors_.Flush();
  BumpUnderlay();
}

std::string TunnelManager::NeighShow() const { return neighbors_.Show(TunnelNowNs()); }

bool TunnelManager::Learn(const tunnels::IpAddr& ip, const tunnels::MacAddr& mac,
                          const std::string& bridge) {
  uint64_t before = neighbors_.version();
  neighbors_.Learn(ip, mac, bridge, TunnelNowNs());
  if (neighbors_.version() == before) return false;
  BumpUnderlay();
  return true;
}

void TunnelManager::LearnNeighbor(const tunnels::IpAddr& ip, const tunnels::MacAddr& mac,
                                  const std::string& bridge) {
  (void)Learn(ip, mac, bridge);
}

std::string TunnelManager::PortsShow(bool verbose) const {
  std::lock_guard<std::mutex> lock(mutex_);
  struct Listen {
    std::string name;     // genev_sys_6081, ...
    uint32_t number;      // First port number.
    int refs;             // Ports sharing it.
    tunnels::TunnelType type;
    uint16_t dst_port;
  };
  std::vector<Listen> listens;
  for (const PortRec& p : config_->ports) {
    std::string n = DpifPortName(p.config.type, p.config.dst_port);
    auto it = std::find_if(listens.begin(), listens.end(), [&](const Listen& l) { return l.name == n; });
    if (it != listens.end()) {
      ++it->refs;
    } else {
      listens.push_back({n, p.number, 1, p.config.type, p.config.dst_port});
    }
  }
  std::string out = "Listening ports:\n";
  for (const Listen& l : listens) {
    if (!verbose) {
      out += l.name + " (" + std::to_string(l.number) + ") ref_cnt=" + std::to_string(l.refs) + "\n";
      continue;
    }
    const char* l4 = l.type == tunnels::TunnelType::kStt ? "tcp" : "udp";
    int proto = l.type == tunnels::TunnelType::kStt ? 6 : 17;
    for (const UnderlayInfo& u : config_->underlays) {
      for (const UnderlayAddress& a : u.addresses) {
        bool v4 = a.ip.IsV4();
        out += l.name + " (" + std::to_string(l.number) + ") : eth(dst=" + u.mac.ToString() +
               "),eth_type(" + (v4 ? "0x0800" : "0x86dd") + ")," + (v4 ? "ipv4" : "ipv6") +
               "(dst=" + a.ip.ToString() + ",proto=" + std::to_string(proto) + ",frag=no)," + l4 +
               "(dst=" + std::to_string(l.dst_port) + ")\n";
      }
    }
  }
  return out;
}

// ---- Snapshots ----

std::vector<TunnelPortInfo> TunnelManager::ListTunnelPorts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<TunnelPortInfo> out;
  for (const PortRec& p : config_->ports) out.push_back({p.name, p.number, p.config});
  return out;
}

std::vector<UnderlayInfo> TunnelManager::ListUnderlays() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return config_->underlays;
}

std::vector<TunnelDropCount> TunnelManager::DropCounts() const {
  std::vector<TunnelDropCount> out;
  for (int i = 1; i < tunnels::kNumDropReasons; ++i) {
    out.push_back({std::string(tunnels::DropReasonName(static_cast<tunnels::DropReason>(i))), counters_->Get(i)});
  }
  for (int i = 0; i < kNumTunnelErrors; ++i) {
    out.push_back({kTunnelErrorNames[i], counters_->Get(tunnels::kNumDropReasons + i)});
  }
  return out;
}

uint64_t TunnelManager::Drops(tunnels::DropReason r) const {
  return counters_->Get(static_cast<int>(r));
}

uint64_t TunnelManager::Drops(TunnelError e) const {
  return counters_->Get(tunnels::kNumDropReasons + static_cast<int>(e));
}

}  // namespace spate::datapath
