// Model test: random rules and random packets under rule churn.  Every
// packet the fast path forwards (through its EMC, megaflow cache or slow
// path) must leave exactly as a fresh slow-path translation of the current
// rule set says (DatapathControl::Trace, no caches): same ports, same
// bytes.  Thread-less (deterministic) and with a PMD thread plus
// concurrent noise traffic while rules change.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include "datapath/datapath.h"
#include "datapath/datapath_test_util.h"
#include "datapath/dummy_port.h"
#include "datapath/flow_extract_frames.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

using namespace testframes;  // NOLINT
using testutil::SinkPort;
using Outputs = std::vector<std::pair<uint32_t, Frame>>;

constexpr int kPorts = 4;
const uint64_t kMacs[] = {0x020000000001, 0x020000000002, 0x020000000003, 0x0200000000ff};
const char* kMacText[] = {"02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03",
                          "02:00:00:00:00:ff"};
const uint32_t kAddrs[] = {0x0a000001, 0x0a000101, 0x0a010001, 0x0b000001};
const uint16_t kDports[] = {22, 80, 443, 8080};

class Model {
 public:
  explicit Model(uint32_t seed) : rng_(seed) {}

  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }

  std::string RandomMatch(int table, bool* tcp) {
    std::string m = "table=" + std::to_string(table) +
                    ",priority=" + std::to_string(1 + 10 * Pick(4));
    if (Pick(2)) m += ",in_port=" + std::to_string(1 + Pick(3));
    if (Pick(2)) m += ",dl_dst=" + std::string(kMacText[Pick(4)]);
    *tcp = Pick(2);
    if (*tcp) {
      m += ",tcp";
      if (Pick(2)) m += ",tp_dst=" + std::to_string(kDports[Pick(4)]);
      if (Pick(2)) {
        static const char* kNets[] = {"10.0.0.0/8", "10.0.0.0/16", "10.0.0.0/24", "10.0.0.1/32"};
        m += ",nw_src=" + std::string(kNets[Pick(4)]);
      }
    }
    if (table > 0 && Pick(2)) m += ",reg0=" + std::to_string(Pick(3));
    return m;
  }

  std::string RandomActions(int table, bool tcp) {
    if (Pick(8) == 0) return "drop";
    std::string a;
    int n = 1 + Pick(3);
    for (int i = 0; i < n; ++i) {
      if (!a.empty()) a += ",";
      switch (Pick(tcp ? 7 : 6)) {
        case 0: case 1: a += "output:" + std::to_string(1 + Pick(3)); break;
        case 2: a += "mod_dl_src:" + std::string(kMacText[Pick(4)]); break;
        case 3: a += "set_field:" + std::to_string(Pick(3)) + "->reg0"; break;
        case 4: a += table < 2 ? "resubmit(," + std::to_string(table + 1) + ")" : "flood"; break;
        case 5: a += Pick(4) == 0 ? "flood" : "dec_ttl"; break;
        default: a += "mod_tp_dst:" + std::to_string(kDports[Pick(4)]); break;
      }
    }
    return a;
  }

  RuleOp RandomAdd() {
    int table = Pick(3);
    bool tcp;
    std::string m = RandomMatch(table, &tcp);
    return ParseRuleOp(RuleOpKind::kAdd, m + ",actions=" + RandomActions(table, tcp)).value();
  }

  // 1-4 random adds, deletes and modifies.
  std::vector<RuleOp> RandomOps(const std::vector<RuleInfo>& rules) {
    std::vector<RuleOp> ops;
    int n = 1 + Pick(4);
    for (int i = 0; i < n; ++i) {
      int kind = rules.empty() ? 0 : Pick(4);
      if (kind <= 1) {
        ops.push_back(RandomAdd());
        continue;
      }
      const RuleInfo& r = rules[static_cast<size_t>(Pick(static_cast<int>(rules.size())))];
      RuleOp op;
      op.kind = kind == 2 ? RuleOpKind::kDelete : RuleOpKind::kModify;
      op.strict = true;
      op.spec = r.spec;
      if (op.kind == RuleOpKind::kModify) {
        op.spec.actions = ParseActions(RandomActions(r.spec.table, false)).value().actions;
      }
      ops.push_back(op);
    }
    return ops;
  }

  // A random packet carrying `id` in its payload.
  Frame RandomFrame(uint32_t id) {
    Frame payload;
    PutBe(payload, id, 4);
    Frame ip = Ipv4(6, 24, 0, 5, 0, static_cast<uint8_t>(1 + Pick(3)));
    uint32_t src = kAddrs[Pick(4)];
    for (int i = 0; i < 4; ++i) ip[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    return Eth(cls::kEthTypeIp, kMacs[Pick(4)]) + ip + Tcp(1000, kDports[Pick(4)], 0x10) + payload;
  }

 private:
  std::mt19937 rng_;  // Deterministic per seed.
};

// What the slow path says `frame` (received on `in_port`) becomes.
Outputs Expected(const DatapathControl& dp, const Frame& frame, uint32_t in_port) {
  cls::FlowKey key = testutil::KeyOf(frame, in_port);
  TraceResult t = dp.Trace(key);
  Outputs out;
  std::vector<uint8_t> buf(64 + frame.size());
  std::copy(frame.begin(), frame.end(), buf.begin() + 64);
  FrameView v{buf.data(), static_cast<uint32_t>(buf.size()), 64,
              static_cast<uint32_t>(frame.size())};
  cls::FlowKey k{};
  FrameLayout layout = MakeFrameLayout(ExtractFlowKey(v.data(), v.length, in_port, &k), k);
  for (const DpAction& a : t.actions.acts) {
    if (a.type == DpActionType::kOutput) {
      out.emplace_back(a.port, Frame(v.data(), v.data() + v.length));
    } else if (a.type == DpActionType::kSetField) {
      EditSetField(&v, layout, a.field, a.value, a.mask);
    } else if (a.type == DpActionType::kPushVlan) {
      EditPushVlan(&v, &layout, static_cast<uint16_t>(a.value.hi), static_cast<uint16_t>(a.value.lo));
    } else if (a.type == DpActionType::kPopVlan) {
      EditPopVlan(&v, &layout);
    }
  }
  return out;
}

Packet* ToPacket(const Frame& f) {
  Packet* p = TestPool().Alloc();
  EXPECT_NE(p, nullptr);
  std::memcpy(p->Append(static_cast<uint32_t>(f.size())), f.data(), f.size());
  return p;
}

TEST(DatapathModel, RandomRulesAndPacketsUnderChurn) {
  TestEal();
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    Model model(seed);
    DatapathOptions o;
    o.start_threads = false;
    o.clone_pool = &TestPool();
    o.fastpath.emc_insert_inv_prob = seed % 3;  // 0 (no EMC), 1, 2.
    o.fastpath.emc_min_subtables = 0;           // The EMC even with one subtable.
    auto dp = Datapath::Create(o).value();
    std::vector<SinkPort*> sinks;
    for (int i = 1; i <= kPorts; ++i) {
      auto s = std::make_unique<SinkPort>("p" + std::to_string(i));
      s->keep = true;
      sinks.push_back(s.get());
      PortSpec spec;
      spec.name = s->name();
      spec.port = std::move(s);
      ASSERT_TRUE(dp->AddPort(std::move(spec)).ok());
    }
    uint32_t id = 0;
    size_t n_checked = 0;
    for (int round = 0; round < 120; ++round) {
      ASSERT_TRUE(dp->Commit(model.RandomOps(dp->DumpRules())).ok());
      uint32_t in_port = static_cast<uint32_t>(1 + model.Pick(3));
      std::vector<Frame> frames;
      int n = 1 + model.Pick(32);
      for (int i = 0; i < n; ++i) frames.push_back(model.RandomFrame(id++));
      Outputs want;
      for (const Frame& f : frames) {
        Outputs e = Expected(*dp, f, in_port);
        want.insert(want.end(), e.begin(), e.end());
      }
      PacketBatch b;
      for (const Frame& f : frames) b.Add(ToPacket(f));
      dp->fastpath(0)->Process(in_port, &b);
      Outputs got;
      for (SinkPort* s : sinks) {
        for (Packet* p : s->kept) {
          got.emplace_back(static_cast<uint32_t>(s->name()[1] - '0'),
                           Frame(p->data(), p->data() + p->length()));
          FreePacket(p);
        }
        s->kept.clear();
      }
      std::sort(want.begin(), want.end());
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got, want) << "seed " << seed << " round " << round;
      n_checked += got.size();
    }
    FastPathStats s = dp->fastpath(0)->GetStats();
    EXPECT_GT(s.n_upcalls, 0u);
    EXPECT_GT(s.n_megaflow_hits + s.n_emc_hits, 0u) << "seed " << seed;
    EXPECT_GT(n_checked, 100u);
  }
}

TEST(DatapathModel, PmdThreadWithConcurrentNoiseAndChurn) {
  TestEal();
  Model model(99);
  DatapathOptions o;
  o.eal = &TestEal();
  o.clone_pool = &TestPool();
  o.fastpath.emc_insert_inv_prob = 1;
  o.fastpath.emc_min_subtables = 0;
  auto dp = Datapath::Create(o).value();
  std::vector<DummyPort*> ports;
  for (int i = 1; i <= kPorts; ++i) {
    DummyPortConfig c;
    c.name = "p" + std::to_string(i);
    c.pool = &TestPool();
    auto port = DummyPort::Create(c).value();
    ports.push_back(port.get());
    PortSpec spec;
    spec.name = c.name;
    spec.port = std::move(port);
    ASSERT_TRUE(dp->AddPort(std::move(spec)).ok());
  }
  // Noise on port 4 is dropped by a rule no random rule can beat.
  ASSERT_EQ(testutil::AddFlows(dp.get(), {"priority=65000,in_port=4,actions=drop"}), "");
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> n_noise{0};
  std::thread noise([&] {
    Model m(7);
    while (!stop.load()) {
      if (ports[3]->Receive(m.RandomFrame(0)).ok()) n_noise.fetch_add(1);
      std::this_thread::yield();
    }
  });
  struct Joiner {
    std::atomic<bool>* stop;
    std::thread* t;
    ~Joiner() {
      stop->store(true);
      if (t->joinable()) t->join();
    }
  } joiner{&stop, &noise};
  uint32_t id = 0;
  for (int round = 0; round < 60; ++round) {
    std::vector<RuleOp> ops = model.RandomOps(dp->DumpRules());
    ops.erase(std::remove_if(ops.begin(), ops.end(),
                             [](const RuleOp& op) { return op.spec.priority == 65000; }),
              ops.end());
    ASSERT_TRUE(dp->Commit(ops).ok());
    Frame f = model.RandomFrame(id++);
    Outputs want = Expected(*dp, f, 1);
    uint64_t before = ports[0]->GetStats().rx_packets;
    ASSERT_TRUE(ports[0]->Receive(f).ok());
    Outputs got;
    ASSERT_TRUE(WaitFor([&] {
      for (int p = 0; p < kPorts; ++p) {
        for (auto& b : ports[static_cast<size_t>(p)]->TakeTransmitted()) {
          got.emplace_back(static_cast<uint32_t>(p + 1), b);
        }
      }
      // Polled (so the commit below waits for its batch) and every
      // expected copy transmitted.
      return got.size() >= want.size() && ports[0]->GetStats().rx_packets > before;
    }));
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    ASSERT_EQ(got, want) << "round " << round;
  }
  stop = true;
  noise.join();
  ASSERT_TRUE(WaitFor([&] {
    auto s = dp->GetPmdInfo()[0].fastpath;
    return s.n_packets == n_noise.load() + id;
  }));
  auto s = dp->GetPmdInfo()[0].fastpath;
  EXPECT_GE(s.drops[static_cast<int>(DropReason::kExplicitDrop)], n_noise.load());
}

}  // namespace
}  // namespace spate::datapath
