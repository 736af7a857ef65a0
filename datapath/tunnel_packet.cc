// TunnelManager's packet path: the TunnelHook methods, run by PMD threads
// (see tunnel_manager.h for the design).
#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

#include "datapath/tunnel_internal.h"
#include "tunnels/encap_burst.h"
#include "tunnels/geneve.h"
#include "tunnels/mtu.h"
#include "tunnels/neighbor.h"

namespace spate::datapath {
namespace {

constexpr uint16_t kEthArp = 0x0806;
constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint8_t kIcmpv6 = 58;
constexpr uint8_t kNdNs = 135;
constexpr uint8_t kNdNa = 136;
constexpr uint32_t kReassembledHeadroom = 128;  // Left before a rebuilt STT frame.
constexpr uint32_t kMaxSttSegments = 64;        // Per frame sent.

static_assert(Packet::kRxIpChecksumGood == tunnels::kRxIpChecksumGood &&
              Packet::kRxL4ChecksumGood == tunnels::kRxL4ChecksumGood);

// Critical Geneve options this datapath parses.
constexpr tunnels::GeneveOptionId kUnderstood[] = {tunnels::kOvnPortsOption};

std::mutex g_alive_mutex;
std::set<uint64_t>& AliveManagers() {
  static std::set<uint64_t> alive;
  return alive;
}
std::atomic<uint32_t> g_next_thread_index{0};

void Consult(cls::FlowKey* wc, cls::Field f) { wc->Set128(f, cls::U128{~0ULL, ~0ULL}); }

// Address equality in two word compares (the defaulted operator calls
// memcmp; this runs per decapsulated packet and tunnel port).
bool SameIp(const tunnels::IpAddr& a, const tunnels::IpAddr& b) {
  uint64_t x[2], y[2];
  std::memcpy(x, a.bytes.data(), 16);
  std::memcpy(y, b.bytes.data(), 16);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

tunnels::MacAddr EthSource(const Packet* pkt) {
  tunnels::MacAddr m;
  std::memcpy(m.bytes.data(), pkt->data() + 6, 6);
  return m;
}

tunnels::PacketView ViewOf(Packet* pkt) {
  return tunnels::PacketView(pkt->buffer(), pkt->buffer_bytes(), pkt->headroom(), pkt->length());
}

// An empty view at `pkt`'s headroom (for frames built from scratch).
tunnels::PacketView EmptyViewOf(Packet* pkt) {
  return tunnels::PacketView(pkt->buffer(), pkt->buffer_bytes(), pkt->headroom(), 0);
}

// The 8-byte Geneve option TLV for the flow's geneve_* fields.
uint32_t GeneveOption(const TunnelPushParams& p, uint8_t* out) {
  if (p.geneve_class == 0 && p.geneve_type == 0 && p.geneve_value == 0) return 0;
  out[0] = static_cast<uint8_t>(p.geneve_class >> 8);
  out[1] = static_cast<uint8_t>(p.geneve_class);
  out[2] = p.geneve_type;
  out[3] = 1;  // One 4-byte word of data.
  for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<uint8_t>(p.geneve_value >> (24 - 8 * i));
  return 8;
}

// Encapsulates pkts[0..n) with `plan` (kV6 == plan.ipv6, kCsum ==
// plan.csum) and appends them to run[] in order.  A packet the plan cannot
// take goes to slow(pkt): appended when it returns true, else dropped by
// slow.  Returns the number appended.
template <bool kV6, bool kCsum, typename Slow>
uint32_t EncapRun(const tunnels::UdpEncapPlan& plan, Packet* const* pkts, uint32_t n,
                  Packet** run, Slow& slow) {
  uint32_t n_run = 0;
  for (uint32_t i = 0; i < n; ++i) {
    Packet* pkt = pkts[i];
    uint8_t* p = pkt->is_contiguous() ? tunnels::EncapPlanned<kV6, kCsum>(
                                            plan, pkt->data(), pkt->length(), pkt->headroom())
                                      : nullptr;
    if (p != nullptr) {
      pkt->SetDataWindow(pkt->headroom() - plan.hdr_len, pkt->length() + plan.hdr_len);
      run[n_run++] = pkt;
    } else if (slow(pkt)) {
      run[n_run++] = pkt;
    }
  }
  return n_run;
}

// Where the fields FillKey writes live in the key, looked up once
// (FlowKey::Set is an out-of-line call that looks the layout up each time,
// and this runs for every decapsulated packet).  A 128-bit field is two
// 64-bit parts (high word, then low word).
struct KeyLayout {
  enum Part : int { kInPort, kTunId, kTunSrc, kTunDst, kV6SrcHi, kV6SrcLo, kV6DstHi, kV6DstLo,
                    kGeneveClass, kGeneveType, kGeneveValue, kNumParts };
  uint8_t word[kNumParts];         // Word of each part.
  uint8_t shift[kNumParts];        // Bit offset.
  uint64_t mask[kNumParts];        // Mask within the word.
  int n_words = 0;                 // Distinct words the parts use.
  uint8_t words[kNumParts];        // Those words.
  uint16_t members[kNumParts];     // Parts (bit per Part) in each of them.

  KeyLayout() {
    Add(kInPort, cls::Field::kInPort, 0);
    Add(kTunId, cls::Field::kTunId, 0);
    Add(kTunSrc, cls::Field::kTunSrc, 0);
    Add(kTunDst, cls::Field::kTunDst, 0);
    Add(kV6SrcHi, cls::Field::kTunIpv6Src, 0);
    Add(kV6SrcLo, cls::Field::kTunIpv6Src, 1);
    Add(kV6DstHi, cls::Field::kTunIpv6Dst, 0);
    Add(kV6DstLo, cls::Field::kTunIpv6Dst, 1);
    Add(kGeneveClass, cls::Field::kGeneveClass, 0);
    Add(kGeneveType, cls::Field::kGeneveType, 0);
    Add(kGeneveValue, cls::Field::kGeneveValue, 0);
  }
  void Add(Part p, cls::Field f, int half) {
    const cls::FieldInfo& fi = cls::GetFieldInfo(f);
    word[p] = static_cast<uint8_t>(fi.word + half);
    shift[p] = fi.bits > 64 ? 0 : fi.shift;
    mask[p] = fi.bits > 64 ? ~0ULL : cls::FieldWordMask(f);
    int i = 0;
    while (i < n_words && words[i] != word[p]) ++i;
    if (i == n_words) {
      words[n_words] = word[p];
      members[n_words++] = 0;
    }
    members[i] = static_cast<uint16_t>(members[i] | 1u << p);
  }
  static const KeyLayout& Get() {
    static const KeyLayout layout;
    return layout;
  }
  // True when the layout is classifier/flow.cc's of today, for which
  // FillKey has straight-line code (the generic loop below cost ~20 % of
  // decapsulation in perf; this keeps it correct if the layout changes).
  bool IsKnown() const {
    static constexpr uint8_t kWord[kNumParts] = {0, 8, 9, 9, 10, 11, 12, 13, 6, 6, 7};
    static constexpr uint8_t kShift[kNumParts] = {0, 0, 32, 0, 0, 0, 0, 0, 32, 48, 0};
    for (int p = 0; p < kNumParts; ++p) {
      if (word[p] != kWord[p] || shift[p] != kShift[p]) return false;
    }
    return mask[kInPort] == 0xffffffffULL && mask[kGeneveClass] == 0xffffULL << 32 &&
           mask[kGeneveType] == 0xffULL << 48 && mask[kGeneveValue] == 0xffffffffULL;
  }
};

uint64_t Load64Be(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

uint32_t Load32Be(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}

// FillKey for KeyLayout::IsKnown()'s layout.
void FillKnownKey(const tunnels::TunnelMetadata& m, uint32_t port, cls::FlowKey* key) {
  key->w[0] = port;
  key->w[8] = m.tun_id;
  if (m.src.IsV4()) {
    key->w[9] = uint64_t{Load32Be(m.src.V4Bytes())} << 32 | Load32Be(m.dst.V4Bytes());
    key->w[10] = key->w[11] = key->w[12] = key->w[13] = 0;
  } else {
    key->w[9] = 0;
    key->w[10] = Load64Be(m.src.bytes.data());
    key->w[11] = Load64Be(m.src.bytes.data() + 8);
    key->w[12] = Load64Be(m.dst.bytes.data());
    key->w[13] = Load64Be(m.dst.bytes.data() + 8);
  }
  const uint8_t* o = m.options;
  if (m.n_option_bytes >= 8 && (o[3] & 0x1f) == 1) {
    key->w[6] = uint64_t{Be16(o)} << 32 | uint64_t{o[2]} << 48;
    key->w[7] = Load32Be(o + 4);
  } else {
    key->w[6] = 0;
    key->w[7] = 0;
  }
}

// The tunnel fields and in_port of the flow key from decapsulation
// metadata.  Only the words holding those fields are written, each once
// (the rest of those words is zeroed; zeroing the whole 216-byte key was
// a third of this function's time, and read-modify-writes per field half
// of it): the datapath takes nothing else from it.
void FillKey(const tunnels::TunnelMetadata& m, uint32_t port, cls::FlowKey* key) {
  using L = KeyLayout;
  static const bool known = L::Get().IsKnown();
  if (known) {
    FillKnownKey(m, port, key);
    return;
  }
  const L& l = L::Get();
  uint64_t v[L::kNumParts] = {};
  v[L::kInPort] = port;
  v[L::kTunId] = m.tun_id;
  if (m.src.IsV4()) {
    v[L::kTunSrc] = Load32Be(m.src.V4Bytes());
    v[L::kTunDst] = Load32Be(m.dst.V4Bytes());
  } else {
    v[L::kV6SrcHi] = Load64Be(m.src.bytes.data());
    v[L::kV6SrcLo] = Load64Be(m.src.bytes.data() + 8);
    v[L::kV6DstHi] = Load64Be(m.dst.bytes.data());
    v[L::kV6DstLo] = Load64Be(m.dst.bytes.data() + 8);
  }
  std::span<const uint8_t> opts = m.geneve_options();
  if (opts.size() >= 8 && (opts[3] & 0x1f) == 1) {
    v[L::kGeneveClass] = Be16(opts.data());
    v[L::kGeneveType] = opts[2];
    v[L::kGeneveValue] = Load32Be(opts.data() + 4);
  }
  for (int i = 0; i < l.n_words; ++i) {
    uint64_t w = 0;
    for (uint32_t bits = l.members[i]; bits != 0; bits &= bits - 1) {
      int p = __builtin_ctz(bits);
      w |= (v[p] << l.shift[p]) & l.mask[p];
    }
    key->w[l.words[i]] = w;
  }
}

}  // namespace

void RegisterTunnelManagerId(uint64_t id, bool alive) {
  std::lock_guard<std::mutex> lock(g_alive_mutex);
  if (alive) {
    AliveManagers().insert(id);
  } else {
    AliveManagers().erase(id);
  }
}

// ---- Per-thread state ----

TunnelManager::ThreadState& TunnelManager::State() const {
  struct Slot {
    uint64_t owner;                       // Manager id.
    std::unique_ptr<ThreadState> state;   // Its state on this thread.
  };
  static thread_local std::vector<Slot> slots;
  static thread_local uint64_t last_owner = 0;
  static thread_local ThreadState* last = nullptr;
  if (last_owner != id_) {
    last = nullptr;
    for (Slot& s : slots) {
      if (s.owner == id_) last = s.state.get();
    }
    if (last == nullptr) {
      {
        std::lock_guard<std::mutex> lock(g_alive_mutex);
        std::erase_if(slots, [](const Slot& s) { return AliveManagers().count(s.owner) == 0; });
      }
      auto st = std::make_unique<ThreadState>();
      st->owner = id_;
      st->thread_index = g_next_thread_index.fetch_add(1) & 0xff;
      last = st.get();
      slots.push_back({id_, std::move(st)});
    }
    last_owner = id_;
  }
  Sync(*last);
  return *last;
}

void TunnelManager::Sync(ThreadState& ts) const {
  if (config_version_.load(std::memory_order_acquire) != ts.config.version) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ts.config = *config_;
    }
    ts.port_index.clear();
    if (!ts.config.ports.empty() && ts.config.ports.back().number < 65536) {
      ts.port_index.assign(ts.config.ports.back().number + 1, -1);
      for (size_t i = 0; i < ts.config.ports.size(); ++i) {
        ts.port_index[ts.config.ports[i].number] = static_cast<int32_t>(i);
      }
    }
    if (ts.config.has_stt && !ts.stt) {
      ts.stt = std::make_unique<tunnels::SttReassembler>(options_.stt);
    }
    ts.underlay_version = 0;  // Templates may name removed ports.
    ts.lane.Reset();          // Its port choice may have changed.
  }
  uint64_t uv = underlay_version_.load(std::memory_order_acquire);
  if (uv != ts.underlay_version) {
    ts.templates.clear();
    ts.last = nullptr;
    ts.underlay_version = uv;
  }
}

// ---- Slow path ----

bool TunnelManager::IsTunnelPort(uint32_t port) const {
  return State().config.FindPort(port) != nullptr;
}

uint32_t TunnelManager::MatchUnderlay(const cls::FlowKey& key, cls::FlowKey* wc) const {
  Consult(wc, cls::Field::kInPort);
  const Config& c = State().config;
  const UnderlayInfo* u = c.FindUnderlay(key.in_port());
  if (u == nullptr) return 0;
  Consult(wc, cls::Field::kDlType);
  tunnels::IpAddr dst;
  if (key.dl_type() == kEthArp) {
    Consult(wc, cls::Field::kNwDst);
    return Config::IsAddressOf(*u, IpFromV4(key.nw_dst())) ? kUnderlayControl : 0;
  }
  if (key.dl_type() == kEthIpv4) {
    Consult(wc, cls::Field::kNwDst);
    dst = IpFromV4(key.nw_dst());
  } else if (key.dl_type() == kEthIpv6) {
    Consult(wc, cls::Field::kNwProto);
    if (key.nw_proto() == kIcmpv6) {
      Consult(wc, cls::Field::kTpSrc);
      uint64_t type = key.Get(cls::Field::kTpSrc);
      if (type == kNdNs) {
        Consult(wc, cls::Field::kNdTarget);
        return Config::IsAddressOf(*u, IpFromU128(key.Get128(cls::Field::kNdTarget)))
                   ? kUnderlayControl : 0;
      }
      if (type == kNdNa) {
        Consult(wc, cls::Field::kIpv6Dst);
        return Config::IsAddressOf(*u, IpFromU128(key.ipv6_dst())) ? kUnderlayControl : 0;
      }
      return 0;
    }
    Consult(wc, cls::Field::kIpv6Dst);
    dst = IpFromU128(key.ipv6_dst());
  } else {
    return 0;
  }
  if (!c.IsEndpointIp(dst)) return 0;
  Consult(wc, cls::Field::kNwProto);
  Consult(wc, cls::Field::kTpDst);
  uint8_t proto = key.nw_proto();
  for (const tunnels::LocalEndpoint& e : c.endpoints) {
    bool tcp = e.type == tunnels::TunnelType::kStt;
    if (e.ip == dst && e.dst_port == key.Get(cls::Field::kTpDst) && proto == (tcp ? 6 : 17)) {
      return e.port_id;
    }
  }
  return 0;
}

// ---- Encapsulation ----

DropReason TunnelManager::Push(const TunnelPushParams& params, Packet* pkt, uint32_t* out_port) {
  return EncapOne(params, pkt, nullptr, out_port) ? DropReason::kNone
                                                  : DropReason::kTunnelPushFailed;
}

void TunnelManager::PushTo(const TunnelPushParams& params, Packet* pkt, ExecSink* sink) {
  uint32_t out = 0;
  if (EncapOne(params, pkt, sink, &out)) {
    if (out != 0) sink->Output(out, pkt);
  } else {
    sink->Drop(pkt, DropReason::kTunnelPushFailed);
  }
}

void TunnelManager::PushBatch(const TunnelPushParams& params, Packet* const* pkts, uint32_t n,
                              ExecSink* sink) {
  ThreadState& ts = State();
  const Template* t = ResolveTemplate(ts, params, sink);
  uint8_t opt[8];
  tunnels::EncapParams ep;  // The per-packet fields are filled by EncapWith.
  ep.tun_id = params.tun_id;
  ep.geneve_options = {opt, GeneveOption(params, opt)};
  if (t != nullptr && t->tmpl.type != tunnels::TunnelType::kStt &&
      PushPlanned(ts, *t, ep, pkts, n, sink)) {
    return;
  }
  // Encapsulated packets leave in runs per underlay port (one per batch
  // but for STT segments): one OutputBatch instead of an Output each.
  Packet* run[PacketBatch::kMaxPackets];
  uint32_t n_run = 0, run_port = 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t out = 0;
    if (t != nullptr && EncapWith(ts, *t, ep, pkts[i], sink, &out)) {
      if (out == 0) continue;  // Sent as STT segments.
      if (n_run == PacketBatch::kMaxPackets || (n_run != 0 && out != run_port)) {
        sink->OutputBatch(run_port, run, n_run);
        n_run = 0;
      }
      run_port = out;
      run[n_run++] = pkts[i];
    } else {
      if (t == nullptr && i != 0) Count(ts.last_error);  // Counted once per packet.
      sink->Drop(pkts[i], DropReason::kTunnelPushFailed);
    }
  }
  if (n_run != 0) sink->OutputBatch(run_port, run, n_run);
}

// PushBatch for Geneve and VXLAN: prepares a plan for `t` and `ep`, then
// EncapPlanned on each packet, EncapWith (which counts the reason) on any
// the plan does not take.  Every packet that is not dropped leaves on
// t.out_port, in order.  False, with nothing done, when no plan fits (STT,
// bad or long options): the caller takes the per-packet path.
bool TunnelManager::PushPlanned(ThreadState& ts, const Template& t, tunnels::EncapParams& ep,
                                Packet* const* pkts, uint32_t n, ExecSink* sink) {
  tunnels::UdpEncapPlan plan;
  if (!tunnels::PrepareUdpEncap(t.tmpl, ep, t.mtu + tunnels::kEthHeaderBytes, &plan)) {
    return false;
  }
  Packet* run[PacketBatch::kMaxPackets];
  for (uint32_t done = 0; done < n;) {
    const uint32_t chunk = std::min<uint32_t>(n - done, PacketBatch::kMaxPackets);
    uint32_t n_run = 0;
    auto slow = [&](Packet* pkt) {
      uint32_t out = 0;
      if (EncapWith(ts, t, ep, pkt, sink, &out)) return true;
      sink->Drop(pkt, DropReason::kTunnelPushFailed);
      return false;
    };
    Packet* const* batch = pkts + done;
    if (plan.ipv6) {
      n_run = plan.csum ? EncapRun<true, true>(plan, batch, chunk, run, slow)
                        : EncapRun<true, false>(plan, batch, chunk, run, slow);
    } else {
      n_run = plan.csum ? EncapRun<false, true>(plan, batch, chunk, run, slow)
                        : EncapRun<false, false>(plan, batch, chunk, run, slow);
    }
    if (n_run != 0) sink->OutputBatch(t.out_port, run, n_run);
    done += chunk;
  }
  return true;
}

// Encapsulates `pkt`.  True with *out_port set: send it there; true with
// *out_port 0: the packet was consumed (segments sent); false: drop it
// (the reason is counted).
bool TunnelManager::EncapOne(const TunnelPushParams& params, Packet* pkt, ExecSink* sink,
                             uint32_t* out_port) {
  ThreadState& ts = State();
  const Template* t = ResolveTemplate(ts, params, sink);
  uint8_t opt[8];
  tunnels::EncapParams ep;
  ep.tun_id = params.tun_id;
  ep.geneve_options = {opt, GeneveOption(params, opt)};
  return t != nullptr && EncapWith(ts, *t, ep, pkt, sink, out_port);
}

// The template for `params` (port, remote), built when missing; nullptr
// when it cannot be (the reason is counted and kept in ts.last_error).
const TunnelManager::Template* TunnelManager::ResolveTemplate(ThreadState& ts,
                                                              const TunnelPushParams& params,
                                                              ExecSink* sink) {
  uint32_t n = params.tunnel_port;
  const PortRec* port = n < ts.port_index.size() && ts.port_index[n] >= 0
                            ? &ts.config.ports[static_cast<size_t>(ts.port_index[n])]
                            : ts.config.FindPort(n);
  TunnelError why = TunnelError::kCount;
  const Template* t = nullptr;
  if (port == nullptr) {
    why = TunnelError::kNotTunnelPort;
  } else if (!port->config.remote_ip_flow) {
    t = FindTemplate(ts, *port, port->config.remote_ip, sink, &why);
  } else if (params.tun_dst != 0) {
    t = FindTemplate(ts, *port, IpFromV4(params.tun_dst), sink, &why);
  } else if (!(params.tun_ipv6_dst == cls::U128{})) {
    t = FindTemplate(ts, *port, IpFromU128(params.tun_ipv6_dst), sink, &why);
  } else {
    why = TunnelError::kNoRemote;
  }
  if (t == nullptr) {
    ts.last_error = why;
    Count(why);
  }
  return t;
}

// Encapsulates `pkt` with template `t` and `ep` (tun_id and options; the
// flow hash and STT frame id are set here); see EncapOne for the result.
bool TunnelManager::EncapWith(ThreadState& ts, const Template& t, tunnels::EncapParams& ep,
                              Packet* pkt, ExecSink* sink, uint32_t* out_port) {
  if (!pkt->is_contiguous()) {
    Count(TunnelError::kNonContiguous);
    return false;
  }
  ep.flow_hash = tunnels::InnerFlowHash({pkt->data(), pkt->length()});
  if (t.tmpl.type == tunnels::TunnelType::kStt) {
    ep.stt_frame_id = ts.thread_index << 24 | (ts.next_frame++ & 0xffffff);
    if (sink != nullptr && tunnels::SttSegmentCount(t.tmpl, pkt->length(), t.mtu) != 1) {
      EncapSegments(t, ep, pkt, sink);
      *out_port = 0;
      return true;
    }
  }
  tunnels::PacketView v = ViewOf(pkt);
  tunnels::DropReason r = tunnels::Encap(t.tmpl, ep, v);
  if (r == tunnels::DropReason::kNone) r = tunnels::CheckUnderlayMtu(v.length(), t.mtu);
  if (r != tunnels::DropReason::kNone) {
    Count(r);
    return false;
  }
  pkt->SetDataWindow(v.offset(), v.length());
  *out_port = t.out_port;
  return true;
}

// Sends `pkt` as STT segments of at most the underlay MTU; consumes it.
void TunnelManager::EncapSegments(const Template& t, const tunnels::EncapParams& params,
                                  Packet* pkt, ExecSink* sink) {
  uint32_t n = tunnels::SttSegmentCount(t.tmpl, pkt->length(), t.mtu);
  Packet* segs[kMaxSttSegments];
  if (n == 0 || n > kMaxSttSegments) {
    Count(n == 0 ? tunnels::DropReason::kOuterExceedsMtu : tunnels::DropReason::kInnerTooLong);
    sink->Drop(pkt, DropReason::kTunnelPushFailed);
    return;
  }
  if (options_.pool == nullptr || !options_.pool->AllocBulk(segs, n)) {
    Count(TunnelError::kNoBuffer);
    sink->Drop(pkt, DropReason::kTunnelPushFailed);
    return;
  }
  tunnels::PacketView views[kMaxSttSegments];
  for (uint32_t i = 0; i < n; ++i) views[i] = EmptyViewOf(segs[i]);
  tunnels::DropReason r = tunnels::EncapSttSegments(
      t.tmpl, params, {pkt->data(), pkt->length()}, t.mtu, {views, n});
  if (r != tunnels::DropReason::kNone) {
    Count(r);
    FreePackets(segs, n);
    sink->Drop(pkt, DropReason::kTunnelPushFailed);
    return;
  }
  for (uint32_t i = 0; i < n; ++i) {
    segs[i]->SetDataWindow(views[i].offset(), views[i].length());
    sink->Output(t.out_port, segs[i]);
  }
  FreePacket(pkt);
}

const TunnelManager::Template* TunnelManager::FindTemplate(ThreadState& ts, const PortRec& port,
                                                           const tunnels::IpAddr& remote,
                                                           ExecSink* sink, TunnelError* why) const {
  TemplateKey key{port.number, remote};
  if (ts.last != nullptr && ts.last_key == key) return ts.last;
  auto it = ts.templates.find(key);
  if (it == ts.templates.end()) {
    Template t;
    if (!BuildTemplate(ts, port, remote, &t, sink, why)) return nullptr;
    if (ts.templates.size() >= ThreadState::kMaxTemplates) ts.templates.clear();
    it = ts.templates.emplace(key, t).first;
  }
  ts.last = &it->second;
  ts.last_key = key;
  return ts.last;
}

bool TunnelManager::BuildTemplate(ThreadState& ts, const PortRec& port,
                                  const tunnels::IpAddr& remote, Template* out, ExecSink* sink,
                                  TunnelError* why) const {
  std::optional<tunnels::Route> route = routes_.Lookup(remote);
  if (!route) {
    *why = TunnelError::kNoRoute;
    return false;
  }
  const UnderlayInfo* u = ts.config.FindUnderlay(route->output_bridge);
  if (u == nullptr) {
    *why = TunnelError::kNoUnderlay;
    return false;
  }
  std::optional<tunnels::IpAddr> local = port.config.local_ip;
  if (!local && !route->src.IsUnspecified()) local = route->src;
  for (size_t i = 0; !local && i < u->addresses.size(); ++i) {
    if (u->addresses[i].ip.IsV4() == remote.IsV4()) local = u->addresses[i].ip;
  }
  if (!local || local->IsV4() != remote.IsV4()) {
    *why = TunnelError::kNoLocalIp;
    return false;
  }
  tunnels::IpAddr next_hop = route->gateway.IsUnspecified() ? remote : route->gateway;
  std::optional<tunnels::MacAddr> mac = neighbors_.Lookup(next_hop, TunnelNowNs());
  if (!mac) {
    Solicit(ts, *u, *local, next_hop, sink);
    *why = TunnelError::kNoNeighbor;
    return false;
  }
  tunnels::EncapEndpoint ep;
  ep.local_ip = *local;
  ep.remote_ip = remote;
  ep.src_mac = u->mac;
  ep.dst_mac = *mac;
  Result<tunnels::EncapTemplate> tmpl = tunnels::BuildEncapTemplate(port.config, ep);
  if (!tmpl.ok()) {
    *why = TunnelError::kNoLocalIp;
    return false;
  }
  out->tmpl = *tmpl;
  out->out_port = u->number;
  out->mtu = static_cast<uint32_t>(u->mtu);
  return true;
}

// Sends an ARP request or a neighbour solicitation for `next_hop`, at most
// once per resolve_retry_ns per thread.
void TunnelManager::Solicit(ThreadState& ts, const UnderlayInfo& u, const tunnels::IpAddr& src,
                            const tunnels::IpAddr& next_hop, ExecSink* sink) const {
  if (sink == nullptr || options_.pool == nullptr) return;
  uint64_t now = TunnelNowNs();
  auto it = ts.solicited.find(next_hop);
  if (it != ts.solicited.end() && now - it->second < options_.resolve_retry_ns) return;
  if (ts.solicited.size() >= ThreadState::kMaxSolicits) ts.solicited.clear();
  ts.solicited[next_hop] = now;
  Packet* p = options_.pool->Alloc();
  if (p == nullptr) {
    Count(TunnelError::kNoBuffer);
    return;
  }
  tunnels::PacketView v = EmptyViewOf(p);
  tunnels::DropReason r = next_hop.IsV4() ? tunnels::BuildArpRequest(u.mac, src, next_hop, v)
                                          : tunnels::BuildNeighborSolicitation(u.mac, src, next_hop, v);
  if (r != tunnels::DropReason::kNone) {
    Count(r);
    FreePacket(p);
    return;
  }
  p->SetDataWindow(v.offset(), v.length());
  sink->Output(u.number, p);
}

// ---- Decapsulation ----

DropReason TunnelManager::Pop(uint32_t /*tunnel_port*/, Packet* pkt, cls::FlowKey* md) {
  bool held = false;
  DropReason r = DecapOne(pkt, md, &held);
  return held ? DropReason::kTunnelPopFailed : r;
}

void TunnelManager::PopTo(uint32_t tunnel_port, Packet* pkt, ExecSink* sink) {
  PopBatch(tunnel_port, &pkt, 1, sink);
}

void TunnelManager::PopBatch(uint32_t /*tunnel_port*/, Packet* const* pkts, uint32_t n,
                             ExecSink* sink) {
  ThreadState& ts = State();
  const tunnels::DecapContext ctx = MakeDecapContext(ts);
  cls::FlowKey& md = ts.md;  // Only its tunnel words are ever written.
  for (uint32_t i = 0; i < n; ++i) {
    Packet* pkt = pkts[i];
    if (i + 1 < n) __builtin_prefetch(pkts[i + 1]->data());
    bool held = false;
    uint32_t port = 0;
    DropReason r = DecapWith(ts, ctx, pkt, &md, &port, &held);
    if (held) {
      FreePacket(pkt);  // Its bytes are in the reassembler.
    } else if (r != DropReason::kNone) {
      sink->Drop(pkt, r);
    } else {
      sink->Recirculate(pkt, port, md);
    }
  }
}

// Packets received on an underlay port are decapsulated here, before any
// key is extracted, when Decap accepts them whole (no STT reassembly) and
// a tunnel port takes them: the datapath's translation of such a packet
// is always a tnl_pop (MatchUnderlay runs before any OpenFlow table, on the
// same fields Decap checks), whose pop would succeed, so only the outer
// pass (extraction, cache lookup) is skipped.  Everything else, including
// malformed tunnel traffic and STT segments, is left to the usual path,
// which counts its drops: nothing is counted or changed here for them.
//
// Each packet first tries the thread's DecapLane (tunnels/decap_lane.h):
// when its outer headers match those of the last packet the full Decap
// accepted here, the lane's few checks stand for Decap's and the tunnel
// port and key words are the learned ones (only the Geneve option value
// is read per packet).  Otherwise the full Decap runs and, on success,
// teaches the lane.  The lane is used only with FillKnownKey's key layout.
// When the underlay device verifies receive checksums, the packets' flags
// (fresh from the device: nothing has edited them) stand for the IPv4
// header and UDP checksum checks, in the lane and in Decap alike.
uint32_t TunnelManager::PopEarly(uint32_t in_port, Packet** pkts, uint32_t n, ExecSink* sink) {
  ThreadState& ts = State();
  const UnderlayInfo* u =
      ts.config.endpoints.empty() ? nullptr : ts.config.FindUnderlay(in_port);
  if (u == nullptr) return n;
  const bool hw_csum = u->rx_checksum_offload;
  tunnels::DecapContext ctx = MakeDecapContext(ts);
  ctx.stt = nullptr;  // Segments are left to PopBatch (reassembly).
  ctx.now_ns = 0;
  static const bool lane_ok = KeyLayout::Get().IsKnown();
  uint32_t kept = 0;
  for (uint32_t i = 0; i < n; ++i) {
    Packet* pkt = pkts[i];
    if (i + 1 < n) __builtin_prefetch(pkts[i + 1]->data());
    if (!pkt->is_contiguous()) {
      pkts[kept++] = pkt;
      continue;
    }
    tunnels::PacketView v = ViewOf(pkt);
    const uint32_t rx_flags = hw_csum ? pkt->rx_checksum_good() : 0;
    if (lane_ok && ts.lane.Decap(v, rx_flags)) {
      pkt->SetDataWindow(v.offset(), v.length());
      if (ts.lane_value) ts.lane_md.w[7] = Load32Be(pkt->data() - 4);
      sink->Recirculate(pkt, ts.lane_port, ts.lane_md);
    } else if (!PopFull(ts, ctx, pkt, rx_flags, lane_ok, sink)) {
      pkts[kept++] = pkt;
    }
  }
  return kept;
}

// PopEarly's full path for one contiguous packet: Decap, SelectPort, the
// key, Recirculate; on success the lane learns the packet's outer headers.
// False (nothing changed or counted) when the usual path must take it.
// Inlined into PopEarly (as a call it cost STT, which always comes here,
// about 7 cycles per packet).
[[gnu::always_inline]] inline bool TunnelManager::PopFull(ThreadState& ts,
                                                         const tunnels::DecapContext& ctx,
                                                         Packet* pkt, uint32_t rx_flags,
                                                         bool lane_ok, ExecSink* sink) {
  const uint8_t* frame = pkt->data();
  const uint32_t frame_len = pkt->length();
  tunnels::TunnelMetadata m;
  tunnels::PacketView v = ViewOf(pkt);
  if (tunnels::Decap(ctx, v, rx_flags, &m).status != tunnels::DecapStatus::kDecapped) {
    return false;
  }
  const uint32_t port = SelectPort(ts.config, m);
  if (port == 0) return false;
  pkt->SetDataWindow(v.offset(), v.length());
  FillKey(m, port, &ts.md);
  if (lane_ok && m.type != tunnels::TunnelType::kStt && ts.lane.Learn(frame, frame_len, m)) {
    ts.lane_port = port;
    ts.lane_value = m.n_option_bytes >= 8 && (m.options[3] & 0x1f) == 1;
    FillKey(m, port, &ts.lane_md);
  }
  sink->Recirculate(pkt, port, ts.md);
  return true;
}

DropReason TunnelManager::DecapOne(Packet* pkt, cls::FlowKey* md, bool* held) {
  ThreadState& ts = State();
  uint32_t port = 0;
  return DecapWith(ts, MakeDecapContext(ts), pkt, md, &port, held);
}

tunnels::DecapContext TunnelManager::MakeDecapContext(const ThreadState& ts) const {
  tunnels::DecapContext ctx;
  ctx.endpoints = ts.config.endpoints;
  ctx.understood_options = kUnderstood;
  ctx.stt = ts.stt.get();
  ctx.now_ns = ts.config.has_stt ? TunnelNowNs() : 0;
  return ctx;
}

// Decapsulates `pkt` in place; on success *port is the tunnel port and *md
// holds in_port (that port) and the tunnel fields (other words of *md are
// left as they were).  *held: an STT segment kept for reassembly.
DropReason TunnelManager::DecapWith(ThreadState& ts, const tunnels::DecapContext& ctx,
                                    Packet* pkt, cls::FlowKey* md, uint32_t* port, bool* held) {
  if (!pkt->is_contiguous()) {
    Count(TunnelError::kNonContiguous);
    return DropReason::kTunnelPopFailed;
  }
  tunnels::TunnelMetadata m;
  tunnels::PacketView v = ViewOf(pkt);
  tunnels::DecapResult r = tunnels::Decap(ctx, v, 0, &m);
  for (uint32_t i = 0; i < r.n_evicted; ++i) Count(tunnels::DropReason::kSttReassemblyFull);
  for (uint32_t i = 0; i < r.n_expired; ++i) Count(tunnels::DropReason::kSttReassemblyTimeout);
  switch (r.status) {
    case tunnels::DecapStatus::kNotTunnel:
      Count(TunnelError::kNoTunnelPort);
      return DropReason::kTunnelPopFailed;
    case tunnels::DecapStatus::kDropped:
      Count(r.reason);
      return DropReason::kTunnelPopFailed;
    case tunnels::DecapStatus::kSegmentHeld:
      *held = true;
      return DropReason::kNone;
    case tunnels::DecapStatus::kDecapped:
      break;
  }
  if (!r.reassembled.empty()) {
    uint32_t len = static_cast<uint32_t>(r.reassembled.size());
    if (len > pkt->buffer_bytes()) {
      Count(tunnels::DropReason::kSttFrameTooLong);
      return DropReason::kTunnelPopFailed;
    }
    uint32_t off = std::min(kReassembledHeadroom, pkt->buffer_bytes() - len);
    std::memcpy(pkt->buffer() + off, r.reassembled.data(), len);
    pkt->SetDataWindow(off, len);
  } else {
    pkt->SetDataWindow(v.offset(), v.length());
  }
  *port = SelectPort(ts.config, m);
  if (*port == 0) {
    Count(TunnelError::kNoTunnelPort);
    return DropReason::kTunnelPopFailed;
  }
  FillKey(m, *port, md);
  return DropReason::kNone;
}

// The tunnel port of a decapsulated packet, as Open vSwitch chooses it:
// type and destination port; local_ip when set; then remote_ip equal to
// the outer source beats remote_ip=flow, and a key equal to the VNI/context
// beats key=flow.  0 when none matches.
uint32_t TunnelManager::SelectPort(const Config& c, const tunnels::TunnelMetadata& m) {
  int best = -1;
  uint32_t port = 0;
  for (const PortRec& p : c.ports) {
    const tunnels::TunnelConfig& t = p.config;
    if (t.type != m.type || t.dst_port != m.tp_dst || (t.local_ip && !SameIp(*t.local_ip, m.dst))) {
      continue;
    }
    if (!t.remote_ip_flow && !SameIp(t.remote_ip, m.src)) continue;
    if (!t.key_flow && t.key != m.tun_id) continue;
    int score = (t.remote_ip_flow ? 0 : 2) + (t.key_flow ? 0 : 1);
    if (score > best) {
      best = score;
      port = p.number;
    }
  }
  return port;
}

// ---- ARP and ND ----

void TunnelManager::Control(uint32_t in_port, Packet* pkt, ExecSink* sink) {
  ThreadState& ts = State();
  const UnderlayInfo* u = ts.config.FindUnderlay(in_port);
  if (u == nullptr || !pkt->is_contiguous() || pkt->length() < 14) {
    Count(u == nullptr ? TunnelError::kNoUnderlay : TunnelError::kNonContiguous);
    sink->Drop(pkt, DropReason::kTunnelPopFailed);
    return;
  }
  UnderlayInfo copy = *u;  // Learn() may re-sync this thread's config.
  if (Be16(pkt->data() + 12) == kEthArp) {
    HandleArp(copy, pkt, sink);
  } else {
    HandleNd(copy, pkt, sink);
  }
}

void TunnelManager::HandleArp(const UnderlayInfo& u, Packet* pkt, ExecSink* sink) {
  tunnels::ArpMessage m;
  tunnels::DropReason r = tunnels::ParseArp(pkt->data(), pkt->length(), &m);
  if (r != tunnels::DropReason::kNone || !Config::IsAddressOf(u, m.tpa)) {
    Count(r != tunnels::DropReason::kNone ? r : tunnels::DropReason::kBadArp);
    sink->Drop(pkt, DropReason::kTunnelPopFailed);
    return;
  }
  if (!m.spa.IsUnspecified()) (void)Learn(m.spa, m.sha, u.name);
  if (!m.is_request) {
    FreePacket(pkt);  // A reply to us: learned, consumed.
    return;
  }
  tunnels::PacketView v = ViewOf(pkt);
  r = tunnels::BuildArpReply(u.mac, m.tpa, m.sha, m.spa, v);
  if (r != tunnels::DropReason::kNone) {
    Count(r);
    sink->Drop(pkt, DropReason::kTunnelPopFailed);
    return;
  }
  pkt->SetDataWindow(v.offset(), v.length());
  sink->Output(u.number, pkt);
}

void TunnelManager::HandleNd(const UnderlayInfo& u, Packet* pkt, ExecSink* sink) {
  tunnels::NdMessage m;
  tunnels::DropReason r = tunnels::ParseNd(pkt->data(), pkt->length(), &m);
  if (r != tunnels::DropReason::kNone) {
    Count(r);
    sink->Drop(pkt, DropReason::kTunnelPopFailed);
    return;
  }
  tunnels::MacAddr peer = m.lladdr ? *m.lladdr : EthSource(pkt);
  if (!m.is_solicitation) {
    if (!m.target.IsUnspecified()) (void)Learn(m.target, peer, u.name);
    FreePacket(pkt);  // An advertisement to us: learned, consumed.
    return;
  }
  if (!Config::IsAddressOf(u, m.target) || m.src.IsUnspecified()) {
    FreePacket(pkt);  // Not ours, or duplicate address detection.
    return;
  }
  (void)Learn(m.src, peer, u.name);
  tunnels::PacketView v = ViewOf(pkt);
  r = tunnels::BuildNeighborAdvertisement(u.mac, m.target, peer, m.src, v);
  if (r != tunnels::DropReason::kNone) {
    Count(r);
    sink->Drop(pkt, DropReason::kTunnelPopFailed);
    return;
  }
  pkt->SetDataWindow(v.offset(), v.length());
  sink->Output(u.number, pkt);
}

}  // namespace spate::datapath
