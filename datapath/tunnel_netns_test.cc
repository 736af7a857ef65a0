// Tunnels against real peers, in network namespaces the test creates and
// deletes:
//   * Kernel VXLAN interop: namespace K holds Linux's VXLAN device (VNI 77)
//     over veth ku (192.168.60.1); ku's peer du is our datapath's underlay
//     port (192.168.60.2) in namespace D, whose inner port dv is a veth
//     to host hv (10.9.0.2) in namespace H.  `ping` from K's vxlan0
//     (10.9.0.1) to hv and back.
//   * Two of our datapaths (namespaces D1 and D2, underlay veth d1u <->
//     d2u) with inner hosts h1 (10.8.0.1) and h2 (10.8.0.2) exchange pings
//     over Geneve, VXLAN and STT on an IPv4 underlay and over Geneve on an
//     IPv6 one (neighbours by ND); STT also with 1472-byte pings, whose
//     frames are segmented to the 1500-byte underlay MTU and reassembled.
// The datapath ports are DPDK net_af_packet devices on the veth ends, each
// datapath runs one PMD thread, and underlay neighbours are resolved by
// the datapath's own ARP.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "datapath/action_parse.h"
#include "datapath/datapath.h"
#include "datapath/port_factory.h"
#include "datapath/test_eal.h"
#include "datapath/tunnel_commands.h"
#include "datapath/tunnel_manager.h"

namespace spate::datapath {
namespace {

bool Sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// Named network namespaces, deleted (with their interfaces) at the end.
class Namespaces {
 public:
  explicit Namespaces(const std::vector<std::string>& tags) {
    for (const std::string& t : tags) {
      std::string n = "spt_" + std::to_string(getpid()) + "_" + t;
      ok_ = ok_ && Sh("ip netns add " + n);
      names_.push_back(n);
    }
  }
  ~Namespaces() {
    for (const std::string& n : names_) Sh("ip netns del " + n);
  }
  bool ok() const { return ok_; }
  const std::string& operator[](size_t i) const { return names_[i]; }
  // `ip -n NS ARGS`.
  bool Ip(size_t i, const std::string& args) const { return Sh("ip -n " + names_[i] + " " + args); }
  // Runs `cmd` inside namespace i.
  bool Exec(size_t i, const std::string& cmd) const {
    return Sh("ip netns exec " + names_[i] + " " + cmd);
  }
  // Runs `fn` on a thread that has entered namespace i.
  void RunInside(size_t i, const std::function<void()>& fn) const {
    std::thread t([&] {
      int fd = open(("/var/run/netns/" + names_[i]).c_str(), O_RDONLY);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(setns(fd, CLONE_NEWNET), 0);
      close(fd);
      fn();
    });
    t.join();
  }

 private:
  std::vector<std::string> names_;  // Full names.
  bool ok_ = true;                  // Every namespace was created.
};

// A veth pair `a` (in namespace ia) <-> `b` (in namespace ib), both up.
bool Veth(const Namespaces& ns, size_t ia, const std::string& a, size_t ib, const std::string& b) {
  return ns.Ip(ia, "link add " + a + " type veth peer name " + b + " netns " + ns[ib]) &&
         ns.Ip(ia, "link set " + a + " up") && ns.Ip(ib, "link set " + b + " up");
}

// One of our datapaths: a PMD thread, a tunnel manager, ports "u"
// (underlay) and "v" (inner) on net_af_packet, a tunnel port "tun".
struct Node {
  std::unique_ptr<TunnelManager> tunnels;
  std::unique_ptr<Datapath> dp;
};

std::unique_ptr<Node> StartNode(const Namespaces& ns, size_t i, const std::string& uif,
                                const std::string& vif, const std::string& local,
                                const InterfaceConfig& tun) {
  auto node = std::make_unique<Node>();
  TunnelManagerOptions to;
  to.pool = &TestPool();
  node->tunnels = std::make_unique<TunnelManager>(to);
  DatapathOptions o;
  o.eal = &TestEal();
  o.clone_pool = &TestPool();
  o.tunnels = node->tunnels.get();
  auto dp = Datapath::Create(o);
  EXPECT_TRUE(dp.ok()) << dp.error().ToString();
  if (!dp.ok()) return nullptr;
  node->dp = std::move(*dp);
  node->tunnels->Attach(node->dp.get());
  std::unique_ptr<Port> u, v;
  ns.RunInside(i, [&] {
    PortContext ctx{&TestEal(), &TestPool(), 2};
    auto pu = CreatePort({"u", "dpdk", {{"dpdk-devargs", "net_af_packet_" + uif + ",iface=" + uif}}}, ctx);
    ASSERT_TRUE(pu.ok()) << pu.error().ToString();
    auto pv = CreatePort({"v", "dpdk", {{"dpdk-devargs", "net_af_packet_" + vif + ",iface=" + vif}}}, ctx);
    ASSERT_TRUE(pv.ok()) << pv.error().ToString();
    u = std::move(*pu);
    v = std::move(*pv);
  });
  if (!u || !v) return nullptr;
  for (auto* p : {&u, &v}) {
    PortSpec spec;
    spec.name = (*p)->name();
    spec.port = std::move(*p);
    auto n = node->dp->AddPort(std::move(spec));
    EXPECT_TRUE(n.ok()) << n.error().ToString();
    if (!n.ok()) return nullptr;
  }
  tunnels::IpAddr ip = *tunnels::IpAddr::Parse(local);
  UnderlayAddress addr{ip, static_cast<uint8_t>(ip.IsV4() ? 24 : 64)};
  Status s = node->tunnels->SetUnderlayPort("u", {addr});
  EXPECT_TRUE(s.ok()) << s.error().ToString();
  auto t = node->tunnels->AddTunnelPort(tun);
  EXPECT_TRUE(t.ok()) << t.error().ToString();
  if (!s.ok() || !t.ok()) return nullptr;
  std::vector<RuleOp> ops;
  PortResolver names = [&](std::string_view n) { return node->dp->PortNumber(n); };
  for (const char* line : {"priority=10,in_port=v,actions=output:tun",
                           "priority=10,in_port=tun,actions=output:v", "priority=0,actions=drop"}) {
    auto op = ParseRuleOp(RuleOpKind::kAdd, line, false, names);
    EXPECT_TRUE(op.ok()) << line;
    if (!op.ok()) return nullptr;
    ops.push_back(std::move(op).value());
  }
  EXPECT_TRUE(node->dp->Commit(ops).ok());
  return node;
}

// Pings `ip` from namespace i: first until one answer arrives (ARP on both
// layers), then `count` pings of `size` bytes that must all be answered.
bool PingWorks(const Namespaces& ns, size_t i, const std::string& ip, int size = 56,
               int count = 3) {
  bool first = WaitFor([&] { return ns.Exec(i, "ping -c 1 -W 1 " + ip); },
                       std::chrono::seconds(30));
  return first && ns.Exec(i, "ping -c " + std::to_string(count) + " -i 0.2 -W 2 -s " +
                                 std::to_string(size) + " " + ip);
}

std::string Drops(const Node& n) {
  std::string out;
  for (const TunnelDropCount& d : n.tunnels->DropCounts()) {
    if (d.n != 0) out += d.name + "=" + std::to_string(d.n) + " ";
  }
  return out;
}

TEST(TunnelKernelInterop, PingThroughLinuxVxlanBothWays) {
  TestEal();
  Namespaces ns({"k", "d", "h"});
  ASSERT_TRUE(ns.ok());
  ASSERT_TRUE(Veth(ns, 0, "ku", 1, "du"));
  ASSERT_TRUE(Veth(ns, 2, "hv", 1, "dv"));
  ASSERT_TRUE(ns.Ip(0, "addr add 192.168.60.1/24 dev ku"));
  // noudpcsum: a veth hands packet sockets the kernel's partial (offload)
  // UDP checksum, which is wrong on the wire; this VM has no ethtool to
  // turn tx checksum offload off on ku, so the kernel sends zero (the
  // RFC 7348 default for IPv4) and our side's zero is accepted too.
  ASSERT_TRUE(ns.Ip(0, "link add vxlan0 type vxlan id 77 remote 192.168.60.2 local 192.168.60.1 "
                       "dstport 4789 dev ku noudpcsum"));
  ASSERT_TRUE(ns.Ip(0, "addr add 10.9.0.1/24 dev vxlan0"));
  ASSERT_TRUE(ns.Ip(0, "link set vxlan0 up"));
  ASSERT_TRUE(ns.Ip(2, "addr add 10.9.0.2/24 dev hv"));
  InterfaceConfig tun{"tun", "vxlan", {{"remote_ip", "192.168.60.1"}, {"key", "77"}}, 0};
  std::unique_ptr<Node> node = StartNode(ns, 1, "du", "dv", "192.168.60.2", tun);
  ASSERT_NE(node, nullptr);
  EXPECT_TRUE(PingWorks(ns, 0, "10.9.0.2")) << Drops(*node);
  EXPECT_TRUE(PingWorks(ns, 2, "10.9.0.1")) << Drops(*node);
  EXPECT_TRUE(PingWorks(ns, 2, "10.9.0.1", 1400)) << Drops(*node);
  // The datapath learned the kernel's underlay MAC through ARP.
  Result<std::string> neigh = RunTunnelCommand(*node->tunnels, "tnl/neigh/show", {});
  ASSERT_TRUE(neigh.ok());
  EXPECT_NE(neigh->find("192.168.60.1 "), std::string::npos) << *neigh;
  node.reset();  // The PMD and the af_packet ports go before the namespaces.
}

struct TwoParams {
  std::string type;  // geneve, vxlan, stt.
  bool v6;           // Underlay IPv6 (neighbours by ND).
};

class TunnelTwoDatapaths : public ::testing::TestWithParam<TwoParams> {};

TEST_P(TunnelTwoDatapaths, InnerHostsPingEachOther) {
  TestEal();
  Namespaces ns({"d1", "d2", "h1", "h2"});
  ASSERT_TRUE(ns.ok());
  ASSERT_TRUE(Veth(ns, 0, "d1u", 1, "d2u"));
  ASSERT_TRUE(Veth(ns, 2, "h1", 0, "d1v"));
  ASSERT_TRUE(Veth(ns, 3, "h2", 1, "d2v"));
  ASSERT_TRUE(ns.Ip(2, "addr add 10.8.0.1/24 dev h1"));
  ASSERT_TRUE(ns.Ip(3, "addr add 10.8.0.2/24 dev h2"));
  const std::string type = GetParam().type;
  const std::string u1 = GetParam().v6 ? "fd00:61::1" : "192.168.61.1";
  const std::string u2 = GetParam().v6 ? "fd00:61::2" : "192.168.61.2";
  InterfaceConfig t1{"tun", type, {{"remote_ip", u2}, {"key", "5"}}, 0};
  InterfaceConfig t2{"tun", type, {{"remote_ip", u1}, {"key", "5"}}, 0};
  std::unique_ptr<Node> n1 = StartNode(ns, 0, "d1u", "d1v", u1, t1);
  std::unique_ptr<Node> n2 = StartNode(ns, 1, "d2u", "d2v", u2, t2);
  ASSERT_TRUE(n1 && n2);
  EXPECT_TRUE(PingWorks(ns, 2, "10.8.0.2")) << Drops(*n1) << "/ " << Drops(*n2);
  EXPECT_TRUE(PingWorks(ns, 3, "10.8.0.1")) << Drops(*n1) << "/ " << Drops(*n2);
  if (type == "stt") {
    // 1472 bytes of ICMP data: a 1514-byte inner frame, 1572 bytes once
    // encapsulated: two segments each way.
    EXPECT_TRUE(PingWorks(ns, 2, "10.8.0.2", 1472)) << Drops(*n1) << "/ " << Drops(*n2);
  }
  n1.reset();
  n2.reset();
}

INSTANTIATE_TEST_SUITE_P(Formats, TunnelTwoDatapaths,
                         ::testing::Values(TwoParams{"geneve", false}, TwoParams{"vxlan", false},
                                           TwoParams{"stt", false}, TwoParams{"geneve", true}),
                         [](const ::testing::TestParamInfo<TwoParams>& i) {
                           return i.param.type + (i.param.v6 ? "_ipv6" : "_ipv4");
                         });

}  // namespace
}  // namespace spate::datapath
