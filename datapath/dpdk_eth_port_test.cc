// DpdkEthPort on DPDK vdevs: bursts, stats, bad devargs, attach/detach.
#include <gtest/gtest.h>

#include <cstring>

#include "datapath/dpdk_eth_port.h"
#include "datapath/pcap_file.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

Result<std::unique_ptr<DpdkEthPort>> Make(const std::string& name,
                                          const std::string& devargs,
                                          int n_rxq = 1) {
  DpdkPortConfig c;
  c.name = name;
  c.devargs = devargs;
  c.n_rxq = n_rxq;
  c.n_txq = n_rxq;
  c.rxq_size = 256;
  c.txq_size = 256;
  c.pool = &TestPool();
  return DpdkEthPort::Create(TestEal(), c);
}

void FillBatch(PacketBatch* batch, uint32_t n, uint32_t first) {
  for (uint32_t i = 0; i < n; i++) {
    Packet* p = TestPool().Alloc();
    ASSERT_NE(p, nullptr);
    std::vector<uint8_t> f = TestFrame(first + i);
    std::memcpy(p->Append(static_cast<uint32_t>(f.size())), f.data(), f.size());
    batch->Add(p);
  }
}

// net_ring with no arguments loops each transmit queue to the receive queue
// of the same index.
TEST(DpdkEthPortTest, RingLoopsPacketsBackWithStats) {
  auto port = Make("r0", "net_ring_t0", 2);
  ASSERT_TRUE(port.ok()) << port.error().ToString();
  EXPECT_EQ((*port)->n_rxq(), 2);
  EXPECT_EQ((*port)->driver(), "net_ring");
  PacketBatch batch;
  FillBatch(&batch, 20, 0);
  EXPECT_EQ((*port)->TxBurst(1, &batch), 20u);
  EXPECT_EQ((*port)->RxBurst(0, &batch), 0u);
  ASSERT_EQ((*port)->RxBurst(1, &batch), 20u);
  for (uint32_t i = 0; i < 20; i++) {
    ASSERT_EQ(batch.pkts[i]->length(), 64u);
    EXPECT_EQ(std::memcmp(batch.pkts[i]->data(), TestFrame(i).data(), 64), 0);
  }
  FreeBatch(&batch);
  PortStats s = (*port)->GetStats();
  EXPECT_EQ(s.tx_packets, 20u);
  EXPECT_EQ(s.rx_packets, 20u);
  EXPECT_EQ(s.tx_dropped, 0u);
  EXPECT_EQ((*port)->link_state(), LinkState::kUp);
}

TEST(DpdkEthPortTest, NullDeviceReceivesAndSinks) {
  auto port = Make("n0", "net_null_t0,size=64");
  ASSERT_TRUE(port.ok()) << port.error().ToString();
  PacketBatch batch;
  ASSERT_EQ((*port)->RxBurst(0, &batch), 32u);
  EXPECT_EQ(batch.pkts[0]->length(), 64u);
  EXPECT_EQ((*port)->TxBurst(0, &batch), 32u);
  EXPECT_EQ((*port)->GetStats().tx_packets, 32u);
}

TEST(DpdkEthPortTest, BadDevargsAreClearErrors) {
  struct Case {
    std::string devargs;
    std::string expect;  // Substring of the error.
  };
  for (const Case& c : std::vector<Case>{
           {"net_nosuchdriver0", "cannot attach"},
           {"net_pcap_t9,rx_pcap=/nonexistent/in.pcap", "/nonexistent/in.pcap"},
           {"net_ring_t9,nodeaction=bogus", "bogus"},
           {"net_null_t9,nosuchkey=1", "cannot attach"},
           {"not a device", "cannot attach"},
           {"", "empty dpdk-devargs"}}) {
    auto port = Make("bad", c.devargs);
    ASSERT_FALSE(port.ok()) << c.devargs;
    EXPECT_NE(port.error().details().find(c.expect), std::string::npos)
        << c.devargs << " -> " << port.error().ToString();
    EXPECT_NE(port.error().details().find("interface \"bad\""),
              std::string::npos);
  }
}

TEST(DpdkEthPortTest, ADeviceCanBeDrivenByOnePortOnly) {
  auto a = Make("a", "net_null_t1");
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  auto b = Make("b", "net_null_t1");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().details().find("already in use by spate:a"),
            std::string::npos) << b.error().ToString();
}

TEST(DpdkEthPortTest, PortsAttachAndDetachAtRunTime) {
  for (int round = 0; round < 3; round++) {
    auto port = Make("hp", "net_ring_t2");
    ASSERT_TRUE(port.ok()) << "round " << round << ": "
                           << port.error().ToString();
    PacketBatch batch;
    FillBatch(&batch, 4, 0);
    EXPECT_EQ((*port)->TxBurst(0, &batch), 4u);
    EXPECT_EQ((*port)->RxBurst(0, &batch), 4u);
    FreeBatch(&batch);
    // Destroying the port detaches the device, so the next round can attach
    // the same devargs afresh with zeroed counters.
    EXPECT_EQ((*port)->GetStats().rx_packets, 4u);
  }
}

TEST(DpdkEthPortTest, FullTransmitQueueDropsAreCounted) {
  DpdkPortConfig c;
  c.name = "full";
  c.devargs = "net_ring_t3";
  c.rxq_size = 64;
  c.txq_size = 64;
  c.pool = &TestPool();
  auto port = DpdkEthPort::Create(TestEal(), c);
  ASSERT_TRUE(port.ok()) << port.error().ToString();
  uint32_t sent = 0;
  uint32_t offered = 0;
  // Nobody receives, so net_ring's fixed-size ring (1024) fills up.
  for (int i = 0; i < 40; i++) {
    PacketBatch batch;
    FillBatch(&batch, 32, 0);
    offered += 32;
    sent += (*port)->TxBurst(0, &batch);
  }
  EXPECT_LT(sent, offered);
  EXPECT_EQ((*port)->GetStats().tx_dropped, offered - sent);
  PacketBatch batch;
  while ((*port)->RxBurst(0, &batch) != 0) FreeBatch(&batch);
}

// net_pcap with infinite_rx=1 replays its capture for ever (the perf input).
TEST(DpdkEthPortTest, PcapInfiniteRxReplaysTheCapture) {
  TempDir dir;
  {
    auto w = PcapWriter::Open(dir.File("three.pcap"));
    ASSERT_TRUE(w.ok());
    for (uint32_t i = 0; i < 3; i++) ASSERT_TRUE((*w)->Write(TestFrame(i)).ok());
  }
  auto port = Make("inf", "net_pcap_t5,rx_pcap=" + dir.File("three.pcap") +
                              ",infinite_rx=1");
  ASSERT_TRUE(port.ok()) << port.error().ToString();
  uint32_t n = 0;
  PacketBatch batch;
  ASSERT_TRUE(WaitFor([&] {
    (*port)->RxBurst(0, &batch);
    for (uint32_t i = 0; i < batch.n_pkts; i++, n++) {
      EXPECT_EQ(std::memcmp(batch.pkts[i]->data(), TestFrame(n % 3).data(), 64),
                0);
    }
    FreeBatch(&batch);
    return n >= 300;
  }));
}

TEST(DpdkEthPortTest, MtuAndMac) {
  auto port = Make("m", "net_null_t4");
  ASSERT_TRUE(port.ok());
  EXPECT_GT((*port)->mtu(), 0);
  EXPECT_FALSE((*port)->SetMtu(10).ok());
  EXPECT_EQ((*port)->mac().ToString().size(), 17u);
}

}  // namespace
}  // namespace spate::datapath

namespace spate::datapath {
namespace {

// Sends `n` test frames on `from` and waits until `to` has received them
// all, checking their bytes.
void ExpectDelivery(Port* from, Port* to, uint32_t n) {
  PacketBatch tx;
  FillBatch(&tx, n, 100);
  uint32_t sent = 0;
  std::vector<std::vector<uint8_t>> got;
  ASSERT_TRUE(WaitFor([&] {
    if (sent < n) {
      PacketBatch again;
      for (uint32_t i = sent; i < n; i++) {
        Packet* p = TestPool().Alloc();
        std::memcpy(p->Append(64), TestFrame(100 + i).data(), 64);
        again.Add(p);
      }
      sent += from->TxBurst(0, &again);
    }
    PacketBatch rx;
    to->RxBurst(0, &rx);
    for (uint32_t i = 0; i < rx.n_pkts; i++) {
      got.emplace_back(rx.pkts[i]->data(),
                       rx.pkts[i]->data() + rx.pkts[i]->length());
    }
    FreeBatch(&rx);
    return got.size() >= n;
  }));
  FreeBatch(&tx);
  for (uint32_t i = 0; i < n; i++) EXPECT_EQ(got[i], TestFrame(100 + i));
}

}  // namespace
}  // namespace spate::datapath

namespace spate::datapath {
namespace {

TEST(DpdkEthPortTest, VhostUserWithVirtioUserPeer) {
  TempDir dir;
  std::string sock = dir.File("vhu.sock");
  auto vhost = Make("vh", "net_vhost_v0,iface=" + sock);
  ASSERT_TRUE(vhost.ok()) << vhost.error().ToString();
  auto virtio = Make("vu", "net_virtio_user_v0,path=" + sock + ",queues=1");
  ASSERT_TRUE(virtio.ok()) << virtio.error().ToString();
  ASSERT_TRUE(WaitFor([&] { return (*vhost)->link_state() == LinkState::kUp; }));
  ExpectDelivery(virtio->get(), vhost->get(), 16);
  ExpectDelivery(vhost->get(), virtio->get(), 16);
}

}  // namespace
}  // namespace spate::datapath
