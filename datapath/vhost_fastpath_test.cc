// vhost-user through the Datapath's fast path: two net_vhost ports owned
// by a Datapath with a PMD thread, each with a DPDK net_virtio_user peer in
// this process (the "guests"), forwarding both ways.  A binary of its own:
// after two vhost/virtio pairs have come and gone, DPDK 22.11's net_af_xdp
// in the same process no longer receives (kernel_port_test.cc runs in
// datapath_io_test).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "datapath/dpdk_eth_port.h"
#include "datapath/real_port_test_util.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

Result<std::unique_ptr<DpdkEthPort>> Make(const std::string& name, const std::string& devargs) {
  DpdkPortConfig c;
  c.name = name;
  c.devargs = devargs;
  c.rxq_size = 256;
  c.txq_size = 256;
  c.pool = &TestPool();
  return DpdkEthPort::Create(TestEal(), c);
}

// Two VMs' vhost-user ports on the datapath: virtio-user u1 <-> vhost v1
// (port 1) -> fast path -> vhost v2 (port 2) <-> virtio-user u2, both ways.
TEST(VhostFastPathTest, VirtioGuestsForwardThroughTheDatapath) {
  TempDir dir;
  std::string s1 = dir.File("v1.sock"), s2 = dir.File("v2.sock");
  auto v1 = Make("v1", "net_vhost_f1,iface=" + s1);
  ASSERT_TRUE(v1.ok()) << v1.error().ToString();
  auto v2 = Make("v2", "net_vhost_f2,iface=" + s2);
  ASSERT_TRUE(v2.ok()) << v2.error().ToString();
  auto u1 = Make("u1", "net_virtio_user_f1,path=" + s1 + ",queues=1");
  ASSERT_TRUE(u1.ok()) << u1.error().ToString();
  auto u2 = Make("u2", "net_virtio_user_f2,path=" + s2 + ",queues=1");
  ASSERT_TRUE(u2.ok()) << u2.error().ToString();
  ASSERT_TRUE(WaitFor([&] {
    return (*v1)->link_state() == LinkState::kUp && (*v2)->link_state() == LinkState::kUp;
  }));
  std::unique_ptr<Datapath> dp = testutil::StartForwarder(std::move(*v1), std::move(*v2));
  ASSERT_NE(dp, nullptr);
  auto there = testutil::SendAndCollect(u1->get(), u2->get(), 500, 16);
  ASSERT_EQ(there.size(), 16u);
  for (uint32_t i = 0; i < 16; i++) EXPECT_EQ(there[i], testutil::Rewritten(500 + i));
  auto back = testutil::SendAndCollect(u2->get(), u1->get(), 600, 16);
  ASSERT_EQ(back.size(), 16u);
  for (uint32_t i = 0; i < 16; i++) EXPECT_EQ(back[i], TestFrame(600 + i));
  // Counters are written by the PMD thread; they settle at exactly 32.
  EXPECT_TRUE(WaitFor([&] {
    FastPathStats s = dp->GetPmdInfo().at(0).fastpath;
    std::vector<RuleInfo> rules = dp->DumpRules(0);
    return s.n_packets == 32 && s.n_tx_packets == 32 && rules.size() == 3 &&
           rules[0].n_packets + rules[1].n_packets == 32 && rules[2].n_packets == 0;
  }));
  // The virtio-user peers go first (as the guests would): a virtio-user
  // port whose vhost end has vanished gets SIGPIPE on its socket.
  u1->reset();
  u2->reset();
  dp.reset();
}

}  // namespace
}  // namespace spate::datapath
