// DummyPort: inject, receive, transmit, captures, errors.
#include <gtest/gtest.h>

#include <cstring>

#include "datapath/dummy_port.h"
#include "datapath/pcap_file.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

std::unique_ptr<DummyPort> MakePort(DummyPortConfig c) {
  c.pool = &TestPool();
  auto p = DummyPort::Create(c);
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  return p.ok() ? std::move(*p) : nullptr;
}

std::vector<uint8_t> Bytes(const Packet* p) {
  std::vector<uint8_t> out(p->packet_length());
  CopyPacketData(p, out.data(), static_cast<uint32_t>(out.size()));
  return out;
}

TEST(DummyPortTest, InjectedFramesAreReceivedInOrder) {
  auto port = MakePort({.name = "p1", .n_rxq = 2});
  ASSERT_NE(port, nullptr);
  PacketBatch batch;
  EXPECT_EQ(port->RxBurst(0, &batch), 0u);
  for (uint32_t i = 0; i < 40; i++) ASSERT_TRUE(port->Receive(TestFrame(i)).ok());
  ASSERT_TRUE(port->Receive(TestFrame(99), 1).ok());
  ASSERT_EQ(port->RxBurst(0, &batch), 32u);
  for (uint32_t i = 0; i < 32; i++) EXPECT_EQ(Bytes(batch.pkts[i]), TestFrame(i));
  FreeBatch(&batch);
  ASSERT_EQ(port->RxBurst(0, &batch), 8u);
  EXPECT_EQ(Bytes(batch.pkts[0]), TestFrame(32));
  FreeBatch(&batch);
  ASSERT_EQ(port->RxBurst(1, &batch), 1u);
  EXPECT_EQ(Bytes(batch.pkts[0]), TestFrame(99));
  FreeBatch(&batch);
  PortStats s = port->GetStats();
  EXPECT_EQ(s.rx_packets, 41u);
  EXPECT_EQ(s.rx_bytes, 41u * 64);
}

TEST(DummyPortTest, TransmittedFramesAreKeptAndCaptured) {
  TempDir dir;
  auto port = MakePort({.name = "p2", .tx_pcap = dir.File("tx.pcap")});
  ASSERT_NE(port, nullptr);
  PacketBatch batch;
  for (uint32_t i = 0; i < 3; i++) {
    Packet* p = TestPool().Alloc();
    ASSERT_NE(p, nullptr);
    std::vector<uint8_t> f = TestFrame(i, 60 + i);
    std::memcpy(p->Append(static_cast<uint32_t>(f.size())), f.data(), f.size());
    batch.Add(p);
  }
  EXPECT_EQ(port->TxBurst(0, &batch), 3u);
  EXPECT_EQ(batch.n_pkts, 0u);
  auto kept = port->TakeTransmitted();
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[2], TestFrame(2, 62));
  EXPECT_EQ(port->n_kept_tx(), 0u);
  auto file = ReadPcapFile(dir.File("tx.pcap"));
  ASSERT_TRUE(file.ok()) << file.error().ToString();
  ASSERT_EQ(file->size(), 3u);
  EXPECT_EQ((*file)[1], TestFrame(1, 61));
  PortStats s = port->GetStats();
  EXPECT_EQ(s.tx_packets, 3u);
  EXPECT_EQ(s.tx_bytes, 60u + 61 + 62);
}

TEST(DummyPortTest, RxPcapFramesAreReceivedAndPcapCapturesBothWays) {
  TempDir dir;
  {
    auto w = PcapWriter::Open(dir.File("in.pcap"));
    ASSERT_TRUE(w.ok());
    for (uint32_t i = 0; i < 5; i++) ASSERT_TRUE((*w)->Write(TestFrame(i)).ok());
  }
  auto port = MakePort({.name = "p3",
                        .pcap = dir.File("both.pcap"),
                        .rx_pcap = dir.File("in.pcap")});
  ASSERT_NE(port, nullptr);
  PacketBatch batch;
  ASSERT_EQ(port->RxBurst(0, &batch), 5u);
  EXPECT_EQ(Bytes(batch.pkts[4]), TestFrame(4));
  EXPECT_EQ(port->TxBurst(0, &batch), 5u);  // Echo them back out.
  auto both = ReadPcapFile(dir.File("both.pcap"));
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->size(), 10u);  // 5 received + 5 transmitted.
}

TEST(DummyPortTest, BadInputIsAClearError) {
  TempDir dir;
  auto port = MakePort({.name = "p4", .max_queued_rx = 2});
  ASSERT_NE(port, nullptr);
  EXPECT_FALSE(port->Receive({}).ok());
  EXPECT_FALSE(port->Receive(std::vector<uint8_t>(4000, 1)).ok());
  auto bad_q = port->Receive(TestFrame(1), 5);
  ASSERT_FALSE(bad_q.ok());
  EXPECT_NE(bad_q.error().details().find("no receive queue 5"), std::string::npos);
  ASSERT_TRUE(port->Receive(TestFrame(1)).ok());
  ASSERT_TRUE(port->Receive(TestFrame(2)).ok());
  EXPECT_FALSE(port->Receive(TestFrame(3)).ok());
  EXPECT_EQ(port->GetStats().rx_dropped, 1u);
  PacketBatch batch;
  EXPECT_EQ(port->RxBurst(0, &batch), 2u);
  FreeBatch(&batch);

  DummyPortConfig c{.name = "p5", .pool = &TestPool(),
                    .rx_pcap = dir.File("none.pcap")};
  auto missing = DummyPort::Create(c);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().details().find("rx_pcap"), std::string::npos);
  EXPECT_FALSE(DummyPort::Create({.name = "p6", .n_rxq = 0, .pool = &TestPool()}).ok());
  EXPECT_FALSE(port->SetMtu(20).ok());
  EXPECT_TRUE(port->SetMtu(9000).ok());
  EXPECT_EQ(port->mtu(), 9000);
}

TEST(DummyPortTest, HexFramesParse) {
  auto f = ParseHexFrame("0x0102 03:04 ff");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, (std::vector<uint8_t>{1, 2, 3, 4, 0xff}));
  EXPECT_FALSE(ParseHexFrame("123").ok());
  EXPECT_FALSE(ParseHexFrame("zz").ok());
  EXPECT_FALSE(ParseHexFrame("").ok());
}

TEST(DummyPortTest, MacIsDerivedFromTheNameAndLinkCanChange) {
  auto a = MakePort({.name = "a"});
  auto b = MakePort({.name = "b"});
  EXPECT_NE(a->mac(), b->mac());
  EXPECT_EQ(a->mac().bytes[0], 0xaa);
  EXPECT_EQ(a->link_state(), LinkState::kUp);
  a->SetLinkState(LinkState::kDown);
  EXPECT_EQ(a->link_state(), LinkState::kDown);
}

}  // namespace
}  // namespace spate::datapath
