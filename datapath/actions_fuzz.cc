// libFuzzer target: flow extraction plus action execution on arbitrary
// frames, and the action parser on arbitrary text.
//
// Input: byte 0 selects the mode.  Mode 'T': the rest is action text; a
// parse either fails with "syntax error" or prints text that parses back
// to the same actions.  Otherwise: byte 1 = number of edits (<= 8), then
// 12 bytes per edit (kind, field, value, mask), then the frame.  The
// frame is extracted, every edit applied through packet_edit, and the
// result re-extracted; an edit reporting success on a MAC, TTL or port
// field must be visible in the new key.  ASan catches any overread.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "datapath/action_parse.h"
#include "datapath/flow_extract.h"
#include "datapath/packet_edit.h"

namespace {

using spate::cls::Field;
using spate::cls::U128;
using namespace spate::datapath;  // NOLINT

void Check(bool ok) {
  if (!ok) std::abort();
}

void FuzzText(std::string_view text) {
  auto a = ParseActions(text);
  if (!a.ok()) {
    Check(a.error().tag() == "syntax error");
    return;
  }
  std::string printed = FormatActions(a->actions, a->conjunctions);
  auto again = ParseActions(printed);
  Check(again.ok());
  Check(again->actions == a->actions);
}

constexpr Field kEditable[] = {Field::kDlSrc,   Field::kDlDst,   Field::kVlanTci,
                               Field::kNwSrc,   Field::kNwDst,   Field::kIpv6Src,
                               Field::kIpv6Dst, Field::kIpDscp,  Field::kNwEcn,
                               Field::kNwTtl,   Field::kIpv6Label, Field::kTpSrc,
                               Field::kTpDst};

uint64_t Load64(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

void FuzzFrame(const uint8_t* data, size_t size) {
  if (size < 2) return;
  int n_edits = data[1] % 9;
  size_t hdr = 2 + static_cast<size_t>(n_edits) * 12;
  if (size < hdr) return;
  const uint8_t* edits = data + 2;
  size_t len = size - hdr;
  std::vector<uint8_t> buf(16 + len + 8);
  std::memcpy(buf.data() + 16, data + hdr, len);
  FrameView v{buf.data(), static_cast<uint32_t>(16 + len), 16, static_cast<uint32_t>(len)};
  spate::cls::FlowKey key{};
  FrameLayout layout = MakeFrameLayout(ExtractFlowKey(v.data(), v.length, 1, &key), key);
  for (int i = 0; i < n_edits; ++i) {
    const uint8_t* e = edits + i * 12;
    Field f = kEditable[e[1] % (sizeof kEditable / sizeof kEditable[0])];
    U128 value{0, Load64(e + 2, 5)}, mask{0, Load64(e + 7, 5)};
    bool ok = false;
    if (e[0] % 4 == 0) {
      ok = EditPushVlan(&v, &layout, 0x8100, static_cast<uint16_t>(value.lo));
    } else if (e[0] % 4 == 1) {
      ok = EditPopVlan(&v, &layout);
    } else {
      ok = EditSetField(&v, layout, f, value, mask);
    }
    Check(v.offset + v.length <= v.capacity);
    spate::cls::FlowKey after{};
    ExtractFlowKey(v.data(), v.length, 1, &after);
    if (ok && e[0] % 4 >= 2 && (f == Field::kDlSrc || f == Field::kDlDst)) {
      uint64_t m = mask.lo & 0xffffffffffffULL;
      Check((after.Get(f) & m) == (value.lo & m));
    }
    // Later edits use the layout of the edited frame, as the executor does.
    spate::cls::FlowKey k2{};
    layout = MakeFrameLayout(ExtractFlowKey(v.data(), v.length, 1, &k2), k2);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] == 'T') {
    FuzzText(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  } else {
    FuzzFrame(data, size);
  }
  return 0;
}
