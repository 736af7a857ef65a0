// DecapLane against the full Decap(): the lane, taught by one accepted
// frame, must accept only frames that Decap() accepts, strip them the
// same way and give the same key fields; and it must serve the frames of
// a real burst (other UDP source ports, IP IDs, ToS, TTL, option data).
// Every single-byte change of a reference frame (at every offset, with and
// without the checksums repaired afterwards) is run through both.
#include <gtest/gtest.h>

#include <vector>

#include "tunnels/decap.h"
#include "tunnels/decap_lane.h"
#include "tunnels/encap.h"
#include "tunnels/geneve.h"
#include "tunnels/test_util.h"

namespace spate::tunnels {
namespace {

using testing::InnerFrame;
using testing::NaiveSum;
using testing::TestPacket;

const IpAddr kLocal = *IpAddr::Parse("10.0.0.2");
const IpAddr kRemote = *IpAddr::Parse("10.0.0.1");

// One receive endpoint of `type` (fixed key 5 unless key_flow) and a
// frame encapsulated towards it.
struct Receiver {
  std::vector<LocalEndpoint> endpoints;
  DecapContext ctx;

  Receiver(TunnelType type, bool key_flow) {
    LocalEndpoint ep;
    ep.ip = kLocal;
    ep.type = type;
    ep.dst_port = DefaultDstPort(type);
    ep.key_flow = key_flow;
    ep.key = 5;
    ep.port_id = 3;
    endpoints.push_back(ep);
    ctx.endpoints = endpoints;
    ctx.understood_options = std::span<const GeneveOptionId>(&kOvnPortsOption, 1);
  }

  // A frame of `type` with key `vni`, UDP checksum when `csum`, and
  // `options` (Geneve), from the flow hash `hash`.
  static std::vector<uint8_t> Frame(TunnelType type, bool csum, uint64_t vni,
                                    std::span<const uint8_t> options, uint32_t hash = 1) {
    TunnelConfig c;
    c.type = type;
    c.dst_port = DefaultDstPort(type);
    c.csum = csum;
    c.key_flow = true;
    EncapEndpoint ep;
    ep.local_ip = kRemote;
    ep.remote_ip = kLocal;
    ep.src_mac = MacAddr{{2, 0, 0, 0, 0, 1}};
    ep.dst_mac = MacAddr{{2, 0, 0, 0, 0, 2}};
    auto tmpl = BuildEncapTemplate(c, ep);
    EXPECT_TRUE(tmpl.ok());
    TestPacket pkt(InnerFrame(64, static_cast<uint8_t>(hash)));
    EncapParams params;
    params.tun_id = vni;
    params.flow_hash = hash;
    params.ip_id = static_cast<uint16_t>(hash * 77);
    params.geneve_options = options;
    EXPECT_EQ(Encap(*tmpl, params, pkt.view), DropReason::kNone);
    return pkt.Bytes();
  }
};

// Recomputes the IPv4 header checksum and, if present, the UDP checksum.
void FixChecksums(std::vector<uint8_t>& f) {
  if (f.size() < 42 || f[12] != 0x08 || f[13] != 0x00) return;
  f[24] = f[25] = 0;
  Store16(&f[24], static_cast<uint16_t>(~NaiveSum(&f[14], 20)));
  const uint32_t udp_len = Load16(&f[38]);
  if (Load16(&f[40]) == 0 || 34 + udp_len > f.size() || udp_len < 8) return;
  f[40] = f[41] = 0;
  uint32_t sum = NaiveSum(&f[26], 8) + 17 + udp_len;
  uint16_t c = static_cast<uint16_t>(~NaiveSum(&f[34], udp_len, sum));
  Store16(&f[40], c == 0 ? 0xffff : c);
}

// The lane's answer for `frame` beside Decap's; fails the test if the lane
// accepts something Decap would not, or differently.  Returns whether the
// lane accepted it.
bool Compare(const Receiver& s, const DecapLane& lane, const TunnelMetadata& learned,
             const std::vector<uint8_t>& frame, uint32_t rx_flags = 0) {
  TestPacket full(frame);
  TunnelMetadata md;
  const DecapResult r = Decap(s.ctx, full.view, rx_flags, &md);
  TestPacket fast(frame);
  const bool accepted = lane.Decap(fast.view, rx_flags);
  if (!accepted) {
    EXPECT_EQ(fast.view.offset(), 256u);
    EXPECT_EQ(fast.view.length(), frame.size());
    return false;
  }
  EXPECT_EQ(r.status, DecapStatus::kDecapped);
  EXPECT_EQ(fast.view.offset(), full.view.offset());
  EXPECT_EQ(fast.view.length(), full.view.length());
  EXPECT_EQ(md.tun_id, learned.tun_id);
  EXPECT_EQ(md.src, learned.src);
  EXPECT_EQ(md.dst, learned.dst);
  EXPECT_EQ(md.tp_dst, learned.tp_dst);
  EXPECT_EQ(md.port_id, learned.port_id);
  EXPECT_EQ(md.n_option_bytes, learned.n_option_bytes);
  EXPECT_EQ(0, std::memcmp(md.options, learned.options, std::min<int>(4, md.n_option_bytes)));
  return true;
}

// Teaches a lane `frame`, which Decap must accept.
DecapLane Teach(const Receiver& s, const std::vector<uint8_t>& frame, TunnelMetadata* md,
                bool expect_learned = true) {
  TestPacket pkt(frame);
  EXPECT_EQ(Decap(s.ctx, pkt.view, 0, md).status, DecapStatus::kDecapped);
  DecapLane lane;
  EXPECT_EQ(lane.Learn(frame.data(), static_cast<uint32_t>(frame.size()), *md), expect_learned);
  EXPECT_EQ(lane.valid(), expect_learned);
  return lane;
}

struct LaneCase {
  TunnelType type;  // Format.
  bool csum;        // UDP checksum sent.
  bool option;      // OVN option (Geneve).
};

class DecapLaneTest : public ::testing::TestWithParam<LaneCase> {};

TEST_P(DecapLaneTest, ServesABurstOfTheSameTunnel) {
  const LaneCase c = GetParam();
  uint8_t opt[kOvnPortsOptionBytes];
  WriteOvnPortsOption(opt, {0, 1, 2});
  Receiver s(c.type, true);
  std::span<const uint8_t> options;
  if (c.option) options = opt;
  TunnelMetadata learned;
  DecapLane lane = Teach(s, Receiver::Frame(c.type, c.csum, 77, options), &learned);
  for (uint32_t hash = 2; hash < 40; ++hash) {
    WriteOvnPortsOption(opt, {0, static_cast<uint16_t>(hash), static_cast<uint16_t>(hash * 3)});
    std::vector<uint8_t> f = Receiver::Frame(c.type, c.csum, 77, options, hash);
    f[15] = static_cast<uint8_t>(hash);  // ToS.
    f[22] = static_cast<uint8_t>(hash);  // TTL.
    FixChecksums(f);
    EXPECT_TRUE(Compare(s, lane, learned, f)) << "hash " << hash;
    f.insert(f.end(), {0, 0, 0, 0, 0, 0});  // Ethernet padding is trimmed.
    EXPECT_TRUE(Compare(s, lane, learned, f)) << "padded, hash " << hash;
  }
  // Another VNI is the full path's (it may pick another port, or drop).
  EXPECT_FALSE(Compare(s, lane, learned, Receiver::Frame(c.type, c.csum, 78, options)));
}

TEST_P(DecapLaneTest, EveryByteChangeGetsDecapsVerdict) {
  const LaneCase c = GetParam();
  uint8_t opt[kOvnPortsOptionBytes];
  WriteOvnPortsOption(opt, {0, 1, 2});
  std::span<const uint8_t> options;
  if (c.option) options = opt;
  for (bool key_flow : {true, false}) {
    Receiver s(c.type, key_flow);
    const std::vector<uint8_t> ref = Receiver::Frame(c.type, c.csum, 5, options);
    TunnelMetadata learned;
    DecapLane lane = Teach(s, ref, &learned);
    int accepted = 0;
    for (size_t at = 0; at < ref.size(); ++at) {
      for (uint8_t x : {0x01, 0x08, 0x20, 0x80, 0xff}) {
        std::vector<uint8_t> f = ref;
        f[at] ^= x;
        accepted += Compare(s, lane, learned, f);
        accepted += Compare(s, lane, learned, f, kRxIpChecksumGood | kRxL4ChecksumGood);
        FixChecksums(f);
        accepted += Compare(s, lane, learned, f);
      }
    }
    // At least the MAC addresses, ToS, TTL and inner bytes may change.
    EXPECT_GT(accepted, 3 * 5 * 12);
    for (size_t n = 0; n < ref.size(); ++n) {  // Every truncation.
      Compare(s, lane, learned, std::vector<uint8_t>(ref.begin(), ref.begin() + n));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, DecapLaneTest,
                         ::testing::Values(LaneCase{TunnelType::kGeneve, false, true},
                                           LaneCase{TunnelType::kGeneve, true, true},
                                           LaneCase{TunnelType::kGeneve, false, false},
                                           LaneCase{TunnelType::kVxlan, false, false},
                                           LaneCase{TunnelType::kVxlan, true, false}));

TEST(DecapLaneChecks, ChecksumsAreCheckedUnlessTheNicDid) {
  Receiver s(TunnelType::kGeneve, true);
  TunnelMetadata learned;
  DecapLane lane = Teach(s, Receiver::Frame(TunnelType::kGeneve, true, 9, {}), &learned);
  std::vector<uint8_t> f = Receiver::Frame(TunnelType::kGeneve, true, 9, {}, 5);
  f[18] ^= 0x40;  // IP ID changed, header checksum not.
  EXPECT_FALSE(Compare(s, lane, learned, f));
  EXPECT_TRUE(Compare(s, lane, learned, f, kRxIpChecksumGood));
  f = Receiver::Frame(TunnelType::kGeneve, true, 9, {}, 5);
  f[f.size() - 1] ^= 0x40;  // Payload changed, UDP checksum not.
  EXPECT_FALSE(Compare(s, lane, learned, f));
  EXPECT_TRUE(Compare(s, lane, learned, f, kRxL4ChecksumGood));
  f[40] = f[41] = 0;  // No UDP checksum: accepted over IPv4.
  EXPECT_TRUE(Compare(s, lane, learned, f));
}

TEST(DecapLaneChecks, LearnsOnlyWhatItCanServe) {
  TunnelMetadata md;
  {  // STT is always the full path's.
    Receiver s(TunnelType::kStt, true);
    Teach(s, Receiver::Frame(TunnelType::kStt, false, 9, {}), &md, false);
  }
  {  // Two option TLVs.
    Receiver s(TunnelType::kGeneve, true);
    uint8_t opts[2 * kOvnPortsOptionBytes];
    WriteOvnPortsOption(opts, {0, 1, 2});
    WriteOvnPortsOption(opts + kOvnPortsOptionBytes, {0, 3, 4});
    Teach(s, Receiver::Frame(TunnelType::kGeneve, false, 9, opts), &md, false);
  }
  {  // IPv6 outer headers.
    Receiver s(TunnelType::kVxlan, true);
    s.endpoints[0].ip = *IpAddr::Parse("fd00::2");
    s.ctx.endpoints = s.endpoints;
    TunnelConfig c;
    c.type = TunnelType::kVxlan;
    c.dst_port = kVxlanPort;
    c.key_flow = true;
    EncapEndpoint ep;
    ep.local_ip = *IpAddr::Parse("fd00::1");
    ep.remote_ip = *IpAddr::Parse("fd00::2");
    auto tmpl = BuildEncapTemplate(c, ep);
    ASSERT_TRUE(tmpl.ok());
    TestPacket pkt(InnerFrame(64));
    EncapParams params;
    params.tun_id = 9;
    ASSERT_EQ(Encap(*tmpl, params, pkt.view), DropReason::kNone);
    Teach(s, pkt.Bytes(), &md, false);
  }
  DecapLane lane;
  EXPECT_FALSE(lane.valid());
  std::vector<uint8_t> f = InnerFrame(64);
  TestPacket pkt(f);
  EXPECT_FALSE(lane.Decap(pkt.view, kRxIpChecksumGood | kRxL4ChecksumGood));
}

}  // namespace
}  // namespace spate::tunnels
