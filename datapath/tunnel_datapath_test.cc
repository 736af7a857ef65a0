// Tunnels through the Datapath: two thread-less datapaths ("hosts" A and
// B), each with an inner port (vm), an underlay port (phy) and a tunnel
// port (tun), whose underlay frames the test carries between them.  Every
// format over IPv4 and IPv6, ARP/ND resolution on the underlay, STT
// segmentation, the MTU rule, bad packets counted by reason, underlay
// traffic that is not for a tunnel, and the appctl texts.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/datapath_test_util.h"
#include "datapath/flow_extract_frames.h"
#include "datapath/test_eal.h"
#include "datapath/tunnel_commands.h"
#include "datapath/tunnel_manager.h"

namespace spate::datapath {
namespace {

namespace frames = testframes;
using testframes::operator+;
using frames::Frame;
using testutil::AddFlows;
using testutil::SinkPort;

// A sink with a MAC and an MTU: the underlay device.
class WirePort : public SinkPort {
 public:
  WirePort(std::string name, uint8_t mac_last, int mtu) : SinkPort(std::move(name)), mtu_(mtu) {
    mac_.bytes = {0x02, 0x00, 0x00, 0x00, 0x01, mac_last};
    keep = true;
  }
  MacAddress mac() const override { return mac_; }
  int mtu() const override { return mtu_; }
  bool rx_checksum_offload() const override { return offload; }
  bool offload = false;  // Claims receive checksum verification.

 private:
  MacAddress mac_;  // Its MAC.
  int mtu_;         // Its MTU.
};

Frame Bytes(const Packet* p) { return Frame(p->data(), p->data() + p->length()); }

std::vector<Frame> Take(SinkPort* s) {
  std::vector<Frame> out;
  for (Packet* p : s->kept) {
    out.push_back(Bytes(p));
    FreePacket(p);
  }
  s->kept.clear();
  return out;
}

// An inner UDP frame of `size` bytes with a recognisable payload.
Frame Inner(size_t size, uint8_t seed) {
  Frame f = frames::Eth(cls::kEthTypeIp, 0x0200000000bbULL, 0x0200000000aaULL) +
            frames::Ipv4(17, size - 34) + frames::Udp(1000 + seed, 2000, static_cast<uint16_t>(size - 34));
  for (size_t i = f.size(); i < size; ++i) f.push_back(static_cast<uint8_t>(i * 7 + seed));
  return f;
}

struct Host {
  std::unique_ptr<TunnelManager> tunnels;
  std::unique_ptr<Datapath> dp;
  WirePort* phy = nullptr;
  SinkPort* vm = nullptr;
  SinkPort* other = nullptr;
  uint32_t tun = 0;

  void Receive(const std::string& port, const Frame& f) { ReceiveBurst(port, {f}); }
  // Receives `frames` (at most 32) as one batch, marked with the receive
  // checksum flags `rx_good` (Packet::kRx*Good).
  void ReceiveBurst(const std::string& port, const std::vector<Frame>& frames,
                    uint32_t rx_good = 0) {
    PacketBatch b;
    for (const Frame& f : frames) {
      Packet* p = TestPool().Alloc();
      ASSERT_NE(p, nullptr);
      uint8_t* d = p->Append(static_cast<uint32_t>(f.size()));
      ASSERT_NE(d, nullptr);
      std::memcpy(d, f.data(), f.size());
      SetRxChecksumGood(p, rx_good);
      b.Add(p);
    }
    dp->fastpath(0)->Process(*dp->PortNumber(port), &b);
  }
  std::string Cmd(const std::string& name, const std::vector<std::string>& args = {}) {
    Result<std::string> r = RunTunnelCommand(*tunnels, name, args);
    return r.ok() ? *r : "ERROR " + r.error().details();
  }
};

struct Params {
  std::string type;  // geneve, vxlan, stt.
  bool v6;           // Outer IPv6.
};

std::string Name(const ::testing::TestParamInfo<Params>& i) {
  return i.param.type + (i.param.v6 ? "_ipv6" : "_ipv4");
}

// Builds host `self` (addresses index 1 or 2) with a tunnel to the other.
std::unique_ptr<Host> MakeHost(int self, const std::string& type, bool v6,
                               std::map<std::string, std::string> options, int mtu = 1500) {
  auto h = std::make_unique<Host>();
  TunnelManagerOptions to;
  to.pool = &TestPool();
  h->tunnels = std::make_unique<TunnelManager>(to);
  DatapathOptions o;
  o.start_threads = false;
  o.clone_pool = &TestPool();
  o.tunnels = h->tunnels.get();
  h->dp = Datapath::Create(o).value();
  h->tunnels->Attach(h->dp.get());
  auto add = [&](std::unique_ptr<SinkPort> s) {
    SinkPort* raw = s.get();
    PortSpec spec;
    spec.name = s->name();
    spec.port = std::move(s);
    EXPECT_TRUE(h->dp->AddPort(std::move(spec)).ok());
    return raw;
  };
  auto vm = std::make_unique<SinkPort>("vm");
  vm->keep = true;
  h->vm = add(std::move(vm));
  auto other = std::make_unique<SinkPort>("other");
  other->keep = true;
  h->other = add(std::move(other));
  h->phy = static_cast<WirePort*>(add(std::make_unique<WirePort>("phy", static_cast<uint8_t>(self), mtu)));
  std::string me = v6 ? "fd00::" + std::to_string(self) : "192.168.50." + std::to_string(self);
  std::string peer = v6 ? "fd00::" + std::to_string(3 - self) : "192.168.50." + std::to_string(3 - self);
  UnderlayAddress a{*tunnels::IpAddr::Parse(me), static_cast<uint8_t>(v6 ? 64 : 24)};
  EXPECT_TRUE(h->tunnels->SetUnderlayPort("phy", {a}).ok());
  if (options.count("remote_ip") == 0) options["remote_ip"] = peer;
  InterfaceConfig ic{"tun", type, options, 0};
  Result<uint32_t> n = h->tunnels->AddTunnelPort(ic);
  EXPECT_TRUE(n.ok()) << n.error().ToString();
  h->tun = n.ok() ? *n : 0;
  return h;
}

// Carries underlay frames both ways until none are left (bounded).
void Pump(Host& a, Host& b) {
  for (int round = 0; round < 8; ++round) {
    std::vector<Frame> ab = Take(a.phy), ba = Take(b.phy);
    if (ab.empty() && ba.empty()) return;
    for (const Frame& f : ab) b.Receive("phy", f);
    for (const Frame& f : ba) a.Receive("phy", f);
  }
  ADD_FAILURE() << "underlay frames still flowing after 8 rounds";
}

class TunnelRoundTrip : public ::testing::TestWithParam<Params> {
 protected:
  void SetUp() override {
    TestEal();
    std::map<std::string, std::string> opts{{"key", "77"}};
    if (GetParam().type != "stt") opts["csum"] = "true";
    a_ = MakeHost(1, GetParam().type, GetParam().v6, opts);
    b_ = MakeHost(2, GetParam().type, GetParam().v6, opts);
    for (Host* h : {a_.get(), b_.get()}) {
      ASSERT_EQ(AddFlows(h->dp.get(), {"in_port=vm,actions=output:tun",
                                        "in_port=tun,actions=output:vm",
                                        "priority=0,in_port=phy,actions=output:other"}),
                "");
    }
  }
  // Sends `inner` from A's vm, resolving the neighbour first if needed.
  void SendAtoB(const Frame& inner) {
    a_->Receive("vm", inner);
    Pump(*a_, *b_);
  }
  std::unique_ptr<Host> a_, b_;
};

TEST_P(TunnelRoundTrip, ResolvesThenCarriesFramesBothWays) {
  Frame inner = Inner(64, 1);
  SendAtoB(inner);  // No neighbour yet: a request goes out, the frame is dropped.
  EXPECT_EQ(a_->tunnels->Drops(TunnelError::kNoNeighbor), 1u);
  EXPECT_TRUE(Take(b_->vm).empty());
  EXPECT_TRUE(Take(b_->other).empty()) << "ARP/ND must not be switched";
  SendAtoB(inner);
  std::vector<Frame> got = Take(b_->vm);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], inner);
  // B learned A from its request, so the reverse direction needs no wait.
  Frame back = Inner(200, 2);
  b_->Receive("vm", back);
  Pump(*a_, *b_);
  got = Take(a_->vm);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], back);
  for (const TunnelDropCount& d : b_->tunnels->DropCounts()) {
    EXPECT_EQ(d.n, 0u) << d.name;
  }
  std::string neigh = a_->Cmd("tnl/neigh/show");
  EXPECT_NE(neigh.find(GetParam().v6 ? "fd00::2" : "192.168.50.2"), std::string::npos) << neigh;
  EXPECT_NE(neigh.find("02:00:00:00:01:02   phy"), std::string::npos) << neigh;
}

TEST_P(TunnelRoundTrip, LargeFramesSegmentedForSttDroppedOtherwise) {
  SendAtoB(Inner(64, 1));  // Resolve.
  Take(b_->vm);
  Frame big = Inner(1514, 3);  // An inner frame at a 1500-byte MTU.
  a_->Receive("vm", big);
  std::vector<Frame> outer = Take(a_->phy);
  if (GetParam().type == "stt") {
    ASSERT_EQ(outer.size(), 2u);
    for (const Frame& f : outer) EXPECT_LE(f.size(), 1514u);
    for (const Frame& f : outer) b_->Receive("phy", f);
    std::vector<Frame> got = Take(b_->vm);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], big);
  } else {
    EXPECT_TRUE(outer.empty());
    EXPECT_EQ(a_->tunnels->Drops(tunnels::DropReason::kOuterExceedsMtu), 1u);
  }
}

TEST_P(TunnelRoundTrip, BadTunnelPacketsAreCountedDrops) {
  SendAtoB(Inner(64, 1));
  Take(b_->vm);
  a_->Receive("vm", Inner(64, 4));
  std::vector<Frame> outer = Take(a_->phy);
  ASSERT_EQ(outer.size(), 1u);
  // Truncated: cut inside the tunnel header (UDP), or a TCP-like header
  // with a data offset STT does not use (which flow extraction still
  // parses, so the packet is recognised as STT).
  size_t l3 = 14 + (GetParam().v6 ? 40 : 20);
  Frame cut(outer[0].begin(), outer[0].begin() + static_cast<long>(l3 + 12));
  if (GetParam().type == "stt") {
    cut = outer[0];
    cut[l3 + 12] = 0x60;
  } else if (!GetParam().v6) {
    cut[16] = 0;
    cut[17] = static_cast<uint8_t>(cut.size() - 14);  // Consistent IP length.
    cut[24] = cut[25] = 0;                              // Checksum: recomputed below.
    uint32_t sum = 0;
    for (int i = 14; i < 34; i += 2) sum += static_cast<uint32_t>(cut[i] << 8 | cut[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    cut[24] = static_cast<uint8_t>(~sum >> 8);
    cut[25] = static_cast<uint8_t>(~sum);
    cut[l3 + 4] = 0;
    cut[l3 + 5] = 12;  // UDP length.
    cut[l3 + 6] = cut[l3 + 7] = 0;  // No UDP checksum.
  } else {
    cut[18] = 0;
    cut[19] = 12;
    cut[l3 + 4] = 0;
    cut[l3 + 5] = 12;
    cut[l3 + 6] = cut[l3 + 7] = 0;  // Mandatory over IPv6: dropped as such.
  }
  b_->Receive("phy", cut);
  // A flipped inner byte breaks the checksum (UDP csum on, STT's TCP).
  Frame flipped = outer[0];
  flipped.back() ^= 0x5a;
  b_->Receive("phy", flipped);
  EXPECT_TRUE(Take(b_->vm).empty());
  uint64_t total = 0;
  for (const TunnelDropCount& d : b_->tunnels->DropCounts()) total += d.n;
  EXPECT_EQ(total, 2u);
  bool tcp = GetParam().type == "stt";
  EXPECT_EQ(b_->tunnels->Drops(tcp ? tunnels::DropReason::kBadTcpChecksum
                                   : tunnels::DropReason::kBadUdpChecksum),
            1u);
  tunnels::DropReason second = tcp                           ? tunnels::DropReason::kBadSttTcpHeader
                               : GetParam().v6                 ? tunnels::DropReason::kZeroUdpChecksumIpv6
                               : GetParam().type == "geneve" ? tunnels::DropReason::kTruncatedGeneve
                                                               : tunnels::DropReason::kTruncatedVxlan;
  EXPECT_EQ(b_->tunnels->Drops(second), 1u) << tunnels::DropReasonName(second);
  PmdInfo info = b_->dp->GetPmdInfo()[0];
  EXPECT_EQ(info.fastpath.drops[static_cast<int>(DropReason::kTunnelPopFailed)], 2u);
}

TEST_P(TunnelRoundTrip, OtherUnderlayTrafficIsSwitchedNormally) {
  // UDP to B's underlay address on a port that is not a tunnel's.
  bool v6 = GetParam().v6;
  Frame f = v6 ? frames::Eth(cls::kEthTypeIpv6) + frames::Ipv6(17, 8) + frames::Udp(5, 9999)
               : frames::Eth(cls::kEthTypeIp) + frames::Ipv4(17, 8) + frames::Udp(5, 9999);
  b_->Receive("phy", f);
  std::vector<Frame> got = Take(b_->other);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], f);
}

// Encapsulation from a plain port runs as a simple in_port match, and
// decapsulated packets whose port has an in_port-only megaflow skip their
// second pass: the frames must be exactly those of the full path.
TEST_P(TunnelRoundTrip, ShortcutsCarryTheSameFrames) {
  SendAtoB(Inner(64, 1));  // Resolve.
  Take(b_->vm);
  SendAtoB(Inner(64, 2));  // Installs the megaflows on both sides.
  Take(b_->vm);
  uint64_t a_simple = a_->dp->GetPmdInfo()[0].fastpath.n_simple_hits;
  uint64_t b_simple = b_->dp->GetPmdInfo()[0].fastpath.n_simple_hits;
  std::vector<Frame> sent;
  for (uint8_t i = 0; i < 5; ++i) {
    sent.push_back(Inner(64 + 10 * i, static_cast<uint8_t>(10 + i)));
    a_->Receive("vm", sent.back());
  }
  Pump(*a_, *b_);
  EXPECT_EQ(Take(b_->vm), sent);
  EXPECT_GE(a_->dp->GetPmdInfo()[0].fastpath.n_simple_hits - a_simple, 5u);
  EXPECT_GE(b_->dp->GetPmdInfo()[0].fastpath.n_simple_hits - b_simple, 5u);
  for (const DpFlowInfo& f : a_->dp->DumpDatapathFlows()) {
    if (FormatDpActions(f.actions).find("tnl_push") == std::string::npos) continue;
    EXPECT_EQ(f.match.mask.Get(cls::Field::kTunId), 0u) << "from a plain port";
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, TunnelRoundTrip,
                         ::testing::Values(Params{"geneve", false}, Params{"geneve", true},
                                           Params{"vxlan", false}, Params{"vxlan", true},
                                           Params{"stt", false}, Params{"stt", true}),
                         Name);

TEST(TunnelFlowFields, KeyRemoteAndGeneveOptionFromTheFlow) {
  TestEal();
  auto a = MakeHost(1, "geneve", false, {{"key", "flow"}, {"remote_ip", "flow"}});
  auto b = MakeHost(2, "geneve", false, {{"key", "flow"}, {"remote_ip", "flow"}});
  ASSERT_EQ(AddFlows(a->dp.get(), {"in_port=vm,actions=set_field:0x4242->tun_id,"
                                   "set_field:192.168.50.2->tun_dst,"
                                   "set_field:0xffff->geneve_class,"
                                   "set_field:0x10002->tun_metadata0,output:tun"}),
            "");
  ASSERT_EQ(AddFlows(b->dp.get(), {"in_port=tun,tun_id=0x4242,tun_src=192.168.50.1,"
                                   "geneve_class=0xffff,tun_metadata0=0x10002,actions=output:vm",
                                   "priority=0,actions=output:other"}),
            "");
  a->tunnels->LearnNeighbor(*tunnels::IpAddr::Parse("192.168.50.2"),
                            *tunnels::MacAddr::Parse("02:00:00:00:01:02"), "phy");
  Frame inner = Inner(100, 9);
  a->Receive("vm", inner);
  Pump(*a, *b);
  std::vector<Frame> got = Take(b->vm);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], inner);
  EXPECT_TRUE(Take(b->other).empty());
}

// A packet that came in on a tunnel and leaves on another carries tunnel
// fields of its own: that megaflow must match on them.
TEST(TunnelFlowFields, ReencapsulationMatchesTheTunnelFields) {
  TestEal();
  auto a = MakeHost(1, "vxlan", false, {{"key", "flow"}});
  auto b = MakeHost(2, "vxlan", false, {{"key", "flow"}});
  ASSERT_EQ(AddFlows(a->dp.get(), {"in_port=vm,actions=set_field:8->tun_id,output:tun"}), "");
  InterfaceConfig back{"tun2", "geneve", {{"remote_ip", "192.168.50.1"}, {"key", "flow"}}, 0};
  ASSERT_TRUE(b->tunnels->AddTunnelPort(back).ok());
  ASSERT_EQ(AddFlows(b->dp.get(), {"in_port=tun,actions=output:tun2"}), "");
  a->tunnels->LearnNeighbor(*tunnels::IpAddr::Parse("192.168.50.2"),
                            *tunnels::MacAddr::Parse("02:00:00:00:01:02"), "phy");
  b->tunnels->LearnNeighbor(*tunnels::IpAddr::Parse("192.168.50.1"),
                            *tunnels::MacAddr::Parse("02:00:00:00:01:01"), "phy");
  a->Receive("vm", Inner(64, 1));
  std::vector<Frame> outer = Take(a->phy);
  ASSERT_EQ(outer.size(), 1u);
  b->Receive("phy", outer[0]);
  std::vector<Frame> again = Take(b->phy);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0][14 + 20 + 8 + 4 + 2], 8) << "the VNI the packet came with";
  bool found = false;
  for (const DpFlowInfo& f : b->dp->DumpDatapathFlows()) {
    if (FormatDpActions(f.actions).find("tnl_push") == std::string::npos) continue;
    found = true;
    EXPECT_NE(f.match.mask.Get(cls::Field::kTunId), 0u);
  }
  EXPECT_TRUE(found);
}

TEST(TunnelFlowFields, PortChosenByRemoteThenKey) {
  TestEal();
  auto b = MakeHost(2, "vxlan", false, {{"key", "flow"}});  // remote .1, key flow.
  InterfaceConfig exact{"tun-exact", "vxlan", {{"remote_ip", "192.168.50.1"}, {"key", "9"}}, 0};
  Result<uint32_t> n = b->tunnels->AddTunnelPort(exact);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(AddFlows(b->dp.get(), {"in_port=tun,actions=output:vm",
                                   "in_port=tun-exact,actions=output:other"}),
            "");
  auto a = MakeHost(1, "vxlan", false, {{"key", "flow"}});
  ASSERT_EQ(AddFlows(a->dp.get(), {"in_port=vm,tcp,actions=set_field:9->tun_id,output:tun",
                                   "in_port=vm,udp,actions=set_field:8->tun_id,output:tun"}),
            "");
  a->tunnels->LearnNeighbor(*tunnels::IpAddr::Parse("192.168.50.2"),
                            *tunnels::MacAddr::Parse("02:00:00:00:01:02"), "phy");
  a->Receive("vm", Inner(64, 1));  // UDP, key 8: the key=flow port.
  Frame tcp = frames::Eth(cls::kEthTypeIp) + frames::Ipv4(6, 20) + frames::Tcp(1, 2, 0x10);
  a->Receive("vm", tcp);  // Key 9: the exact port.
  Pump(*a, *b);
  EXPECT_EQ(Take(b->vm).size(), 1u);
  EXPECT_EQ(Take(b->other).size(), 1u);
}

TEST(TunnelFlowFields, ConfigChangesReachCachedFlows) {
  TestEal();
  auto a = MakeHost(1, "vxlan", false, {{"key", "3"}});
  auto b = MakeHost(2, "vxlan", false, {{"key", "3"}});
  for (Host* h : {a.get(), b.get()}) {
    ASSERT_EQ(AddFlows(h->dp.get(), {"in_port=vm,actions=output:tun", "in_port=tun,actions=output:vm",
                                     "priority=0,in_port=phy,actions=output:other"}),
              "");
  }
  a->tunnels->LearnNeighbor(*tunnels::IpAddr::Parse("192.168.50.2"),
                            *tunnels::MacAddr::Parse("02:00:00:00:01:02"), "phy");
  a->Receive("vm", Inner(64, 1));
  std::vector<Frame> outer = Take(a->phy);
  ASSERT_EQ(outer.size(), 1u);
  // Without the tunnel port B switches the frame (and caches that flow).
  ASSERT_TRUE(b->tunnels->RemoveTunnelPort("tun").ok());
  b->Receive("phy", outer[0]);
  EXPECT_EQ(Take(b->other).size(), 1u);
  // With it again, the cached decision must not survive.
  InterfaceConfig tun{"tun", "vxlan", {{"remote_ip", "192.168.50.1"}, {"key", "3"}}, 0};
  ASSERT_TRUE(b->tunnels->AddTunnelPort(tun).ok());
  ASSERT_EQ(AddFlows(b->dp.get(), {"in_port=tun,actions=output:vm"}), "");
  b->Receive("phy", outer[0]);
  EXPECT_EQ(Take(b->vm).size(), 1u);
  EXPECT_TRUE(Take(b->other).empty());
  // A new underlay address moves the endpoint: frames for the old one are
  // switched again.
  UnderlayAddress moved{*tunnels::IpAddr::Parse("192.168.50.20"), 24};
  ASSERT_TRUE(b->tunnels->SetUnderlayPort("phy", {moved}).ok());
  b->Receive("phy", outer[0]);
  EXPECT_EQ(Take(b->other).size(), 1u);
  EXPECT_TRUE(Take(b->vm).empty());
}

// RFC 1071 sum of big-endian words (independent of tunnels/wire.h).
uint32_t Sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

// Recomputes the outer IPv4 header checksum and the UDP checksum of an
// outer UDP frame after an edit.
void FixOuterSums(Frame& f, bool v6) {
  size_t l4 = 14 + (v6 ? 40 : 20);
  if (!v6) {
    f[24] = f[25] = 0;
    uint16_t c = static_cast<uint16_t>(~Sum16(&f[14], 20));
    f[24] = static_cast<uint8_t>(c >> 8);
    f[25] = static_cast<uint8_t>(c);
  }
  size_t len = static_cast<size_t>(f[l4 + 4] << 8 | f[l4 + 5]);
  f[l4 + 6] = f[l4 + 7] = 0;
  uint32_t sum = v6 ? Sum16(&f[22], 32) : Sum16(&f[26], 8);
  uint16_t c = static_cast<uint16_t>(~Sum16(&f[l4], len, sum + 17 + static_cast<uint32_t>(len)));
  if (c == 0) c = 0xffff;
  f[l4 + 6] = static_cast<uint8_t>(c >> 8);
  f[l4 + 7] = static_cast<uint8_t>(c);
}

// PopEarly's fast lane (tunnels/decap_lane.h) serves the packets of a
// burst whose outer headers match the last accepted one: a burst mixing
// valid packets with a bad IPv4 checksum, a wrong VNI, a bad UDP checksum
// and plain underlay traffic must give what the full path gives (the
// valid frames, each defect counted by its reason, the rest switched),
// with the lane cold and again with it warm.
TEST(TunnelFastLane, MixedBurstHandledAsOnTheFullPath) {
  TestEal();
  for (const char* type : {"geneve", "vxlan"}) {
    for (bool v6 : {false, true}) {
      SCOPED_TRACE(std::string(type) + (v6 ? " ipv6" : " ipv4"));
      std::map<std::string, std::string> opts{{"key", "77"}, {"csum", "true"}};
      auto a = MakeHost(1, type, v6, opts);
      auto b = MakeHost(2, type, v6, opts);
      ASSERT_EQ(AddFlows(a->dp.get(), {"in_port=vm,actions=output:tun"}), "");
      ASSERT_EQ(AddFlows(b->dp.get(), {"in_port=tun,actions=output:vm",
                                       "priority=0,in_port=phy,actions=output:other"}),
                "");
      a->tunnels->LearnNeighbor(*tunnels::IpAddr::Parse(v6 ? "fd00::2" : "192.168.50.2"),
                                *tunnels::MacAddr::Parse("02:00:00:00:01:02"), "phy");
      std::vector<Frame> inner, outer;
      for (uint8_t i = 0; i < 6; ++i) {
        inner.push_back(Inner(64 + 8 * i, static_cast<uint8_t>(20 + i)));
        a->Receive("vm", inner.back());
      }
      outer = Take(a->phy);
      ASSERT_EQ(outer.size(), 6u);
      const size_t l4 = 14 + (v6 ? 40 : 20);
      Frame bad_ip = outer[2];
      bad_ip[v6 ? 21 : 22] ^= 1;  // TTL / hop limit, checksum not fixed.
      Frame wrong_vni = outer[4];
      wrong_vni[l4 + 8 + 6] ^= 1;
      FixOuterSums(wrong_vni, v6);
      Frame bad_udp = outer[5];
      bad_udp.back() ^= 0x5a;
      Frame plain = v6 ? frames::Eth(cls::kEthTypeIpv6) + frames::Ipv6(17, 8) + frames::Udp(5, 9999)
                       : frames::Eth(cls::kEthTypeIp) + frames::Ipv4(17, 8) + frames::Udp(5, 9999);
      std::vector<Frame> burst = {outer[0], outer[1], bad_ip,  outer[3],
                                  wrong_vni, plain,   bad_udp, outer[5]};
      for (uint64_t round = 1; round <= 2; ++round) {
        b->ReceiveBurst("phy", burst);
        std::vector<Frame> got = Take(b->vm);
        // Over IPv6 the hop limit is not checksummed: that frame is valid.
        std::vector<Frame> want = {inner[0], inner[1], inner[3], inner[5]};
        if (v6) want.insert(want.begin() + 2, inner[2]);
        EXPECT_EQ(got, want) << "round " << round;
        EXPECT_EQ(Take(b->other), std::vector<Frame>{plain});
        EXPECT_EQ(b->tunnels->Drops(tunnels::DropReason::kBadIpv4Checksum), v6 ? 0 : round);
        // No tunnel port takes VNI 76 (the manager's endpoints accept any
        // key; SelectPort then finds no port).
        EXPECT_EQ(b->tunnels->Drops(TunnelError::kNoTunnelPort), round);
        EXPECT_EQ(b->tunnels->Drops(tunnels::DropReason::kBadUdpChecksum), round);
        uint64_t total = 0;
        for (const TunnelDropCount& d : b->tunnels->DropCounts()) total += d.n;
        EXPECT_EQ(total, (v6 ? 2 : 3) * round);
      }
    }
  }
}

// The fast lane reads the Geneve option per packet: packets that differ
// only in the option value reach the flows that match each value.
TEST(TunnelFastLane, GeneveOptionReadPerPacket) {
  TestEal();
  auto a = MakeHost(1, "geneve", false, {{"key", "flow"}});
  auto b = MakeHost(2, "geneve", false, {{"key", "flow"}});
  ASSERT_EQ(AddFlows(a->dp.get(),
                     {"in_port=vm,udp,tp_src=1001,actions=set_field:0x42->tun_id,"
                      "set_field:0xffff->geneve_class,set_field:0x10002->tun_metadata0,output:tun",
                      "in_port=vm,udp,tp_src=1002,actions=set_field:0x42->tun_id,"
                      "set_field:0xffff->geneve_class,set_field:0x10003->tun_metadata0,output:tun"}),
            "");
  ASSERT_EQ(AddFlows(b->dp.get(), {"in_port=tun,tun_metadata0=0x10002,actions=output:vm",
                                   "in_port=tun,tun_metadata0=0x10003,actions=output:other"}),
            "");
  a->tunnels->LearnNeighbor(*tunnels::IpAddr::Parse("192.168.50.2"),
                            *tunnels::MacAddr::Parse("02:00:00:00:01:02"), "phy");
  std::vector<Frame> to_vm, to_other;
  for (uint8_t i = 0; i < 8; ++i) {
    Frame f = Inner(64, static_cast<uint8_t>(1 + i % 2));
    f.back() = i;  // Distinct frames.
    (i % 2 ? to_other : to_vm).push_back(f);
    a->Receive("vm", f);
  }
  std::vector<Frame> outer = Take(a->phy);
  ASSERT_EQ(outer.size(), 8u);
  b->ReceiveBurst("phy", outer);
  EXPECT_EQ(Take(b->vm), to_vm);
  EXPECT_EQ(Take(b->other), to_other);
}

// Checksums the underlay device verified are not checked again, on the
// fast lane and the full path alike; flags from a device that does not
// claim the offload are ignored.
TEST(TunnelFastLane, DeviceVerifiedChecksumsAreTrusted) {
  TestEal();
  std::map<std::string, std::string> opts{{"key", "77"}, {"csum", "true"}};
  auto a = MakeHost(1, "geneve", false, opts);
  auto b = MakeHost(2, "geneve", false, opts);
  ASSERT_EQ(AddFlows(a->dp.get(), {"in_port=vm,actions=output:tun"}), "");
  ASSERT_EQ(AddFlows(b->dp.get(), {"in_port=tun,actions=output:vm"}), "");
  a->tunnels->LearnNeighbor(*tunnels::IpAddr::Parse("192.168.50.2"),
                            *tunnels::MacAddr::Parse("02:00:00:00:01:02"), "phy");
  std::vector<Frame> outer;
  for (uint8_t i = 0; i < 3; ++i) a->Receive("vm", Inner(80, static_cast<uint8_t>(i)));
  outer = Take(a->phy);
  ASSERT_EQ(outer.size(), 3u);
  std::vector<Frame> bad_udp = outer;
  for (Frame& f : bad_udp) f.back() ^= 0x5a;  // The UDP checksum is now wrong.
  for (Frame& f : outer) {
    f[22] ^= 1;       // TTL: the IPv4 header checksum is now wrong.
    f.back() ^= 0x5a;  // Payload: the UDP checksum is now wrong.
  }
  const uint32_t good = Packet::kRxIpChecksumGood | Packet::kRxL4ChecksumGood;
  b->ReceiveBurst("phy", outer, good);  // The device does not claim it.
  EXPECT_TRUE(Take(b->vm).empty());
  EXPECT_EQ(b->tunnels->Drops(tunnels::DropReason::kBadIpv4Checksum), 3u);
  b->phy->offload = true;
  UnderlayAddress addr{*tunnels::IpAddr::Parse("192.168.50.2"), 24};
  ASSERT_TRUE(b->tunnels->SetUnderlayPort("phy", {addr}).ok());
  b->ReceiveBurst("phy", outer, good);
  EXPECT_EQ(Take(b->vm).size(), 3u);
  // Only the IPv4 header verified: the UDP checksum is checked (the usual
  // path, which counts the drop, checks both in software).
  b->ReceiveBurst("phy", bad_udp, Packet::kRxIpChecksumGood);
  EXPECT_TRUE(Take(b->vm).empty());
  EXPECT_EQ(b->tunnels->Drops(tunnels::DropReason::kBadUdpChecksum), 3u);
  b->ReceiveBurst("phy", outer, 0);
  EXPECT_EQ(b->tunnels->Drops(tunnels::DropReason::kBadIpv4Checksum), 6u);
}

// Keeps what a push emits: the frames sent ("port:bytes") and the drop
// reasons, each in order (a batch sends its frames after its drops).
class RecordingSink : public ExecSink {
 public:
  void Output(uint32_t port, Packet* pkt) override {
    Frame f = Bytes(pkt);
    out.push_back(std::to_string(port) + ":" + std::string(f.begin(), f.end()));
    FreePacket(pkt);
  }
  Packet* Clone(const Packet*) override { return nullptr; }
  void Drop(Packet* pkt, DropReason why) override {
    drops.push_back(why);
    FreePacket(pkt);
  }
  void Recirculate(Packet* pkt, uint32_t, const cls::FlowKey&) override { Drop(pkt, {}); }
  TunnelHook* tunnel_hook() override { return nullptr; }
  std::vector<std::string> out;   // Frames sent, in order.
  std::vector<DropReason> drops;  // Drop reasons, in order.
};

// PushBatch takes Geneve and VXLAN through a per-burst plan
// (tunnels/encap_burst.h) and PushTo does not: a burst of IPv4, IPv6 and
// non-IP frames, one past the MTU and one without headroom, must leave
// both byte for byte alike, for each format, IP version, checksum setting
// and Geneve option.
TEST(TunnelPushBatch, SameFramesAsPushToPerPacket) {
  TestEal();
  for (const char* type : {"geneve", "vxlan"}) {
    for (int bits = 0; bits < 8; ++bits) {
      const bool v6 = (bits & 1) != 0, csum = (bits & 2) != 0, option = (bits & 4) != 0;
      SCOPED_TRACE(std::string(type) + " bits " + std::to_string(bits));
      std::unique_ptr<Host> h =
          MakeHost(1, type, v6, {{"key", "flow"}, {"csum", csum ? "true" : "false"}});
      h->tunnels->LearnNeighbor(*tunnels::IpAddr::Parse(v6 ? "fd00::2" : "192.168.50.2"),
                                *tunnels::MacAddr::Parse("02:00:00:00:01:02"), "phy");
      TunnelPushParams params;
      params.tunnel_port = h->tun;
      params.tun_id = 0x4321;
      if (option) {
        params.geneve_class = 0xffff;
        params.geneve_value = 0x10002;
      }
      Frame v6_inner = frames::Eth(cls::kEthTypeIpv6, 0x0200000000bbULL, 0x0200000000aaULL) +
                       frames::Ipv6(6, 20) + Frame(20, 0x33);
      Frame arp(42, 0x11);
      arp[12] = 0x08;
      arp[13] = 0x06;
      std::vector<Frame> burst = {Inner(64, 1), Inner(65, 2), v6_inner, arp, Inner(1480, 3),
                                  Inner(1000, 4)};
      auto make = [&](bool tight) {
        std::vector<Packet*> pkts;
        for (size_t i = 0; i < burst.size(); ++i) {
          Packet* p = TestPool().Alloc();
          // The last packet has too little headroom for any tunnel header.
          if (tight && i + 1 == burst.size()) p->SetDataWindow(8, 0);
          std::memcpy(p->Append(static_cast<uint32_t>(burst[i].size())), burst[i].data(),
                      burst[i].size());
          pkts.push_back(p);
        }
        return pkts;
      };
      RecordingSink batch_sink, each_sink;
      std::vector<Packet*> a = make(true), b = make(true);
      h->tunnels->PushBatch(params, a.data(), static_cast<uint32_t>(a.size()), &batch_sink);
      for (Packet* p : b) h->tunnels->PushTo(params, p, &each_sink);
      EXPECT_EQ(batch_sink.out, each_sink.out);
      EXPECT_EQ(batch_sink.out.size(), 4u);
      // 1480 bytes exceed the MTU; the last has no headroom.
      EXPECT_EQ(batch_sink.drops, std::vector<DropReason>(2, DropReason::kTunnelPushFailed));
      EXPECT_EQ(each_sink.drops, batch_sink.drops);
    }
  }
}

TEST(TunnelCommands, OpenVswitchTexts) {
  TestEal();
  auto h = MakeHost(1, "geneve", false, {});
  InterfaceConfig vx{"vx0", "vxlan", {{"remote_ip", "flow"}, {"key", "flow"}}, 0};
  ASSERT_TRUE(h->tunnels->AddTunnelPort(vx).ok());
  InterfaceConfig g2{"gnv2", "geneve", {{"remote_ip", "192.168.50.9"}}, 0};
  ASSERT_TRUE(h->tunnels->AddTunnelPort(g2).ok());
  EXPECT_EQ(h->Cmd("tnl/ports/show"),
            "Listening ports:\n"
            "genev_sys_6081 (" + std::to_string(h->tun) + ") ref_cnt=2\n"
            "vxlan_sys_4789 (" + std::to_string(*h->dp->PortNumber("vx0")) + ") ref_cnt=1\n");
  EXPECT_NE(h->Cmd("tnl/ports/show", {"-v"}).find(
                "eth(dst=02:00:00:00:01:01),eth_type(0x0800),ipv4(dst=192.168.50.1,proto=17,"
                "frag=no),udp(dst=6081)"),
            std::string::npos);
  EXPECT_EQ(h->Cmd("ovs/route/add", {"10.1.0.0/16", "phy", "192.168.50.254"}), "OK\n");
  EXPECT_EQ(h->Cmd("ovs/route/add", {"10.2.0.0/16", "nosuch"}),
            "ERROR Error while inserting route.");
  EXPECT_EQ(h->Cmd("ovs/route/show"),
            "Route Table:\n"
            "Cached: 192.168.50.0/24 dev phy SRC 192.168.50.1\n"
            "User: 10.1.0.0/16 dev phy GW 192.168.50.254 SRC 192.168.50.1\n");
  EXPECT_EQ(h->Cmd("ovs/route/del", {"10.1.0.0/16"}), "OK\n");
  EXPECT_EQ(h->Cmd("ovs/route/del", {"10.1.0.0/16"}), "ERROR Not found");
  EXPECT_EQ(h->Cmd("tnl/neigh/set", {"phy", "192.168.50.7", "aa:bb:cc:dd:ee:ff"}), "OK\n");
  EXPECT_EQ(h->Cmd("tnl/neigh/set", {"phy", "bad", "aa:bb:cc:dd:ee:ff"}), "ERROR bad IP address");
  EXPECT_EQ(h->Cmd("tnl/neigh/show"),
            "IP                                            MAC                 Bridge\n"
            "==========================================================================\n"
            "192.168.50.7                                  aa:bb:cc:dd:ee:ff   phy\n");
  EXPECT_EQ(h->Cmd("tnl/neigh/flush"), "OK\n");
  EXPECT_EQ(h->Cmd("tnl/neigh/show"),
            "IP                                            MAC                 Bridge\n"
            "==========================================================================\n");
  EXPECT_EQ(h->Cmd("tnl/ports/show", {"-v", "x"}).rfind("ERROR", 0), 0u);
  EXPECT_EQ(h->Cmd("no/such").rfind("ERROR", 0), 0u);
}

TEST(TunnelConfigErrors, ClearErrors) {
  TestEal();
  auto h = MakeHost(1, "geneve", false, {});
  InterfaceConfig bad{"t2", "vxlan", {{"remote_ip", "1.2.3.4"}, {"key", "16777216"}}, 0};
  Result<uint32_t> r = h->tunnels->AddTunnelPort(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().details().find("t2"), std::string::npos);
  InterfaceConfig clash{"t3", "vxlan", {{"remote_ip", "1.2.3.4"}, {"dst_port", "6081"}}, 0};
  r = h->tunnels->AddTunnelPort(clash);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().details().find("already used by geneve port tun"), std::string::npos);
  EXPECT_FALSE(h->tunnels->SetUnderlayPort("nosuch", {}).ok());
  EXPECT_FALSE(h->tunnels->SetUnderlayPort("tun", {}).ok());
  InterfaceConfig retype{"tun", "stt", {{"remote_ip", "1.2.3.4"}}, 0};
  EXPECT_FALSE(h->tunnels->ReconfigureTunnelPort(retype).ok());
  InterfaceConfig rekey{"tun", "geneve", {{"remote_ip", "1.2.3.4"}, {"key", "9"}}, 0};
  ASSERT_TRUE(h->tunnels->ReconfigureTunnelPort(rekey).ok());
  EXPECT_EQ(h->tunnels->ListTunnelPorts().at(0).config.key, 9u);
  EXPECT_TRUE(h->tunnels->RemoveTunnelPort("tun").ok());
  EXPECT_FALSE(h->dp->PortNumber("tun").has_value());
  EXPECT_FALSE(h->tunnels->RemoveTunnelPort("tun").ok());
  InterfaceConfig gen{"g", "geneve", {{"remote_ip", "1.2.3.4"}}, 0};
  Result<std::unique_ptr<Port>> p = CreatePort(gen, PortContext{nullptr, &TestPool(), 1});
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(IsTunnelType("stt"));
}

}  // namespace
}  // namespace spate::datapath
