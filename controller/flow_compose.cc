// Flow descriptions to keys and frames (see flow_compose.h).
#include "controller/flow_compose.h"

#include <cctype>
#include <cstdlib>
#include <optional>
#include <string>

#include "classifier/flow_match_parse.h"
#include "datapath/dummy_port.h"
#include "datapath/packet_edit.h"

namespace spate::controller {
namespace {

using cls::FlowKey;

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoSctp = 132;
constexpr size_t kPayloadBytes = 64;  // Open vSwitch's flow_compose l7 size.

// ---------------------------------------------------------------- parsing

// Splits "a(b,c),d(e)" at the commas outside parentheses.
std::vector<std::string_view> SplitTopLevel(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    char c = i < text.size() ? text[i] : ',';
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth <= 0) {
      std::string_view item = text.substr(start, i - start);
      while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) {
        item.remove_prefix(1);
      }
      while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) {
        item.remove_suffix(1);
      }
      if (!item.empty()) out.push_back(item);
      start = i + 1;
    }
  }
  return out;
}

// The ofctl field for key `key` of datapath attribute `attr`, or "" if
// the key is unknown.  "-" means: accepted and ignored.
std::string_view OfctlName(std::string_view attr, std::string_view key) {
  struct Entry {
    std::string_view attr, key, field;  // Datapath attribute, key, ofctl field.
  };
  static constexpr Entry kMap[] = {
      {"eth", "src", "dl_src"},       {"eth", "dst", "dl_dst"},
      {"vlan", "vid", "dl_vlan"},     {"vlan", "pcp", "dl_vlan_pcp"},
      {"vlan", "tpid", "-"},          {"vlan", "cfi", "-"},
      {"ipv4", "src", "nw_src"},      {"ipv4", "dst", "nw_dst"},
      {"ipv4", "proto", "nw_proto"},  {"ipv4", "tos", "nw_tos_byte"},
      {"ipv4", "ttl", "nw_ttl"},      {"ipv4", "frag", "frag"},
      {"ipv6", "src", "ipv6_src"},    {"ipv6", "dst", "ipv6_dst"},
      {"ipv6", "label", "ipv6_label"}, {"ipv6", "proto", "nw_proto"},
      {"ipv6", "tclass", "nw_tos_byte"}, {"ipv6", "hlimit", "nw_ttl"},
      {"ipv6", "frag", "frag"},
      {"tcp", "src", "tp_src"},       {"tcp", "dst", "tp_dst"},
      {"udp", "src", "tp_src"},       {"udp", "dst", "tp_dst"},
      {"sctp", "src", "tp_src"},      {"sctp", "dst", "tp_dst"},
      {"icmp", "type", "icmp_type"},  {"icmp", "code", "icmp_code"},
      {"icmpv6", "type", "icmp_type"}, {"icmpv6", "code", "icmp_code"},
      {"arp", "sip", "arp_spa"},      {"arp", "tip", "arp_tpa"},
      {"arp", "op", "arp_op"},        {"arp", "sha", "arp_sha"},
      {"arp", "tha", "arp_tha"},
      {"nd", "target", "nd_target"},  {"nd", "sll", "nd_sll"},
      {"nd", "tll", "nd_tll"},
  };
  for (const Entry& e : kMap) {
    if (e.attr == attr && e.key == key) return e.field;
  }
  return "";
}

// Sets ofctl field `field` to `value` in `key` (through the match parser,
// so every value syntax of ovs-ofctl works).
Status SetField(std::string_view field, std::string_view value, FlowKey* key) {
  std::string text;
  if (field == "nw_tos_byte") {  // The datapath form gives the whole byte.
    char* end = nullptr;
    std::string v(value);
    unsigned long tos = std::strtoul(v.c_str(), &end, 0);
    if (v.empty() || *end != '\0' || tos > 255) {
      return Error("syntax error", "bad tos/tclass \"" + v + "\"");
    }
    key->set_nw_tos(static_cast<uint8_t>(tos));
    return Status::Ok();
  }
  if (field == "frag") {
    if (value == "no") return Status::Ok();
    text = "nw_frag=" + std::string(value);
  } else {
    text = std::string(field) + "=" + std::string(value);
  }
  Result<cls::Match> m = cls::ParseMatch(text);
  if (!m.ok()) return m.error();
  for (int w = 0; w < cls::kFlowWords; ++w) {
    key->w[w] = (key->w[w] & ~m->mask.w[w]) | m->key.w[w];
  }
  return Status::Ok();
}

// One datapath attribute "name(args)" into `key`.
Status ApplyAttribute(std::string_view item, FlowKey* key) {
  size_t open = item.find('(');
  if (open == std::string_view::npos || item.back() != ')') {
    return Error("syntax error", "\"" + std::string(item) + "\": expected NAME(...)");
  }
  std::string_view attr = item.substr(0, open);
  std::string_view args = item.substr(open + 1, item.size() - open - 2);
  if (attr == "recirc_id" || attr == "skb_priority" || attr == "skb_mark" ||
      attr == "packet_type" || attr == "dp_hash") {
    return Status::Ok();
  }
  if (attr == "in_port") return SetField("in_port", args, key);
  if (attr == "eth_type") return SetField("dl_type", args, key);
  if (attr == "tcp_flags") return SetField("tcp_flags", args, key);
  if (attr == "encap") {
    for (std::string_view inner : SplitTopLevel(args)) {
      if (Status s = ApplyAttribute(inner, key); !s.ok()) return s;
    }
    return Status::Ok();
  }
  for (std::string_view kv : SplitTopLevel(args)) {
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    std::string_view field = OfctlName(attr, k);
    if (eq == std::string_view::npos || field.empty()) {
      return Error("syntax error", "unknown item \"" + std::string(kv) + "\" in " +
                                       std::string(attr) + "()");
    }
    if (field == "-") continue;
    if (Status s = SetField(field, kv.substr(eq + 1), key); !s.ok()) return s;
  }
  return Status::Ok();
}

// "in_port=NAME" -> "in_port=N" through `resolve`; other items unchanged.
Result<std::string> ResolveInPort(std::string_view text,
                                  const datapath::PortResolver& resolve) {
  std::string out;
  for (std::string_view item : cls::SplitFlowItems(text)) {
    std::string piece(item);
    if (item.substr(0, 8) == "in_port=") {
      std::string_view name = item.substr(8);
      bool numeric = !name.empty() && std::isdigit(static_cast<unsigned char>(name[0]));
      if (!numeric) {
        std::optional<uint32_t> n = resolve ? resolve(name) : std::nullopt;
        if (!n) return Error("syntax error", "unknown port \"" + std::string(name) + "\"");
        piece = "in_port=" + std::to_string(*n);
      }
    }
    out += (out.empty() ? "" : ",") + piece;
  }
  return out;
}

// ---------------------------------------------------------------- frames

void Put8(std::vector<uint8_t>* f, uint64_t v) { f->push_back(static_cast<uint8_t>(v)); }
void Put16(std::vector<uint8_t>* f, uint64_t v) { Put8(f, v >> 8); Put8(f, v); }
void Put32(std::vector<uint8_t>* f, uint64_t v) { Put16(f, v >> 16); Put16(f, v); }
void PutMac(std::vector<uint8_t>* f, uint64_t mac48) { Put16(f, mac48 >> 32); Put32(f, mac48); }
void Put128(std::vector<uint8_t>* f, cls::U128 v) {
  Put32(f, v.hi >> 32); Put32(f, v.hi); Put32(f, v.lo >> 32); Put32(f, v.lo);
}
void Store16(std::vector<uint8_t>* f, size_t at, uint16_t v) {
  (*f)[at] = static_cast<uint8_t>(v >> 8);
  (*f)[at + 1] = static_cast<uint8_t>(v);
}

// The L4 header (and payload) for `key` at the end of `f`; returns its start.
size_t PutL4(const FlowKey& key, bool is_ipv6, std::vector<uint8_t>* f) {
  size_t start = f->size();
  uint8_t proto = key.nw_proto();
  if (proto == kProtoTcp) {
    Put16(f, key.tp_src()); Put16(f, key.tp_dst()); Put32(f, 0); Put32(f, 0);
    Put16(f, 0x5000 | (key.tcp_flags() & 0x0fff)); Put16(f, 0xffff);
    Put16(f, 0); Put16(f, 0);
  } else if (proto == kProtoUdp || proto == kProtoSctp) {
    Put16(f, key.tp_src()); Put16(f, key.tp_dst());
    if (proto == kProtoUdp) { Put16(f, 8 + kPayloadBytes); Put16(f, 0); }
    else { Put32(f, 0); Put32(f, 0); }  // Verification tag, CRC32c.
  } else if (proto == (is_ipv6 ? kProtoIcmpv6 : kProtoIcmp)) {
    Put8(f, key.icmp_type()); Put8(f, key.icmp_code()); Put16(f, 0);
    uint8_t type = key.icmp_type();
    if (is_ipv6 && (type == 135 || type == 136)) {  // Neighbor solicit/advert.
      Put32(f, 0);
      Put128(f, key.nd_target());
      uint64_t lla = type == 135 ? key.nd_sll() : key.nd_tll();
      if (lla != 0) { Put8(f, type == 135 ? 1 : 2); Put8(f, 1); PutMac(f, lla); }
      return start;
    }
    Put32(f, 0);
  } else {
    return start;
  }
  f->insert(f->end(), kPayloadBytes, 0);
  return start;
}

// The L4 checksum over `f[l4..]` with the pseudo-header sum `pseudo`.
void FinishL4(uint8_t proto, size_t l4, uint32_t pseudo, std::vector<uint8_t>* f) {
  uint32_t len = static_cast<uint32_t>(f->size() - l4);
  if (len == 0) return;
  if (proto == kProtoSctp) {
    uint32_t crc = datapath::Crc32c(f->data() + l4, len);
    for (int i = 0; i < 4; ++i) (*f)[l4 + 8 + i] = static_cast<uint8_t>(crc >> (8 * i));
    return;
  }
  size_t at = proto == kProtoTcp ? 16 : proto == kProtoUdp ? 6 : 2;
  if (l4 + at + 2 > f->size()) return;
  uint16_t csum = datapath::InternetChecksum(f->data() + l4, len, pseudo + len + proto);
  if (proto == kProtoUdp && csum == 0) csum = 0xffff;
  Store16(f, l4 + at, csum);
}

uint32_t SumWords(uint64_t v, int n_words) {
  uint32_t sum = 0;
  for (int i = 0; i < n_words; ++i) sum += static_cast<uint16_t>(v >> (16 * i));
  return sum;
}

void PutIpv4(const FlowKey& key, std::vector<uint8_t>* f) {
  size_t ip = f->size();
  uint8_t frag = key.nw_frag();
  bool later = (frag & cls::kFragLater) != 0;
  Put8(f, 0x45); Put8(f, key.nw_tos()); Put16(f, 0); Put16(f, 0);
  Put16(f, (frag & cls::kFragAny) ? (later ? 0x2001 : 0x2000) : 0x4000);  // DF, or MF+offset.
  Put8(f, key.nw_ttl()); Put8(f, key.nw_proto()); Put16(f, 0);
  Put32(f, key.nw_src()); Put32(f, key.nw_dst());
  size_t l4 = later ? f->size() : PutL4(key, false, f);
  if (later) f->insert(f->end(), kPayloadBytes, 0);
  Store16(f, ip + 2, static_cast<uint16_t>(f->size() - ip));
  Store16(f, ip + 10, datapath::InternetChecksum(f->data() + ip, 20));
  if (!later) FinishL4(key.nw_proto(), l4, SumWords(key.nw_src(), 2) + SumWords(key.nw_dst(), 2), f);
}

void PutIpv6(const FlowKey& key, std::vector<uint8_t>* f) {
  size_t ip = f->size();
  uint8_t frag = key.nw_frag();
  bool is_frag = (frag & cls::kFragAny) != 0;
  Put32(f, 0x60000000u | static_cast<uint32_t>(key.nw_tos()) << 20 | (key.ipv6_label() & 0xfffff));
  Put16(f, 0); Put8(f, is_frag ? 44 : key.nw_proto()); Put8(f, key.nw_ttl());
  Put128(f, key.ipv6_src()); Put128(f, key.ipv6_dst());
  if (is_frag) {  // Fragment extension header.
    Put8(f, key.nw_proto()); Put8(f, 0);
    Put16(f, (frag & cls::kFragLater) ? 0x0009 : 0x0001); Put32(f, 1);
  }
  bool later = (frag & cls::kFragLater) != 0;
  size_t l4 = later ? f->size() : PutL4(key, true, f);
  if (later) f->insert(f->end(), kPayloadBytes, 0);
  Store16(f, ip + 4, static_cast<uint16_t>(f->size() - ip - 40));
  cls::U128 s = key.ipv6_src(), d = key.ipv6_dst();
  uint32_t pseudo = SumWords(s.hi, 4) + SumWords(s.lo, 4) + SumWords(d.hi, 4) + SumWords(d.lo, 4);
  if (!later) FinishL4(key.nw_proto(), l4, pseudo, f);
}

void PutArp(const FlowKey& key, std::vector<uint8_t>* f) {
  Put16(f, 1); Put16(f, 0x0800); Put8(f, 6); Put8(f, 4); Put16(f, key.arp_op());
  PutMac(f, key.arp_sha()); Put32(f, key.arp_spa());
  PutMac(f, key.arp_tha()); Put32(f, key.arp_tpa());
}

}  // namespace

bool LooksLikeHex(std::string_view text) {
  size_t digits = 0;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else if (c != ' ' && c != ':' && c != 'x' && c != 'X') {
      return false;
    }
  }
  return digits >= 28;
}

Result<cls::FlowKey> ParseFlowDescription(std::string_view text,
                                          const datapath::PortResolver& resolve) {
  FlowKey key{};
  if (text.find('(') != std::string_view::npos) {
    int depth = 0;
    for (char c : text) {
      depth += c == '(' ? 1 : c == ')' ? -1 : 0;
      if (depth < 0) break;
    }
    if (depth != 0) return Error("syntax error", "unbalanced parentheses");
    for (std::string_view item : SplitTopLevel(text)) {
      if (Status s = ApplyAttribute(item, &key); !s.ok()) return s.error();
    }
    return key;
  }
  Result<std::string> resolved = ResolveInPort(text, resolve);
  if (!resolved.ok()) return resolved.error();
  Result<cls::Match> m = cls::ParseMatch(*resolved);
  if (!m.ok()) return m.error();
  return m->key;
}

std::vector<uint8_t> ComposeFrame(const cls::FlowKey& key) {
  std::vector<uint8_t> f;
  f.reserve(128);
  PutMac(&f, key.dl_dst());
  PutMac(&f, key.dl_src());
  uint16_t tci = key.vlan_tci();
  if ((tci & 0x1000) != 0) {  // The CFI bit marks a present tag (as OVS).
    Put16(&f, 0x8100);
    Put16(&f, tci & 0xefff);
  }
  Put16(&f, key.dl_type());
  switch (key.dl_type()) {
    case cls::kEthTypeIp: PutIpv4(key, &f); break;
    case cls::kEthTypeIpv6: PutIpv6(key, &f); break;
    case cls::kEthTypeArp: PutArp(key, &f); break;
    default: break;
  }
  return f;
}

Result<std::vector<uint8_t>> ParsePacket(std::string_view text,
                                         const datapath::PortResolver& resolve) {
  if (LooksLikeHex(text)) return datapath::ParseHexFrame(std::string(text));
  Result<cls::FlowKey> key = ParseFlowDescription(text, resolve);
  if (!key.ok()) return key.error();
  return ComposeFrame(*key);
}

}  // namespace spate::controller
