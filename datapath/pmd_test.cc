// PMD threads: forwarding through net_pcap, net_ring and dummy ports, queues
// changed at run time, idle back-off, counters.
#include <gtest/gtest.h>

#include <cstring>

#include "datapath/dpdk_eth_port.h"
#include "datapath/dummy_port.h"
#include "datapath/pcap_file.h"
#include "datapath/pmd.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

std::unique_ptr<DpdkEthPort> Dpdk(const std::string& devargs) {
  DpdkPortConfig c;
  c.name = devargs.substr(0, devargs.find(','));
  c.devargs = devargs;
  c.rxq_size = 512;
  c.txq_size = 512;
  c.pool = &TestPool();
  auto p = DpdkEthPort::Create(TestEal(), c);
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  return p.ok() ? std::move(*p) : nullptr;
}

std::unique_ptr<DummyPort> Dummy(const std::string& name) {
  auto p = DummyPort::Create({.name = name, .pool = &TestPool()});
  EXPECT_TRUE(p.ok());
  return p.ok() ? std::move(*p) : nullptr;
}

PmdOptions Options(PacketHandler* handler) {
  PmdOptions o;
  o.eal = &TestEal();
  o.handler = handler;
  return o;
}

TEST(PmdTest, ForwardsAPcapThroughNetPcapToAnotherPcap) {
  TempDir dir;
  std::vector<std::vector<uint8_t>> frames;
  {
    auto w = PcapWriter::Open(dir.File("in.pcap"));
    ASSERT_TRUE(w.ok());
    for (uint32_t i = 0; i < 100; i++) {
      frames.push_back(TestFrame(i, 60 + (i * 37) % 1400));
      ASSERT_TRUE((*w)->Write(frames.back()).ok());
    }
  }
  auto in = Dpdk("net_pcap_p0,rx_pcap=" + dir.File("in.pcap"));
  auto out = Dpdk("net_pcap_p1,tx_pcap=" + dir.File("out.pcap"));
  ASSERT_TRUE(in && out);
  ForwardHandler fwd(out.get(), 0);
  auto pmd = PmdThread::Start(Options(&fwd), {{in.get(), 0}});
  ASSERT_TRUE(pmd.ok()) << pmd.error().ToString();
  ASSERT_TRUE(WaitFor([&] { return (*pmd)->GetStats().rx_packets == 100; }));
  (*pmd)->Stop();
  EXPECT_EQ(out->GetStats().tx_packets, 100u);
  EXPECT_EQ(in->GetStats().rx_packets, 100u);
  out.reset();  // Closes (and flushes) the output capture.
  auto got = ReadPcapFile(dir.File("out.pcap"));
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(*got, frames);
}

TEST(PmdTest, ForwardsBetweenRingPortsAcrossThreadsWithCounters) {
  auto a = Dpdk("net_ring_p0");
  auto b = Dpdk("net_ring_p1");
  ASSERT_TRUE(a && b);
  ForwardHandler fwd(b.get(), 0);
  auto pmd = PmdThread::Start(Options(&fwd), {{a.get(), 0}});
  ASSERT_TRUE(pmd.ok());
  constexpr uint32_t kPackets = 320;
  uint32_t sent = 0;
  std::vector<std::vector<uint8_t>> received;
  PacketBatch batch;
  ASSERT_TRUE(WaitFor([&] {
    if (sent < kPackets) {  // Offer one batch at a time: the rings are small.
      PacketBatch tx;
      for (uint32_t i = 0; i < 32; i++) {
        Packet* p = TestPool().Alloc();
        std::vector<uint8_t> f = TestFrame(sent + i);
        std::memcpy(p->Append(64), f.data(), 64);
        tx.Add(p);
      }
      sent += a->TxBurst(0, &tx);
    }
    b->RxBurst(0, &batch);
    for (uint32_t i = 0; i < batch.n_pkts; i++) {
      received.emplace_back(batch.pkts[i]->data(),
                            batch.pkts[i]->data() + batch.pkts[i]->length());
    }
    FreeBatch(&batch);
    return received.size() == kPackets;
  }));
  for (uint32_t i = 0; i < kPackets; i++) ASSERT_EQ(received[i], TestFrame(i));
  PmdStats s = (*pmd)->GetStats();
  EXPECT_EQ(s.rx_packets, kPackets);
  EXPECT_GE(s.rx_batches, kPackets / 32);
  EXPECT_GE(s.busy_iterations, 1u);
  EXPECT_GT(s.busy_cycles, 0u);
  EXPECT_GE(s.iterations, s.busy_iterations);
  EXPECT_GE((*pmd)->lcore_id(), 0);  // Registered with the EAL.
  (*pmd)->ClearStats();
  EXPECT_EQ((*pmd)->GetStats().rx_packets, 0u);
  (*pmd)->Stop();
  (*pmd)->Stop();  // Idempotent.
}

TEST(PmdTest, IdlePmdSleepsAndIsWokenByAnInjectedFrame) {
  auto in = Dummy("idle_in");
  auto out = Dummy("idle_out");
  ForwardHandler fwd(out.get(), 0);
  auto pmd = PmdThread::Start(Options(&fwd), {{in.get(), 0}});
  ASSERT_TRUE(pmd.ok());
  PmdThread& p = **pmd;
  ASSERT_TRUE(WaitFor([&] { return p.GetStats().n_sleeps >= 20; }));
  // Measure the thread's CPU share over the next 200 sleeps.
  uint64_t cpu0 = p.cpu_time_ns();
  auto wall0 = std::chrono::steady_clock::now();
  uint64_t sleeps0 = p.GetStats().n_sleeps;
  ASSERT_TRUE(WaitFor([&] { return p.GetStats().n_sleeps >= sleeps0 + 200; }));
  uint64_t cpu_ns = p.cpu_time_ns() - cpu0;
  uint64_t wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - wall0)
                         .count();
  RecordProperty("idle_cpu_permille", std::to_string(cpu_ns * 1000 / wall_ns));
  EXPECT_LT(cpu_ns, wall_ns / 10) << "idle PMD used " << cpu_ns << " ns of CPU in "
                                  << wall_ns << " ns";
  EXPECT_GT(p.GetStats().idle_cycles, 0u);
  EXPECT_EQ(p.GetStats().rx_packets, 0u);
  ASSERT_TRUE(in->Receive(TestFrame(5)).ok());
  ASSERT_TRUE(WaitFor([&] { return out->n_kept_tx() == 1; }));
  EXPECT_EQ(out->TakeTransmitted()[0], TestFrame(5));
  EXPECT_EQ(p.GetStats().rx_packets, 1u);
}

TEST(PmdTest, QueuesAreAddedAndRemovedAtRunTime) {
  auto in = Dummy("rt_in");
  auto out = Dummy("rt_out");
  ForwardHandler fwd(out.get(), 0);
  auto pmd = PmdThread::Start(Options(&fwd), {{in.get(), 0}});
  ASSERT_TRUE(pmd.ok());
  for (int round = 0; round < 2; round++) {
    auto ring = Dpdk("net_ring_p2");  // Attached while the PMD runs.
    ASSERT_TRUE(ring);
    ASSERT_TRUE((*pmd)->SetRxQueues({{in.get(), 0}, {ring.get(), 0}}).ok());
    PacketBatch tx;
    for (uint32_t i = 0; i < 8; i++) {
      Packet* p = TestPool().Alloc();
      std::memcpy(p->Append(64), TestFrame(i).data(), 64);
      tx.Add(p);
    }
    ASSERT_EQ(ring->TxBurst(0, &tx), 8u);
    ASSERT_TRUE(WaitFor([&] { return out->n_kept_tx() == 8; }));
    out->TakeTransmitted();
    ASSERT_TRUE((*pmd)->SetRxQueues({{in.get(), 0}}).ok());
    ring.reset();  // Detached while the PMD runs: it no longer polls it.
  }
  ASSERT_TRUE(in->Receive(TestFrame(1)).ok());
  ASSERT_TRUE(WaitFor([&] { return out->n_kept_tx() == 1; }));
  auto bad = (*pmd)->SetRxQueues({{in.get(), 3}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().details().find("no receive queue 3"), std::string::npos);
  EXPECT_EQ((*pmd)->rxqs().size(), 1u);
  EXPECT_EQ((*pmd)->GetStats().rx_packets, 17u);
}

// Two PMD threads, each polling its own receive queue of one two-queue port
// and sending on its own transmit queue of another.
TEST(PmdTest, TwoPmdsShareAMultiQueuePortByQueue) {
  DpdkPortConfig c;
  c.rxq_size = 512;
  c.txq_size = 512;
  c.pool = &TestPool();
  c.n_rxq = 2;
  c.n_txq = 2;
  c.name = c.devargs = "net_ring_mq0";
  auto in = DpdkEthPort::Create(TestEal(), c);
  c.name = c.devargs = "net_ring_mq1";
  auto out = DpdkEthPort::Create(TestEal(), c);
  ASSERT_TRUE(in.ok() && out.ok());
  ForwardHandler fwd0(out->get(), 0);
  ForwardHandler fwd1(out->get(), 1);
  auto pmd0 = PmdThread::Start(Options(&fwd0), {{in->get(), 0}});
  auto pmd1 = PmdThread::Start(Options(&fwd1), {{in->get(), 1}});
  ASSERT_TRUE(pmd0.ok() && pmd1.ok());
  for (int q = 0; q < 2; q++) {
    PacketBatch tx;
    for (int i = 0; i < 10 + q; i++) {
      Packet* p = TestPool().Alloc();
      std::memcpy(p->Append(64), TestFrame(i + 100 * q).data(), 64);
      tx.Add(p);
    }
    ASSERT_EQ((*in)->TxBurst(q, &tx), 10u + q);
  }
  uint32_t got[2] = {0, 0};
  ASSERT_TRUE(WaitFor([&] {
    for (int q = 0; q < 2; q++) {
      PacketBatch rx;
      (*out)->RxBurst(q, &rx);
      for (uint32_t i = 0; i < rx.n_pkts; i++, got[q]++) {
        EXPECT_EQ(std::memcmp(rx.pkts[i]->data(),
                              TestFrame(got[q] + 100 * q).data(), 64), 0);
      }
      FreeBatch(&rx);
    }
    return got[0] == 10 && got[1] == 11;
  }));
  EXPECT_EQ((*pmd0)->GetStats().rx_packets, 10u);
  EXPECT_EQ((*pmd1)->GetStats().rx_packets, 11u);
  EXPECT_NE((*pmd0)->lcore_id(), (*pmd1)->lcore_id());
}

TEST(PmdTest, StartRejectsBadArguments) {
  auto in = Dummy("bad_in");
  ForwardHandler fwd(in.get(), 0);
  EXPECT_FALSE(PmdThread::Start(PmdOptions{}, {}).ok());
  EXPECT_FALSE(PmdThread::Start(Options(&fwd), {{nullptr, 0}}).ok());
  EXPECT_FALSE(PmdThread::Start(Options(&fwd), {{in.get(), 1}}).ok());
}

TEST(PmdTest, AssignRxQueuesIsRoundRobin) {
  auto a = DummyPort::Create({.name = "as_a", .n_rxq = 3, .pool = &TestPool()});
  auto b = DummyPort::Create({.name = "as_b", .n_rxq = 2, .pool = &TestPool()});
  ASSERT_TRUE(a.ok() && b.ok());
  Port* pa = a->get();
  Port* pb = b->get();
  auto lists = AssignRxQueues({pa, pb}, 2);
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0], (std::vector<RxQueueRef>{{pa, 0}, {pa, 2}, {pb, 1}}));
  EXPECT_EQ(lists[1], (std::vector<RxQueueRef>{{pa, 1}, {pb, 0}}));
  EXPECT_EQ(AssignRxQueues({pa}, 1)[0].size(), 3u);
}

// The loop body on its own: what benchmarks drive.
TEST(PmdTest, PollerCountsBusyAndIdleRounds) {
  auto in = Dummy("poll_in");
  auto out = Dummy("poll_out");
  ForwardHandler fwd(out.get(), 0);
  PmdPoller poller(&fwd, PmdIdleOptions{.spin_polls = 2, .sleep_after_us = 0});
  poller.SetRxQueues({{in.get(), 0}});
  EXPECT_EQ(poller.PollOnce(), 0u);
  EXPECT_EQ(poller.IdleBackoff(), 0u);  // Still spinning.
  EXPECT_EQ(poller.IdleBackoff(), 0u);
  EXPECT_GT(poller.IdleBackoff(), 0u);  // Past spin_polls and sleep_after.
  for (uint32_t i = 0; i < 40; i++) ASSERT_TRUE(in->Receive(TestFrame(i)).ok());
  EXPECT_EQ(poller.PollOnce(), 32u);
  EXPECT_EQ(poller.PollOnce(), 8u);
  EXPECT_EQ(poller.IdleBackoff(), 0u);  // Reset by the packets.
  PmdStats s = poller.GetStats();
  EXPECT_EQ(s.iterations, 3u);
  EXPECT_EQ(s.busy_iterations, 2u);
  EXPECT_EQ(s.rx_packets, 40u);
  EXPECT_EQ(s.rx_batches, 2u);
  EXPECT_EQ(out->n_kept_tx(), 40u);
}

}  // namespace
}  // namespace spate::datapath
