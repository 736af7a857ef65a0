// Packet accessors, batches and the pool.
#include <gtest/gtest.h>

#include <cstring>

#include "datapath/packet.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

TEST(PacketTest, FreshPacketHasHeadroomAndNoData) {
  Packet* p = TestPool().Alloc();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->length(), 0u);
  EXPECT_EQ(p->packet_length(), 0u);
  EXPECT_EQ(p->headroom(), 128u);
  EXPECT_EQ(p->tailroom(), 2048u);
  EXPECT_TRUE(p->is_contiguous());
  EXPECT_EQ(p->buffer() + p->headroom(), p->data());
  FreePacket(p);
}

TEST(PacketTest, ReceiveChecksumFlags) {
  Packet* p = TestPool().Alloc();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->rx_checksum_good(), 0u) << "a fresh packet claims nothing";
  for (uint32_t bits = 0; bits < 4; ++bits) {
    SetRxChecksumGood(p, bits);
    EXPECT_EQ(p->rx_checksum_good(), bits);
  }
  SetRxChecksumGood(p, 0);
  EXPECT_EQ(p->rx_checksum_good(), 0u);
  FreePacket(p);
}

TEST(PacketTest, AppendPrependAdjustTrim) {
  Packet* p = TestPool().Alloc();
  ASSERT_NE(p, nullptr);
  uint8_t* tail = p->Append(10);
  ASSERT_NE(tail, nullptr);
  std::memset(tail, 0xab, 10);
  uint8_t* head = p->Prepend(4);
  ASSERT_NE(head, nullptr);
  std::memset(head, 0x11, 4);
  EXPECT_EQ(p->length(), 14u);
  EXPECT_EQ(p->headroom(), 124u);
  EXPECT_EQ(p->data()[0], 0x11);
  EXPECT_EQ(p->data()[4], 0xab);
  uint8_t* adjusted = p->Adjust(4);
  EXPECT_EQ(adjusted, p->data());
  EXPECT_EQ(p->data()[0], 0xab);
  EXPECT_TRUE(p->Trim(6));
  EXPECT_EQ(p->packet_length(), 4u);
  // Out of room: refused, packet unchanged.
  EXPECT_EQ(p->Prepend(p->headroom() + 1), nullptr);
  EXPECT_EQ(p->Append(p->tailroom() + 1), nullptr);
  EXPECT_EQ(p->Adjust(5), nullptr);
  EXPECT_FALSE(p->Trim(5));
  EXPECT_EQ(p->length(), 4u);
  EXPECT_TRUE(p->SetDataWindow(100, 20));
  EXPECT_EQ(p->headroom(), 100u);
  EXPECT_EQ(p->length(), 20u);
  EXPECT_FALSE(p->SetDataWindow(p->buffer_bytes(), 1));
  FreePacket(p);
}

TEST(PacketTest, CopyPacketDataCopiesAtMostMax) {
  Packet* p = TestPool().Alloc();
  ASSERT_NE(p, nullptr);
  std::vector<uint8_t> f = TestFrame(7, 100);
  std::memcpy(p->Append(100), f.data(), 100);
  uint8_t out[100];
  EXPECT_EQ(CopyPacketData(p, out, 100), 100u);
  EXPECT_EQ(std::memcmp(out, f.data(), 100), 0);
  EXPECT_EQ(CopyPacketData(p, out, 10), 10u);
  FreePacket(p);
}

TEST(PacketTest, BatchAllocFreeReturnsEverythingToThePool) {
  Mempool& pool = TestPool();
  uint32_t before = pool.n_available();
  PacketBatch batch;
  ASSERT_TRUE(pool.AllocBulk(batch.pkts, PacketBatch::kMaxPackets));
  batch.n_pkts = PacketBatch::kMaxPackets;
  EXPECT_TRUE(batch.full());
  EXPECT_LE(pool.n_available(), before);
  FreeBatch(&batch);
  EXPECT_EQ(batch.n_pkts, 0u);
  EXPECT_EQ(pool.n_available(), before);
  FreePacket(nullptr);  // Ignored.
}

TEST(PacketTest, PoolExhaustionIsReportedNotFatal) {
  MempoolConfig c;
  c.name = "tiny_pool";
  c.n_packets = 64;
  c.cache_size = 0;
  auto pool = Mempool::Create(TestEal(), c);
  ASSERT_TRUE(pool.ok()) << pool.error().ToString();
  std::vector<Packet*> got;
  while (Packet* p = (*pool)->Alloc()) got.push_back(p);
  EXPECT_EQ(got.size(), 64u);
  Packet* more[2];
  EXPECT_FALSE((*pool)->AllocBulk(more, 2));
  FreePackets(got.data(), static_cast<uint32_t>(got.size()));
  EXPECT_EQ((*pool)->n_available(), 64u);
}

TEST(PacketTest, BadPoolConfigsAreClearErrors) {
  MempoolConfig c;
  c.name = "test_pool";  // Already used by TestPool().
  TestPool();
  auto dup = Mempool::Create(TestEal(), c);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().details().find("already exists"), std::string::npos);
  c.name = "small";
  c.n_packets = 10;
  auto small = Mempool::Create(TestEal(), c);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().details().find("too small"), std::string::npos);
}

}  // namespace
}  // namespace spate::datapath
