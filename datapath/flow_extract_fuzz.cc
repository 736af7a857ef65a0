// Fuzz target for flow key extraction: any byte string must extract
// without reading out of bounds (ASan checks the exact-size input buffer),
// deterministically, with header offsets inside the frame and in order,
// and the specialised passes must agree with the general one.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "datapath/flow_extract.h"

namespace {

using spate::datapath::ExtractFlowKey;
using spate::datapath::ExtractResult;
using spate::datapath::kNoOffset;

void Check(bool ok) {
  if (!ok) std::abort();
}

// An offset is either absent or inside the frame.
bool InFrame(uint32_t ofs, size_t size) { return ofs == kNoOffset || ofs <= size; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size heap copy so a read one past the end is an ASan error.
  std::vector<uint8_t> frame(data, data + size);
  const uint8_t* p = frame.empty() ? nullptr : frame.data();
  spate::cls::FlowKey key;
  ExtractResult r = ExtractFlowKey(p, size, 7, &key);
  const auto& o = r.offsets;
  Check(key.in_port() == 7);
  Check(o.n_vlans <= 2);
  Check(InFrame(o.vlan[0], size) && InFrame(o.vlan[1], size));
  Check(InFrame(o.l3, size) && InFrame(o.l4, size) && InFrame(o.l3_end, size));
  if (o.l4 != kNoOffset) Check(o.l3 != kNoOffset && o.l3 <= o.l4 && o.l4 <= o.l3_end);
  Check(r.note < spate::datapath::ExtractNote::kCount);
  spate::cls::FlowKey again;
  ExtractResult r2 = ExtractFlowKey(p, size, 7, &again);
  Check(again == key && r2.note == r.note);
  // The specialised pass and the general pass agree on every input.
  spate::cls::FlowKey general;
  ExtractResult r3 = spate::datapath::ExtractFlowKeyGeneric(p, size, 7, &general);
  Check(general == key && r3.note == r.note);
  Check(r3.offsets.l3 == o.l3 && r3.offsets.l4 == o.l4 && r3.offsets.l3_end == o.l3_end);
  Check(r3.offsets.n_vlans == o.n_vlans && r3.offsets.vlan[0] == o.vlan[0] &&
        r3.offsets.vlan[1] == o.vlan[1]);
  // The Ethernet-words pass agrees with the general one where it applies.
  spate::cls::FlowKey eth;
  if (spate::datapath::ExtractEthernetWords(p, size, 7, &eth)) {
    Check(eth.w[0] == general.w[0] && eth.w[14] == general.w[14] && eth.w[15] == general.w[15]);
  }
  return 0;
}
