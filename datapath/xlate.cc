#include "datapath/xlate.h"

#include <cstdio>

#include "datapath/action_parse.h"

namespace spate::datapath {
namespace {

using cls::Field;
using cls::FlowKey;
using cls::U128;

constexpr uint8_t kProtoTcp = 6, kProtoUdp = 17, kProtoSctp = 132;

// The key bits of field `f` under right-aligned mask `m`, as word masks.
void FieldBits(Field f, U128 m, FlowKey* out) {
  const cls::FieldInfo& fi = cls::GetFieldInfo(f);
  if (fi.bits > 64) {
    out->w[fi.word] |= m.hi;
    out->w[fi.word + 1] |= m.lo;
  } else {
    out->w[fi.word] |= m.lo << fi.shift & cls::FieldWordMask(f);
  }
}

U128 FullMask(Field f) {
  int bits = cls::GetFieldInfo(f).bits;
  if (bits >= 128) return {~0ULL, ~0ULL};
  return {0, bits >= 64 ? ~0ULL : (1ULL << bits) - 1};
}

bool IsPacketField(Field f) {
  switch (f) {
    case Field::kDlDst: case Field::kDlSrc: case Field::kVlanTci: case Field::kNwSrc:
    case Field::kNwDst: case Field::kIpv6Src: case Field::kIpv6Dst: case Field::kIpDscp:
    case Field::kNwEcn: case Field::kNwTtl: case Field::kIpv6Label: case Field::kTpSrc:
    case Field::kTpDst:
      return true;
    default:
      return false;
  }
}

class Translator {
 public:
  Translator(const FlowKey& key, const XlateEnv& env, XlateResult* out, XlateTrace* trace)
      : env_(env), key_(key), out_(out), trace_(trace) {}

  void Run();

 private:
  // ORs the unwritten bits of `f` under mask `m` into the wildcards.
  void Consult(Field f, U128 m) {
    FlowKey bits{};
    FieldBits(f, m, &bits);
    for (int i = 0; i < cls::kFlowWords; ++i) out_->wc.w[i] |= bits.w[i] & ~written_.w[i];
  }
  void Consult(Field f) { Consult(f, FullMask(f)); }
  void WriteKey(Field f, U128 value, U128 mask);
  void Emit(const DpAction& a) { out_->actions.acts.push_back(a); }
  void Note(const std::string& text);

  void DoTable(int table);
  void DoActions(const std::vector<Action>& actions, int table);
  bool DoAction(const Action& a, int table);  // False: stop this rule.
  void Output(uint32_t port);
  void OutputMany(bool flood_only);
  void SetField(const Action& a);
  void SetVlan(const Action& a);
  void PushVlan(const Action& a);
  void PopVlan();
  bool DecTtl();
  void Resubmit(const Action& a, int table);
  bool Prerequisites(Field f);
  void Finish();

  const XlateEnv& env_;
  FlowKey key_;                    // The key as actions changed it.
  FlowKey written_{};              // Bits overwritten by actions.
  XlateResult* out_;
  XlateTrace* trace_;
  int depth_ = 0;                  // Resubmit nesting.
  int n_lookups_ = 0;              // Table lookups so far.
  DropReason error_ = DropReason::kNone;  // Fatal: drop the packet.
  bool missed_ = false;            // Some lookup found no rule.
  bool bad_port_ = false;          // Some output named a missing port.
  bool ttl_expired_ = false;       // dec_ttl stopped the pipeline.
  bool stopped_ = false;           // No more actions (ttl, error).
};

void Translator::Note(const std::string& text) {
  if (trace_ == nullptr) return;
  trace_->lines.push_back(std::string(static_cast<size_t>(depth_) * 4, ' ') + text);
}

void Translator::Run() {
  Consult(Field::kInPort);
  uint32_t tport = env_.tunnels != nullptr ? env_.tunnels->MatchUnderlay(key_, &out_->wc) : 0;
  if (tport == kUnderlayControl) {
    Note("ARP/ND for a local tunnel endpoint: answered by the datapath");
    DpAction a;
    a.type = DpActionType::kTunnelControl;
    a.port = key_.in_port();
    Emit(a);
  } else if (tport != 0) {
    Note("tunnel traffic for port " + std::to_string(tport) + ": tnl_pop");
    DpAction a;
    a.type = DpActionType::kTunnelPop;
    a.port = tport;
    Emit(a);
  } else {
    DoTable(0);
  }
  Finish();
}

void Translator::DoTable(int table) {
  if (++n_lookups_ > kMaxResubmits) {
    error_ = DropReason::kTooManyResubmits;
  } else if (depth_ >= kMaxResubmitDepth) {
    error_ = DropReason::kResubmitTooDeep;
  }
  if (error_ != DropReason::kNone) {
    stopped_ = true;
    Note(std::string("error: ") + DropReasonName(error_));
    return;
  }
  out_->tables.Add(table);
  const cls::Classifier* cls = env_.tables->table(table);
  FlowKey lwc{};
  const cls::Rule* hit = cls != nullptr ? cls->Lookup(key_, env_.version, &lwc) : nullptr;
  for (int i = 0; i < cls::kFlowWords; ++i) out_->wc.w[i] |= lwc.w[i] & ~written_.w[i];
  if (hit == nullptr) {
    missed_ = true;
    Note(std::to_string(table) + ". No match.");
    return;
  }
  auto* rule = reinterpret_cast<FlowRule*>(hit->payload());
  out_->rules.push_back(rule);
  if (trace_ != nullptr) {
    char cookie[32];
    std::snprintf(cookie, sizeof cookie, "0x%llx",
                  static_cast<unsigned long long>(rule->spec().cookie));
    std::string m = rule->spec().match.ToString();
    Note(std::to_string(table) + ". " + (m.empty() ? "" : m + ", ") + "priority " +
         std::to_string(rule->spec().priority) + ", cookie " + cookie);
    Note("    " + FormatActions(rule->spec().actions));
  }
  DoActions(rule->spec().actions, table);
}

void Translator::DoActions(const std::vector<Action>& actions, int table) {
  for (const Action& a : actions) {
    if (stopped_ || !DoAction(a, table)) return;
  }
}

bool Translator::DoAction(const Action& a, int table) {
  switch (a.type) {
    case ActionType::kOutput: Output(a.port); return true;
    case ActionType::kInPort:
      Consult(Field::kInPort);
      Output(kKeepInPort);
      return true;
    case ActionType::kFlood: OutputMany(true); return true;
    case ActionType::kAll: OutputMany(false); return true;
    case ActionType::kSetField: SetField(a); return true;
    case ActionType::kPushVlan: PushVlan(a); return true;
    case ActionType::kPopVlan: PopVlan(); return true;
    case ActionType::kDecTtl: return DecTtl();
    case ActionType::kResubmit: Resubmit(a, table); return true;
    case ActionType::kGotoTable:
      ++depth_;
      DoTable(a.table);
      --depth_;
      return false;
  }
  return true;
}

// Output to `port`; kKeepInPort means "the input port, explicitly".
void Translator::Output(uint32_t port) {
  uint32_t in_port = key_.in_port();
  if (port == kKeepInPort) {
    port = in_port;
  } else if (port == in_port) {
    Consult(Field::kInPort);
    Note("-> skipping output to input port");
    return;
  }
  const PortEntry* pe = env_.ports != nullptr ? env_.ports->Find(port) : nullptr;
  if (pe == nullptr) {
    bad_port_ = true;
    Note("-> output to nonexistent port " + std::to_string(port));
    return;
  }
  if (pe->tunnel) {
    TunnelPushParams t;
    t.tunnel_port = port;
    // The tunnel fields vary between packets only when they came in with
    // the packet (on a tunnel port): from any other port they are zero or
    // what this translation set, so in_port (consulted) determines them,
    // and an encapsulating megaflow can stay a simple in_port match.
    const PortEntry* in = env_.ports != nullptr ? env_.ports->Find(key_.in_port()) : nullptr;
    if (in == nullptr || in->tunnel || written_.Get(Field::kInPort) != 0) {
      for (Field f : {Field::kTunId, Field::kTunSrc, Field::kTunDst, Field::kTunIpv6Src,
                      Field::kTunIpv6Dst, Field::kGeneveClass, Field::kGeneveType,
                      Field::kGeneveValue}) {
        Consult(f);
      }
    }
    t.tun_id = key_.tun_id();
    t.tun_src = key_.tun_src();
    t.tun_dst = key_.tun_dst();
    t.tun_ipv6_src = key_.tun_ipv6_src();
    t.tun_ipv6_dst = key_.tun_ipv6_dst();
    t.geneve_class = key_.geneve_class();
    t.geneve_type = key_.geneve_type();
    t.geneve_value = key_.geneve_value();
    DpAction a;
    a.type = DpActionType::kTunnelPush;
    a.port = port;
    a.aux = static_cast<uint16_t>(out_->actions.tunnels.size());
    out_->actions.tunnels.push_back(t);
    Emit(a);
    Note("-> tunnel push on port " + std::to_string(port));
    return;
  }
  DpAction a;
  a.type = DpActionType::kOutput;
  a.port = port;
  Emit(a);
  Note("-> output to port " + std::to_string(port));
}

void Translator::OutputMany(bool flood_only) {
  Consult(Field::kInPort);
  if (env_.ports == nullptr) return;
  uint32_t in_port = key_.in_port();
  for (const PortEntry& pe : env_.ports->entries()) {
    if (pe.number == in_port || (flood_only && !pe.flood)) continue;
    Output(pe.number);
  }
}

void Translator::WriteKey(Field f, U128 value, U128 mask) {
  U128 old = key_.Get128(f);
  key_.Set128(f, {(old.hi & ~mask.hi) | (value.hi & mask.hi),
                  (old.lo & ~mask.lo) | (value.lo & mask.lo)});
  FieldBits(f, mask, &written_);
}

// Whether the packet has the header `f` lives in (consulting what decides).
bool Translator::Prerequisites(Field f) {
  Consult(Field::kDlType);
  uint16_t t = key_.dl_type();
  bool ip = t == cls::kEthTypeIp || t == cls::kEthTypeIpv6;
  switch (f) {
    case Field::kNwSrc: case Field::kNwDst:
      return t == cls::kEthTypeIp || t == cls::kEthTypeArp;
    case Field::kIpDscp: case Field::kNwEcn: case Field::kNwTtl:
      return ip;
    case Field::kIpv6Src: case Field::kIpv6Dst: case Field::kIpv6Label:
      return t == cls::kEthTypeIpv6;
    case Field::kTpSrc: case Field::kTpDst: {
      if (!ip) return false;
      Consult(Field::kNwProto);
      Consult(Field::kNwFrag, {0, cls::kFragLater});
      uint8_t p = key_.nw_proto();
      return (p == kProtoTcp || p == kProtoUdp || p == kProtoSctp) &&
             (key_.nw_frag() & cls::kFragLater) == 0;
    }
    default:
      return true;
  }
}

void Translator::SetField(const Action& a) {
  if (a.field == Field::kVlanTci) {
    SetVlan(a);
    return;
  }
  if (!IsPacketField(a.field)) {
    WriteKey(a.field, a.value, a.mask);
    return;
  }
  if (!Prerequisites(a.field)) {
    Note("-> set_field skipped: packet lacks the header");
    return;
  }
  WriteKey(a.field, a.value, a.mask);
  DpAction d;
  d.type = DpActionType::kSetField;
  d.field = a.field;
  d.value = a.value;
  d.mask = a.mask;
  Emit(d);
}

// vlan_tci writes; mod_vlan_vid/pcp push a tag when there is none.
void Translator::SetVlan(const Action& a) {
  Consult(Field::kVlanTci, {0, 0x1000});
  bool tagged = (key_.vlan_tci() & 0x1000) != 0;
  if (!tagged && !a.push_if_untagged) return;
  DpAction d;
  if (!tagged) {
    uint16_t tci = static_cast<uint16_t>((a.value.lo & a.mask.lo) | 0x1000);
    d.type = DpActionType::kPushVlan;
    d.value = {0x8100, static_cast<uint64_t>(tci & 0xefff)};
    WriteKey(Field::kVlanTci, {0, tci}, {0, 0xffff});
  } else {
    d.type = DpActionType::kSetField;
    d.field = Field::kVlanTci;
    d.value = a.value;
    d.mask = a.mask;
    WriteKey(Field::kVlanTci, a.value, a.mask);
  }
  Emit(d);
}

void Translator::PushVlan(const Action& a) {
  Consult(Field::kVlanTci);
  uint16_t tci = static_cast<uint16_t>(key_.vlan_tci() | 0x1000);
  DpAction d;
  d.type = DpActionType::kPushVlan;
  d.value = {a.value.lo, static_cast<uint64_t>(tci & 0xefff)};
  Emit(d);
  WriteKey(Field::kVlanTci, {0, tci}, {0, 0xffff});
}

// The key has no field for an inner tag, so after popping the outer tag of
// a double-tagged packet the key shows the packet as untagged.
void Translator::PopVlan() {
  Consult(Field::kVlanTci, {0, 0x1000});
  if ((key_.vlan_tci() & 0x1000) == 0) return;
  DpAction d;
  d.type = DpActionType::kPopVlan;
  Emit(d);
  WriteKey(Field::kVlanTci, {0, 0}, {0, 0xffff});
}

bool Translator::DecTtl() {
  if (!Prerequisites(Field::kNwTtl)) return true;
  Consult(Field::kNwTtl);
  uint8_t ttl = key_.nw_ttl();
  if (ttl <= 1) {
    ttl_expired_ = true;
    stopped_ = true;
    Note("-> dec_ttl: TTL expired, pipeline stops");
    return false;
  }
  Action set;
  set.type = ActionType::kSetField;
  set.field = Field::kNwTtl;
  set.value = {0, static_cast<uint64_t>(ttl - 1)};
  set.mask = {0, 0xff};
  SetField(set);
  return true;
}

void Translator::Resubmit(const Action& a, int table) {
  int target = a.table == kCurrentTable ? table : a.table;
  uint32_t saved_port = key_.in_port();
  uint64_t saved_written = written_.w[cls::GetFieldInfo(Field::kInPort).word];
  if (a.port != kKeepInPort) WriteKey(Field::kInPort, {0, a.port}, FullMask(Field::kInPort));
  ++depth_;
  DoTable(target);
  --depth_;
  key_.set_in_port(saved_port);
  written_.w[cls::GetFieldInfo(Field::kInPort).word] = saved_written;
}

void Translator::Finish() {
  DpActions& acts = out_->actions;
  if (error_ != DropReason::kNone) {
    acts.acts.clear();
    acts.tunnels.clear();
    acts.drop_reason = error_;
  } else if (ttl_expired_) {
    acts.drop_reason = DropReason::kTtlExpired;
  } else if (bad_port_) {
    acts.drop_reason = DropReason::kNoSuchPort;
  } else if (missed_) {
    acts.drop_reason = DropReason::kNoRule;
  } else {
    acts.drop_reason = DropReason::kExplicitDrop;
  }
  acts.Finalize();
  if (acts.last_consumer >= 0) acts.drop_reason = DropReason::kNone;
}

}  // namespace

XlateResult Translate(const FlowKey& key, const XlateEnv& env, XlateTrace* trace) {
  XlateResult out;
  Translator t(key, env, &out, trace);
  t.Run();
  return out;
}

cls::Match MegaflowMatch(const FlowKey& key, const FlowKey& wc) {
  cls::Match m;
  m.key = key;
  m.mask = wc;
  m.Normalize();
  return m;
}

}  // namespace spate::datapath
