// Ports on kernel interfaces: AF_XDP (type "afxdp": DPDK's net_af_xdp on
// libxdp/libbpf) and net_af_packet, on the two ends of a veth pair in a
// network namespace that the test creates and deletes.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>

#include "datapath/port_factory.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

// A network namespace holding a veth pair va <-> vb, both up.
class VethNamespace {
 public:
  VethNamespace() : name_("spate_dp_" + std::to_string(getpid())) {
    std::string ns = " -n " + name_ + " ";
    ok_ = Run("ip netns add " + name_) &&
          Run("ip" + ns + "link add va type veth peer name vb") &&
          Run("ip" + ns + "link set va up") && Run("ip" + ns + "link set vb up");
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
