// Wire-format check by an independent decoder: encapsulated packets are
// written to a pcap file and dissected by tshark (Wireshark 4.0's geneve,
// vxlan and stt dissectors; STT is found by its heuristic on port 7471),
// which must report the VNI/context, the OVN Geneve option, good outer
// checksums and the inner frame's addresses.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "tunnels/encap.h"
#include "tunnels/geneve.h"
#include "tunnels/test_util.h"

namespace spate::tunnels {
namespace {

using testing::InnerFrame;
using testing::PcapWriter;
using testing::TestPacket;

constexpr const char* kTshark = "/usr/bin/tshark";

class TsharkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kTshark, X_OK), 0) << "tshark is required: " << kTshark;
    char dir_template[] = "/tmp/spate-tshark-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    pcap_ = dir_ + "/tunnels.pcap";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static EncapTemplate Template(TunnelType type, bool v6, bool csum) {
    TunnelConfig c;
    c.type = type;
    c.dst_port = DefaultDstPort(type);
    c.csum = csum;
    c.key_flow = true;
    EncapEndpoint ep;
    ep.local_ip = *IpAddr::Parse(v6 ? "fd00::1" : "10.0.0.1");
    ep.remote_ip = *IpAddr::Parse(v6 ? "fd00::2" : "10.0.0.2");
    ep.src_mac = MacAddr{{2, 0, 0, 0, 0, 1}};
    ep.dst_mac = MacAddr{{2, 0, 0, 0, 0, 2}};
    return *BuildEncapTemplate(c, ep);
  }

  // Runs tshark over the pcap and returns one line per frame with the
  // requested fields separated by '|' (all occurrences, comma-joined).
  // `stt_heuristic` lets the STT heuristic claim TCP port 7471 before the
  // TCP dissector (tshark 4.0 registers STT only as an IPv4 heuristic).
  std::vector<std::string> Dissect(const std::string& fields,
                                   bool stt_heuristic) {
    const std::string cmd = std::string(kTshark) + " -n -r " + pcap_ +
                            " -o ip.check_checksum:TRUE"
                            " -o udp.check_checksum:TRUE"
                            " -o tcp.check_checksum:TRUE"
                            " -o ip.try_heuristic_first:" +
                            (stt_heuristic ? "TRUE" : "FALSE") +
                            " -T fields -E separator='|' -E occurrence=a " +
                            fields + " 2>/dev/null";
    std::FILE* pipe = popen(cmd.c_str(), "r");
    std::vector<std::string> lines;
    if (pipe == nullptr) return lines;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
      std::string line(buf);
      if (!line.empty() && line.back() == '\n') line.pop_back();
      lines.push_back(line);
    }
    EXPECT_EQ(pclose(pipe), 0) << cmd;
    return lines;
  }

  std::string dir_;   // Temporary directory, removed after the test.
  std::string pcap_;  // Capture file inside dir_.
};

TEST_F(TsharkTest, GeneveAndVxlanFieldsDecode) {
  {
    PcapWriter out(pcap_);
    ASSERT_TRUE(out.ok());
    for (bool v6 : {false, true}) {
      uint8_t opts[kOvnPortsOptionBytes];
      WriteOvnPortsOption(opts, {0, 0x0123, 0x4567});
      EncapParams params;
      params.flow_hash = 77;
      params.tun_id = 0xabcdef;
      params.geneve_options = opts;
      TestPacket g(InnerFrame(64));
      ASSERT_EQ(Encap(Template(TunnelType::kGeneve, v6, true), params, g.view),
                DropReason::kNone);
      out.Write(g.view.data(), g.view.length());
      params.tun_id = 0x123456;
      TestPacket x(InnerFrame(64));
      ASSERT_EQ(Encap(Template(TunnelType::kVxlan, v6, true), params, x.view),
                DropReason::kNone);
      out.Write(x.view.data(), x.view.length());
    }
  }
  const auto lines = Dissect(
      "-e geneve.vni -e geneve.option.class -e geneve.option.type "
      "-e geneve.option.length -e geneve.option.unknown.data -e vxlan.vni "
      "-e vxlan.flag_i -e ip.src -e ipv6.src -e eth.src -e udp.checksum.status "
      "-e ip.checksum.status",
      false);
  ASSERT_EQ(lines.size(), 4u);
  // Per frame: VNI, the OVN option (class, type, total length 8 shown twice,
  // data = ingress 0x0123 and egress 0x4567), the VXLAN VNI and I flag,
  // outer then inner IPv4 sources, IPv6 source, outer then inner MACs,
  // outer UDP checksum good (1) and inner one absent (3), IPv4 checksums
  // good.
  const std::string kMacs = "02:00:00:00:00:01,00:00:00:00:00:0a";
  EXPECT_EQ(lines[0], "0xabcdef|0xffff|0x00|8,8|01234567|||"
                      "10.0.0.1,192.168.1.10||" + kMacs + "|1,3|1,1");
  EXPECT_EQ(lines[1], "|||||1193046|1|10.0.0.1,192.168.1.10||" + kMacs +
                          "|1,3|1,1");
  EXPECT_EQ(lines[2], "0xabcdef|0xffff|0x00|8,8|01234567|||"
                      "192.168.1.10|fd00::1|" + kMacs + "|1,3|1");
  EXPECT_EQ(lines[3], "|||||1193046|1|192.168.1.10|fd00::1|" + kMacs +
                          "|1,3|1");
}

TEST_F(TsharkTest, SttFieldsDecodeIncludingSegmentedFrames) {
  const std::vector<uint8_t> big = InnerFrame(4000, 9);
  {
    PcapWriter out(pcap_);
    ASSERT_TRUE(out.ok());
    for (bool v6 : {false, true}) {
      EncapParams params;
      params.tun_id = OvnSttContext({0x00abcd, 0x0123, 0x4567});
      params.stt_frame_id = v6 ? 2 : 1;
      params.stt.vlan_tci = 0x1000 | 100;
      TestPacket s(InnerFrame(64));
      ASSERT_EQ(Encap(Template(TunnelType::kStt, v6, false), params, s.view),
                DropReason::kNone);
      out.Write(s.view.data(), s.view.length());
    }
    EncapParams params;
    params.tun_id = 0x0102030405060708ull;
    params.stt_frame_id = 3;
    std::vector<std::vector<uint8_t>> mem(3, std::vector<uint8_t>(2048));
    std::vector<PacketView> segs;
    for (auto& m : mem) segs.emplace_back(m.data(), 2048, 0, 0);
    const EncapTemplate t = Template(TunnelType::kStt, false, false);
    ASSERT_EQ(SttSegmentCount(t, big.size(), 1500), 3u);
    ASSERT_EQ(EncapSttSegments(t, params, big, 1500, segs), DropReason::kNone);
    for (const PacketView& v : segs) out.Write(v.data(), v.length());
  }
  const auto lines = Dissect(
      "-e stt.context_id -e stt.vlan.id -e stt.vlan.v -e stt.pkt_id "
      "-e stt.seg_off -e stt.pkt_len -e ip.src -e stt.version "
      "-e stt.reassembled.length -e stt.tcp.flags",
      true);
  ASSERT_EQ(lines.size(), 5u);
  // Context (OVN keys: ingress 0x123 in bits 54..40, egress 0x4567 in
  // 39..24, datapath 0xabcd), VLAN 100 with V set, packet id, segment
  // offset, frame length 18 + 64, inner IP, version 0, ACK|PSH.
  EXPECT_EQ(lines[0], "0x000123456700abcd|100|1|0x00000001|0|82|"
                      "10.0.0.1,192.168.1.10|0||0x0018");
  // tshark 4.0 hooks STT only under IPv4: frame 2 (IPv6) is checked below.
  EXPECT_EQ(lines[1], "|||||||||");
  // Segments at offsets 0, 1460, 2920 of a 4018-byte frame; the last one
  // completes tshark's reassembly (20-byte TCP header + 4018) and shows
  // the STT header and the inner IPv4 source.
  EXPECT_EQ(lines[2], "|||0x00000003|0|4018|10.0.0.1|||0x0018");
  EXPECT_EQ(lines[3], "|||0x00000003|1460|4018|10.0.0.1|||0x0018");
  EXPECT_EQ(lines[4], "0x0102030405060708|0|0|0x00000003|2920|4018|"
                      "10.0.0.1,192.168.1.10|0|4038|0x0018");
  // The TCP dissector verifies every segment's checksum (tshark 4.0's STT
  // dissector miscomputes it) and shows sequence = length << 16 | offset,
  // ACK = frame id, for IPv6 too.
  const auto tcp = Dissect(
      "-e tcp.checksum.status -e tcp.seq_raw -e tcp.ack_raw -e ipv6.dst", false);
  ASSERT_EQ(tcp.size(), 5u);
  EXPECT_EQ(tcp[0], "1|" + std::to_string(82 << 16) + "|1|");
  EXPECT_EQ(tcp[1], "1|" + std::to_string(82 << 16) + "|2|fd00::2");
  EXPECT_EQ(tcp[2], "1|" + std::to_string(4018 << 16) + "|3|");
  EXPECT_EQ(tcp[3], "1|" + std::to_string(4018 << 16 | 1460) + "|3|");
  EXPECT_EQ(tcp[4], "1|" + std::to_string(4018 << 16 | 2920) + "|3|");
}

}  // namespace
}  // namespace spate::tunnels
