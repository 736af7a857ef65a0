// The slow path through DatapathControl (thread-less, no packets): each
// action's translation, wildcards (megaflow width), resubmit limits,
// conjunctions, commits, dumps and the trace.
#include <gtest/gtest.h>

#include "datapath/datapath.h"
#include "datapath/datapath_test_util.h"
#include "datapath/flow_dump.h"
#include "datapath/flow_extract_frames.h"

namespace spate::datapath {
namespace {

using namespace testframes;  // NOLINT
using testutil::AddFlows;
using testutil::KeyOf;
using testutil::SinkPort;

class XlateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DatapathOptions o;
    o.start_threads = false;
    auto dp = Datapath::Create(o);
    ASSERT_TRUE(dp.ok());
    dp_ = std::move(dp.value());
    for (int i = 1; i <= 4; ++i) {
      PortSpec s;
      s.name = "p" + std::to_string(i);
      s.port = std::make_unique<SinkPort>(s.name);
      ASSERT_TRUE(dp_->AddPort(std::move(s)).ok());
    }
  }
  std::string Actions(const cls::FlowKey& k) { return FormatDpActions(dp_->Trace(k).actions); }
  std::string Megaflow(const cls::FlowKey& k) { return dp_->Trace(k).megaflow.ToString(); }

  std::unique_ptr<Datapath> dp_;
};

cls::FlowKey Tcp4(uint32_t in_port, uint16_t dport = 80, uint8_t ttl = 64) {
  return KeyOf(Eth(cls::kEthTypeIp) + Ipv4(6, 20, 0, 5, 0, ttl) + Tcp(1000, dport, 0x10), in_port);
}

TEST_F(XlateTest, OutputAndNarrowMegaflow) {
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=10,in_port=1,dl_dst=02:00:00:00:00:bb,actions=output:2",
                                 "priority=5,actions=drop"}),
            "");
  cls::FlowKey k = Tcp4(1);
  EXPECT_EQ(Actions(k), "2");
  std::string mf = Megaflow(k);
  EXPECT_NE(mf.find("in_port=1"), std::string::npos) << mf;
  EXPECT_NE(mf.find("dl_dst=02:00:00:00:00:bb"), std::string::npos) << mf;
  EXPECT_EQ(mf.find("nw_src"), std::string::npos) << mf;
  EXPECT_EQ(mf.find("tp_dst"), std::string::npos) << mf;
  TraceResult t = dp_->Trace(k);
  EXPECT_EQ(t.actions.drop_reason, DropReason::kNone);
  EXPECT_NE(FormatTrace(t).find("0. in_port=1,dl_dst=02:00:00:00:00:bb, priority 10"),
            std::string::npos)
      << FormatTrace(t);
  EXPECT_EQ(Actions(Tcp4(3)), "drop");
  EXPECT_EQ(dp_->Trace(Tcp4(3)).actions.drop_reason, DropReason::kExplicitDrop);
}

TEST_F(XlateTest, MissIsNoRuleAndOutputToInPortIsSkipped) {
  EXPECT_EQ(dp_->Trace(Tcp4(1)).actions.drop_reason, DropReason::kNoRule);
  ASSERT_EQ(AddFlows(dp_.get(), {"actions=output:1"}), "");
  EXPECT_EQ(Actions(Tcp4(1)), "drop");
  EXPECT_EQ(Actions(Tcp4(2)), "1");
  ASSERT_EQ(AddFlows(dp_.get(), {"actions=in_port"}), "");
  EXPECT_EQ(Actions(Tcp4(3)), "3");
  ASSERT_EQ(AddFlows(dp_.get(), {"actions=output:99"}), "");
  EXPECT_EQ(dp_->Trace(Tcp4(1)).actions.drop_reason, DropReason::kNoSuchPort);
}

TEST_F(XlateTest, FloodAllAndNoFlood) {
  ASSERT_EQ(AddFlows(dp_.get(), {"in_port=1,actions=flood", "in_port=2,actions=all"}), "");
  EXPECT_EQ(Actions(Tcp4(1)), "2,3,4");
  ASSERT_TRUE(dp_->ConfigurePort("p3", PortSettings{std::nullopt, false}).ok());
  EXPECT_EQ(Actions(Tcp4(1)), "2,4");
  EXPECT_EQ(Actions(Tcp4(2)), "1,3,4");
}

TEST_F(XlateTest, ResubmitUnionsWildcardsAndRegistersStayOutOfTheMegaflow) {
  ASSERT_EQ(AddFlows(dp_.get(),
                     {"table=0,in_port=1,actions=set_field:0x7->reg0,resubmit(,1)",
                      "table=1,reg0=0x7,tcp,tp_dst=80,actions=mod_dl_src:0a:00:00:00:00:01,output:2",
                      "table=1,priority=1,actions=output:3"}),
            "");
  cls::FlowKey k = Tcp4(1);
  EXPECT_EQ(Actions(k), "set(dl_src=0a:00:00:00:00:01),2");
  std::string mf = Megaflow(k);
  EXPECT_NE(mf.find("tp_dst=80"), std::string::npos) << mf;
  EXPECT_NE(mf.find("nw_proto=6"), std::string::npos) << mf;
  EXPECT_EQ(mf.find("reg0"), std::string::npos) << mf;
  EXPECT_EQ(Actions(Tcp4(1, 81)), "3");
  EXPECT_EQ(Actions(Tcp4(2)), "drop");
}

TEST_F(XlateTest, ResubmitWithPortAndGotoTable) {
  ASSERT_EQ(AddFlows(dp_.get(), {"table=0,in_port=1,actions=resubmit(4,2),output:3",
                                 "table=2,in_port=4,actions=output:2,goto_table:3,output:4",
                                 "table=3,in_port=4,actions=output:1"}),
            "");
  // output:4 after goto_table is not reached; in_port is restored after
  // the resubmit, so output:3 still applies and output:1 (in_port 4) too.
  EXPECT_EQ(Actions(Tcp4(1)), "2,1,3");
}

TEST_F(XlateTest, LoopsAreCutAndDropped) {
  ASSERT_EQ(AddFlows(dp_.get(), {"table=0,actions=output:2,resubmit(,0)"}), "");
  TraceResult t = dp_->Trace(Tcp4(1));
  EXPECT_EQ(FormatDpActions(t.actions), "drop");
  EXPECT_EQ(t.actions.drop_reason, DropReason::kResubmitTooDeep);
  ASSERT_EQ(AddFlows(dp_.get(), {"table=0,actions=resubmit(,1),resubmit(,1)",
                                 "table=1,actions=resubmit(,2),resubmit(,2)",
                                 "table=2,actions=resubmit(,3),resubmit(,3)",
                                 "table=3,actions=resubmit(,4),resubmit(,4)",
                                 "table=4,actions=resubmit(,5),resubmit(,5)",
                                 "table=5,actions=resubmit(,6),resubmit(,6)",
                                 "table=6,actions=resubmit(,7),resubmit(,7)",
                                 "table=7,actions=resubmit(,8),resubmit(,8)",
                                 "table=8,actions=resubmit(,9),resubmit(,9)",
                                 "table=9,actions=resubmit(,10),resubmit(,10)",
                                 "table=10,actions=resubmit(,11),resubmit(,11)",
                                 "table=11,actions=resubmit(,12),resubmit(,12)",
                                 "table=12,actions=output:2"}),
            "");
  EXPECT_EQ(dp_->Trace(Tcp4(1)).actions.drop_reason, DropReason::kTooManyResubmits);
}

TEST_F(XlateTest, DecTtlAndVlan) {
  ASSERT_EQ(AddFlows(dp_.get(), {"in_port=1,ip,actions=dec_ttl,output:2",
                                 "in_port=2,actions=mod_vlan_vid:10,output:3",
                                 "in_port=3,dl_vlan=10,actions=strip_vlan,output:4",
                                 "in_port=4,actions=push_vlan:0x8100,mod_vlan_pcp:5,output:1"}),
            "");
  EXPECT_EQ(Actions(Tcp4(1, 80, 64)), "set(nw_ttl=63),2");
  EXPECT_NE(Megaflow(Tcp4(1, 80, 64)).find("nw_ttl=64"), std::string::npos);
  TraceResult t = dp_->Trace(Tcp4(1, 80, 1));
  EXPECT_EQ(t.actions.drop_reason, DropReason::kTtlExpired);
  EXPECT_EQ(Actions(Tcp4(2)), "push_vlan(tpid=0x8100,vid=10,pcp=0),3");
  cls::FlowKey tagged = KeyOf(Eth(0x8100) + VlanTag(10, cls::kEthTypeIp) + Ipv4(6, 20) +
                                  Tcp(1, 2, 0), 3);
  EXPECT_EQ(Actions(tagged), "pop_vlan,4");
  EXPECT_EQ(Actions(Tcp4(4)), "push_vlan(tpid=0x8100,vid=0,pcp=0),set(vlan_tci=0xb000/0xf000),1");
}

TEST_F(XlateTest, SetFieldNeedsItsHeader) {
  ASSERT_EQ(AddFlows(dp_.get(), {"actions=mod_tp_dst:99,mod_nw_src:1.2.3.4,output:2"}), "");
  EXPECT_EQ(Actions(Tcp4(1)), "set(tp_dst=99),set(nw_src=1.2.3.4),2");
  cls::FlowKey arp = KeyOf(Eth(cls::kEthTypeArp) + Arp(1, kMacSrc, kIpSrc, 0, kIpDst), 1);
  EXPECT_EQ(Actions(arp), "set(nw_src=1.2.3.4),2");
  cls::FlowKey ip6 = KeyOf(Eth(cls::kEthTypeIpv6) + Ipv6(17, 8) + Addr6(kIp6Src) +
                               Addr6(kIp6Dst) + Udp(1, 2), 1);
  EXPECT_EQ(Actions(ip6), "set(tp_dst=99),2");
}

TEST_F(XlateTest, Conjunctions) {
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=10,in_port=1,actions=conjunction(7,1/2)",
                                 "priority=10,tcp,tp_dst=80,actions=conjunction(7,2/2)",
                                 "priority=10,conj_id=7,actions=output:4",
                                 "priority=1,actions=output:3"}),
            "");
  EXPECT_EQ(Actions(Tcp4(1, 80)), "4");
  EXPECT_EQ(Actions(Tcp4(1, 81)), "3");
  EXPECT_EQ(Actions(Tcp4(2, 80)), "3");
}

TEST_F(XlateTest, CommitsAreAtomicAndOpsSelectRules) {
  ASSERT_EQ(AddFlows(dp_.get(), {"cookie=0x1,priority=10,in_port=1,actions=output:2",
                                 "cookie=0x2,priority=20,in_port=1,tcp,actions=output:3",
                                 "cookie=0x2,table=1,actions=output:4"}),
            "");
  EXPECT_EQ(dp_->DumpRules().size(), 3u);
  // A bad op fails the whole batch.
  RuleOp good = ParseRuleOp(RuleOpKind::kAdd, "priority=30,in_port=1,actions=output:4").value();
  RuleOp bad = ParseRuleOp(RuleOpKind::kAdd, "priority=40,actions=conjunction(1,1/2)").value();
  bad.spec.actions.push_back(Action{});
  auto r = dp_->Commit({good, bad});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag(), "invalid rule");
  EXPECT_EQ(dp_->DumpRules().size(), 3u);
  EXPECT_EQ(Actions(Tcp4(1)), "3");
  // Delete by cookie in every table.
  auto del = dp_->Commit({ParseRuleOp(RuleOpKind::kDelete, "cookie=0x2/-1").value()});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->n_deleted, 2u);
  EXPECT_EQ(Actions(Tcp4(1)), "2");
  // Strict modify; add with the same match and priority replaces.
  auto mod = dp_->Commit(
      {ParseRuleOp(RuleOpKind::kModify, "table=0,priority=10,in_port=1,actions=output:3", true)
           .value()});
  ASSERT_TRUE(mod.ok());
  EXPECT_EQ(mod->n_modified, 1u);
  EXPECT_EQ(Actions(Tcp4(1)), "3");
  ASSERT_EQ(AddFlows(dp_.get(), {"priority=10,in_port=1,actions=output:4"}), "");
  auto rules = dp_->DumpRules();
  ASSERT_EQ(rules.size(), 1u);
  std::string dump = FormatDumpFlows(rules);
  EXPECT_NE(dump.find("table=0, n_packets=0, n_bytes=0, priority=10,in_port=1 actions=output:4"),
            std::string::npos)
      << dump;
  // Loose delete: every rule at least as specific as in_port=1.
  ASSERT_TRUE(dp_->Commit({ParseRuleOp(RuleOpKind::kDelete, "in_port=1").value()}).ok());
  EXPECT_TRUE(dp_->DumpRules().empty());
}

TEST_F(XlateTest, PortsAddRemoveAndErrors) {
  EXPECT_EQ(dp_->PortNumber("p3"), 3u);
  PortSpec dup;
  dup.name = "p3";
  dup.port = std::make_unique<SinkPort>("p3");
  EXPECT_FALSE(dp_->AddPort(std::move(dup)).ok());
  PortSpec numbered;
  numbered.name = "p9";
  numbered.number = 9;
  numbered.port = std::make_unique<SinkPort>("p9");
  EXPECT_EQ(dp_->AddPort(std::move(numbered)).value(), 9u);
  ASSERT_EQ(AddFlows(dp_.get(), {"actions=output:p9"}), "");
  EXPECT_EQ(Actions(Tcp4(1)), "9");
  ASSERT_TRUE(dp_->RemovePort("p9").ok());
  EXPECT_EQ(Actions(Tcp4(1)), "drop");
  EXPECT_FALSE(dp_->RemovePort("p9").ok());
  EXPECT_EQ(dp_->ListPorts().size(), 4u);
  EXPECT_NE(FormatDpifShow(dp_->ListPorts(), dp_->GetPmdInfo()).find("p2 2/2: (sink)"),
            std::string::npos);
}

}  // namespace
}  // namespace spate::datapath
