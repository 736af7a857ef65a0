#include "classifier/flow_match_parse.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace spate::cls {
namespace {

Error SyntaxError(std::string detail) { return Error("syntax error", std::move(detail)); }

bool ParseUint(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseMac(std::string_view s, uint64_t* out) {
  uint64_t v = 0;
  for (int i = 0; i < 6; ++i) {
    if (s.size() < 2) return false;
    uint64_t byte;
    auto [p, ec] = std::from_chars(s.data(), s.data() + 2, byte, 16);
    if (ec != std::errc() || p != s.data() + 2) return false;
    v = v << 8 | byte;
    s.remove_prefix(2);
    if (i < 5) {
      if (s.empty() || s[0] != ':') return false;
      s.remove_prefix(1);
    }
  }
  *out = v;
  return s.empty();
}

bool ParseIpv4(std::string_view s, uint64_t* out) {
  std::string str(s);
  in_addr a;
  if (inet_pton(AF_INET, str.c_str(), &a) != 1) return false;
  *out = ntohl(a.s_addr);
  return true;
}

bool ParseIpv6(std::string_view s, U128* out) {
  std::string str(s);
  unsigned char b[16];
  if (inet_pton(AF_INET6, str.c_str(), b) != 1) return false;
  out->hi = out->lo = 0;
  for (int i = 0; i < 8; ++i) out->hi = out->hi << 8 | b[i];
  for (int i = 8; i < 16; ++i) out->lo = out->lo << 8 | b[i];
  return true;
}

bool ParsePrefixLen(std::string_view s, int max, int* out) {
  uint64_t v;
  if (s.empty() || s.size() > 3 || !ParseUint(s, &v) || v > static_cast<uint64_t>(max)) {
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

bool ParseFrag(std::string_view s, uint64_t* v, uint64_t* m) {
  struct Name {
    const char* name;  // Keyword.
    uint64_t v, m;     // Value and mask.
  };
  static constexpr Name kNames[] = {{"no", 0, 1},    {"yes", 1, 1},
                                    {"first", 1, 3}, {"later", 3, 3},
                                    {"not_later", 0, 2}};
  for (const Name& n : kNames) {
    if (s == n.name) {
      *v = n.v;
      *m = n.m;
      return true;
    }
  }
  return false;
}

// tcp_flags=+syn-ack: '+' sets a flag in value and mask, '-' only in mask.
bool ParseTcpFlagNames(std::string_view s, uint64_t* v, uint64_t* m) {
  static constexpr std::pair<const char*, uint64_t> kFlags[] = {
      {"fin", 0x1}, {"syn", 0x2}, {"rst", 0x4}, {"psh", 0x8}, {"ack", 0x10},
      {"urg", 0x20}, {"ece", 0x40}, {"cwr", 0x80}, {"ns", 0x100}};
  *v = *m = 0;
  while (!s.empty()) {
    char sign = s[0];
    if (sign != '+' && sign != '-') return false;
    s.remove_prefix(1);
    size_t end = s.find_first_of("+-");
    std::string_view name = s.substr(0, end);
    s.remove_prefix(end == std::string_view::npos ? s.size() : end);
    uint64_t bit = 0;
    for (const auto& [n, b] : kFlags) {
      if (name == n) bit = b;
    }
    if (!bit) return false;
    *m |= bit;
    if (sign == '+') *v |= bit;
  }
  return true;
}

Status ParseAddress(Field field, const FieldInfo& fi, std::string_view value,
                    std::string_view mask, bool has_mask, Match* match) {
  std::string item = std::string(fi.name) + "=" + std::string(value);
  if (fi.format == FieldFormat::kIpv4) {
    uint64_t v, m = 0xffffffff;
    int plen;
    if (!ParseIpv4(value, &v)) return SyntaxError("bad IPv4 address in " + item);
    if (has_mask && ParsePrefixLen(mask, 32, &plen)) {
      match->SetPrefix(field, U128{0, v}, plen);
      return Status::Ok();
    }
    if (has_mask && !ParseIpv4(mask, &m)) return SyntaxError("bad IPv4 mask in " + item);
    match->SetMasked(field, v, m);
    return Status::Ok();
  }
  U128 v, m{~0ULL, ~0ULL};
  int plen;
  if (!ParseIpv6(value, &v)) return SyntaxError("bad IPv6 address in " + item);
  if (has_mask && ParsePrefixLen(mask, 128, &plen)) {
    match->SetPrefix(field, v, plen);
    return Status::Ok();
  }
  if (has_mask && !ParseIpv6(mask, &m)) return SyntaxError("bad IPv6 mask in " + item);
  match->SetMasked128(field, v, m);
  return Status::Ok();
}

// Applies a protocol shorthand ("tcp"); false when `word` is not one.
bool ApplyShorthand(std::string_view word, Match* m) {
  struct Proto {
    const char* name;   // Keyword.
    uint16_t dl_type;   // Ethernet type.
    int nw_proto;       // IP protocol, or -1.
  };
  static constexpr Proto kProtos[] = {
      {"ip", kEthTypeIp, -1},     {"ipv6", kEthTypeIpv6, -1},
      {"arp", kEthTypeArp, -1},   {"icmp", kEthTypeIp, 1},
      {"icmp6", kEthTypeIpv6, 58}, {"tcp", kEthTypeIp, 6},
      {"tcp6", kEthTypeIpv6, 6},  {"udp", kEthTypeIp, 17},
      {"udp6", kEthTypeIpv6, 17}, {"sctp", kEthTypeIp, 132},
      {"sctp6", kEthTypeIpv6, 132}};
  for (const Proto& p : kProtos) {
    if (word == p.name) {
      m->Set(Field::kDlType, p.dl_type);
      if (p.nw_proto >= 0) m->Set(Field::kNwProto, static_cast<uint64_t>(p.nw_proto));
      return true;
    }
  }
  return false;
}

// The pseudo-fields that do not map one-to-one onto a key field.
bool ParseSpecialField(std::string_view name, std::string_view value, Match* m,
                       Status* status) {
  uint64_t v;
  if (name == "nw_tos") {
    if (!ParseUint(value, &v) || v > 255 || (v & 3)) {
      *status = SyntaxError("nw_tos must be a multiple of 4 below 256: " + std::string(value));
    } else {
      m->Set(Field::kIpDscp, v >> 2);
    }
    return true;
  }
  if (name == "dl_vlan") {
    if (!ParseUint(value, &v) || v > 4095) {
      *status = SyntaxError("bad dl_vlan " + std::string(value));
    } else {
      uint64_t tci = m->key.vlan_tci(), tmask = m->GetMask(Field::kVlanTci);
      m->SetMasked(Field::kVlanTci, (tci & 0xe000) | 0x1000 | v, tmask | 0x1fff);
    }
    return true;
  }
  if (name == "dl_vlan_pcp") {
    if (!ParseUint(value, &v) || v > 7) {
      *status = SyntaxError("bad dl_vlan_pcp " + std::string(value));
    } else {
      uint64_t tci = m->key.vlan_tci(), tmask = m->GetMask(Field::kVlanTci);
      m->SetMasked(Field::kVlanTci, (tci & 0x0fff) | 0x1000 | v << 13, tmask | 0xf000);
    }
    return true;
  }
  return false;
}

Status ParseMatchItem(std::string_view item, Match* m) {
  size_t eq = item.find('=');
  if (eq == std::string_view::npos) {
    if (ApplyShorthand(item, m)) return Status::Ok();
    return SyntaxError("unknown keyword or field without value: " + std::string(item));
  }
  std::string_view name = item.substr(0, eq), value = item.substr(eq + 1);
  Status status;
  if (ParseSpecialField(name, value, m, &status)) return status;
  Field f;
  if (!FieldByName(name, &f)) return SyntaxError("unknown field " + std::string(name));
  return ParseFieldValue(f, value, m);
}

Status ParseConjunction(std::string_view item, std::vector<Conjunction>* out) {
  // conjunction(ID,K/N)
  std::string_view body = item.substr(std::strlen("conjunction("));
  if (body.empty() || body.back() != ')') return SyntaxError("bad " + std::string(item));
  body.remove_suffix(1);
  size_t comma = body.find(','), slash = body.find('/');
  uint64_t id, k, n;
  if (comma == std::string_view::npos || slash == std::string_view::npos || slash < comma ||
      !ParseUint(body.substr(0, comma), &id) ||
      !ParseUint(body.substr(comma + 1, slash - comma - 1), &k) ||
      !ParseUint(body.substr(slash + 1), &n) || id > 0xffffffffULL || n < 2 || n > 64 ||
      k < 1 || k > n) {
    return SyntaxError("bad " + std::string(item) + " (want conjunction(id,k/n), 1<=k<=n, 2<=n<=64)");
  }
  out->push_back(Conjunction{static_cast<uint32_t>(id), static_cast<uint8_t>(k),
                             static_cast<uint8_t>(n)});
  return Status::Ok();
}

}  // namespace

Status ParseFieldValue(Field field, std::string_view value, Match* match) {
  const FieldInfo& fi = GetFieldInfo(field);
  size_t slash = value.find('/');
  bool has_mask = slash != std::string_view::npos;
  std::string_view v_text = value.substr(0, slash);
  std::string_view m_text = has_mask ? value.substr(slash + 1) : std::string_view();
  std::string item = std::string(fi.name) + "=" + std::string(value);
  if (fi.format == FieldFormat::kIpv4 || fi.format == FieldFormat::kIpv6) {
    return ParseAddress(field, fi, v_text, m_text, has_mask, match);
  }
  uint64_t full = fi.bits >= 64 ? ~0ULL : (1ULL << fi.bits) - 1;
  uint64_t v, m = full;
  if (fi.format == FieldFormat::kFrag && !has_mask && ParseFrag(value, &v, &m)) {
    match->SetMasked(field, v, m);
    return Status::Ok();
  }
  if (field == Field::kTcpFlags && !value.empty() && (value[0] == '+' || value[0] == '-')) {
    if (!ParseTcpFlagNames(value, &v, &m)) return SyntaxError("bad tcp_flags in " + item);
    match->SetMasked(field, v, m);
    return Status::Ok();
  }
  bool ok = fi.format == FieldFormat::kMac ? ParseMac(v_text, &v) : ParseUint(v_text, &v);
  if (!ok) return SyntaxError("bad value in " + item);
  if (has_mask) {
    ok = fi.format == FieldFormat::kMac ? ParseMac(m_text, &m) : ParseUint(m_text, &m);
    if (!ok) return SyntaxError("bad mask in " + item);
  }
  if ((v & ~full) || (m & ~full)) return SyntaxError("value too wide for field in " + item);
  match->SetMasked(field, v, m);
  return Status::Ok();
}

Result<Match> ParseMatch(std::string_view text) {
  Match m;
  for (std::string_view item : SplitFlowItems(text)) {
    Status s = ParseMatchItem(item, &m);
    if (!s.ok()) return s.error();
  }
  return m;
}

Result<FlowSpec> ParseFlow(std::string_view text) {
  FlowSpec spec;
  size_t act = text.find("actions=");
  std::string_view match_text = text.substr(0, act);
  if (act != std::string_view::npos) {
    spec.actions = std::string(text.substr(act + std::strlen("actions=")));
    for (std::string_view a : SplitFlowItems(spec.actions)) {
      if (a.rfind("conjunction(", 0) == 0) {
        Status s = ParseConjunction(a, &spec.conjunctions);
        if (!s.ok()) return s.error();
      }
    }
  }
  for (std::string_view item : SplitFlowItems(match_text)) {
    uint64_t v;
    size_t eq = item.find('=');
    std::string_view name = item.substr(0, eq == std::string_view::npos ? item.size() : eq);
    std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    if (name == "table" || name == "priority" || name == "cookie") {
      if (!ParseUint(value, &v)) return SyntaxError("bad " + std::string(item));
      if (name == "table") {
        if (v > 254) return SyntaxError("table out of range: " + std::string(item));
        spec.table = static_cast<uint8_t>(v);
      } else if (name == "priority") {
        if (v > 65535) return SyntaxError("priority out of range: " + std::string(item));
        spec.priority = static_cast<int32_t>(v);
      } else {
        spec.cookie = v;
      }
      continue;
    }
    Status s = ParseMatchItem(item, &spec.match);
    if (!s.ok()) return s.error();
  }
  return spec;
}

std::vector<std::string_view> SplitFlowItems(std::string_view text) {
  std::vector<std::string_view> items;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ',' || text[i] == ' ' || text[i] == '\t')) ++i;
    size_t start = i;
    int depth = 0;
    while (i < text.size()) {
      char c = text[i];
      if (c == '(') ++depth;
      if (c == ')') --depth;
      if (depth <= 0 && (c == ',' || c == ' ' || c == '\t')) break;
      ++i;
    }
    if (i > start) items.push_back(text.substr(start, i - start));
  }
  return items;
}

}  // namespace spate::cls
