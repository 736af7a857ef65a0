#include "datapath/megaflow.h"

namespace spate::datapath {

std::vector<std::shared_ptr<FlowRule>> ShareRules(const std::vector<FlowRule*>& rules) {
  std::vector<std::shared_ptr<FlowRule>> out;
  out.reserve(rules.size());
  for (FlowRule* r : rules) out.push_back(r->shared_from_this());
  return out;
}

namespace {

// Megaflow::single_output for `a`.
uint32_t SingleOutput(const DpActions& a) {
  if (a.acts.size() != 1 || a.last_consumer != 0) return kNoSingleOutput;
  const DpAction& only = a.acts[0];
  return only.type == DpActionType::kOutput ? only.port : kNoSingleOutput;
}

// Megaflow::in_port_only for `m`.
bool InPortOnly(const cls::Match& m) {
  if ((m.mask.w[0] >> 32) != 0) return false;
  for (int i = 1; i < cls::kFlowWords; ++i) {
    if (m.mask.w[i] != 0) return false;
  }
  return true;
}

}  // namespace

MegaflowCache::MegaflowCache(size_t max_flows) : max_flows_(max_flows) {}

MegaflowCache::~MegaflowCache() {
  EvictAll();
  Publish();
  FreeDead();
}

int MegaflowCache::LookupBatch(const cls::FlowKey* const* keys, int n, Megaflow** out) {
  const cls::Rule* rules[cls::Classifier::kMaxBatch];
  int n_hit = cls_.LookupBatch(keys, n, rules, &ranking_);
  for (int i = 0; i < n; ++i) {
    out[i] = rules[i] != nullptr ? reinterpret_cast<Megaflow*>(rules[i]->payload()) : nullptr;
    // Execute reads and counts in the first line right after.
    if (out[i] != nullptr) __builtin_prefetch(out[i], 1);
  }
  return n_hit;
}

Megaflow* MegaflowCache::Install(const cls::FlowKey& key, XlateResult&& xlate) {
  if (flows_.size() >= max_flows_) return nullptr;
  auto* f = new Megaflow;
  f->match = MegaflowMatch(key, xlate.wc);
  f->key = key;
  f->actions = std::move(xlate.actions);
  f->rules = ShareRules(xlate.rules);
  f->tables = xlate.tables;
  f->single_output = SingleOutput(f->actions);
  f->in_port_only = InPortOnly(f->match);
  f->eth_words[0] = f->match.key.w[0];
  f->eth_words[1] = f->match.key.w[14];
  f->eth_words[2] = f->match.key.w[15];
  if (f->single_output == kNoSingleOutput) ++n_multi_action_;
  std::lock_guard<std::mutex> lock(mutex_);
  f->cls_rule = cls_.Insert(f->match, 0, reinterpret_cast<uint64_t>(f));
  f->slot = flows_.size();
  flows_.push_back(f);
  return f;
}

void MegaflowCache::Publish() {
  cls_.Publish();
  cls_.Reclaim();
}

void MegaflowCache::Evict(Megaflow* f) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t n_pkts = f->n_packets.load(std::memory_order_relaxed);
  uint64_t n_bytes = f->n_bytes.load(std::memory_order_relaxed);
  for (const auto& r : f->rules) r->AddStats(n_pkts, n_bytes);
  f->dead = true;
  if (f->single_output == kNoSingleOutput) --n_multi_action_;
  cls_.Remove(f->cls_rule);
  Megaflow* last = flows_.back();
  flows_[f->slot] = last;
  last->slot = f->slot;
  flows_.pop_back();
  dead_.push_back(f);
}

size_t MegaflowCache::FreeDead() {
  std::vector<Megaflow*> dead;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dead.swap(dead_);
  }
  for (Megaflow* f : dead) delete f;
  return dead.size();
}

void MegaflowCache::EvictAll() {
  while (!flows_.empty()) Evict(flows_.back());
}

}  // namespace spate::datapath
