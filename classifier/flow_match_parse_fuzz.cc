// Fuzz target for the ovs-ofctl flow/match parser: any input must give a
// FlowSpec or a "syntax error", never a crash; a parsed match must print
// as text that parses back to the same match.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "classifier/flow_match_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  spate::Result<spate::cls::FlowSpec> flow = spate::cls::ParseFlow(text);
  if (!flow.ok()) {
    if (flow.error().tag() != "syntax error") std::abort();
    return 0;
  }
  spate::cls::Match m = flow->match;
  // Printing folds nw_frag keyword forms and shorthands into canonical
  // fields; the canonical text must round-trip exactly.
  spate::Result<spate::cls::Match> back = spate::cls::ParseMatch(m.ToString());
  if (!back.ok() || !(*back == m)) std::abort();
  return 0;
}
