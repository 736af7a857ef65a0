// Pcap reader and writer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "datapath/pcap_file.h"
#include "datapath/test_eal.h"

namespace spate::datapath {
namespace {

TEST(PcapFileTest, WriteThenReadRoundTrips) {
  TempDir dir;
  std::string path = dir.File("a.pcap");
  {
    auto w = PcapWriter::Open(path);
    ASSERT_TRUE(w.ok()) << w.error().ToString();
    ASSERT_TRUE((*w)->Write(TestFrame(1)).ok());
    ASSERT_TRUE((*w)->Write(TestFrame(2, 1514)).ok());
  }
  {
    auto w = PcapWriter::Open(path);  // Appends, no second header.
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(TestFrame(3)).ok());
  }
  auto frames = ReadPcapFile(path);
  ASSERT_TRUE(frames.ok()) << frames.error().ToString();
  ASSERT_EQ(frames->size(), 3u);
  EXPECT_EQ((*frames)[0], TestFrame(1));
  EXPECT_EQ((*frames)[1], TestFrame(2, 1514));
  EXPECT_EQ((*frames)[2], TestFrame(3));
}

TEST(PcapFileTest, BadFilesAreClearErrors) {
  TempDir dir;
  EXPECT_NE(ReadPcapFile(dir.File("missing")).error().details().find(
                "cannot open"),
            std::string::npos);
  std::ofstream(dir.File("junk")) << "this is not a pcap file at all";
  auto junk = ReadPcapFile(dir.File("junk"));
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.error().details().find("bad magic"), std::string::npos);
  EXPECT_FALSE(PcapWriter::Open(dir.File("junk")).ok());

  std::string path = dir.File("cut.pcap");
  {
    auto w = PcapWriter::Open(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(TestFrame(1, 100)).ok());
  }
  std::filesystem::resize_file(path, 24 + 16 + 50);
  auto cut = ReadPcapFile(path);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().details().find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace spate::datapath
