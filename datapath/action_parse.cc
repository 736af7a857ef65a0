#include "datapath/action_parse.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "classifier/flow_match_parse.h"

namespace spate::datapath {
namespace {

using cls::Field;
using cls::U128;

Error SyntaxError(const std::string& detail) { return Error("syntax error", detail); }

bool ParseU64(std::string_view s, uint64_t* v) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *v, base);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool ParsePort(std::string_view s, const PortResolver& resolve, uint32_t* port) {
  uint64_t v;
  if (ParseU64(s, &v) && v <= 0xffffffffULL) {
    *port = static_cast<uint32_t>(v);
    return true;
  }
  if (!resolve) return false;
  std::optional<uint32_t> p = resolve(s);
  if (!p) return false;
  *port = *p;
  return true;
}

// Fields an action may write (packet fields the editor supports, and
// metadata that only steers translation).
bool Settable(Field f) {
  switch (f) {
    case Field::kInPort: case Field::kMetadata: case Field::kLogInport:
    case Field::kLogOutport: case Field::kReg0: case Field::kReg1: case Field::kReg2:
    case Field::kReg3: case Field::kReg4: case Field::kReg5: case Field::kReg6:
    case Field::kReg7: case Field::kGeneveClass: case Field::kGeneveType:
    case Field::kGeneveValue: case Field::kTunId: case Field::kTunSrc: case Field::kTunDst:
    case Field::kTunIpv6Src: case Field::kTunIpv6Dst: case Field::kDlDst:
    case Field::kVlanTci: case Field::kDlSrc: case Field::kNwSrc: case Field::kNwDst:
    case Field::kIpv6Src: case Field::kIpv6Dst: case Field::kIpDscp: case Field::kNwEcn:
    case Field::kNwTtl: case Field::kIpv6Label: case Field::kTpSrc: case Field::kTpDst:
      return true;
    default:
      return false;
  }
}

struct NamedField {
  const char* name;  // Spelling.
  Field field;       // Field it names.
};
constexpr NamedField kExtraNames[] = {
    {"ip_src", Field::kNwSrc}, {"ip_dst", Field::kNwDst},
    {"NXM_NX_REG0", Field::kReg0}, {"NXM_NX_REG1", Field::kReg1},
    {"NXM_NX_REG2", Field::kReg2}, {"NXM_NX_REG3", Field::kReg3},
    {"NXM_NX_REG4", Field::kReg4}, {"NXM_NX_REG5", Field::kReg5},
    {"NXM_NX_REG6", Field::kReg6}, {"NXM_NX_REG7", Field::kReg7},
    {"NXM_NX_TUN_ID", Field::kTunId}, {"OXM_OF_METADATA", Field::kMetadata},
    {"NXM_OF_IN_PORT", Field::kInPort}, {"NXM_OF_ETH_SRC", Field::kDlSrc},
    {"NXM_OF_ETH_DST", Field::kDlDst}, {"NXM_OF_IP_SRC", Field::kNwSrc},
    {"NXM_OF_IP_DST", Field::kNwDst}, {"NXM_NX_TUN_METADATA0", Field::kGeneveValue},
};

bool LookupField(std::string_view name, Field* f) {
  for (const NamedField& n : kExtraNames) {
    if (name == n.name) {
      *f = n.field;
      return true;
    }
  }
  return cls::FieldByName(name, f);
}

Action SetField(Field f, U128 value, U128 mask) {
  Action a;
  a.type = ActionType::kSetField;
  a.field = f;
  a.value = value;
  a.mask = mask;
  return a;
}

// vlan_vid / vlan_pcp writes are vlan_tci writes with the present bit.
Action VlanVid(uint64_t vid) {
  Action a = SetField(Field::kVlanTci, {0, 0x1000 | (vid & 0xfff)}, {0, 0x1fff});
  a.push_if_untagged = true;
  return a;
}
Action VlanPcp(uint64_t pcp) {
  Action a = SetField(Field::kVlanTci, {0, 0x1000 | (pcp & 7) << 13}, {0, 0xf000});
  a.push_if_untagged = true;
  return a;
}

// Parses VALUE[/MASK] for `f` through the classifier's value parser.
Status FieldValue(Field f, std::string_view text, Action* out) {
  cls::Match m;
  Status s = cls::ParseFieldValue(f, text, &m);
  if (!s.ok()) return s;
  *out = SetField(f, m.key.Get128(f), m.GetMask128(f));
  return Status::Ok();
}

// set_field:VALUE->FIELD
Status ParseSetField(std::string_view arg, Action* out) {
  size_t arrow = arg.find("->");
  if (arrow == std::string_view::npos) return SyntaxError("set_field needs VALUE->FIELD");
  std::string_view value = arg.substr(0, arrow), name = arg.substr(arrow + 2);
  uint64_t v;
  if (name == "vlan_vid" || name == "vlan_pcp") {
    if (!ParseU64(value, &v) || v > (name == "vlan_vid" ? 0x1fffu : 7u)) {
      return SyntaxError("bad " + std::string(name) + " value: " + std::string(value));
    }
    *out = name == "vlan_vid" ? VlanVid(v) : VlanPcp(v);
    return Status::Ok();
  }
  Field f;
  if (!LookupField(name, &f)) return SyntaxError("unknown field: " + std::string(name));
  if (!Settable(f)) return SyntaxError("field cannot be set: " + std::string(name));
  return FieldValue(f, value, out);
}

// load:VALUE->FIELD[] or FIELD[a..b] or FIELD[a]
Status ParseLoad(std::string_view arg, Action* out) {
  size_t arrow = arg.find("->");
  size_t bracket = arg.find('[', arrow == std::string_view::npos ? 0 : arrow);
  if (arrow == std::string_view::npos || bracket == std::string_view::npos ||
      arg.back() != ']') {
    return SyntaxError("load needs VALUE->FIELD[] or FIELD[a..b]");
  }
  uint64_t v;
  Field f;
  std::string_view name = arg.substr(arrow + 2, bracket - arrow - 2);
  if (!ParseU64(arg.substr(0, arrow), &v)) return SyntaxError("bad load value");
  if (!LookupField(name, &f) || !Settable(f) || cls::GetFieldInfo(f).bits > 64) {
    return SyntaxError("field cannot be loaded: " + std::string(name));
  }
  int bits = cls::GetFieldInfo(f).bits;
  std::string_view range = arg.substr(bracket + 1, arg.size() - bracket - 2);
  uint64_t lo = 0, hi = static_cast<uint64_t>(bits - 1);
  if (!range.empty()) {
    size_t dots = range.find("..");
    bool ok = dots == std::string_view::npos
                  ? ParseU64(range, &lo) && (hi = lo, true)
                  : ParseU64(range.substr(0, dots), &lo) && ParseU64(range.substr(dots + 2), &hi);
    if (!ok || lo > hi || hi >= static_cast<uint64_t>(bits)) {
      return SyntaxError("bad bit range: " + std::string(range));
    }
  }
  uint64_t width = hi - lo + 1;
  uint64_t mask = (width >= 64 ? ~0ULL : (1ULL << width) - 1) << lo;
  if (width < 64 && (v >> width) != 0) return SyntaxError("value too wide for field");
  *out = SetField(f, {0, v << lo}, {0, mask});
  return Status::Ok();
}

// resubmit:PORT, resubmit(PORT,TABLE), resubmit(,TABLE)
Status ParseResubmit(std::string_view item, const PortResolver& resolve, Action* out) {
  out->type = ActionType::kResubmit;
  out->port = kKeepInPort;
  out->table = kCurrentTable;
  if (item.rfind("resubmit:", 0) == 0) {
    if (!ParsePort(item.substr(9), resolve, &out->port)) return SyntaxError("bad " + std::string(item));
    return Status::Ok();
  }
  std::string_view body = item.substr(std::strlen("resubmit("));
  if (body.empty() || body.back() != ')') return SyntaxError("bad " + std::string(item));
  body.remove_suffix(1);
  size_t comma = body.find(',');
  std::string_view port = body.substr(0, comma);
  std::string_view table = comma == std::string_view::npos ? "" : body.substr(comma + 1);
  uint64_t t;
  if (!port.empty() && !ParsePort(port, resolve, &out->port)) {
    return SyntaxError("bad port in " + std::string(item));
  }
  if (!table.empty()) {
    if (!ParseU64(table, &t) || t >= kNumTables) return SyntaxError("bad table in " + std::string(item));
    out->table = static_cast<uint8_t>(t);
  }
  return Status::Ok();
}

// mod_*:VALUE spellings and set_tunnel.
bool ModField(std::string_view name, Field* f) {
  static constexpr NamedField kMods[] = {
      {"mod_dl_src", Field::kDlSrc}, {"mod_dl_dst", Field::kDlDst},
      {"mod_nw_src", Field::kNwSrc}, {"mod_nw_dst", Field::kNwDst},
      {"mod_nw_ecn", Field::kNwEcn}, {"mod_nw_ttl", Field::kNwTtl},
      {"mod_tp_src", Field::kTpSrc}, {"mod_tp_dst", Field::kTpDst},
      {"set_tunnel", Field::kTunId}, {"set_tunnel64", Field::kTunId},
  };
  for (const NamedField& m : kMods) {
    if (name == m.name) {
      *f = m.field;
      return true;
    }
  }
  return false;
}

// Items of the form NAME:ARG.
Status ParseColonItem(std::string_view name, std::string_view arg,
                      const PortResolver& resolve, Action* a) {
  uint64_t v;
  Field f;
  if (name == "output") {
    if (!ParsePort(arg, resolve, &a->port)) return SyntaxError("unknown port: " + std::string(arg));
    a->type = ActionType::kOutput;
    return Status::Ok();
  }
  if (name == "set_field") return ParseSetField(arg, a);
  if (name == "load") return ParseLoad(arg, a);
  if (name == "goto_table") {
    if (!ParseU64(arg, &v) || v >= kNumTables) return SyntaxError("bad goto_table");
    a->type = ActionType::kGotoTable;
    a->table = static_cast<uint8_t>(v);
    return Status::Ok();
  }
  if (name == "mod_vlan_vid" || name == "mod_vlan_pcp") {
    if (!ParseU64(arg, &v) || v > (name == "mod_vlan_vid" ? 4095u : 7u)) {
      return SyntaxError("bad " + std::string(name));
    }
    *a = name == "mod_vlan_vid" ? VlanVid(v) : VlanPcp(v);
    return Status::Ok();
  }
  if (name == "push_vlan") {
    if (!ParseU64(arg, &v) || (v != 0x8100 && v != 0x88a8)) return SyntaxError("bad push_vlan TPID");
    a->type = ActionType::kPushVlan;
    a->value = {0, v};
    return Status::Ok();
  }
  if (name == "mod_nw_tos") {
    if (!ParseU64(arg, &v) || v > 255 || (v & 3) != 0) return SyntaxError("bad mod_nw_tos");
    *a = SetField(Field::kIpDscp, {0, v >> 2}, {0, 0x3f});
    return Status::Ok();
  }
  if (ModField(name, &f)) return FieldValue(f, arg, a);
  return SyntaxError("unknown action: " + std::string(name));
}

Status ParseItem(std::string_view item, const PortResolver& resolve, Action* a) {
  if (item == "in_port" || item == "IN_PORT") return a->type = ActionType::kInPort, Status::Ok();
  if (item == "flood" || item == "FLOOD") return a->type = ActionType::kFlood, Status::Ok();
  if (item == "all" || item == "ALL") return a->type = ActionType::kAll, Status::Ok();
  if (item == "strip_vlan" || item == "pop_vlan") return a->type = ActionType::kPopVlan, Status::Ok();
  if (item == "dec_ttl") return a->type = ActionType::kDecTtl, Status::Ok();
  if (item.rfind("resubmit:", 0) == 0 || item.rfind("resubmit(", 0) == 0) {
    return ParseResubmit(item, resolve, a);
  }
  size_t colon = item.find(':');
  if (colon == std::string_view::npos) {
    if (ParsePort(item, {}, &a->port)) return a->type = ActionType::kOutput, Status::Ok();
    return SyntaxError("unknown action: " + std::string(item));
  }
  return ParseColonItem(item.substr(0, colon), item.substr(colon + 1), resolve, a);
}

}  // namespace

Result<ParsedActions> ParseActions(std::string_view text, const PortResolver& resolve) {
  ParsedActions out;
  bool saw_drop = false;
  for (std::string_view item : cls::SplitFlowItems(text)) {
    if (item == "drop") {
      saw_drop = true;
      continue;
    }
    if (item.rfind("conjunction(", 0) == 0) {
      Result<cls::FlowSpec> c = cls::ParseFlow("actions=" + std::string(item));
      if (!c.ok()) return c.error();
      out.conjunctions.insert(out.conjunctions.end(), c->conjunctions.begin(),
                              c->conjunctions.end());
      continue;
    }
    Action a;
    Status s = ParseItem(item, resolve, &a);
    if (!s.ok()) return s.error();
    out.actions.push_back(a);
  }
  if (saw_drop && !out.actions.empty()) return SyntaxError("drop must be the only action");
  if (!out.conjunctions.empty() && !out.actions.empty()) {
    return SyntaxError("conjunction cannot be combined with other actions");
  }
  return out;
}

namespace {

// Strips "cookie=V/M" from `text` into *cookie / *mask; true if found.
Status TakeCookieMask(std::string* text, uint64_t* cookie, uint64_t* mask, bool* found) {
  *found = false;
  size_t at = text->find("cookie=");
  if (at == std::string::npos || (at > 0 && (*text)[at - 1] != ',' && (*text)[at - 1] != ' ')) {
    return Status::Ok();
  }
  size_t end = text->find_first_of(", \t", at);
  std::string item = text->substr(at + 7, end == std::string::npos ? std::string::npos : end - at - 7);
  size_t slash = item.find('/');
  if (slash == std::string::npos) return Status::Ok();
  std::string m = item.substr(slash + 1);
  if (!ParseU64(item.substr(0, slash), cookie)) return SyntaxError("bad cookie: " + item);
  if (m == "-1") {
    *mask = ~0ULL;
  } else if (!ParseU64(m, mask)) {
    return SyntaxError("bad cookie mask: " + item);
  }
  text->erase(at, end == std::string::npos ? std::string::npos : end - at);
  *found = true;
  return Status::Ok();
}

// Replaces "in_port=NAME" in the match part of `text` by the number.
Status ResolveInPort(std::string* text, const PortResolver& resolve) {
  size_t at = text->find("in_port=");
  size_t actions = text->find("actions=");
  if (at == std::string::npos || at > actions || !resolve) return Status::Ok();
  size_t begin = at + 8;
  size_t end = text->find_first_of(", \t", begin);
  if (end == std::string::npos) end = text->size();
  std::string name = text->substr(begin, end - begin);
  uint64_t v;
  if (ParseU64(name, &v)) return Status::Ok();
  std::optional<uint32_t> port = resolve(name);
  if (!port) return SyntaxError("unknown port: " + name);
  text->replace(begin, end - begin, std::to_string(*port));
  return Status::Ok();
}

}  // namespace

Result<RuleOp> ParseRuleOp(RuleOpKind kind, std::string_view text, bool strict,
                           const PortResolver& resolve) {
  RuleOp op;
  op.kind = kind;
  op.strict = strict;
  std::string t(text);
  bool masked = false;
  Status s = TakeCookieMask(&t, &op.spec.cookie, &op.cookie_mask, &masked);
  if (s.ok()) s = ResolveInPort(&t, resolve);
  if (!s.ok()) return s.error();
  bool has_actions = t.find("actions=") != std::string::npos;
  if (kind == RuleOpKind::kAdd && !has_actions) return SyntaxError("must specify actions");
  if (kind == RuleOpKind::kDelete && has_actions) return SyntaxError("delete takes no actions");
  if (kind == RuleOpKind::kModify && !has_actions) return SyntaxError("must specify actions");
  Result<cls::FlowSpec> fs = cls::ParseFlow(t);
  if (!fs.ok()) return fs.error();
  op.spec.table = fs->table;
  op.spec.priority = fs->priority;
  if (!masked) op.spec.cookie = fs->cookie;
  op.spec.match = fs->match;
  std::string_view head(t.data(), std::min(t.size(), t.find("actions=")));
  op.all_tables = kind != RuleOpKind::kAdd && head.find("table=") == std::string_view::npos;
  if (has_actions) {
    Result<ParsedActions> pa = ParseActions(fs->actions, resolve);
    if (!pa.ok()) return pa.error();
    op.spec.actions = std::move(pa->actions);
    op.spec.conjunctions = std::move(pa->conjunctions);
  }
  return op;
}

namespace {

std::string FormatSetField(const Action& a) {
  char buf[64];
  if (a.field == Field::kVlanTci && a.push_if_untagged) {
    if (a.mask.lo == 0x1fff) {
      std::snprintf(buf, sizeof buf, "mod_vlan_vid:%u", static_cast<unsigned>(a.value.lo & 0xfff));
    } else {
      std::snprintf(buf, sizeof buf, "mod_vlan_pcp:%u", static_cast<unsigned>(a.value.lo >> 13 & 7));
    }
    return buf;
  }
  const cls::FieldInfo& fi = cls::GetFieldInfo(a.field);
  U128 full = fi.bits >= 128 ? U128{~0ULL, ~0ULL}
                             : U128{0, fi.bits >= 64 ? ~0ULL : (1ULL << fi.bits) - 1};
  U128 mask = a.mask == full ? full : a.mask;
  return "set_field:" + cls::FormatField(a.field, a.value, mask) + "->" + fi.name;
}

std::string FormatOne(const Action& a) {
  char buf[48];
  switch (a.type) {
    case ActionType::kOutput: return "output:" + std::to_string(a.port);
    case ActionType::kInPort: return "IN_PORT";
    case ActionType::kFlood: return "FLOOD";
    case ActionType::kAll: return "ALL";
    case ActionType::kSetField: return FormatSetField(a);
    case ActionType::kPushVlan:
      std::snprintf(buf, sizeof buf, "push_vlan:0x%04x", static_cast<unsigned>(a.value.lo));
      return buf;
    case ActionType::kPopVlan: return "strip_vlan";
    case ActionType::kDecTtl: return "dec_ttl";
    case ActionType::kGotoTable: return "goto_table:" + std::to_string(a.table);
    case ActionType::kResubmit: {
      std::string s = "resubmit(";
      if (a.port != kKeepInPort) s += std::to_string(a.port);
      s += ",";
      if (a.table != kCurrentTable) s += std::to_string(a.table);
      return s + ")";
    }
  }
  return "?";
}

}  // namespace

std::string FormatActions(const std::vector<Action>& actions,
                          const std::vector<cls::Conjunction>& conjunctions) {
  std::string out;
  for (const Action& a : actions) {
    if (!out.empty()) out += ',';
    out += FormatOne(a);
  }
  for (const cls::Conjunction& c : conjunctions) {
    if (!out.empty()) out += ',';
    out += "conjunction(" + std::to_string(c.id) + "," + std::to_string(c.clause) + "/" +
           std::to_string(c.n_clauses) + ")";
  }
  return out.empty() ? "drop" : out;
}

}  // namespace spate::datapath
