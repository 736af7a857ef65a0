// STT segmentation and reassembly: frames larger than the MTU split by
// EncapSttSegments() and rebuilt by Decap() + SttReassembler under
// reordering, duplication, overlap, loss, timeouts and floods.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "tunnels/decap.h"
#include "tunnels/encap.h"
#include "tunnels/stt_reassembly.h"
#include "tunnels/test_util.h"

namespace spate::tunnels {
namespace {

using testing::InnerFrame;
using testing::NaiveL4ChecksumOk;
using testing::NaiveSum;

constexpr uint32_t kMtu = 1500;

struct Segments {
  std::vector<std::vector<uint8_t>> memory;  // One buffer per segment.
  std::vector<PacketView> views;             // Views over `memory`.
};

class SttTest : public ::testing::TestWithParam<bool /*v6*/> {
 protected:
  void SetUp() override {
    TunnelConfig c;
    c.type = TunnelType::kStt;
    c.dst_port = kSttPort;
    c.key_flow = true;
    EncapEndpoint ep;
    ep.local_ip = *IpAddr::Parse(GetParam() ? "fd00::1" : "10.0.0.1");
    ep.remote_ip = *IpAddr::Parse(GetParam() ? "fd00::2" : "10.0.0.2");
    tmpl_ = *BuildEncapTemplate(c, ep);
    LocalEndpoint local;
    local.ip = ep.remote_ip;
    local.type = TunnelType::kStt;
    local.dst_port = kSttPort;
    endpoints_.push_back(local);
    ctx_.endpoints = endpoints_;
    ctx_.stt = &stt_;
  }

  Segments Segment(const std::vector<uint8_t>& inner, uint32_t frame_id) {
    Segments s;
    const uint32_t n = SttSegmentCount(tmpl_, inner.size(), kMtu);
    s.memory.assign(n, std::vector<uint8_t>(2048));
    for (auto& m : s.memory) s.views.emplace_back(m.data(), 2048, 64, 0);
    EncapParams params;
    params.tun_id = 0xfeedfacecafebeefull;
    params.stt_frame_id = frame_id;
    params.stt.vlan_tci = 0x1000 | 42;
    EXPECT_EQ(EncapSttSegments(tmpl_, params, inner, kMtu, s.views),
              DropReason::kNone);
    return s;
  }

  DecapResult Feed(const PacketView& segment, TunnelMetadata* md) {
    std::vector<uint8_t> copy(segment.data(), segment.data() + segment.length());
    PacketView view(copy.data(), copy.size(), 0, copy.size());
    return Decap(ctx_, view, 0, md);
  }

  EncapTemplate tmpl_;
  std::vector<LocalEndpoint> endpoints_;
  SttReassembler stt_{SttReassemblyConfig{4, 65535, 1'000'000}};
  DecapContext ctx_;
};

TEST_P(SttTest, SegmentsFitMtuAndCarryValidChecksums) {
  const std::vector<uint8_t> inner = InnerFrame(4000);
  Segments s = Segment(inner, 1);
  ASSERT_EQ(s.views.size(), 3u);
  uint32_t offset = 0;
  for (const PacketView& v : s.views) {
    EXPECT_LE(v.length(), kMtu + 14);
    const uint8_t* ip = v.data() + 14;
    if (!GetParam()) {
      EXPECT_EQ(NaiveSum(ip, 20), 0xffffu);
    }
    EXPECT_TRUE(NaiveL4ChecksumOk(ip, GetParam()));
    const uint8_t* tcp = ip + (GetParam() ? 40 : 20);
    EXPECT_EQ(Load32(tcp + 4) >> 16, 4000u + 18);
    EXPECT_EQ(Load32(tcp + 4) & 0xffff, offset);
    EXPECT_EQ(Load32(tcp + 8), 1u);
    offset += v.length() - (tcp - v.data()) - 20;
  }
  EXPECT_EQ(offset, 4018u);
}

TEST_P(SttTest, ReassemblesInAnyOrder) {
  const std::vector<uint8_t> inner = InnerFrame(9000, 3);
  Segments s = Segment(inner, 7);
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(s.views.begin(), s.views.end(), rng);
    TunnelMetadata md;
    for (size_t i = 0; i < s.views.size(); ++i) {
      const DecapResult r = Feed(s.views[i], &md);
      if (i + 1 < s.views.size()) {
        ASSERT_EQ(r.status, DecapStatus::kSegmentHeld) << DropReasonName(r.reason);
        continue;
      }
      ASSERT_EQ(r.status, DecapStatus::kDecapped) << DropReasonName(r.reason);
      EXPECT_EQ(std::vector<uint8_t>(r.reassembled.begin(), r.reassembled.end()),
                inner);
      EXPECT_EQ(md.tun_id, 0xfeedfacecafebeefull);
      EXPECT_EQ(md.stt.vlan_tci, 0x1000 | 42);
    }
    EXPECT_EQ(stt_.n_pending(), 0u);
  }
}

TEST_P(SttTest, DuplicateDroppedOverlapDropsFrame) {
  Segments s = Segment(InnerFrame(4000), 9);
  TunnelMetadata md;
  EXPECT_EQ(Feed(s.views[0], &md).status, DecapStatus::kSegmentHeld);
  EXPECT_EQ(Feed(s.views[0], &md).reason, DropReason::kSttDuplicateSegment);
  EXPECT_EQ(Feed(s.views[1], &md).status, DecapStatus::kSegmentHeld);
  EXPECT_EQ(Feed(s.views[2], &md).status, DecapStatus::kDecapped);

  // A segment overlapping held data at a different offset kills the frame.
  const SttSegmentKey key{*IpAddr::Parse("10.0.0.1"), *IpAddr::Parse("10.0.0.2"),
                          77, kSttPort};
  const std::vector<uint8_t> a(100, 1), b(100, 2);
  EXPECT_EQ(stt_.Add(key, 300, 0, a, 0).status, SttAddResult::Status::kPending);
  EXPECT_EQ(stt_.Add(key, 300, 50, b, 0).reason, DropReason::kSttOverlap);
  EXPECT_EQ(stt_.n_pending(), 0u);
}

TEST_P(SttTest, LengthMismatchAndPastEnd) {
  const SttSegmentKey key{*IpAddr::Parse("10.0.0.1"), *IpAddr::Parse("10.0.0.2"),
                          5, kSttPort};
  const std::vector<uint8_t> a(100, 1);
  EXPECT_EQ(stt_.Add(key, 300, 0, a, 0).status, SttAddResult::Status::kPending);
  EXPECT_EQ(stt_.Add(key, 400, 100, a, 0).reason, DropReason::kSttLengthMismatch);
  EXPECT_EQ(stt_.Add(key, 300, 250, a, 0).reason, DropReason::kSttSegmentPastEnd);
  EXPECT_EQ(stt_.Add(key, 10, 0, a, 0).reason, DropReason::kTruncatedStt);
  EXPECT_EQ(stt_.n_pending(), 0u);
}

TEST_P(SttTest, MissingSegmentTimesOut) {
  Segments s = Segment(InnerFrame(4000), 11);
  TunnelMetadata md;
  EXPECT_EQ(Feed(s.views[0], &md).status, DecapStatus::kSegmentHeld);
  EXPECT_EQ(stt_.n_pending(), 1u);
  EXPECT_EQ(stt_.Expire(500'000), 0u);
  EXPECT_EQ(stt_.Expire(1'000'001), 1u);
  EXPECT_EQ(stt_.n_pending(), 0u);
  // The late segment starts a new frame that cannot complete.
  ctx_.now_ns = 1'000'002;
  EXPECT_EQ(Feed(s.views[2], &md).status, DecapStatus::kSegmentHeld);
  // A timed-out frame is also reclaimed lazily by the next Add.
  ctx_.now_ns = 3'000'000;
  const DecapResult r = Feed(s.views[1], &md);
  EXPECT_EQ(r.n_expired, 1u);
  EXPECT_EQ(r.status, DecapStatus::kSegmentHeld);
}

TEST_P(SttTest, FloodEvictsOldestWithBoundedMemory) {
  const size_t memory = stt_.memory_bytes();
  uint32_t evicted = 0;
  TunnelMetadata md;
  for (uint32_t id = 0; id < 1000; ++id) {
    Segments s = Segment(InnerFrame(3000, static_cast<uint8_t>(id)), id);
    ctx_.now_ns = id;  // All within the timeout.
    const DecapResult r = Feed(s.views[0], &md);
    EXPECT_EQ(r.status, DecapStatus::kSegmentHeld);
    evicted += r.n_evicted;
  }
  EXPECT_EQ(stt_.n_pending(), 4u);
  EXPECT_EQ(evicted, 996u);
  EXPECT_EQ(stt_.memory_bytes(), memory);
  // The newest frames still complete.
  Segments last = Segment(InnerFrame(3000, static_cast<uint8_t>(999)), 999);
  ASSERT_EQ(last.views.size(), 3u);
  EXPECT_EQ(Feed(last.views[1], &md).status, DecapStatus::kSegmentHeld);
  EXPECT_EQ(Feed(last.views[2], &md).status, DecapStatus::kDecapped);
}

TEST_P(SttTest, TooManyHolesDropsFrame) {
  const SttSegmentKey key{*IpAddr::Parse("10.0.0.1"), *IpAddr::Parse("10.0.0.2"),
                          3, kSttPort};
  const std::vector<uint8_t> a(10, 1);
  SttAddResult r;
  for (int i = 0; i <= SttReassembler::kMaxHoles + 1; ++i) {
    r = stt_.Add(key, 1000, static_cast<uint16_t>(i * 20), a, 0);
  }
  EXPECT_EQ(r.reason, DropReason::kSttTooManyHoles);
  EXPECT_EQ(stt_.n_pending(), 0u);
}

TEST_P(SttTest, FrameLongerThanLimitRejected) {
  SttReassembler small(SttReassemblyConfig{2, 2000, 1000});
  EXPECT_EQ(small.memory_bytes(), 4000u);
  const SttSegmentKey key{};
  const std::vector<uint8_t> a(10, 1);
  EXPECT_EQ(small.Add(key, 3000, 0, a, 0).reason, DropReason::kSttFrameTooLong);
}

TEST_P(SttTest, SegmentationErrors) {
  const std::vector<uint8_t> inner = InnerFrame(4000);
  std::vector<uint8_t> mem(2048);
  PacketView one[1] = {PacketView(mem.data(), 2048, 0, 0)};
  EXPECT_EQ(EncapSttSegments(tmpl_, {}, inner, kMtu, one),
            DropReason::kSegmentBufferTooSmall);
  EXPECT_EQ(EncapSttSegments(tmpl_, {}, inner, 40, one),
            DropReason::kOuterExceedsMtu);
  std::vector<uint8_t> huge(70000);
  EXPECT_EQ(EncapSttSegments(tmpl_, {}, huge, kMtu, one),
            DropReason::kInnerTooLong);
}

INSTANTIATE_TEST_SUITE_P(BothIpVersions, SttTest, ::testing::Bool());

}  // namespace
}  // namespace spate::tunnels
