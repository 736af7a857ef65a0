#include "datapath/fastpath.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iterator>
#include <new>

#include "datapath/flow_extract.h"
#include "datapath/xlate.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace spate::datapath {
namespace {

uint64_t Cycles() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Inc(std::atomic<uint64_t>& c, uint64_t n) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// The batch time (flows' last use) is read from the clock only when the
// TSC has moved this far (~50 us at 2.6 GHz): a clock_gettime per batch
// cost 2-3 cycles per packet.
constexpr uint64_t kClockRefreshCycles = 1 << 17;

// EMC bypass (FastPath::UseEmc, AccountEmc).
constexpr uint32_t kEmcWindow = 4096;     // Lookups per hit-rate window.
constexpr uint64_t kEmcBypassBelow = 25;  // Bypass below this hit %.
constexpr uint64_t kEmcResumeAbove = 50;  // Resume at or above this hit %.
constexpr uint32_t kEmcProbeEvery = 8;    // Probe batches while bypassing.

constexpr cls::Field kTunnelFields[] = {
    cls::Field::kTunId,       cls::Field::kTunSrc,       cls::Field::kTunDst,
    cls::Field::kTunIpv6Src,  cls::Field::kTunIpv6Dst,   cls::Field::kGeneveClass,
    cls::Field::kGeneveType,  cls::Field::kGeneveValue};

// The key words (and the bits in them) that hold the tunnel fields, found
// once from the field table: a decapsulated packet's tunnel metadata is
// copied into its key word by word (per-field Get128/Set128 calls were
// ~9 % of decapsulation).
struct TunnelWords {
  int n = 0;                                  // Words used.
  uint8_t word[2 * std::size(kTunnelFields)];   // Word indexes.
  uint64_t mask[2 * std::size(kTunnelFields)];  // Tunnel bits in each.

  TunnelWords() {
    for (cls::Field f : kTunnelFields) {
      const cls::FieldInfo& fi = cls::GetFieldInfo(f);
      if (fi.bits > 64) {
        Add(fi.word, ~0ULL);
        Add(static_cast<uint8_t>(fi.word + 1), ~0ULL);
      } else {
        Add(fi.word, cls::FieldWordMask(f));
      }
    }
  }
  void Add(uint8_t w, uint64_t m) {
    for (int i = 0; i < n; ++i) {
      if (word[i] == w) {
        mask[i] |= m;
        return;
      }
    }
    word[n] = w;
    mask[n++] = m;
  }
  static const TunnelWords& Get() {
    static const TunnelWords words;
    return words;
  }
};

// Copies the tunnel fields of `from` into `to`, leaving its other bits.
inline void CopyTunnelFields(const cls::FlowKey& from, cls::FlowKey* to) {
  const TunnelWords& t = TunnelWords::Get();
  for (int i = 0; i < t.n; ++i) {
    uint64_t& w = to->w[t.word[i]];
    w = (w & ~t.mask[i]) | (from.w[t.word[i]] & t.mask[i]);
  }
}

}  // namespace

uint64_t FastPathStats::n_dropped() const {
  uint64_t n = 0;
  for (int i = 1; i < kNumDropReasons; ++i) n += drops[i];
  return n;
}

struct FastPath::Counters {
  std::atomic<uint64_t> n_packets{0}, n_bytes{0}, n_cycles{0}, n_batches{0};
  std::atomic<uint64_t> n_emc_hits{0}, n_megaflow_hits{0}, n_upcalls{0}, n_lost{0};
  std::atomic<uint64_t> n_simple_hits{0}, n_emc_bypassed{0};
  std::atomic<uint64_t> n_revalidations{0}, n_evictions{0}, n_tx_packets{0};
  std::atomic<uint64_t> n_megaflows{0}, n_subtables{0};  // Gauges.
  DropCounters drops;  // By reason.
};

struct FastPath::Outputs {
  static constexpr int kMaxPorts = 16;  // Distinct ports before a flush.
  int n = 0;                            // Buckets in use.
  int last = 0;                         // Bucket used last (a hint).
  uint32_t port[kMaxPorts] = {};        // Port of each bucket.
  PacketBatch batch[kMaxPorts];         // Packets of each bucket.
};

// One pass over up to 32 packets.
struct FastPath::Work {
  uint32_t n = 0;                                   // Packets.
  Packet* pkts[PacketBatch::kMaxPackets] = {};      // The packets.
  uint32_t in_port[PacketBatch::kMaxPackets] = {};  // Their input ports.
  bool has_md[PacketBatch::kMaxPackets] = {};       // Tunnel metadata given.
  bool clean[PacketBatch::kMaxPackets] = {};        // keys[i] is zero outside
                                                    // the words the common
                                                    // extraction writes
                                                    // (ExtractFlowKeyReuse).
  cls::FlowKey md[PacketBatch::kMaxPackets];        // Tunnel metadata.
  cls::FlowKey keys[PacketBatch::kMaxPackets];      // Extracted keys.
  ExtractResult ext[PacketBatch::kMaxPackets];      // Header offsets.
  Megaflow* flows[PacketBatch::kMaxPackets] = {};   // Their megaflows.
  int local[PacketBatch::kMaxPackets] = {};         // Index in locals, or -1.
  std::vector<XlateResult> locals;                  // Uninstalled translations.
};

FastPath::FastPath(DatapathShared* shared, PmdSync* sync, FastPathConfig config)
    : shared_(shared),
      sync_(sync),
      config_(config),
      reader_id_(shared->tables.domain().RegisterReader()),
      megaflows_(config.max_megaflows),
      counters_(std::make_unique<Counters>()),
      outputs_(std::make_unique<Outputs>()),
      work_(new Work[kMaxRecirculations + 1]) {
  if (reader_id_ >= 0) shared_->tables.domain().Offline(reader_id_);
}

FastPath::~FastPath() {
  if (reader_id_ >= 0) shared_->tables.domain().UnregisterReader(reader_id_);
}

void FastPath::HandleBatch(const RxQueueRef& from, PacketBatch* batch) {
  Run(from.port, 0, batch);
}

void FastPath::Process(uint32_t in_port, PacketBatch* batch) { Run(nullptr, in_port, batch); }

// The port snapshot may only be read inside the batch (after BeginBatch):
// a committer frees an old snapshot once this PMD is idle or has moved on.
void FastPath::Run(const Port* device, uint32_t in_port, PacketBatch* batch) {
  uint64_t start = Cycles();
  BeginBatch(start);
  if (device != nullptr) {
    const PortEntry* pe = ports_ != nullptr ? ports_->FindByDevice(device) : nullptr;
    in_port = pe != nullptr ? pe->number : 0;
  }
  RunBatch(in_port, batch);
  Flush();
  EndBatch();
  Inc(counters_->n_cycles, Cycles() - start);
  Inc(counters_->n_batches, 1);
}

void FastPath::BeginBatch(uint64_t tsc) {
  if (tsc - clock_tsc_ >= kClockRefreshCycles || tsc < clock_tsc_) {
    now_ns_ = NowNs();
    clock_tsc_ = tsc;
  }
  uint64_t g = shared_->generation.load(std::memory_order_seq_cst);
  for (;;) {
    sync_->active_gen.store(g, std::memory_order_seq_cst);
    uint64_t again = shared_->generation.load(std::memory_order_seq_cst);
    if (again == g) break;
    g = again;
  }
  if (reader_id_ >= 0) shared_->tables.domain().Online(reader_id_);
  version_ = shared_->tables.domain().visible_version();
  ports_ = shared_->ports.load(std::memory_order_acquire);
  if (g != seen_gen_) {
    Revalidate();
    seen_gen_ = g;
  }
}

void FastPath::EndBatch() {
  if (reader_id_ >= 0) shared_->tables.domain().Offline(reader_id_);
  // Release is enough (one locked instruction less per batch): it orders
  // the batch before a committer's load that sees kIdle, and the next
  // BeginBatch's seq_cst store follows it in active_gen's modification
  // order, so no committer can read this kIdle once that store is in the
  // total order before its generation bump.
  sync_->active_gen.store(PmdSync::kIdle, std::memory_order_release);
}

bool FastPath::KeepOnRevalidate(Megaflow* f, const XlateEnv& env) {
  XlateResult r = Translate(f->key, env);
  if (!(r.actions == f->actions)) return false;
  for (int i = 0; i < cls::kFlowWords; ++i) {
    if (r.wc.w[i] & ~f->match.mask.w[i]) return false;
  }
  std::vector<std::shared_ptr<FlowRule>> rules = ShareRules(r.rules);
  if (rules != f->rules) {
    std::lock_guard<std::mutex> lock(megaflows_.mutex());
    uint64_t n_pkts = f->n_packets.load(std::memory_order_relaxed);
    uint64_t n_bytes = f->n_bytes.load(std::memory_order_relaxed);
    for (const auto& rule : f->rules) rule->AddStats(n_pkts, n_bytes);
    f->n_packets.store(0, std::memory_order_relaxed);
    f->n_bytes.store(0, std::memory_order_relaxed);
    f->rules = std::move(rules);
  }
  f->tables = r.tables;
  return true;
}

void FastPath::Revalidate() {
  TableSet changed;
  for (size_t i = 0; i < 4; ++i) {
    changed.bits[i] = sync_->changed[i].exchange(0, std::memory_order_acq_rel);
  }
  Inc(counters_->n_revalidations, 1);
  if (changed.empty()) return;
  bool all = changed.Has(kAllTablesBit);
  XlateEnv env{&shared_->tables, version_, ports_, shared_->tunnels};
  std::vector<Megaflow*> victims;
  for (Megaflow* f : megaflows_.flows()) {
    if ((all || f->tables.Intersects(changed)) && !KeepOnRevalidate(f, env)) {
      victims.push_back(f);
    }
  }
  for (Megaflow* f : victims) megaflows_.Evict(f);
  Inc(counters_->n_evictions, victims.size());
  megaflows_.Publish();
  emc_.Sweep();
  megaflows_.FreeDead();
  UpdateGauges();
  RefreshSimple(true);
  RefreshPortFlows();
}

void FastPath::RunBatch(uint32_t in_port, PacketBatch* batch) {
  if ((n_simple_ != 0 || n_port_flows_ != 0) && TrySimple(in_port, batch)) return;
  Work* w = &work_[0];
  w->n = batch->n_pkts;
  for (uint32_t i = 0; i < batch->n_pkts; ++i) {
    w->pkts[i] = batch->pkts[i];
    w->in_port[i] = in_port;
    w->has_md[i] = false;
  }
  batch->n_pkts = 0;
  pass_ = 0;
  if (shared_->tunnels != nullptr) {
    w->n = shared_->tunnels->PopEarly(in_port, w->pkts, w->n, this);
  }
  for (pass_ = 0; pass_ <= kMaxRecirculations; ++pass_) {
    w = &work_[pass_];
    if (w->n == 0) continue;
    Classify(w);
    Execute(w);
    w->n = 0;
  }
  pass_ = 0;
}

// Open vSwitch's "simple match": while the megaflow cache holds one mask,
// in_port alone, every packet of a port hits that port's megaflow, so no
// key needs extracting.  Only for megaflows whose actions are one output.
bool FastPath::TrySimple(uint32_t in_port, PacketBatch* batch) {
  Megaflow* f = nullptr;
  for (size_t i = 0; i < n_simple_; ++i) {
    if (simple_[i].in_port == in_port) f = simple_[i].flow;
  }
  for (size_t i = 0; f == nullptr && i < n_port_flows_; ++i) {
    if (port_flows_[i].in_port == in_port) f = port_flows_[i].flow;
  }
  if (f == nullptr) return false;
  uint32_t n = batch->n_pkts;
  uint64_t bytes = 0;
  if (f->single_output == kNoSingleOutput) {  // One tunnel push.
    for (uint32_t i = 0; i < n; ++i) bytes += batch->pkts[i]->packet_length();
    const DpAction& a = f->actions.acts[0];
    shared_->tunnels->PushBatch(f->actions.tunnels[a.aux], batch->pkts, n, this);
  } else {
    for (uint32_t i = 0; i < n; ++i) bytes += batch->pkts[i]->packet_length();
    SendBurst(f->single_output, batch->pkts, n);
  }
  batch->n_pkts = 0;
  f->HitN(n, bytes, now_ns_);
  Counters& c = *counters_;
  Inc(c.n_packets, n);
  Inc(c.n_bytes, bytes);
  Inc(c.n_megaflow_hits, n);
  Inc(c.n_simple_hits, n);
  return true;
}

namespace {

// Whether mask `m` covers in_port and Ethernet words (0, 14, 15) only.
bool EthernetOnlyMask(const cls::FlowKey& m) {
  for (int i = 1; i < cls::kFlowWords; ++i) {
    if (i != 14 && i != 15 && m.w[i] != 0) return false;
  }
  return true;
}

}  // namespace

// Recomputes the simple-match flows and the L2 mode after a Publish.
// The L2 table is rebuilt when the mode starts or after evictions
// (`rebuild`); otherwise it gains the flows just published (pending_).
void FastPath::RefreshSimple(bool rebuild) {
  n_simple_ = 0;
  const std::vector<Megaflow*>& flows = megaflows_.flows();
  bool emc_off = config_.emc_insert_inv_prob == 0 || config_.emc_min_subtables > 1;
  bool was_l2 = l2_mode_;
  l2_mode_ = emc_off && megaflows_.n_subtables() == 1 && !flows.empty() &&
             megaflows_.n_multi_action() == 0 && EthernetOnlyMask(flows[0]->match.mask);
  if (l2_mode_ && (rebuild || !was_l2)) {
    l2_table_.Reset(flows[0]->match.mask, flows.size());
    for (Megaflow* f : flows) l2_table_.Insert(f);
  } else if (l2_mode_) {
    for (Megaflow* f : pending_) l2_table_.Insert(f);
  }
  if (megaflows_.n_subtables() != 1 || flows.size() > kMaxSimpleFlows) return;
  for (Megaflow* f : flows) {
    bool push = IsTunnelOnly(f) && f->actions.acts[0].type == DpActionType::kTunnelPush;
    if (f->dead || !f->in_port_only || (f->single_output == kNoSingleOutput && !push)) {
      n_simple_ = 0;
      return;
    }
    simple_[n_simple_++] = SimpleFlow{f->key.in_port(), f};
  }
}

// Whether this batch looks up the EMC: not while the megaflow cache has
// fewer than emc_min_subtables subtables (with one, a megaflow probe
// hashes only the masked words and beat the EMC's hash and compare of the
// whole key by 12-19 % in fastpath_bench and datapath_fwd); else always,
// unless it is thrashing (then one batch in kEmcProbeEvery, which also
// inserts, to notice when the traffic changes).
bool FastPath::UseEmc() {
  if (config_.emc_insert_inv_prob == 0) return false;
  if (megaflows_.n_subtables() < config_.emc_min_subtables) return false;
  if (!emc_bypass_) return true;
  return ++emc_batches_ % kEmcProbeEvery == 0;
}

// Hit-rate window of the EMC bypass: below kEmcBypassBelow % of lookups
// hitting, lookups cost more than they save; above kEmcResumeAbove %,
// they pay again.
void FastPath::AccountEmc(uint32_t lookups, uint32_t hits) {
  if (!config_.emc_auto_bypass) return;
  emc_win_lookups_ += lookups;
  emc_win_hits_ += hits;
  if (emc_win_lookups_ < kEmcWindow) return;
  uint64_t pct = 100ULL * emc_win_hits_ / emc_win_lookups_;
  if (!emc_bypass_ && pct < kEmcBypassBelow) emc_bypass_ = true;
  if (emc_bypass_ && pct >= kEmcResumeAbove) emc_bypass_ = false;
  emc_win_lookups_ = 0;
  emc_win_hits_ = 0;
}

// Extracts every key; for EMC lookups, hashes the plain ones and starts
// loading their slots, so the lookups that follow find them in cache.
void FastPath::ExtractAll(Work* w, bool use_emc, uint32_t* hashes) {
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < w->n; ++i) {
    if (i + 1 < w->n) __builtin_prefetch(w->pkts[i + 1]->data());
    Packet* p = w->pkts[i];
    // Constructed in place (no copy of a returned temporary: reloading it
    // stalled on store forwarding, 5 % of the PMD in perf).
    ::new (static_cast<void*>(&w->ext[i])) ExtractResult(
        ExtractFlowKeyReuse(p->data(), p->length(), w->in_port[i], &w->keys[i], &w->clean[i]));
    w->local[i] = -1;
    w->flows[i] = nullptr;
    bytes += p->packet_length();
    hashes[i] = 0;
    if (w->has_md[i]) {
      CopyTunnelFields(w->md[i], &w->keys[i]);
      w->clean[i] = false;
    } else if (use_emc) {
      hashes[i] = HashPlainKey(w->keys[i]);
      emc_.Prefetch(hashes[i]);
    }
  }
  Inc(counters_->n_bytes, bytes);
  Inc(counters_->n_packets, w->n);
}

// Classify in L2 mode (see the header): false, with nothing done, when a
// packet carries tunnel metadata.  Misses are extracted in full before
// their upcall; hits are one-output megaflows (the mode requires it of
// every published one), which Execute sends without reading the key.
bool FastPath::ClassifyL2(Work* w) {
  for (uint32_t i = 0; i < w->n; ++i) {
    if (w->has_md[i]) return false;
  }
  const cls::FlowKey* keys[PacketBatch::kMaxPackets];
  Megaflow* found[PacketBatch::kMaxPackets];
  bool full[PacketBatch::kMaxPackets];
  w->locals.clear();
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < w->n; ++i) {
    if (i + 1 < w->n) __builtin_prefetch(w->pkts[i + 1]->data());
    Packet* p = w->pkts[i];
    w->local[i] = -1;
    bytes += p->packet_length();
    keys[i] = &w->keys[i];
    full[i] = !ExtractEthernetWords(p->data(), p->length(), w->in_port[i], &w->keys[i]);
    if (full[i]) {
      ::new (static_cast<void*>(&w->ext[i])) ExtractResult(ExtractFlowKeyReuse(
          p->data(), p->length(), w->in_port[i], &w->keys[i], &w->clean[i]));
    }
  }
  Inc(counters_->n_bytes, bytes);
  Inc(counters_->n_packets, w->n);
  if (emc_bypass_) Inc(counters_->n_emc_bypassed, w->n);
  int n_found = l2_table_.LookupBatch(keys, static_cast<int>(w->n), found);
  Inc(counters_->n_megaflow_hits, static_cast<uint64_t>(n_found));
  pending_.clear();
  for (uint32_t i = 0; i < w->n; ++i) {
    w->flows[i] = found[i];
    if (found[i] != nullptr) continue;
    if (!full[i]) {
      Packet* p = w->pkts[i];
      ::new (static_cast<void*>(&w->ext[i])) ExtractResult(ExtractFlowKeyReuse(
          p->data(), p->length(), w->in_port[i], &w->keys[i], &w->clean[i]));
    }
    Upcall(w, static_cast<int>(i));
  }
  if (!pending_.empty()) {
    megaflows_.Publish();
    UpdateGauges();
    RefreshSimple(false);
  }
  return true;
}

void FastPath::Classify(Work* w) {
  if (l2_mode_ && ClassifyL2(w)) return;
  const cls::FlowKey* miss_keys[PacketBatch::kMaxPackets];
  Megaflow* found[PacketBatch::kMaxPackets];
  int miss_idx[PacketBatch::kMaxPackets];
  uint32_t hashes[PacketBatch::kMaxPackets];
  int n_miss = 0;
  bool use_emc = UseEmc();
  w->locals.clear();
  ExtractAll(w, use_emc, hashes);
  uint32_t lookups = 0;
  for (uint32_t i = 0; i < w->n; ++i) {
    if (hashes[i] != 0) {
      ++lookups;
      w->flows[i] = emc_.Lookup(w->keys[i], hashes[i]);
    }
    if (w->flows[i] == nullptr) {
      miss_idx[n_miss] = static_cast<int>(i);
      miss_keys[n_miss++] = &w->keys[i];
    }
  }
  uint32_t hits = w->n - static_cast<uint32_t>(n_miss);
  Inc(counters_->n_emc_hits, hits);
  if (use_emc) AccountEmc(lookups, hits);
  if (!use_emc && emc_bypass_) Inc(counters_->n_emc_bypassed, w->n);
  if (n_miss == 0) return;
  int n_found = megaflows_.LookupBatch(miss_keys, n_miss, found);
  Inc(counters_->n_megaflow_hits, static_cast<uint64_t>(n_found));
  pending_.clear();
  for (int m = 0; m < n_miss; ++m) {
    int i = miss_idx[m];
    w->flows[i] = found[m];
    if (found[m] == nullptr) Upcall(w, i);
    if (hashes[i] != 0 && w->flows[i] != nullptr) {
      rng_ ^= rng_ << 13;
      rng_ ^= rng_ >> 7;
      rng_ ^= rng_ << 17;
      if (rng_ % config_.emc_insert_inv_prob == 0) emc_.Insert(w->keys[i], hashes[i], w->flows[i]);
    }
  }
  if (!pending_.empty()) {
    for (Megaflow* f : pending_) AddPortFlow(f);
    megaflows_.Publish();
    UpdateGauges();
    RefreshSimple(false);
  }
}

void FastPath::UpdateGauges() {
  counters_->n_megaflows.store(megaflows_.size(), std::memory_order_relaxed);
  counters_->n_subtables.store(megaflows_.n_subtables(), std::memory_order_relaxed);
}

void FastPath::Upcall(Work* w, int i) {
  const cls::FlowKey& key = w->keys[i];
  for (Megaflow* f : pending_) {
    if (f->match.Matches(key)) {
      w->flows[i] = f;
      Inc(counters_->n_megaflow_hits, 1);
      return;
    }
  }
  Inc(counters_->n_upcalls, 1);
  XlateEnv env{&shared_->tables, version_, ports_, shared_->tunnels};
  XlateResult r = Translate(key, env);
  if (megaflows_.size() >= megaflows_.max_flows()) {
    Inc(counters_->n_lost, 1);
    w->local[i] = static_cast<int>(w->locals.size());
    w->locals.push_back(std::move(r));
    return;
  }
  Megaflow* f = megaflows_.Install(key, std::move(r));
  pending_.push_back(f);
  w->flows[i] = f;
}

// Runs of packets of one megaflow update its counters once; a megaflow
// whose actions are one output skips the action interpreter.
struct FastPath::TunnelRun {
  Megaflow* flow = nullptr;                 // Their megaflow.
  uint32_t n = 0;                           // Packets.
  Packet* pkts[PacketBatch::kMaxPackets];   // The packets, in order (the
                                            // first n; not zeroed: a
                                            // `rep stos` per batch was 1 %
                                            // of the PMD).
};

// True when `f`'s actions are one tunnel push or pop (executed a run of
// packets at a time through the TunnelHook's batch calls).
bool FastPath::IsTunnelOnly(const Megaflow* f) const {
  if (f->actions.acts.size() != 1 || shared_->tunnels == nullptr) return false;
  DpActionType t = f->actions.acts[0].type;
  return t == DpActionType::kTunnelPush || t == DpActionType::kTunnelPop;
}

void FastPath::FlushTunnelRun(TunnelRun* run) {
  if (run->n == 0) return;
  const DpAction& a = run->flow->actions.acts[0];
  if (a.type == DpActionType::kTunnelPush) {
    shared_->tunnels->PushBatch(run->flow->actions.tunnels[a.aux], run->pkts, run->n, this);
  } else {
    shared_->tunnels->PopBatch(a.port, run->pkts, run->n, this);
  }
  run->n = 0;
}

// Packets of one-output megaflows are gathered while they go to the same
// port and queued with one SendBurst (a SendTo per packet chained each
// packet's bucket count through memory: 8 % of the PMD in perf); the
// gathered ones are queued before any packet that runs actions, so every
// port sees the packets in order.
void FastPath::Execute(Work* w) {
  TunnelRun tunnel_run;
  Megaflow* run = nullptr;
  uint64_t run_n = 0, run_bytes = 0;
  uint32_t out_port = kNoSingleOutput, n_out = 0;
  Packet* out[PacketBatch::kMaxPackets];
  for (uint32_t i = 0; i < w->n; ++i) {
    Packet* p = w->pkts[i];
    uint32_t len = p->packet_length();
    Megaflow* f = w->flows[i];
    if (f == nullptr || f->single_output != out_port) {
      if (n_out != 0) SendBurst(out_port, out, n_out);
      n_out = 0;
      out_port = f != nullptr ? f->single_output : kNoSingleOutput;
    }
    if (f == nullptr) {
      const XlateResult& r = w->locals[static_cast<size_t>(w->local[i])];
      for (FlowRule* rule : r.rules) rule->AddStats(1, len);
      ExecuteDpActions(r.actions, p, MakeFrameLayout(w->ext[i], w->keys[i]), this);
      continue;
    }
    if (f != run) {
      if (run != nullptr) run->HitN(run_n, run_bytes, now_ns_);
      run = f;
      run_n = 0;
      run_bytes = 0;
    }
    ++run_n;
    run_bytes += len;
    if (f->single_output != kNoSingleOutput) {
      out[n_out++] = p;
    } else if (IsTunnelOnly(f)) {
      if (tunnel_run.flow != f) FlushTunnelRun(&tunnel_run);
      tunnel_run.flow = f;
      tunnel_run.pkts[tunnel_run.n++] = p;
    } else {
      ExecuteDpActions(f->actions, p, MakeFrameLayout(w->ext[i], w->keys[i]), this);
    }
  }
  if (n_out != 0) SendBurst(out_port, out, n_out);
  FlushTunnelRun(&tunnel_run);
  if (run != nullptr) run->HitN(run_n, run_bytes, now_ns_);
}

void FastPath::Output(uint32_t port, Packet* pkt) { SendTo(port, pkt); }

// SendTo for a run of packets: the bucket is found once.
void FastPath::OutputBatch(uint32_t port, Packet* const* pkts, uint32_t n) {
  SendBurst(port, pkts, n);
}

// Queues `pkt` in the bucket of `port`; a full bucket is sent at once.
// Consecutive packets mostly go to the bucket used last, which is
// checked first.
void FastPath::SendTo(uint32_t port, Packet* pkt) {
  Outputs& o = *outputs_;
  int b = o.last;
  if (b >= o.n || o.port[b] != port) b = o.last = Bucket(port);
  PacketBatch& batch = o.batch[b];
  batch.pkts[batch.n_pkts++] = pkt;
  if (batch.full()) FlushBucket(b);
}

// Queues pkts[0..n) for `port`, in order, as n SendTo calls would.
void FastPath::SendBurst(uint32_t port, Packet* const* pkts, uint32_t n) {
  Outputs& o = *outputs_;
  while (n != 0) {
    int b = o.last;
    if (b >= o.n || o.port[b] != port) b = o.last = Bucket(port);
    PacketBatch& batch = o.batch[b];
    uint32_t k = std::min(n, PacketBatch::kMaxPackets - batch.n_pkts);
    std::memcpy(&batch.pkts[batch.n_pkts], pkts, k * sizeof(Packet*));
    batch.n_pkts += k;
    pkts += k;
    n -= k;
    if (batch.full()) FlushBucket(b);
  }
}

// The bucket of `port`, opened (after a flush when all are in use) if
// there is none.
int FastPath::Bucket(uint32_t port) {
  Outputs& o = *outputs_;
  int b = 0;
  while (b < o.n && o.port[b] != port) ++b;
  if (b == o.n) {
    if (o.n == Outputs::kMaxPorts) {
      Flush();
      b = 0;
    }
    o.port[b] = port;
    o.batch[b].n_pkts = 0;
    o.n = b + 1;
  }
  return b;
}

void FastPath::FlushBucket(int b) {
  Outputs& o = *outputs_;
  PacketBatch* batch = &o.batch[b];
  if (batch->n_pkts == 0) return;
  const PortEntry* pe = ports_ != nullptr ? ports_->Find(o.port[b]) : nullptr;
  if (pe == nullptr || pe->port == nullptr) {
    counters_->drops.Count(DropReason::kNoSuchPort, batch->n_pkts);
    FreeBatch(batch);
    return;
  }
  Inc(counters_->n_tx_packets, batch->n_pkts);
  int n_txq = pe->port->n_txq();
  int txq = config_.txq < n_txq ? config_.txq : config_.txq % n_txq;  // No division mostly.
  if (pe->tx_mutex) {
    std::lock_guard<std::mutex> lock(*pe->tx_mutex);
    pe->port->TxBurst(txq, batch);
  } else {
    pe->port->TxBurst(txq, batch);
  }
  batch->n_pkts = 0;
}

void FastPath::Flush() {
  for (int b = 0; b < outputs_->n; ++b) FlushBucket(b);
  outputs_->n = 0;
}

Packet* FastPath::Clone(const Packet* pkt) {
  if (config_.clone_pool == nullptr) return nullptr;
  Packet* c = config_.clone_pool->Alloc();
  if (c == nullptr) return nullptr;
  uint32_t len = pkt->packet_length();
  uint8_t* d = c->Append(len);
  if (d == nullptr) {
    FreePacket(c);
    return nullptr;
  }
  CopyPacketData(pkt, d, len);
  return c;
}

void FastPath::Drop(Packet* pkt, DropReason why) {
  counters_->drops.Count(why);
  FreePacket(pkt);
}

// Records `f` as the in_port-only megaflow of its port when its actions
// are one output or one tunnel push.
void FastPath::AddPortFlow(Megaflow* f) {
  bool push = IsTunnelOnly(f) && f->actions.acts[0].type == DpActionType::kTunnelPush;
  if (f->dead || !f->in_port_only || (f->single_output == kNoSingleOutput && !push)) return;
  uint32_t port = f->key.in_port();
  for (size_t i = 0; i < n_port_flows_; ++i) {
    if (port_flows_[i].in_port == port) {
      port_flows_[i].flow = f;
      return;
    }
  }
  if (n_port_flows_ < kMaxSimpleFlows) port_flows_[n_port_flows_++] = SimpleFlow{port, f};
}

// Rebuilds port_flows_ after revalidation (which may have evicted some).
void FastPath::RefreshPortFlows() {
  n_port_flows_ = 0;
  for (Megaflow* f : megaflows_.flows()) AddPortFlow(f);
}

// A recirculated (decapsulated) packet whose input port has a megaflow
// that matches on in_port alone: that megaflow's translation consulted
// nothing else, so every packet of the port gets its single output, and
// the packet is sent without another pass (extraction, lookup).
bool FastPath::TryPortFlow(Packet* pkt, uint32_t in_port) {
  Megaflow* f = nullptr;
  for (size_t i = 0; i < n_port_flows_; ++i) {
    if (port_flows_[i].in_port == in_port) f = port_flows_[i].flow;
  }
  if (f == nullptr || f->single_output == kNoSingleOutput) return false;
  uint32_t len = pkt->packet_length();
  f->HitN(1, len, now_ns_);
  Counters& c = *counters_;
  Inc(c.n_packets, 1);
  Inc(c.n_bytes, len);
  Inc(c.n_megaflow_hits, 1);
  Inc(c.n_simple_hits, 1);
  SendTo(f->single_output, pkt);
  return true;
}

void FastPath::Recirculate(Packet* pkt, uint32_t in_port, const cls::FlowKey& md) {
  if (pass_ + 1 > kMaxRecirculations) {
    Drop(pkt, DropReason::kRecirculationLimit);
    return;
  }
  if (n_port_flows_ != 0 && TryPortFlow(pkt, in_port)) return;
  Work* next = &work_[pass_ + 1];
  if (next->n == PacketBatch::kMaxPackets) {
    Drop(pkt, DropReason::kRecirculationLimit);
    return;
  }
  uint32_t i = next->n++;
  next->pkts[i] = pkt;
  next->in_port[i] = in_port;
  next->has_md[i] = true;
  CopyTunnelFields(md, &next->md[i]);
}

FastPathStats FastPath::GetStats() const {
  const Counters& c = *counters_;
  FastPathStats s;
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  s.n_packets = get(c.n_packets);
  s.n_bytes = get(c.n_bytes);
  s.n_cycles = get(c.n_cycles);
  s.n_batches = get(c.n_batches);
  s.n_emc_hits = get(c.n_emc_hits);
  s.n_megaflow_hits = get(c.n_megaflow_hits);
  s.n_simple_hits = get(c.n_simple_hits);
  s.n_emc_bypassed = get(c.n_emc_bypassed);
  s.n_upcalls = get(c.n_upcalls);
  s.n_lost = get(c.n_lost);
  s.n_revalidations = get(c.n_revalidations);
  s.n_evictions = get(c.n_evictions);
  s.n_tx_packets = get(c.n_tx_packets);
  for (int i = 0; i < kNumDropReasons; ++i) s.drops[i] = c.drops.Get(static_cast<DropReason>(i));
  s.n_megaflows = get(c.n_megaflows);
  s.n_subtables = get(c.n_subtables);
  std::lock_guard<std::mutex> lock(baseline_mutex_);
  const FastPathStats& b = baseline_;
  s.n_packets -= b.n_packets;
  s.n_bytes -= b.n_bytes;
  s.n_cycles -= b.n_cycles;
  s.n_batches -= b.n_batches;
  s.n_emc_hits -= b.n_emc_hits;
  s.n_megaflow_hits -= b.n_megaflow_hits;
  s.n_simple_hits -= b.n_simple_hits;
  s.n_emc_bypassed -= b.n_emc_bypassed;
  s.n_upcalls -= b.n_upcalls;
  s.n_lost -= b.n_lost;
  s.n_revalidations -= b.n_revalidations;
  s.n_evictions -= b.n_evictions;
  s.n_tx_packets -= b.n_tx_packets;
  for (int i = 0; i < kNumDropReasons; ++i) s.drops[i] -= b.drops[i];
  return s;
}

void FastPath::ClearStats() {
  FastPathStats now = GetStats();
  std::lock_guard<std::mutex> lock(baseline_mutex_);
  FastPathStats& b = baseline_;
  b.n_packets += now.n_packets;
  b.n_bytes += now.n_bytes;
  b.n_cycles += now.n_cycles;
  b.n_batches += now.n_batches;
  b.n_emc_hits += now.n_emc_hits;
  b.n_megaflow_hits += now.n_megaflow_hits;
  b.n_simple_hits += now.n_simple_hits;
  b.n_emc_bypassed += now.n_emc_bypassed;
  b.n_upcalls += now.n_upcalls;
  b.n_lost += now.n_lost;
  b.n_revalidations += now.n_revalidations;
  b.n_evictions += now.n_evictions;
  b.n_tx_packets += now.n_tx_packets;
  for (int i = 0; i < kNumDropReasons; ++i) b.drops[i] += now.drops[i];
}

void FastPath::ForEachFlow(const std::function<void(const Megaflow&)>& fn) {
  std::lock_guard<std::mutex> lock(megaflows_.mutex());
  for (const Megaflow* f : megaflows_.flows()) fn(*f);
}

}  // namespace spate::datapath
