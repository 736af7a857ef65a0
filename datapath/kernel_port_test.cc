// Ports on kernel interfaces: AF_XDP (type "afxdp": DPDK's net_af_xdp on
// libxdp/libbpf) and net_af_packet, on the two ends of a veth pair in a
// network namespace that the test creates and deletes; and AF_XDP ports
// forwarding through the Datapath's fast path (PMD thread) between two
// veth pairs.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>

#include "datapath/port_factory.h"
#include "datapath/real_port_test_util.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

// A network namespace holding veth pairs va <-> vb (and vc <-> vd when
// `two_pairs`), all up.
class VethNamespace {
 public:
  explicit VethNamespace(bool two_pairs = false)
      : name_("spate_dp_" + std::to_string(getpid())) {
    std::string ns = " -n " + name_ + " ";
    ok_ = Run("ip netns add " + name_) &&
          Run("ip" + ns + "link add va type veth peer name vb") &&
          Run("ip" + ns + "link set va up") && Run("ip" + ns + "link set vb up");
    if (ok_ && two_pairs) {
      ok_ = Run("ip" + ns + "link add vc type veth peer name vd") &&
            Run("ip" + ns + "link set vc up") && Run("ip" + ns + "link set vd up");
    }
  }
  ~VethNamespace() { Run("ip netns del " + name_); }
  bool ok() const { return ok_; }
  // Runs `fn` on a thread that has entered the namespace (setns affects
  // only the calling thread); sockets it creates stay usable anywhere.
  void RunInside(const std::function<void()>& fn) const {
    std::thread t([&] {
      int fd = open(("/var/run/netns/" + name_).c_str(), O_RDONLY);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(setns(fd, CLONE_NEWNET), 0);
      close(fd);
      fn();
    });
    t.join();
  }

 private:
  static bool Run(const std::string& cmd) {
    return std::system((cmd + " 2>&1").c_str()) == 0;
  }
  std::string name_;  // Namespace name, unique per process.
  bool ok_ = false;   // Set-up succeeded.
};

// Sends 16 test frames from each port to the other and checks them.
void ExchangeBothWays(Port* va, Port* vb) {
  for (auto [from, to] : {std::pair{va, vb}, {vb, va}}) {
    uint32_t sent = 0;
    std::vector<std::vector<uint8_t>> got;
    ASSERT_TRUE(WaitFor([&, from = from, to = to] {
      if (sent < 16) {
        PacketBatch tx;
        for (uint32_t i = sent; i < 16; i++) {
          Packet* p = TestPool().Alloc();
          std::memcpy(p->Append(64), TestFrame(200 + i).data(), 64);
          tx.Add(p);
        }
        sent += from->TxBurst(0, &tx);
      }
      PacketBatch rx;
      to->RxBurst(0, &rx);
      for (uint32_t i = 0; i < rx.n_pkts; i++) {
        const Packet* p = rx.pkts[i];
        // The kernel may also send its own frames (IPv6 ND) on the veth.
        if (p->length() == 64 && p->data()[0] == 0x02) {
          got.emplace_back(p->data(), p->data() + 64);
        }
      }
      FreeBatch(&rx);
      return got.size() >= 16;
    }));
    for (uint32_t i = 0; i < 16; i++) EXPECT_EQ(got[i], TestFrame(200 + i));
  }
  EXPECT_GE(vb->GetStats().rx_packets, 16u);
  EXPECT_GE(va->GetStats().rx_packets, 16u);
}

TEST(AfXdpTest, VethEndsExchangePackets) {
  VethNamespace ns;
  ASSERT_TRUE(ns.ok()) << "cannot create the namespace and veth pair";
  PortContext ctx{&TestEal(), &TestPool(), 1};
  std::unique_ptr<Port> va, vb;
  ns.RunInside([&] {
    auto a = CreatePort({"va", "afxdp", {}}, ctx);
    ASSERT_TRUE(a.ok()) << a.error().ToString();
    auto b = CreatePort({"vb", "afxdp", {{"xdp-mode", "native"}}}, ctx);
    ASSERT_TRUE(b.ok()) << b.error().ToString();
    va = std::move(*a);
    vb = std::move(*b);
  });
  ASSERT_TRUE(va && vb);
  EXPECT_STREQ(va->type(), "afxdp");
  ExchangeBothWays(va.get(), vb.get());
}

TEST(AfPacketTest, VethEndsExchangePackets) {
  VethNamespace ns;
  ASSERT_TRUE(ns.ok()) << "cannot create the namespace and veth pair";
  PortContext ctx{&TestEal(), &TestPool(), 1};
  std::unique_ptr<Port> va, vb;
  ns.RunInside([&] {
    auto a = CreatePort(
        {"pa", "dpdk", {{"dpdk-devargs", "net_af_packet_a,iface=va"}}}, ctx);
    ASSERT_TRUE(a.ok()) << a.error().ToString();
    auto b = CreatePort(
        {"pb", "dpdk", {{"dpdk-devargs", "net_af_packet_b,iface=vb"}}}, ctx);
    ASSERT_TRUE(b.ok()) << b.error().ToString();
    va = std::move(*a);
    vb = std::move(*b);
  });
  ASSERT_TRUE(va && vb);
  ExchangeBothWays(va.get(), vb.get());
}

// va -> [vb: AF_XDP, port 1] -> fast path -> [vc: AF_XDP, port 2] -> vd
// and back; the test drives va and vd with net_af_packet ports.
TEST(AfXdpTest, ForwardsThroughTheDatapathFastPath) {
  VethNamespace ns(true);
  ASSERT_TRUE(ns.ok()) << "cannot create the namespace and veth pairs";
  // net_af_xdp remembers the umem of each pool it has seen (and never
  // frees it, see test_eal.cc), so these ports get pools of their own.
  std::unique_ptr<Mempool> pools[2];
  for (int i = 0; i < 2; i++) {
    MempoolConfig pc;
    pc.name = "xdp_fwd_" + std::to_string(i);
    pc.n_packets = 4096;
    auto pool = Mempool::Create(TestEal(), pc);
    ASSERT_TRUE(pool.ok()) << pool.error().ToString();
    pools[i] = std::move(*pool);
  }
  PortContext ctx{&TestEal(), &TestPool(), 1};
  PortContext ctx_b{&TestEal(), pools[0].get(), 1};
  PortContext ctx_c{&TestEal(), pools[1].get(), 1};
  std::unique_ptr<Port> va, vb, vc, vd;
  ns.RunInside([&] {
    auto b = CreatePort({"vb", "afxdp", {}}, ctx_b);
    ASSERT_TRUE(b.ok()) << b.error().ToString();
    auto c = CreatePort({"vc", "afxdp", {}}, ctx_c);
    ASSERT_TRUE(c.ok()) << c.error().ToString();
    auto a = CreatePort({"pa", "dpdk", {{"dpdk-devargs", "net_af_packet_fa,iface=va"}}}, ctx);
    ASSERT_TRUE(a.ok()) << a.error().ToString();
    auto d = CreatePort({"pd", "dpdk", {{"dpdk-devargs", "net_af_packet_fd,iface=vd"}}}, ctx);
    ASSERT_TRUE(d.ok()) << d.error().ToString();
    va = std::move(*a);
    vb = std::move(*b);
    vc = std::move(*c);
    vd = std::move(*d);
  });
  ASSERT_TRUE(va && vb && vc && vd);
  std::unique_ptr<Datapath> dp = testutil::StartForwarder(std::move(vb), std::move(vc));
  ASSERT_NE(dp, nullptr);
  auto there = testutil::SendAndCollect(va.get(), vd.get(), 300, 16);
  ASSERT_EQ(there.size(), 16u);
  for (uint32_t i = 0; i < 16; i++) EXPECT_EQ(there[i], testutil::Rewritten(300 + i));
  auto back = testutil::SendAndCollect(vd.get(), va.get(), 400, 16);
  ASSERT_EQ(back.size(), 16u);
  for (uint32_t i = 0; i < 16; i++) EXPECT_EQ(back[i], TestFrame(400 + i));
  FastPathStats s = dp->GetPmdInfo().at(0).fastpath;
  EXPECT_GE(s.n_packets, 32u);
  EXPECT_GE(s.n_tx_packets, 32u);
  for (const PortInfo& p : dp->ListPorts()) EXPECT_GE(p.stats.rx_packets, 16u) << p.name;
  dp.reset();  // The PMD stops and the AF_XDP ports go before the namespace.
}

TEST(AfXdpTest, MissingInterfaceIsAClearError) {
  PortContext ctx{&TestEal(), &TestPool(), 1};
  auto p = CreatePort({"no_such_if0", "afxdp", {}}, ctx);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().details().find("no_such_if0"), std::string::npos);
  auto bad = CreatePort({"lo", "afxdp", {{"xdp-mode", "sideways"}}}, ctx);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().details().find("xdp-mode"), std::string::npos);
}

}  // namespace
}  // namespace spate::datapath
