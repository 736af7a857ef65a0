// Test helpers: a Datapath with a PMD thread forwarding between two real
// devices (AF_XDP on veth, vhost-user), and traffic sent and collected
// through peer devices the test drives itself.
//
// The forwarder's rules: udp from port 1 goes to port 2 with its source
// MAC rewritten to kRewrittenSrc (so a frame provably went through the
// fast path's actions), anything from port 2 goes to port 1 unchanged,
// everything else is dropped.
//
// Thread-safety: test main thread only (the datapath runs its own PMD).
#ifndef SPATE_DATAPATH_REAL_PORT_TEST_UTIL_H
#define SPATE_DATAPATH_REAL_PORT_TEST_UTIL_H

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "datapath/action_parse.h"
#include "datapath/datapath.h"
#include "datapath/test_eal.h"

namespace spate::datapath::testutil {

inline constexpr uint8_t kRewrittenSrc[6] = {0x02, 0, 0, 0, 0, 0x99};  // mod_dl_src.

// A datapath (one PMD thread) owning `p1` as port 1 and `p2` as port 2,
// with the rules above; nullptr (and a test failure) on error.
inline std::unique_ptr<Datapath> StartForwarder(std::unique_ptr<Port> p1,
                                                std::unique_ptr<Port> p2) {
  DatapathOptions o;
  o.eal = &TestEal();
  auto dp = Datapath::Create(o);
  EXPECT_TRUE(dp.ok()) << dp.error().ToString();
  if (!dp.ok()) return nullptr;
  std::unique_ptr<Port> ports[2] = {std::move(p1), std::move(p2)};
  for (uint32_t i = 0; i < 2; ++i) {
    PortSpec spec;
    spec.name = ports[i]->name();
    spec.number = i + 1;
    spec.port = std::move(ports[i]);
    auto n = (*dp)->AddPort(std::move(spec));
    EXPECT_TRUE(n.ok()) << n.error().ToString();
    if (!n.ok()) return nullptr;
  }
  std::vector<RuleOp> ops;
  for (const char* line : {"priority=10,in_port=1,udp,actions=mod_dl_src:02:00:00:00:00:99,output:2",
                           "priority=10,in_port=2,actions=output:1", "priority=0,actions=drop"}) {
    auto op = ParseRuleOp(RuleOpKind::kAdd, line);
    EXPECT_TRUE(op.ok()) << line;
    if (!op.ok()) return nullptr;
    ops.push_back(std::move(op).value());
  }
  auto c = (*dp)->Commit(ops);
  EXPECT_TRUE(c.ok());
  return c.ok() ? std::move(dp).value() : nullptr;
}

// TestFrame(i) as the forwarder sends it from port 1 to port 2.
inline std::vector<uint8_t> Rewritten(uint32_t i) {
  std::vector<uint8_t> f = TestFrame(i);
  std::memcpy(f.data() + 6, kRewrittenSrc, 6);
  return f;
}

// Sends TestFrame(first .. first+n-1) on `from` (what the device refuses
// is sent again) and returns the 64-byte test frames (dst MAC 02:00:00:00:..,
// so not the kernel's own IPv6 frames) that arrive on `to`, in order, once
// n have arrived or after WaitFor's timeout (a test failure).
inline std::vector<std::vector<uint8_t>> SendAndCollect(Port* from, Port* to, uint32_t first,
                                                        uint32_t n) {
  uint32_t sent = 0;
  std::vector<std::vector<uint8_t>> got;
  EXPECT_TRUE(WaitFor([&] {
    if (sent < n) {
      PacketBatch tx;
      for (uint32_t i = sent; i < n; i++) {
        Packet* p = TestPool().Alloc();
        if (p == nullptr) break;
        std::memcpy(p->Append(64), TestFrame(first + i).data(), 64);
        tx.Add(p);
      }
      // TxBurst frees what the device refuses; those are sent again.
      sent += from->TxBurst(0, &tx);
    }
    PacketBatch rx;
    to->RxBurst(0, &rx);
    for (uint32_t i = 0; i < rx.n_pkts; i++) {
      const Packet* p = rx.pkts[i];
      const uint8_t* d = p->data();
      if (p->length() == 64 && d[0] == 0x02 && d[1] == 0 && d[2] == 0 && d[3] == 0) {
        got.emplace_back(d, d + 64);
      }
    }
    FreeBatch(&rx);
    return got.size() >= n;
  })) << "received " << got.size() << " of " << n;
  return got;
}

}  // namespace spate::datapath::testutil

#endif  // SPATE_DATAPATH_REAL_PORT_TEST_UTIL_H
