// Eal: argument building, dpdk-extra splitting, hugepage errors, and the
// once-per-process rule.  A binary of its own: it initialises DPDK itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "datapath/eal.h"
#include "datapath/packet.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(EalTest, ArgumentsFollowTheOptions) {
  EalOptions o;
  o.core_list = "0,1";
  o.file_prefix = "pfx";
  o.vdevs = {"net_null0"};
  o.extra_args = {"--iova-mode=va"};
  std::vector<std::string> a = BuildEalArgs(o);
  EXPECT_TRUE(Has(a, "--no-huge"));
  EXPECT_TRUE(Has(a, "--no-shconf"));   // --in-memory's share for --no-huge.
  EXPECT_FALSE(Has(a, "--in-memory"));  // EAL refuses it with --no-huge.
  EXPECT_TRUE(Has(a, "0,1"));
  EXPECT_TRUE(Has(a, "pfx"));
  EXPECT_TRUE(Has(a, "net_null0"));
  EXPECT_EQ(a.back(), "--iova-mode=va");
  o.no_huge = false;
  o.huge_dir = "/mnt/huge";
  o.memory_mb = 1024;
  a = BuildEalArgs(o);
  EXPECT_TRUE(Has(a, "--in-memory"));
  EXPECT_TRUE(Has(a, "/mnt/huge"));
  EXPECT_TRUE(Has(a, "--socket-mem"));
  EXPECT_FALSE(Has(a, "--no-huge"));
  std::vector<std::string> d = BuildEalArgs(EalOptions{});
  auto prefix = std::find(d.begin(), d.end(), "--file-prefix");
  ASSERT_NE(prefix, d.end());
  EXPECT_EQ(prefix[1].rfind("spate_", 0), 0u);  // Per process by default.
}

TEST(EalTest, DpdkExtraSplitsLikeAShell) {
  auto a = SplitDpdkExtra("  --huge-dir /tmp/h  --vdev 'net_pcap0,rx_pcap=a b.pcap' -a \"x\"");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (std::vector<std::string>{"--huge-dir", "/tmp/h", "--vdev",
                                          "net_pcap0,rx_pcap=a b.pcap", "-a",
                                          "x"}));
  EXPECT_TRUE(SplitDpdkExtra("")->empty());
  auto bad = SplitDpdkExtra("--vdev 'oops");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().details().find("unterminated"), std::string::npos);
}

TEST(EalTest, MissingHugepagesNameTheFix) {
  TempDir dir;
  EalOptions o;
  o.no_huge = false;
  o.huge_dir = dir.path();  // A plain directory, not hugetlbfs.
  Status s = CheckHugepages(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().details().find("is not a hugetlbfs mount"),
            std::string::npos);
  EXPECT_NE(s.error().details().find("mount -t hugetlbfs"), std::string::npos);
  EXPECT_NE(s.error().details().find("no_huge"), std::string::npos);
  // Init refuses before touching DPDK, so DPDK can still be initialised.
  auto eal = Eal::Init(o);
  ASSERT_FALSE(eal.ok());
  EXPECT_EQ(eal.error().tag(), "hugepages");
  o.huge_dir = dir.File("missing");
  EXPECT_FALSE(CheckHugepages(o).ok());
}

// EAL keeps state from a failed rte_eal_init (even one that failed on its
// arguments), so the attempt runs in a child process of its own.
TEST(EalTest, BadEalArgumentIsAClearErrorAndFinal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        EalOptions o;
        o.extra_args = {"--no-such-eal-option"};
        auto bad = Eal::Init(o);
        bool clear =
            !bad.ok() &&
            bad.error().details().find("--no-such-eal-option") !=
                std::string::npos &&
            bad.error().details().find("cannot be initialised again") !=
                std::string::npos;
        auto again = Eal::Init(EalOptions{});
        bool refused = !again.ok() && again.error().details().find(
                                          "initialised and failed") !=
                                          std::string::npos;
        std::fprintf(stderr, "RESULT clear=%d refused=%d\n", clear, refused);
        std::exit(clear && refused ? 0 : 1);
      },
      testing::ExitedWithCode(0), "RESULT clear=1 refused=1");
}

// A bad --vdev makes rte_eal_init fail after its bus probe: final, and the
// error points at the devargs (ports should be hot-plugged instead).
TEST(EalTest, BadVdevAtInitIsAClearErrorAndFinal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        EalOptions o;
        o.vdevs = {"net_pcap0,rx_pcap=/nonexistent/in.pcap"};
        auto bad = Eal::Init(o);
        bool clear = !bad.ok() &&
                     bad.error().details().find("check the vdev devargs") !=
                         std::string::npos &&
                     bad.error().details().find("cannot be initialised "
                                                "again") != std::string::npos;
        std::fprintf(stderr, "RESULT clear=%d\n", clear);
        std::exit(clear ? 0 : 1);
      },
      testing::ExitedWithCode(0), "RESULT clear=1");
}

TEST(EalTest, InitsOnceWithNoHugeAndRefusesASecondInit) {
  EalOptions o;
  o.memory_mb = 128;
  auto eal = Eal::Init(o);
  ASSERT_TRUE(eal.ok()) << eal.error().ToString();
  EXPECT_FALSE((*eal)->hugepages());
  EXPECT_GT((*eal)->tsc_hz(), 0u);
  {
    auto pool = Mempool::Create(**eal, {.name = "eal_test_pool",
                                        .n_packets = 512, .cache_size = 32});
    ASSERT_TRUE(pool.ok()) << pool.error().ToString();
    Packet* p = (*pool)->Alloc();
    ASSERT_NE(p, nullptr);
    FreePacket(p);
  }
  auto again = Eal::Init(o);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().details().find("already initialised"),
            std::string::npos);
  std::string dir = (*eal)->runtime_dir();
  eal->reset();  // rte_eal_cleanup; removes the runtime directory.
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
  auto after = Eal::Init(o);
  ASSERT_FALSE(after.ok());
}

}  // namespace
}  // namespace spate::datapath
