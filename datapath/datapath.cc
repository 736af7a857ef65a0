#include "datapath/datapath.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace spate::datapath {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t RuleKeyHash(const cls::Match& m, int32_t priority) {
  uint64_t h = static_cast<uint64_t>(priority) * 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < cls::kFlowWords; ++i) {
    h = (h ^ m.key.w[i]) * 0xff51afd7ed558ccdULL;
    h = (h ^ m.mask.w[i]) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 31;
  }
  return h;
}

// True when `rule` is at least as specific as `m` and agrees with it.
bool LooseMatch(const cls::Match& m, const cls::Match& rule) {
  for (int i = 0; i < cls::kFlowWords; ++i) {
    if ((m.mask.w[i] & ~rule.mask.w[i]) != 0) return false;
    if ((rule.key.w[i] & m.mask.w[i]) != m.key.w[i]) return false;
  }
  return true;
}

Error Invalid(const std::string& what) { return Error("invalid rule", what); }

}  // namespace

// What one Commit() accumulates.
struct Datapath::CommitState {
  TableSet changed;                                 // Tables touched.
  std::vector<std::shared_ptr<FlowRule>> retired;   // Removed rules.
  CommitResult result;                              // Counts.
};

Datapath::Datapath(const DatapathOptions& options)
    : options_(options), rules_(kNumTables) {
  shared_.tunnels = options.tunnels;
  shared_.ports.store(new PortMap(), std::memory_order_release);
}

Result<std::unique_ptr<Datapath>> Datapath::Create(const DatapathOptions& options) {
  if (options.n_pmds < 1) return Error("invalid argument", "n_pmds must be at least 1");
  std::unique_ptr<Datapath> dp(new Datapath(options));
  Status s = dp->StartPmds();
  if (!s.ok()) return s.error();
  return dp;
}

Status Datapath::StartPmds() {
  for (int i = 0; i < options_.n_pmds; ++i) {
    Pmd pmd;
    pmd.sync = std::make_unique<PmdSync>();
    FastPathConfig cfg = options_.fastpath;
    cfg.txq = i;
    cfg.clone_pool = options_.clone_pool;
    pmd.fastpath = std::make_unique<FastPath>(&shared_, pmd.sync.get(), cfg);
    if (!pmd.fastpath->registered()) {
      return Error("resource exhausted", "no free reader slot for PMD " + std::to_string(i));
    }
    pmd.cpu = static_cast<size_t>(i) < options_.pmd_cpus.size() ? options_.pmd_cpus[i] : -1;
    if (options_.start_threads) {
      PmdOptions po;
      po.name = "pmd-c" + std::to_string(i);
      po.cpu = pmd.cpu;
      po.eal = options_.eal;
      po.handler = pmd.fastpath.get();
      po.idle = options_.idle;
      auto t = PmdThread::Start(po, {});
      if (!t.ok()) return t.error();
      pmd.thread = std::move(t.value());
    }
    pmds_.push_back(std::move(pmd));
  }
  return Status::Ok();
}

Datapath::~Datapath() {
  for (Pmd& p : pmds_) {
    if (p.thread) p.thread->Stop();
  }
  pmds_.clear();
  ports_.clear();
  delete shared_.ports.load(std::memory_order_relaxed);
  for (TableRules& t : rules_) t.by_key.clear();
}

void Datapath::NotifyAndWait(const TableSet& changed) {
  for (Pmd& p : pmds_) p.sync->AddChanged(changed);
  uint64_t gen = shared_.generation.fetch_add(1, std::memory_order_seq_cst) + 1;
  for (Pmd& p : pmds_) {
    for (;;) {
      uint64_t a = p.sync->active_gen.load(std::memory_order_seq_cst);
      if (a == PmdSync::kIdle || a >= gen) break;
      std::this_thread::yield();
    }
  }
}

void Datapath::PublishPorts() {
  std::vector<PortEntry> entries;
  for (const auto& [number, rec] : ports_) entries.push_back(rec.entry);
  const PortMap* old = shared_.ports.exchange(new PortMap(std::move(entries)),
                                              std::memory_order_acq_rel);
  TableSet all;
  all.Add(kAllTablesBit);
  NotifyAndWait(all);
  delete old;
}

Status Datapath::AssignQueues() {
  if (!options_.start_threads) return Status::Ok();
  std::vector<Port*> devices;
  for (auto& [number, rec] : ports_) {
    if (rec.device) devices.push_back(rec.device.get());
  }
  auto lists = AssignRxQueues(devices, static_cast<int>(pmds_.size()));
  for (size_t i = 0; i < pmds_.size(); ++i) {
    Status s = pmds_[i].thread->SetRxQueues(lists[i]);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

const Datapath::PortRec* Datapath::FindRec(std::string_view name) const {
  for (const auto& [number, rec] : ports_) {
    if (rec.entry.name == name) return &rec;
  }
  return nullptr;
}

Result<uint32_t> Datapath::AddPort(PortSpec spec) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (spec.name.empty()) return Error("invalid argument", "port name is empty");
  if (FindRec(spec.name) != nullptr) {
    return Error("invalid argument", "port " + spec.name + " already exists");
  }
  if (!spec.tunnel && !spec.port) return Error("invalid argument", "port " + spec.name + " has no device");
  uint32_t number = spec.number;
  if (number == 0) {
    number = 1;
    while (ports_.count(number) != 0) ++number;
  }
  if (number > kMaxPortNumber) return Error("invalid argument", "port number out of range");
  if (ports_.count(number) != 0) {
    return Error("invalid argument", "port number " + std::to_string(number) + " in use");
  }
  PortRec rec;
  rec.entry.number = number;
  rec.entry.name = spec.name;
  rec.entry.tunnel = spec.tunnel;
  rec.device = std::move(spec.port);
  rec.entry.port = rec.device.get();
  if (rec.device && rec.device->n_txq() < static_cast<int>(pmds_.size())) {
    rec.entry.tx_mutex = std::make_shared<std::mutex>();
  }
  ports_.emplace(number, std::move(rec));
  PublishPorts();
  Status s = AssignQueues();
  if (!s.ok()) return s.error();
  return number;
}

Status Datapath::RemovePort(std::string_view name) {
  std::lock_guard<std::mutex> lock(mutex_);
  const PortRec* rec = FindRec(name);
  if (rec == nullptr) return Error("invalid argument", "no port named " + std::string(name));
  uint32_t number = rec->entry.number;
  std::unique_ptr<Port> device = std::move(ports_[number].device);
  ports_.erase(number);
  Status s = AssignQueues();
  PublishPorts();
  device.reset();
  return s;
}

Status Datapath::ConfigurePort(std::string_view name, const PortSettings& settings) {
  std::lock_guard<std::mutex> lock(mutex_);
  const PortRec* found = FindRec(name);
  if (found == nullptr) return Error("invalid argument", "no port named " + std::string(name));
  PortRec& rec = ports_[found->entry.number];
  if (settings.mtu) {
    if (!rec.device) return Error("invalid argument", "tunnel ports have no MTU");
    Status s = rec.device->SetMtu(*settings.mtu);
    if (!s.ok()) return s;
  }
  if (settings.flood && *settings.flood != rec.entry.flood) {
    rec.entry.flood = *settings.flood;
    PublishPorts();
  }
  return Status::Ok();
}

std::vector<PortInfo> Datapath::ListPorts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<PortInfo> out;
  for (const auto& [number, rec] : ports_) {
    PortInfo pi;
    pi.number = number;
    pi.name = rec.entry.name;
    pi.flood = rec.entry.flood;
    pi.type = rec.device ? rec.device->type() : "tunnel";
    if (rec.device) {
      pi.n_rxq = rec.device->n_rxq();
      pi.mtu = rec.device->mtu();
      pi.stats = rec.device->GetStats();
    }
    out.push_back(std::move(pi));
  }
  return out;
}

std::optional<uint32_t> Datapath::PortNumber(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const PortRec* rec = FindRec(name);
  if (rec == nullptr) return std::nullopt;
  return rec->entry.number;
}

Port* Datapath::FindPort(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const PortRec* rec = FindRec(name);
  return rec != nullptr ? rec->device.get() : nullptr;
}

Status Datapath::Validate(const RuleOp& op) const {
  if (op.spec.table >= kNumTables) return Invalid("table " + std::to_string(op.spec.table));
  if (op.kind == RuleOpKind::kDelete) return Status::Ok();
  if (!op.spec.conjunctions.empty() && !op.spec.actions.empty()) {
    return Invalid("a conjunctive rule cannot have other actions");
  }
  for (const cls::Conjunction& c : op.spec.conjunctions) {
    if (c.clause < 1 || c.clause > c.n_clauses || c.n_clauses < 2 || c.n_clauses > 64) {
      return Invalid("bad conjunction clause");
    }
  }
  for (const Action& a : op.spec.actions) {
    bool table_action = a.type == ActionType::kResubmit || a.type == ActionType::kGotoTable;
    if (table_action && a.table != kCurrentTable && a.table >= kNumTables) {
      return Invalid("bad table in action");
    }
  }
  return Status::Ok();
}

void Datapath::RemoveRule(const std::shared_ptr<FlowRule>& rule, CommitState* st) {
  const RuleSpec& s = rule->spec();
  shared_.tables.MutableTable(s.table)->Remove(rule->cls_rule());
  auto& bucket = rules_[s.table].by_key[RuleKeyHash(s.match, s.priority)];
  bucket.erase(std::find(bucket.begin(), bucket.end(), rule));
  if (bucket.empty()) rules_[s.table].by_key.erase(RuleKeyHash(s.match, s.priority));
  st->changed.Add(s.table);
  st->retired.push_back(rule);
}

void Datapath::AddRule(const RuleSpec& spec, CommitState* st) {
  uint64_t h = RuleKeyHash(spec.match, spec.priority);
  auto it = rules_[spec.table].by_key.find(h);
  if (it != rules_[spec.table].by_key.end()) {
    for (const auto& r : std::vector<std::shared_ptr<FlowRule>>(it->second)) {
      if (r->spec().match == spec.match && r->spec().priority == spec.priority) RemoveRule(r, st);
    }
  }
  auto rule = std::make_shared<FlowRule>(spec, NowNs());
  rule->set_cls_rule(shared_.tables.MutableTable(spec.table)
                         ->Insert(spec.match, spec.priority, reinterpret_cast<uint64_t>(rule.get()),
                                  spec.conjunctions));
  rules_[spec.table].by_key[h].push_back(rule);
  st->changed.Add(spec.table);
  st->result.n_added++;
}

std::vector<std::shared_ptr<FlowRule>> Datapath::Select(const RuleOp& op) const {
  std::vector<std::shared_ptr<FlowRule>> out;
  auto consider = [&](const std::shared_ptr<FlowRule>& r) {
    const RuleSpec& s = r->spec();
    if ((s.cookie & op.cookie_mask) != (op.spec.cookie & op.cookie_mask)) return;
    bool hit = op.strict ? (s.match == op.spec.match && s.priority == op.spec.priority)
                         : LooseMatch(op.spec.match, s.match);
    if (hit) out.push_back(r);
  };
  for (int t = 0; t < kNumTables; ++t) {
    if (!op.all_tables && t != op.spec.table) continue;
    const TableRules& tr = rules_[static_cast<size_t>(t)];
    if (op.strict) {
      auto it = tr.by_key.find(RuleKeyHash(op.spec.match, op.spec.priority));
      if (it != tr.by_key.end()) {
        for (const auto& r : it->second) consider(r);
      }
      continue;
    }
    for (const auto& [h, bucket] : tr.by_key) {
      for (const auto& r : bucket) consider(r);
    }
  }
  return out;
}

void Datapath::ModifyOrDelete(const RuleOp& op, CommitState* st) {
  for (const auto& r : Select(op)) {
    RemoveRule(r, st);
    if (op.kind == RuleOpKind::kDelete) {
      st->result.n_deleted++;
      continue;
    }
    RuleSpec spec = r->spec();
    spec.actions = op.spec.actions;
    spec.conjunctions = op.spec.conjunctions;
    AddRule(spec, st);
    st->result.n_added--;
    st->result.n_modified++;
  }
}

Result<CommitResult> Datapath::Commit(const std::vector<RuleOp>& ops) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const RuleOp& op : ops) {
    Status s = Validate(op);
    if (!s.ok()) return s.error();
  }
  CommitState st;
  for (const RuleOp& op : ops) {
    if (op.kind == RuleOpKind::kAdd) {
      AddRule(op.spec, &st);
    } else {
      ModifyOrDelete(op, &st);
    }
  }
  st.result.version = shared_.tables.domain().Publish();
  NotifyAndWait(st.changed);
  st.retired.clear();
  shared_.tables.domain().Reclaim();
  return st.result;
}

std::vector<RuleInfo> Datapath::DumpRules(std::optional<uint8_t> table) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::unordered_map<const FlowRule*, std::pair<uint64_t, uint64_t>> live;
  for (const Pmd& p : pmds_) {
    p.fastpath->ForEachFlow([&](const Megaflow& f) {
      for (const auto& r : f.rules) {
        auto& s = live[r.get()];
        s.first += f.n_packets.load(std::memory_order_relaxed);
        s.second += f.n_bytes.load(std::memory_order_relaxed);
      }
    });
  }
  std::vector<RuleInfo> out;
  int64_t now = NowNs();
  for (int t = 0; t < kNumTables; ++t) {
    if (table && *table != t) continue;
    for (const auto& [h, bucket] : rules_[static_cast<size_t>(t)].by_key) {
      for (const auto& r : bucket) {
        RuleInfo ri;
        ri.spec = r->spec();
        auto it = live.find(r.get());
        ri.n_packets = r->n_packets() + (it != live.end() ? it->second.first : 0);
        ri.n_bytes = r->n_bytes() + (it != live.end() ? it->second.second : 0);
        ri.duration_s = static_cast<double>(now - r->created_ns()) / 1e9;
        out.push_back(std::move(ri));
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const RuleInfo& a, const RuleInfo& b) {
    if (a.spec.table != b.spec.table) return a.spec.table < b.spec.table;
    return a.spec.priority > b.spec.priority;
  });
  return out;
}

std::vector<DpFlowInfo> Datapath::DumpDatapathFlows() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<DpFlowInfo> out;
  for (const Pmd& p : pmds_) {
    p.fastpath->ForEachFlow([&](const Megaflow& f) {
      DpFlowInfo fi;
      fi.match = f.match;
      fi.actions = f.actions;
      fi.n_packets = f.n_packets.load(std::memory_order_relaxed);
      fi.n_bytes = f.n_bytes.load(std::memory_order_relaxed);
      fi.used_ns = f.used_ns.load(std::memory_order_relaxed);
      out.push_back(std::move(fi));
    });
  }
  return out;
}

std::vector<PmdInfo> Datapath::GetPmdInfo() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<PmdInfo> out;
  for (size_t i = 0; i < pmds_.size(); ++i) {
    const Pmd& p = pmds_[i];
    PmdInfo pi;
    pi.index = static_cast<int>(i);
    pi.cpu = p.cpu;
    pi.fastpath = p.fastpath->GetStats();
    if (p.thread) {
      pi.poll = p.thread->GetStats();
      for (const RxQueueRef& q : p.thread->rxqs()) pi.rxqs.emplace_back(q.port->name(), q.qid);
    }
    out.push_back(std::move(pi));
  }
  return out;
}

void Datapath::Revalidate() {
  std::lock_guard<std::mutex> lock(mutex_);
  TableSet all;
  all.Add(kAllTablesBit);
  NotifyAndWait(all);
}

void Datapath::ClearPmdStats() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Pmd& p : pmds_) {
    p.fastpath->ClearStats();
    if (p.thread) p.thread->ClearStats();
  }
}

TraceResult Datapath::Trace(const cls::FlowKey& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& tables = const_cast<FlowTables&>(shared_.tables);
  XlateEnv env{&tables, tables.domain().visible_version(),
               shared_.ports.load(std::memory_order_acquire), shared_.tunnels};
  XlateTrace trace;
  XlateResult r = Translate(key, env, &trace);
  TraceResult out;
  out.lines.push_back("Flow: " + cls::FlowKeyToString(key));
  out.lines.push_back("");
  for (std::string& l : trace.lines) out.lines.push_back(" " + l);
  out.megaflow = MegaflowMatch(key, r.wc);
  out.lines.push_back("");
  out.lines.push_back("Megaflow: " + out.megaflow.ToString());
  out.lines.push_back("Datapath actions: " + FormatDpActions(r.actions));
  out.actions = std::move(r.actions);
  return out;
}

}  // namespace spate::datapath
