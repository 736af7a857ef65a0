// Text output of DatapathControl results, as the Open vSwitch commands
// print them, so unixctl handlers and tools are thin wrappers.
//
//   FormatDumpFlows      ovs-ofctl dump-flows: " cookie=0x0, duration=1.5s,
//                        table=0, n_packets=3, n_bytes=180, priority=10,
//                        in_port=1 actions=output:2"
//   FormatDpifFlows      ovs-appctl dpif/dump-flows: "in_port=1,dl_type=0x0800,
//                        packets:3, bytes:180, used:0.5s, actions:2"
//   FormatPmdStats       dpif-netdev/pmd-stats-show (our counter names,
//                        Open vSwitch's layout), with drops by reason
//   FormatPmdRxqs        dpif-netdev/pmd-rxq-show
//   FormatDpifShow       dpif/show
//   FormatTrace          ofproto/trace
//
// Thread-safety: pure functions.
#ifndef SPATE_DATAPATH_FLOW_DUMP_H
#define SPATE_DATAPATH_FLOW_DUMP_H

#include <cstdint>
#include <string>
#include <vector>

#include "datapath/datapath_control.h"

namespace spate::datapath {

// One line per rule, in the given order, each ending in "\n".
std::string FormatDumpFlows(const std::vector<RuleInfo>& rules);

// One line per datapath flow; `now_ns` (steady clock) gives "used".
std::string FormatDpifFlows(const std::vector<DpFlowInfo>& flows, int64_t now_ns);

// One block per PMD.
std::string FormatPmdStats(const std::vector<PmdInfo>& pmds);

// One block per PMD listing its receive queues.
std::string FormatPmdRxqs(const std::vector<PmdInfo>& pmds);

// The datapath name, lookup totals and every port with its number.
std::string FormatDpifShow(const std::vector<PortInfo>& ports,
                           const std::vector<PmdInfo>& pmds);

// The trace lines joined with newlines.
std::string FormatTrace(const TraceResult& trace);

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_FLOW_DUMP_H
