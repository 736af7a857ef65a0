// Parse and compile cost per logical-flow match.  Baseline in the same
// binary: parsing the equivalent OpenFlow match text with the classifier's
// ovs-ofctl parser (what a controller fed precompiled flows would pay).
// Report: Compile / OfctlParse per match, and Parse (= ValidateMatch's
// parsing) / Compile.
#include <benchmark/benchmark.h>

#include "classifier/flow_match_parse.h"
#include "expr/actions.h"
#include "expr/compile.h"

namespace spate::expr {
namespace {

struct Case {
  const char* name;   // Benchmark label.
  const char* match;  // OVN match.
  const char* ofctl;  // One of its flows in ovs-ofctl syntax (baseline).
};

const Case kCases[] = {
    {"port_security", "inport == \"sw0-port1\" && eth.src == {00:00:00:00:00:01}",
     "reg14=1,dl_src=00:00:00:00:00:01"},
    {"multicast", "eth.dst[40]", "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00"},
    {"acl_tcp_range", "ip4.src == 10.0.0.0/8 && 1024 <= tcp.dst <= 49151",
     "tcp,nw_src=10.0.0.0/8,tp_dst=0x400/0xfc00"},
    {"acl_conjunction",
     "ip4.src == {10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4} && "
     "tcp.dst == {22, 80, 443, 8080}",
     "tcp,nw_src=10.0.0.1,tp_dst=22"},
};

std::optional<uint32_t> Ports(std::string_view) { return 1; }

void BM_Parse(benchmark::State& state) {
  const Case& c = kCases[state.range(0)];
  for (auto _ : state) {
    Result<Expr> e = ParseMatch(c.match, DefaultSymbols());
    benchmark::DoNotOptimize(e);
  }
  state.SetLabel(c.name);
  state.SetItemsProcessed(state.iterations());
}

void BM_Validate(benchmark::State& state) {
  const Case& c = kCases[state.range(0)];
  for (auto _ : state) {
    Status s = ValidateMatch(c.match);
    benchmark::DoNotOptimize(s);
  }
  state.SetLabel(c.name);
  state.SetItemsProcessed(state.iterations());
}

void BM_Compile(benchmark::State& state) {
  const Case& c = kCases[state.range(0)];
  PortLookup lookup = Ports;
  size_t n_flows = 0;
  for (auto _ : state) {
    Result<MatchList> m = CompileMatch(c.match, Expr::Bool(true), DefaultSymbols(), lookup, 1);
    n_flows = m.ok() ? m->matches.size() : 0;
    benchmark::DoNotOptimize(m);
  }
  state.SetLabel(c.name);
  state.counters["flows"] = static_cast<double>(n_flows);
  state.SetItemsProcessed(state.iterations());
}

void BM_OfctlParse(benchmark::State& state) {
  const Case& c = kCases[state.range(0)];
  for (auto _ : state) {
    Result<cls::Match> m = cls::ParseMatch(c.ofctl);
    benchmark::DoNotOptimize(m);
  }
  state.SetLabel(c.name);
  state.SetItemsProcessed(state.iterations());
}

void BM_ParseActions(benchmark::State& state) {
  for (auto _ : state) {
    Result<ActionList> a = ParseActions("outport = \"sw0-port1\"; next; outport = "
                                        "\"sw0-port2\"; next;",
                                        DefaultSymbols(), ActionOptions{});
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_OfctlParse)->DenseRange(0, 3);
BENCHMARK(BM_Parse)->DenseRange(0, 3);
BENCHMARK(BM_Validate)->DenseRange(0, 3);
BENCHMARK(BM_Compile)->DenseRange(0, 3);
BENCHMARK(BM_ParseActions);

}  // namespace
}  // namespace spate::expr
