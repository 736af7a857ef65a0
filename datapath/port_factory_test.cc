// CreatePort: Interface descriptions to ports, and clear errors.
#include <gtest/gtest.h>

#include "datapath/dummy_port.h"
#include "datapath/port_factory.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

PortContext Ctx() { return {&TestEal(), &TestPool(), 2}; }

TEST(PortFactoryTest, BuildsDpdkAndDummyPorts) {
  auto dpdk = CreatePort({"p0", "dpdk",
                          {{"dpdk-devargs", "net_ring_f0"}, {"n_rxq", "2"}}},
                         Ctx());
  ASSERT_TRUE(dpdk.ok()) << dpdk.error().ToString();
  EXPECT_STREQ((*dpdk)->type(), "dpdk");
  EXPECT_EQ((*dpdk)->n_rxq(), 2);
  EXPECT_EQ((*dpdk)->n_txq(), 2);
  auto dummy = CreatePort({"p1", "dummy", {{"n_rxq", "3"}}, 9000}, Ctx());
  ASSERT_TRUE(dummy.ok()) << dummy.error().ToString();
  EXPECT_STREQ((*dummy)->type(), "dummy");
  EXPECT_EQ((*dummy)->n_rxq(), 3);
  EXPECT_EQ((*dummy)->mtu(), 9000);
  EXPECT_NE(dynamic_cast<DummyPort*>(dummy->get()), nullptr);
}

TEST(PortFactoryTest, ErrorsNameTheProblem) {
  struct Case {
    InterfaceConfig iface;
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{
           {{"x", "dpdk", {}}, "needs options:dpdk-devargs"},
           {{"x", "dpdk", {{"dpdk-devargs", "net_null_f1"}, {"n_rxq", "0"}}},
            "options:n_rxq=\"0\""},
           {{"x", "dpdk", {{"dpdk-devargs", "net_null_f1"}, {"n_rxq", "2x"}}},
            "not an integer"},
           {{"x", "dpdk", {{"dpdk-devargs", "net_bogus0"}}}, "cannot attach"},
           {{"x", "dummy", {{"colour", "red"}}}, "unknown option \"colour\""},
           {{"x", "geneve", {}}, "is a tunnel"},
           {{"x", "gre", {}}, "unsupported type \"gre\""},
           {{"x", "", {}}, "supported: dpdk, dummy, afxdp"},
           {{"", "dummy", {}}, "without a name"}}) {
    auto port = CreatePort(c.iface, Ctx());
    ASSERT_FALSE(port.ok()) << c.expect;
    EXPECT_NE(port.error().ToString().find(c.expect), std::string::npos)
        << port.error().ToString();
  }
  PortContext no_eal = Ctx();
  no_eal.eal = nullptr;
  auto port = CreatePort({"x", "dpdk", {{"dpdk-devargs", "net_null_f2"}}},
                         no_eal);
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.error().details().find("dpdk-init"), std::string::npos);
}

}  // namespace
}  // namespace spate::datapath
