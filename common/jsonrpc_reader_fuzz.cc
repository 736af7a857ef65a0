// Fuzz target for JsonRpcReader: arbitrary bytes, fed in two chunks split
// at a point chosen by the input, must never crash; every message that
// comes out must serialize and parse back to an equal message.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/jsonrpc.h"

using spate::common::JsonRpcReader;
using spate::common::Message;

namespace {

// Re-reads one message's serialization; traps if it differs.
void CheckRoundTrip(const Message& m) {
  std::string text = m.ToString();
  JsonRpcReader again;
  int n = 0;
  spate::Status s = again.Feed(text, [&](Message&& back) {
    n++;
    if (back.type != m.type || back.method != m.method ||
        back.params != m.params || back.result != m.result ||
        back.error != m.error || back.id != m.id) {
      std::abort();
    }
    return true;
  });
  if (!s.ok() || n != 1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = size == 0 ? 0 : data[0] % (size + 1);
  JsonRpcReader reader(1 << 20);
  auto on_message = [](Message&& m) {
    CheckRoundTrip(m);
    return true;
  };
  spate::Status s = reader.Feed(input.substr(0, split), on_message);
  if (s.ok()) s = reader.Feed(input.substr(split), on_message);
  // After an error the reader must keep refusing.
  if (!s.ok() && reader.Feed("{}", on_message).ok()) std::abort();
  return 0;
}
