// The fast path with packets: forwarding through sink, dummy and net_ring
// ports, multi-output copies, every cache level and its counters, drop
// reasons, cache invalidation by commits, and the tunnel hook.
#include <gtest/gtest.h>

#include <cstring>

#include "datapath/datapath.h"
#include "datapath/datapath_test_util.h"
#include "datapath/dpdk_eth_port.h"
#include "datapath/dummy_port.h"
#include "datapath/flow_dump.h"
#include "datapath/flow_extract_frames.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

using namespace testframes;  // NOLINT
using testutil::AddFlows;
using testutil::SinkPort;

Frame TcpTo(uint64_t dst_mac, uint16_t dport = 80) {
  return Eth(cls::kEthTypeIp, dst_mac) + Ipv4(6, 20) + Tcp(1000, dport, 0x10);
}

Packet* MakePacket(const Frame& f) {
  Packet* p = TestPool().Alloc();
  EXPECT_NE(p, nullptr);
  std::memcpy(p->Append(static_cast<uint32_t>(f.size())), f.data(), f.size());
  return p;
}

PacketBatch MakeBatch(const std::vector<Frame>& frames) {
  PacketBatch b;
  for (const Frame& f : frames) b.Add(MakePacket(f));
  return b;
}

Frame Bytes(const Packet* p) { return Frame(p->data(), p->data() + p->length()); }

// Takes the packets a sink kept, as bytes, freeing them.
std::vector<Frame> Take(SinkPort* s) {
  std::vector<Frame> out;
  for (Packet* p : s->kept) {
    out.push_back(Bytes(p));
    FreePacket(p);
  }
  s->kept.clear();
  return out;
}

class ThreadlessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TestEal();
    DatapathOptions o;
    o.start_threads = false;
    o.clone_pool = &TestPool();
    o.fastpath.emc_insert_inv_prob = 1;
    o.fastpath.emc_min_subtables = 0;  // The EMC even with one subtable.
    o.tunnels = tunnels_;
    dp_ = Datapath::Create(o).value();
    for (int i = 1; i <= 3; ++i) {
      auto s = std::make_unique<SinkPort>("p" + std::to_string(i));
      s->keep = true;
      sinks_.push_back(s.get());
      PortSpec spec;
      spec.name = s->name();
      spec.port = std::move(s);
      ASSERT_TRUE(dp_->AddPort(std::move(spec)).ok());
    }
  }
  void TearDown() override {
    for (SinkPort* s : sinks_) Take(s);
    dp_.reset();
  }
  void Send(uint32_t in_port, const std::vector<Frame>& frames) {
    PacketBatch b = MakeBatch(frames);
    dp_->fastpath(0)->Process(in_port, &b);
  }
  FastPathStats Stats() { return dp_->fastpath(0)->GetStats(); }

  TunnelHook* tunnels_ = nullptr;
  std::unique_ptr<Datapath> dp_;
  std::vector<SinkPort*> sinks_;
};

TEST_F(ThreadlessTest, ForwardsAndFillsEveryCacheLevel) {
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=10,in_port=1,dl_dst=02:00:00:00:00:bb,actions=output:2",
                                 "priority=1,actions=drop"}),
            "");
  Send(1, std::vector<Frame>(32, TcpTo(kMacDst)));
  FastPathStats s = Stats();
  EXPECT_EQ(s.n_packets, 32u);
  EXPECT_EQ(s.n_upcalls, 1u);           // One translation ...
  EXPECT_EQ(s.n_megaflow_hits, 31u);    // ... covers the rest of the batch.
  EXPECT_EQ(s.n_emc_hits, 0u);
  EXPECT_EQ(s.n_megaflows, 1u);
  Send(1, std::vector<Frame>(8, TcpTo(kMacDst)));
  s = Stats();
  EXPECT_EQ(s.n_emc_hits, 8u);
  // Another 5-tuple inside the same megaflow: a megaflow hit, no upcall.
  Send(1, {TcpTo(kMacDst, 443)});
  s = Stats();
  EXPECT_EQ(s.n_upcalls, 1u);
  EXPECT_EQ(s.n_megaflow_hits, 32u);
  std::vector<Frame> out = Take(sinks_[1]);
  ASSERT_EQ(out.size(), 41u);
  EXPECT_EQ(out[0], TcpTo(kMacDst));
  EXPECT_EQ(s.n_tx_packets, 41u);
  // Drops by reason.
  Send(1, {TcpTo(0x020000000001)});
  Send(2, {TcpTo(kMacDst)});
  s = Stats();
  EXPECT_EQ(s.drops[static_cast<int>(DropReason::kExplicitDrop)], 2u);
  EXPECT_EQ(s.n_dropped(), 2u);
  // Rule counters and dumps.
  auto rules = dp_->DumpRules();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].n_packets, 41u);
  EXPECT_EQ(rules[0].n_bytes, 41u * TcpTo(kMacDst).size());
  EXPECT_EQ(rules[1].n_packets, 2u);
  std::string dpif = FormatDpifFlows(dp_->DumpDatapathFlows(), 0);
  EXPECT_NE(dpif.find("packets:41"), std::string::npos) << dpif;
  EXPECT_NE(dpif.find("actions:2"), std::string::npos) << dpif;
  std::string pmd = FormatPmdStats(dp_->GetPmdInfo());
  EXPECT_NE(pmd.find("emc hits: 8"), std::string::npos) << pmd;
  EXPECT_NE(pmd.find("explicit_drop: 2"), std::string::npos) << pmd;
  dp_->ClearPmdStats();
  EXPECT_EQ(Stats().n_packets, 0u);
  EXPECT_EQ(Stats().n_megaflows, 3u);
}

TEST_F(ThreadlessTest, MultipleOutputsAndEditsBetweenThem) {
  ASSERT_EQ(AddFlows(dp_.get(), {"in_port=1,actions=output:2,mod_dl_src:0a:00:00:00:00:01,"
                                 "mod_nw_ttl:9,output:3,strip_vlan,mod_vlan_vid:7,IN_PORT"}),
            "");
  uint32_t avail = TestPool().n_available();
  Send(1, {TcpTo(kMacDst)});
  std::vector<Frame> o2 = Take(sinks_[1]), o3 = Take(sinks_[2]), o1 = Take(sinks_[0]);
  ASSERT_EQ(o2.size(), 1u);
  ASSERT_EQ(o3.size(), 1u);
  ASSERT_EQ(o1.size(), 1u);
  EXPECT_EQ(o2[0], TcpTo(kMacDst));
  cls::FlowKey k3 = testutil::KeyOf(o3[0], 3), k1 = testutil::KeyOf(o1[0], 1);
  EXPECT_EQ(k3.dl_src(), 0x0a0000000001ULL);
  EXPECT_EQ(k3.nw_ttl(), 9);
  EXPECT_EQ(k1.vlan_tci(), 0x1000 | 7);
  EXPECT_EQ(k1.nw_ttl(), 9);
  EXPECT_EQ(TestPool().n_available(), avail);  // Every copy was freed.
}

TEST_F(ThreadlessTest, CommitsInvalidateOnlyWhatTheyTouch) {
  ASSERT_EQ(AddFlows(dp_.get(), {"table=0,in_port=1,actions=resubmit(,1)",
                                 "table=1,actions=output:2", "table=0,in_port=3,actions=output:1"}),
            "");
  Send(1, {TcpTo(kMacDst)});
  Send(3, {TcpTo(kMacDst)});
  ASSERT_EQ(Take(sinks_[1]).size(), 1u);
  ASSERT_EQ(Take(sinks_[0]).size(), 1u);
  // A change in table 1 revalidates the first flow only; its actions
  // changed, so it is evicted; the in_port=3 flow never visited table 1.
  ASSERT_EQ(AddFlows(dp_.get(), {"table=1,priority=60000,actions=output:3"}), "");
  Send(1, {TcpTo(kMacDst)});
  Send(3, {TcpTo(kMacDst)});
  EXPECT_EQ(Take(sinks_[2]).size(), 1u);
  EXPECT_EQ(Take(sinks_[1]).size(), 0u);
  EXPECT_EQ(Take(sinks_[0]).size(), 1u);
  FastPathStats s = Stats();
  EXPECT_EQ(s.n_evictions, 1u);
  EXPECT_EQ(s.n_upcalls, 3u);
  // A change that leaves the result alone keeps the megaflow.
  ASSERT_EQ(AddFlows(dp_.get(), {"table=1,priority=1,tcp,actions=output:1"}), "");
  Send(1, {TcpTo(kMacDst)});
  EXPECT_EQ(Take(sinks_[2]).size(), 1u);
  EXPECT_EQ(Stats().n_evictions, 1u);
  EXPECT_EQ(Stats().n_upcalls, 3u);
  // Removing the port a flow outputs to evicts it (ports change flood/all).
  ASSERT_TRUE(dp_->RemovePort("p3").ok());
  sinks_.pop_back();
  Send(1, {TcpTo(kMacDst)});
  EXPECT_EQ(Stats().drops[static_cast<int>(DropReason::kNoSuchPort)], 1u);
}

// A fake tunnel: the outer header is an Ethernet header with ethertype
// 0x88b5 whose source MAC carries the tunnel id; port 5 is the tunnel,
// port 1 the underlay.
class FakeTunnel : public TunnelHook {
 public:
  bool IsTunnelPort(uint32_t port) const override { return port == 5; }
  uint32_t MatchUnderlay(const cls::FlowKey& key, cls::FlowKey* wc) const override {
    wc->Set(cls::Field::kDlType, 0xffff);
    return key.in_port() == 1 && key.dl_type() == 0x88b5 ? 5 : 0;
  }
  DropReason Push(const TunnelPushParams& p, Packet* pkt, uint32_t* out_port) override {
    uint8_t* h = pkt->Prepend(14);
    if (h == nullptr) return DropReason::kTunnelPushFailed;
    Frame outer = Eth(0x88b5, 0x02ffffffffff, p.tun_id);
    std::memcpy(h, outer.data(), 14);
    *out_port = 1;
    return DropReason::kNone;
  }
  DropReason Pop(uint32_t, Packet* pkt, cls::FlowKey* md) override {
    if (pkt->length() < 28) return DropReason::kTunnelPopFailed;
    uint64_t id = 0;
    for (int i = 6; i < 12; ++i) id = id << 8 | pkt->data()[i];
    md->set_tun_id(id);
    pkt->Adjust(14);
    return DropReason::kNone;
  }
};

class TunnelTest : public ThreadlessTest {
 protected:
  void SetUp() override {
    tunnels_ = &fake_;
    ThreadlessTest::SetUp();
    PortSpec t;
    t.name = "tun";
    t.number = 5;
    t.tunnel = true;
    ASSERT_TRUE(dp_->AddPort(std::move(t)).ok());
  }
  FakeTunnel fake_;
};

TEST_F(TunnelTest, PushPopAndRecirculate) {
  ASSERT_EQ(AddFlows(dp_.get(), {"in_port=2,actions=set_tunnel:0x42,output:5",
                                 "in_port=5,tun_id=0x42,actions=output:3"}),
            "");
  Send(2, {TcpTo(kMacDst)});
  std::vector<Frame> outer = Take(sinks_[0]);
  ASSERT_EQ(outer.size(), 1u);
  EXPECT_EQ(outer[0], Eth(0x88b5, 0x02ffffffffff, 0x42) + TcpTo(kMacDst));
  Send(1, outer);
  std::vector<Frame> inner = Take(sinks_[2]);
  ASSERT_EQ(inner.size(), 1u);
  EXPECT_EQ(inner[0], TcpTo(kMacDst));
  EXPECT_EQ(Stats().n_packets, 3u);  // The decapsulated packet went round again.
  Frame short_outer = Eth(0x88b5);
  Send(1, {short_outer});
  EXPECT_EQ(Stats().drops[static_cast<int>(DropReason::kTunnelPopFailed)], 1u);
}

TEST(FastPathThreads, DummyPortsThroughAPmdThreadNeverStaleAfterCommit) {
  TestEal();
  DatapathOptions o;
  o.eal = &TestEal();
  o.clone_pool = &TestPool();
  auto dp = Datapath::Create(o).value();
  std::vector<DummyPort*> ports;
  for (int i = 1; i <= 3; ++i) {
    DummyPortConfig c;
    c.name = "d" + std::to_string(i);
    c.pool = &TestPool();
    auto port = DummyPort::Create(c).value();
    ports.push_back(port.get());
    PortSpec spec;
    spec.name = c.name;
    spec.port = std::move(port);
    ASSERT_TRUE(dp->AddPort(std::move(spec)).ok());
  }
  ASSERT_EQ(AddFlows(dp.get(), {"in_port=d1,actions=output:d2"}), "");
  size_t got2 = 0, got3 = 0;
  for (int round = 0; round < 20; ++round) {
    bool to3 = round % 2 == 1;
    ASSERT_EQ(AddFlows(dp.get(), {std::string("in_port=d1,actions=output:") + (to3 ? "d3" : "d2")}),
              "");
    // After Commit returns, every packet follows the new rule.
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(ports[0]->Receive(TcpTo(kMacDst, 1000 + i)).ok());
    DummyPort* want = to3 ? ports[2] : ports[1];
    DummyPort* other = to3 ? ports[1] : ports[2];
    size_t n = 0;
    ASSERT_TRUE(WaitFor([&] {
      n += want->TakeTransmitted().size();
      return n == 5;
    }));
    EXPECT_TRUE(other->TakeTransmitted().empty()) << "round " << round;
    (to3 ? got3 : got2) += n;
  }
  EXPECT_EQ(got2 + got3, 100u);
  auto pmds = dp->GetPmdInfo();
  ASSERT_EQ(pmds.size(), 1u);
  EXPECT_EQ(pmds[0].fastpath.n_packets, 100u);
  EXPECT_EQ(pmds[0].rxqs.size(), 3u);
  EXPECT_NE(FormatPmdRxqs(pmds).find("port: d1  queue-id: 0"), std::string::npos);
  ASSERT_TRUE(dp->RemovePort("d2").ok());
}

TEST(FastPathThreads, NetRingThroughAPmdThread) {
  TestEal();
  DatapathOptions o;
  o.eal = &TestEal();
  auto dp = Datapath::Create(o).value();
  DpdkPortConfig c;
  c.name = "ring";
  c.devargs = "net_ring_fp0";
  c.n_rxq = 2;
  c.n_txq = 2;
  c.rxq_size = 256;
  c.txq_size = 256;
  c.pool = &TestPool();
  auto ring = DpdkEthPort::Create(TestEal(), c);
  ASSERT_TRUE(ring.ok()) << ring.error().ToString();
  Port* ring_port = ring->get();
  PortSpec rs;
  rs.name = "ring";
  rs.port = std::move(ring.value());
  ASSERT_TRUE(dp->AddPort(std::move(rs)).ok());
  auto sink = std::make_unique<SinkPort>("sink");
  SinkPort* sink_ptr = sink.get();
  PortSpec ss;
  ss.name = "sink";
  ss.port = std::move(sink);
  ASSERT_TRUE(dp->AddPort(std::move(ss)).ok());
  ASSERT_EQ(AddFlows(dp.get(), {"in_port=ring,tcp,tp_dst=80,actions=output:sink",
                                "in_port=ring,actions=drop"}),
            "");
  // Queue 1 of net_ring loops back to receive queue 1 (the PMD uses 0).
  PacketBatch b = MakeBatch({TcpTo(kMacDst, 80), TcpTo(kMacDst, 80), TcpTo(kMacDst, 81)});
  ring_port->TxBurst(1, &b);
  ASSERT_TRUE(WaitFor([&] {
    auto s = dp->GetPmdInfo()[0].fastpath;
    return s.n_packets == 3 && sink_ptr->n_tx() == 2;
  }));
  EXPECT_EQ(dp->GetPmdInfo()[0].fastpath.drops[static_cast<int>(DropReason::kExplicitDrop)], 1u);
}

// Cache policies with the default configuration (or `config`): simple
// match, the EMC skipped with one megaflow subtable, the thrash bypass.
class CachePolicyTest : public ::testing::Test {
 protected:
  void Start(FastPathConfig config) {
    TestEal();
    DatapathOptions o;
    o.start_threads = false;
    o.clone_pool = &TestPool();
    o.fastpath = config;
    dp_ = Datapath::Create(o).value();
    for (int i = 1; i <= 3; ++i) {
      auto s = std::make_unique<SinkPort>("p" + std::to_string(i));
      s->keep = true;
      sinks_.push_back(s.get());
      PortSpec spec;
      spec.name = s->name();
      spec.port = std::move(s);
      ASSERT_TRUE(dp_->AddPort(std::move(spec)).ok());
    }
  }
  void TearDown() override {
    for (SinkPort* s : sinks_) Take(s);
    dp_.reset();
  }
  void Send(uint32_t in_port, const std::vector<Frame>& frames) {
    PacketBatch b = MakeBatch(frames);
    dp_->fastpath(0)->Process(in_port, &b);
  }
  FastPathStats Stats() { return dp_->fastpath(0)->GetStats(); }

  std::unique_ptr<Datapath> dp_;
  std::vector<SinkPort*> sinks_;
};

TEST_F(CachePolicyTest, SimpleMatchForwardsWithoutAKeyAndFollowsCommits) {
  Start({});
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=10,in_port=1,actions=output:2"}), "");
  Send(1, std::vector<Frame>(32, TcpTo(kMacDst)));
  EXPECT_EQ(Stats().n_upcalls, 1u);
  EXPECT_EQ(Stats().n_simple_hits, 0u);
  Send(1, std::vector<Frame>(32, TcpTo(kMacDst, 443)));
  FastPathStats s = Stats();
  EXPECT_EQ(s.n_simple_hits, 32u);
  EXPECT_EQ(s.n_megaflow_hits, 31u + 32u);
  std::vector<Frame> out = Take(sinks_[1]);
  ASSERT_EQ(out.size(), 64u);
  EXPECT_EQ(out[63], TcpTo(kMacDst, 443));
  EXPECT_EQ(dp_->DumpRules()[0].n_packets, 64u);
  // A rule on dl_dst: the megaflow mask widens, simple match must stop.
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=20,in_port=1,dl_dst=02:00:00:00:00:bb,actions=output:3"}),
            "");
  Send(1, std::vector<Frame>(32, TcpTo(kMacDst)));
  Send(1, {TcpTo(0x020000000001)});
  EXPECT_EQ(Take(sinks_[2]).size(), 32u);
  EXPECT_EQ(Take(sinks_[1]).size(), 1u);
  EXPECT_EQ(Stats().n_simple_hits, 32u);
  // Actions other than one output (an edit) never take the simple path.
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=5,in_port=2,actions=mod_dl_src:02:00:00:00:00:99,output:1"}),
            "");
  Send(2, std::vector<Frame>(32, TcpTo(kMacDst)));
  Send(2, std::vector<Frame>(32, TcpTo(kMacDst)));
  out = Take(sinks_[0]);
  ASSERT_EQ(out.size(), 64u);
  EXPECT_EQ(out[40][11], 0x99);
  EXPECT_EQ(Stats().n_simple_hits, 32u);
}

TEST_F(CachePolicyTest, EmcIsSkippedWithOneSubtableAndUsedWithMore) {
  FastPathConfig c;
  c.emc_insert_inv_prob = 1;
  Start(c);
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=10,in_port=1,dl_dst=02:00:00:00:00:bb,actions=output:2"}),
            "");
  for (int i = 0; i < 3; ++i) Send(1, std::vector<Frame>(32, TcpTo(kMacDst)));
  EXPECT_EQ(Stats().n_emc_hits, 0u);
  EXPECT_EQ(Stats().n_megaflow_hits, 95u);
  // A second mask (nw_proto) makes two subtables: the EMC pays again.
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=5,in_port=1,tcp,actions=output:3"}), "");
  Send(1, {TcpTo(0x020000000001)});
  ASSERT_EQ(Stats().n_subtables, 2u);
  Send(1, std::vector<Frame>(32, TcpTo(kMacDst)));
  Send(1, std::vector<Frame>(32, TcpTo(kMacDst)));
  EXPECT_GE(Stats().n_emc_hits, 32u);
  EXPECT_EQ(Take(sinks_[1]).size(), 96u + 64u);
  EXPECT_EQ(Take(sinks_[2]).size(), 1u);
}

// One mask on Ethernet words only (L2 mode): plain IPv4 frames are
// looked up by those words, VLAN-tagged and non-IP frames with the same
// dl_dst are extracted in full (the tagged one hits its own megaflow),
// and a megaflow
// with an edit ends the mode while its packets are still edited.
TEST_F(CachePolicyTest, EthernetOnlyMaskKeepsVlanAndNonIpFramesApart) {
  Start({});
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=10,in_port=1,dl_dst=02:00:00:00:00:bb,vlan_tci=0,"
                                 "actions=output:2",
                                 "priority=5,in_port=1,actions=output:3"}),
            "");
  Frame tagged = Eth(0x8100) + VlanTag(5, cls::kEthTypeIp) + Ipv4(6, 20) + Tcp(1, 2, 0x10);
  Frame arp = Eth(0x0806) + Arp(1, kMacSrc, kIpSrc, 0, kIpDst);
  for (int i = 0; i < 3; ++i) Send(1, {TcpTo(kMacDst), tagged, arp, TcpTo(kMacDst, 443)});
  FastPathStats s = Stats();
  ASSERT_EQ(s.n_subtables, 1u);
  EXPECT_EQ(s.n_upcalls, 2u);  // Untagged (ARP shares it) and tagged.
  EXPECT_EQ(s.n_megaflow_hits, 10u);
  EXPECT_EQ(Take(sinks_[1]).size(), 9u);
  EXPECT_EQ(Take(sinks_[2]).size(), 3u);  // Tagged: never the untagged flow.
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=20,in_port=1,dl_dst=02:00:00:00:00:01,vlan_tci=0,"
                                 "actions=mod_dl_src:02:00:00:00:00:99,output:2"}),
            "");
  Send(1, {TcpTo(0x020000000001), TcpTo(kMacDst)});
  Send(1, {TcpTo(0x020000000001), TcpTo(kMacDst)});
  std::vector<Frame> out = Take(sinks_[1]);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0][11], 0x99);
  EXPECT_EQ(out[2][11], 0x99);
  EXPECT_EQ(out[3], TcpTo(kMacDst));
  EXPECT_EQ(dp_->DumpRules().size(), 3u);
}

// L2 mode's table follows every commit: after a rule changes its output,
// is deleted, or a new one is added, the next packet of each MAC goes
// where a fresh slow-path lookup sends it, and L2 mode stays on.
TEST_F(CachePolicyTest, L2TableNeverStaleAfterCommit) {
  Start({});
  auto rule = [](int mac, int port) {
    return "priority=10,in_port=1,dl_dst=02:00:00:00:00:0" + std::to_string(mac) +
           ",vlan_tci=0,actions=output:" + std::to_string(port);
  };
  ASSERT_EQ(AddFlows(dp_.get(), {rule(1, 2), rule(2, 2), "priority=5,in_port=1,actions=output:3"}),
            "");
  auto send_each = [&](int n_macs) {
    for (int round = 0; round < 2; ++round) {
      std::vector<Frame> frames;
      for (int m = 1; m <= n_macs; ++m) frames.push_back(TcpTo(0x020000000000 + m));
      Send(1, frames);
    }
  };
  send_each(4);  // 01, 02 -> p2; 03, 04 -> p3.
  ASSERT_TRUE(dp_->fastpath(0)->l2_mode());
  EXPECT_EQ(Take(sinks_[1]).size(), 4u);
  EXPECT_EQ(Take(sinks_[2]).size(), 4u);
  // 01 moves to p3, 02's rule goes (the priority-5 rule takes it), 04 gets
  // a rule to p2.
  ASSERT_EQ(AddFlows(dp_.get(), {rule(1, 3), rule(4, 2)}), "");
  PortResolver names = [this](std::string_view n) { return dp_->PortNumber(n); };
  auto del = ParseRuleOp(RuleOpKind::kDelete, "in_port=1,dl_dst=02:00:00:00:00:02", false, names);
  ASSERT_TRUE(del.ok());
  ASSERT_TRUE(dp_->Commit({del.value()}).ok());
  send_each(4);
  EXPECT_TRUE(dp_->fastpath(0)->l2_mode());
  std::vector<Frame> p2 = Take(sinks_[1]);
  std::vector<Frame> p3 = Take(sinks_[2]);
  ASSERT_EQ(p2.size(), 2u);
  EXPECT_EQ(p2[0], TcpTo(0x020000000004));
  ASSERT_EQ(p3.size(), 6u);
  EXPECT_EQ(p3[0], TcpTo(0x020000000001));
  EXPECT_EQ(p3[1], TcpTo(0x020000000002));
  EXPECT_EQ(p3[2], TcpTo(0x020000000003));
}

TEST_F(CachePolicyTest, ThrashingEmcIsBypassedAndResumesWhenTrafficNarrows) {
  FastPathConfig c;
  c.emc_insert_inv_prob = 1;
  c.emc_min_subtables = 0;
  Start(c);
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=10,in_port=1,dl_type=0x0800,actions=output:2"}), "");
  // 20 000 distinct keys in a cycle through 8192 EMC slots: nothing hits.
  uint64_t next = 0;
  for (int b = 0; b < 2000; ++b) {
    std::vector<Frame> frames;
    for (int i = 0; i < 32; ++i) frames.push_back(TcpTo(0x020000100000 + next++ % 20000));
    Send(1, frames);
    Take(sinks_[1]);
  }
  FastPathStats s = Stats();
  EXPECT_GT(s.n_emc_bypassed, 32u * 1000);
  EXPECT_EQ(s.n_packets, 64000u);
  EXPECT_EQ(s.n_tx_packets, 64000u);
  // One flow: the probe batches hit, the bypass ends, the EMC serves.
  size_t delivered = 0;
  for (int b = 0; b < 2000; ++b) {
    Send(1, std::vector<Frame>(32, TcpTo(kMacDst)));
    delivered += Take(sinks_[1]).size();
  }
  FastPathStats t = Stats();
  uint64_t bypassed = t.n_emc_bypassed;
  uint64_t hits = t.n_emc_hits;
  for (int b = 0; b < 10; ++b) Send(1, std::vector<Frame>(32, TcpTo(kMacDst)));
  EXPECT_EQ(Stats().n_emc_bypassed, bypassed);
  EXPECT_EQ(Stats().n_emc_hits, hits + 320);
  EXPECT_EQ(delivered + Take(sinks_[1]).size(), 2010u * 32);
}

}  // namespace
}  // namespace spate::datapath
