// BatchWriter on both paths (io_uring where the kernel allows it, and
// send(2)): whole writes, a full socket taking a prefix then nothing, a
// closed peer, and many sockets in one batch (more than one ring's worth).
#include "ovsdb/batch_writer.h"

#include <linux/io_uring.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace spate::ovsdb {
namespace {

// A unix stream socket pair, closed on destruction.
struct Pair {
  int writer = -1;  // Written by BatchWriter.
  int reader = -1;  // Read by the test.
  Pair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    writer = fds[0];
    reader = fds[1];
  }
  ~Pair() {
    if (writer >= 0) close(writer);
    if (reader >= 0) close(reader);
  }
  // Reads exactly `n` bytes (blocking).
  std::string Read(size_t n) const {
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = read(reader, out.data() + got, n - got);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
  }
};

// Whether this process may create an io_uring instance at all.
bool KernelHasIoUring() {
  io_uring_params p{};
  int fd = static_cast<int>(syscall(__NR_io_uring_setup, 4, &p));
  if (fd < 0) return false;
  close(fd);
  return true;
}

class BatchWriterTest : public ::testing::TestWithParam<BatchWriter::Mode> {};

TEST_P(BatchWriterTest, WritesEachTextToItsSocket) {
  constexpr size_t kSockets = 1500;  // More than one submission ring.
  std::vector<Pair> pairs(kSockets);
  std::vector<std::string> texts;
  std::vector<BatchWriter::Write> writes;
  for (size_t i = 0; i < kSockets; ++i) texts.push_back("{\"n\":" + std::to_string(i) + "}");
  for (size_t i = 0; i < kSockets; ++i) writes.push_back({pairs[i].writer, texts[i], -1});
  BatchWriter writer(GetParam(), 1);  // The ring even for one write.
  writer.WriteAll(writes);
  for (size_t i = 0; i < kSockets; ++i) {
    ASSERT_EQ(writes[i].result, static_cast<int64_t>(texts[i].size())) << i;
    ASSERT_EQ(pairs[i].Read(texts[i].size()), texts[i]);
  }
  if (GetParam() == BatchWriter::Mode::kSendOnly) {
    EXPECT_FALSE(writer.uses_io_uring());
  } else {
    EXPECT_EQ(writer.uses_io_uring(), KernelHasIoUring());
  }
}

TEST_P(BatchWriterTest, FullSocketTakesAPrefixThenNothing) {
  Pair full, other;
  int small = 4096;
  ASSERT_EQ(setsockopt(full.writer, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  std::string big(1 << 20, 'x');
  BatchWriter writer(GetParam(), 1);  // The ring even for one write.
  std::vector<BatchWriter::Write> writes = {{full.writer, big, 0}, {other.writer, "ok", 0}};
  writer.WriteAll(writes);
  EXPECT_GT(writes[0].result, 0);
  EXPECT_LT(writes[0].result, static_cast<int64_t>(big.size()));
  EXPECT_EQ(writes[1].result, 2);  // The full socket does not hold it up.
  EXPECT_EQ(other.Read(2), "ok");
  std::vector<BatchWriter::Write> again = {{full.writer, big, 0}};
  writer.WriteAll(again);
  EXPECT_EQ(again[0].result, -EAGAIN);
}

TEST_P(BatchWriterTest, ClosedPeerIsAnErrorWithoutSignal) {
  Pair gone, fine;
  close(gone.reader);
  gone.reader = -1;
  BatchWriter writer(GetParam(), 1);  // The ring even for one write.
  std::vector<BatchWriter::Write> writes = {{gone.writer, "lost", 0}, {fine.writer, "kept", 0}};
  writer.WriteAll(writes);  // No SIGPIPE: the test process survives.
  EXPECT_EQ(writes[0].result, -EPIPE);
  EXPECT_EQ(writes[1].result, 4);
  EXPECT_EQ(fine.Read(4), "kept");
}

TEST_P(BatchWriterTest, BadDescriptorFailsOnlyItsWrite) {
  Pair fine;
  BatchWriter writer(GetParam(), 1);  // The ring even for one write.
  std::vector<BatchWriter::Write> writes = {{-1, "x", 0}, {fine.writer, "y", 0}};
  writer.WriteAll(writes);
  EXPECT_EQ(writes[0].result, -EBADF);
  EXPECT_EQ(writes[1].result, 1);
  EXPECT_EQ(fine.Read(1), "y");
  std::vector<BatchWriter::Write> none;
  writer.WriteAll(none);
}

TEST(BatchWriter, SmallBatchesUseSend) {
  Pair p;
  BatchWriter writer;  // Default: the ring from kDefaultMinRingBatch writes on.
  std::vector<BatchWriter::Write> one = {{p.writer, "abc", 0}};
  writer.WriteAll(one);
  EXPECT_EQ(one[0].result, 3);
  EXPECT_FALSE(writer.uses_io_uring());
  EXPECT_EQ(p.Read(3), "abc");
}

INSTANTIATE_TEST_SUITE_P(Modes, BatchWriterTest,
                         ::testing::Values(BatchWriter::Mode::kAuto, BatchWriter::Mode::kSendOnly),
                         [](const auto& info) {
                           return info.param == BatchWriter::Mode::kAuto ? "Auto" : "SendOnly";
                         });

}  // namespace
}  // namespace spate::ovsdb
