#include "classifier/ruleset_gen.h"

#include <random>

namespace spate::cls {
namespace {

using Rng = std::mt19937_64;

// Picks an index by weight.
int Pick(Rng& rng, std::initializer_list<int> weights) {
  int total = 0;
  for (int w : weights) total += w;
  int x = static_cast<int>(rng() % static_cast<uint64_t>(total));
  int i = 0;
  for (int w : weights) {
    if (x < w) return i;
    x -= w;
    ++i;
  }
  return i - 1;
}

// An address grown from one of a few dozen /16 blocks, so prefixes nest.
uint32_t PoolAddress(Rng& rng) {
  static constexpr uint32_t kBlocks[] = {
      0x0a000000, 0x0a010000, 0x0a020000, 0xac100000, 0xac110000, 0xc0a80000,
      0xc0a90000, 0x81520000, 0x42660000, 0x3f7a0000, 0x8c5b0000, 0x5bc60000,
      0xd1550000, 0x17200000, 0x9d3c0000, 0x64400000, 0x4a7d0000, 0xcb000000};
  uint32_t block = kBlocks[rng() % (sizeof kBlocks / sizeof kBlocks[0])];
  // Dense low bits: a few subnets per block, a few hosts per subnet.
  uint32_t subnet = static_cast<uint32_t>(rng() % 64) << 8;
  uint32_t host = static_cast<uint32_t>(rng() % 32);
  return block | subnet | host;
}

uint32_t PrefixOf(uint32_t a, int len) {
  return len == 0 ? 0 : a & (0xffffffffu << (32 - len));
}

void PickPorts(Rng& rng, RuleSetKind kind, uint16_t* lo, uint16_t* hi, bool src) {
  static constexpr uint16_t kWellKnown[] = {80, 443, 22, 25, 53, 123, 161, 389,
                                            3306, 5432, 8080, 1521, 110, 143};
  int c;
  if (src) {
    c = kind == RuleSetKind::kFirewall ? Pick(rng, {70, 20, 5, 5}) : Pick(rng, {90, 5, 5, 0});
  } else if (kind == RuleSetKind::kFirewall) {
    c = Pick(rng, {25, 15, 10, 35, 15});
  } else {
    c = Pick(rng, {10, 5, 5, 75, 5});
  }
  switch (c) {
    case 0: *lo = 0; *hi = 65535; return;                 // Wildcard.
    case 1: *lo = 1024; *hi = 65535; return;              // Ephemeral.
    case 2: *lo = 0; *hi = 1023; return;                  // Privileged.
    case 3: *lo = *hi = kWellKnown[rng() % 14]; return;   // Exact.
    default: {                                            // Small range.
      uint16_t base = static_cast<uint16_t>(1000 + rng() % 30000);
      *lo = base;
      *hi = static_cast<uint16_t>(base + rng() % 200);
      return;
    }
  }
}

int PickLen(Rng& rng, std::initializer_list<int> lens, std::initializer_list<int> weights) {
  int i = Pick(rng, weights);
  return *(lens.begin() + i);
}

FiveTupleRule MakeRule(Rng& rng, RuleSetKind kind) {
  FiveTupleRule r;
  switch (kind) {
    case RuleSetKind::kAcl:
      r.src_len = PickLen(rng, {0, 8, 16, 24, 32}, {40, 5, 15, 25, 15});
      r.dst_len = PickLen(rng, {16, 24, 28, 30, 32}, {5, 25, 5, 5, 60});
      r.proto_any = Pick(rng, {5, 95}) == 0;
      r.proto = Pick(rng, {70, 25, 5}) == 0 ? 6 : (Pick(rng, {80, 20}) == 0 ? 17 : 1);
      break;
    case RuleSetKind::kFirewall:
      r.src_len = PickLen(rng, {0, 8, 16, 24, 32}, {50, 5, 10, 15, 20});
      r.dst_len = PickLen(rng, {0, 16, 24, 32}, {10, 15, 30, 45});
      r.proto_any = Pick(rng, {20, 80}) == 0;
      r.proto = Pick(rng, {60, 40}) == 0 ? 6 : 17;
      break;
    case RuleSetKind::kIpChain:
      r.src_len = PickLen(rng, {24, 28, 32}, {30, 10, 60});
      r.dst_len = PickLen(rng, {0, 24, 32}, {10, 30, 60});
      r.proto_any = Pick(rng, {10, 90}) == 0;
      r.proto = Pick(rng, {65, 35}) == 0 ? 6 : 17;
      break;
  }
  r.src = PrefixOf(PoolAddress(rng), r.src_len);
  r.dst = PrefixOf(PoolAddress(rng), r.dst_len);
  PickPorts(rng, kind, &r.sport_lo, &r.sport_hi, true);
  PickPorts(rng, kind, &r.dport_lo, &r.dport_hi, false);
  if (r.proto_any || r.proto == 1) {  // Ports only with TCP/UDP.
    r.sport_lo = r.dport_lo = 0;
    r.sport_hi = r.dport_hi = 65535;
  }
  return r;
}

}  // namespace

const char* RuleSetName(RuleSetKind kind) {
  switch (kind) {
    case RuleSetKind::kAcl: return "acl";
    case RuleSetKind::kFirewall: return "fw";
    case RuleSetKind::kIpChain: return "ipc";
  }
  return "?";
}

std::vector<FiveTupleRule> GenerateRuleSet(RuleSetKind kind, int n, uint64_t seed) {
  Rng rng(seed * 7919 + static_cast<uint64_t>(kind));
  std::vector<FiveTupleRule> rules;
  rules.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    FiveTupleRule r = MakeRule(rng, kind);
    r.priority = n - i;
    rules.push_back(r);
  }
  return rules;
}

std::vector<std::pair<uint16_t, uint16_t>> RangeToPrefixes(uint16_t lo, uint16_t hi) {
  std::vector<std::pair<uint16_t, uint16_t>> out;
  uint32_t a = lo;
  while (a <= hi) {
    // Largest aligned block starting at a that fits in [a, hi].
    uint32_t size = a == 0 ? 0x10000 : (a & (~a + 1));
    while (a + size - 1 > hi) size >>= 1;
    out.push_back({static_cast<uint16_t>(a), static_cast<uint16_t>(~(size - 1) & 0xffff)});
    a += size;
  }
  return out;
}

std::vector<ExpandedRule> ExpandRules(const std::vector<FiveTupleRule>& rules) {
  std::vector<ExpandedRule> out;
  for (const FiveTupleRule& r : rules) {
    Match base;
    base.Set(Field::kDlType, kEthTypeIp);
    base.SetPrefix(Field::kNwSrc, U128{0, r.src}, r.src_len);
    base.SetPrefix(Field::kNwDst, U128{0, r.dst}, r.dst_len);
    if (!r.proto_any) base.Set(Field::kNwProto, r.proto);
    for (auto [sv, sm] : RangeToPrefixes(r.sport_lo, r.sport_hi)) {
      for (auto [dv, dm] : RangeToPrefixes(r.dport_lo, r.dport_hi)) {
        Match m = base;
        m.SetMasked(Field::kTpSrc, sv, sm);
        m.SetMasked(Field::kTpDst, dv, dm);
        out.push_back({m, r.priority});
      }
    }
  }
  return out;
}

std::vector<FlowKey> GenerateTrace(const std::vector<FiveTupleRule>& rules, int n,
                                   uint64_t seed) {
  Rng rng(seed);
  std::vector<FlowKey> trace;
  trace.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    FlowKey k{};
    k.set_dl_type(kEthTypeIp);
    if (rng() % 10 == 0 || rules.empty()) {
      k.set_nw_src(static_cast<uint32_t>(rng()));
      k.set_nw_dst(PoolAddress(rng));
      k.set_nw_proto(rng() % 2 ? 6 : 17);
      k.set_tp_src(static_cast<uint16_t>(rng()));
      k.set_tp_dst(static_cast<uint16_t>(rng()));
    } else {
      const FiveTupleRule& r = rules[rng() % rules.size()];
      uint32_t host_src = static_cast<uint32_t>(rng());
      uint32_t host_dst = static_cast<uint32_t>(rng());
      uint32_t msrc = r.src_len ? 0xffffffffu << (32 - r.src_len) : 0;
      uint32_t mdst = r.dst_len ? 0xffffffffu << (32 - r.dst_len) : 0;
      k.set_nw_src((r.src & msrc) | (host_src & ~msrc));
      k.set_nw_dst((r.dst & mdst) | (host_dst & ~mdst));
      k.set_nw_proto(r.proto_any ? (rng() % 2 ? 6 : 17) : r.proto);
      k.set_tp_src(static_cast<uint16_t>(r.sport_lo + rng() % (r.sport_hi - r.sport_lo + 1u)));
      k.set_tp_dst(static_cast<uint16_t>(r.dport_lo + rng() % (r.dport_hi - r.dport_lo + 1u)));
    }
    k.set_nw_ttl(64);
    trace.push_back(k);
  }
  return trace;
}

}  // namespace spate::cls
