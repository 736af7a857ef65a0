#include "tunnels/route_table.h"

#include <algorithm>
#include <charconv>

namespace spate::tunnels {
namespace {

IpAddr Mask(const IpAddr& ip, uint8_t plen) {
  IpAddr out = ip;
  for (int i = 0; i < 16; ++i) {
    const int bits = std::clamp(int{plen} - i * 8, 0, 8);
    out.bytes[i] &= static_cast<uint8_t>(0xff00u >> bits);
  }
  return out;
}

std::optional<uint32_t> ParseU32(std::string_view text) {
  uint32_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return v;
}

std::string FormatPrefix(const IpAddr& ip, uint8_t plen) {
  const int shown = ip.IsV4() ? plen - 96 : plen;
  return ip.ToString() + "/" + std::to_string(shown);
}

Error Invalid(std::string details) {
  return Error("invalid route", std::move(details));
}

}  // namespace

std::optional<std::pair<IpAddr, uint8_t>> RouteTable::ParsePrefix(
    const std::string& text) {
  const size_t slash = text.find('/');
  auto ip = IpAddr::Parse(std::string_view(text).substr(0, slash));
  if (!ip) return std::nullopt;
  const int max = ip->IsV4() ? 32 : 128;
  int plen = max;
  if (slash != std::string::npos) {
    auto n = ParseU32(std::string_view(text).substr(slash + 1));
    if (!n || *n > static_cast<uint32_t>(max)) return std::nullopt;
    plen = static_cast<int>(*n);
  }
  if (ip->IsV4()) plen += 96;
  return std::make_pair(Mask(*ip, static_cast<uint8_t>(plen)),
                        static_cast<uint8_t>(plen));
}

Status RouteTable::Add(Route route) {
  if (route.plen > 128) return Invalid("prefix length over 128");
  const bool v4 = route.prefix.IsV4();
  if (v4 && route.plen < 96) return Invalid("IPv4 prefix length over 32");
  if ((!route.gateway.IsZero() && route.gateway.IsV4() != v4) ||
      (!route.src.IsZero() && route.src.IsV4() != v4)) {
    return Invalid("gateway or source of a different address family");
  }
  route.prefix = Mask(route.prefix, route.plen);
  std::lock_guard lock(mutex_);
  std::erase_if(routes_, [&](const Route& r) {
    return r.prefix == route.prefix && r.plen == route.plen &&
           r.mark == route.mark;
  });
  auto at = std::find_if(routes_.begin(), routes_.end(), [&](const Route& r) {
    return r.plen < route.plen ||
           (r.plen == route.plen && route.prefix < r.prefix);
  });
  routes_.insert(at, std::move(route));
  ++version_;
  return Status::Ok();
}

Status RouteTable::Del(const IpAddr& prefix, uint8_t plen, uint32_t mark) {
  const IpAddr masked = Mask(prefix, plen);
  std::lock_guard lock(mutex_);
  const size_t n = std::erase_if(routes_, [&](const Route& r) {
    return r.prefix == masked && r.plen == plen && r.mark == mark;
  });
  if (n == 0) return Error("Not found");
  ++version_;
  return Status::Ok();
}

std::optional<Route> RouteTable::Lookup(const IpAddr& dst,
                                        uint32_t mark) const {
  std::lock_guard lock(mutex_);
  for (const Route& r : routes_) {
    if ((r.mark == 0 || r.mark == mark) && r.prefix.IsV4() == dst.IsV4() &&
        Mask(dst, r.plen) == r.prefix) {
      return r;
    }
  }
  return std::nullopt;
}

std::vector<Route> RouteTable::Routes() const {
  std::lock_guard lock(mutex_);
  return routes_;
}

void RouteTable::Clear() {
  std::lock_guard lock(mutex_);
  routes_.clear();
  ++version_;
}

uint64_t RouteTable::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

std::string RouteTable::Show() const {
  std::string out = "Route Table:\n";
  for (const Route& r : Routes()) {
    out += r.user ? "User: " : "Cached: ";
    out += FormatPrefix(r.prefix, r.plen);
    if (r.mark != 0) out += " MARK " + std::to_string(r.mark);
    out += " dev " + r.output_bridge;
    if (!r.gateway.IsZero()) out += " GW " + r.gateway.ToString();
    if (!r.src.IsZero()) out += " SRC " + r.src.ToString();
    if (r.local) out += " local";
    out += "\n";
  }
  return out;
}

Result<std::string> RouteTable::RunAdd(const std::vector<std::string>& args) {
  if (args.size() < 2 || args.size() > 5) return Error("Invalid parameters");
  auto prefix = ParsePrefix(args[0]);
  if (!prefix) return Error("Invalid parameters");
  Route route;
  route.prefix = prefix->first;
  route.plen = prefix->second;
  route.output_bridge = args[1];
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.starts_with("pkt_mark=")) {
      auto mark = ParseU32(std::string_view(arg).substr(9));
      if (!mark) return Error("Invalid pkt_mark");
      route.mark = *mark;
    } else if (arg.starts_with("src=")) {
      auto src = IpAddr::Parse(std::string_view(arg).substr(4));
      if (!src) return Error("Invalid src address");
      route.src = *src;
    } else {
      auto gw = IpAddr::Parse(arg);
      if (!gw) return Error("Invalid pkt_mark or gateway");
      route.gateway = *gw;
    }
  }
  Status status = Add(std::move(route));
  if (!status.ok()) return Error("Error while inserting route.");
  return std::string("OK\n");
}

Result<std::string> RouteTable::RunDel(const std::vector<std::string>& args) {
  if (args.empty() || args.size() > 2) return Error("Invalid parameters");
  auto prefix = ParsePrefix(args[0]);
  if (!prefix) return Error("Invalid parameters");
  uint32_t mark = 0;
  if (args.size() == 2) {
    if (!args[1].starts_with("pkt_mark=")) return Error("Invalid pkt_mark");
    auto m = ParseU32(std::string_view(args[1]).substr(9));
    if (!m) return Error("Invalid pkt_mark");
    mark = *m;
  }
  Status status = Del(prefix->first, prefix->second, mark);
  if (!status.ok()) return Error("Not found");
  return std::string("OK\n");
}

Result<std::string> RouteTable::RunLookup(
    const std::vector<std::string>& args) const {
  if (args.empty() || args.size() > 2) return Error("Invalid parameters");
  auto ip = IpAddr::Parse(args[0]);
  if (!ip) return Error("Invalid parameters");
  uint32_t mark = 0;
  if (args.size() == 2) {
    auto m = args[1].starts_with("pkt_mark=")
                 ? ParseU32(std::string_view(args[1]).substr(9))
                 : std::nullopt;
    if (!m) return Error("Invalid pkt_mark");
    mark = *m;
  }
  auto route = Lookup(*ip, mark);
  if (!route) return Error("Not found");
  std::string out = "src " + route->src.ToString() + "\n";
  out += "gateway " + route->gateway.ToString() + "\n";
  out += "dev " + route->output_bridge + "\n";
  return out;
}

}  // namespace spate::tunnels
