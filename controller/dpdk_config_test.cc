// dpdk_config: other_config keys to EAL options and PMD CPUs.
#include "controller/dpdk_config.h"

#include <gtest/gtest.h>

namespace spate::controller {
namespace {

TEST(DpdkConfigTest, NoHugeFromExtraAndDefaults) {
  Result<EalPlan> plan = PlanEal({{"dpdk-init", "true"},
                                  {"dpdk-extra", "--no-huge --in-memory --log-level='pmd,8'"}});
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  EXPECT_TRUE(plan->dpdk_enabled);
  EXPECT_TRUE(plan->options.no_huge);
  EXPECT_TRUE(plan->problem.empty());
  EXPECT_EQ(plan->options.extra_args, std::vector<std::string>{"--log-level=pmd,8"});
  Result<EalPlan> off = PlanEal({});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->dpdk_enabled);
  EXPECT_TRUE(off->options.no_huge);  // No hugepages without dpdk-init.
}

TEST(DpdkConfigTest, MissingHugepagesNameTheFixAndFallBack) {
  Result<EalPlan> plan = PlanEal({{"dpdk-hugepage-dir", "/nonexistent-hugepages"}});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->options.no_huge);
  EXPECT_TRUE(plan->options.huge_dir.empty());
  EXPECT_NE(plan->problem.find("dpdk-hugepage-dir=/nonexistent-hugepages"), std::string::npos)
      << plan->problem;
  EXPECT_NE(plan->problem.find("mount"), std::string::npos) << plan->problem;
}

TEST(DpdkConfigTest, BadValuesAreErrors) {
  EXPECT_FALSE(PlanEal({{"dpdk-extra", "--vdev 'net_null0"}}).ok());
  EXPECT_FALSE(PlanEal({{"dpdk-socket-mem", "lots"}}).ok());
  EXPECT_FALSE(PlanEal({{"dpdk-socket-mem", "0"}}).ok());
  Result<EalPlan> mem = PlanEal({{"dpdk-socket-mem", "512,256"}, {"dpdk-extra", "--no-huge"}});
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->options.memory_mb, 768u);
}

TEST(DpdkConfigTest, PmdCpuMask) {
  EXPECT_EQ(*ParsePmdCpuMask("0x6", 4), (std::vector<int>{1, 2}));
  EXPECT_EQ(*ParsePmdCpuMask("1", 4), (std::vector<int>{0}));
  EXPECT_EQ(*ParsePmdCpuMask("0x10", 8), (std::vector<int>{4}));
  EXPECT_TRUE(ParsePmdCpuMask("", 2)->empty());
  EXPECT_FALSE(ParsePmdCpuMask("0x", 2).ok());
  EXPECT_FALSE(ParsePmdCpuMask("0xg", 2).ok());
  EXPECT_FALSE(ParsePmdCpuMask("0", 2).ok());
  Result<std::vector<int>> too_big = ParsePmdCpuMask("0x4", 2);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().details().find("CPU 2 does not exist"), std::string::npos);
}

}  // namespace
}  // namespace spate::controller
