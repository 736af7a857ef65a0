// Parsers for ovs-ofctl's match and flow syntax, over FlowKey fields.
//
// What it is
//   ParseMatch("in_port=1,dl_dst=aa:bb:cc:dd:ee:ff,tcp,nw_src=10.0.0.0/8,
//   tp_dst=0x50/0xfff0") builds a Match; ParseFlow() accepts a whole
//   ovs-ofctl add-flow line ("table=16,priority=100,<match>,actions=...")
//   and keeps the action text, extracting conjunction(id,k/n) actions.
//   Match::ToString() prints what ParseMatch() reads back.
//
// Syntax
//   Items are separated by commas or blanks.  `field=value[/mask]` for every
//   field name and alias of flow.h (FieldByName): integers are decimal or
//   0x-hex; MACs xx:xx:xx:xx:xx:xx; IPv4 a.b.c.d with /len or /a.b.c.d;
//   IPv6 in RFC 4291 text with /len or /address; nw_frag=no|yes|first|later|
//   not_later; tcp_flags=+syn-ack... or value/mask; nw_tos (DSCP << 2);
//   dl_vlan=VID and dl_vlan_pcp=PCP (set vlan_tci's CFI bit, like OVS).
//   Protocol shorthands: ip, ipv6, arp, icmp, icmp6, tcp, tcp6, udp, udp6,
//   sctp, sctp6.  Prerequisites are not enforced (the caller's business).
//
// Errors
//   A Result error with tag "syntax error" and a detail naming the item.
//
// Thread-safety
//   Pure functions.
#ifndef SPATE_CLASSIFIER_FLOW_MATCH_PARSE_H
#define SPATE_CLASSIFIER_FLOW_MATCH_PARSE_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "classifier/classifier.h"
#include "classifier/flow.h"
#include "common/result.h"

namespace spate::cls {

// A parsed ovs-ofctl flow line.
struct FlowSpec {
  uint8_t table = 0;                      // table=N (default 0).
  int32_t priority = 32768;               // priority=N (OVS default 32768).
  uint64_t cookie = 0;                    // cookie=N (default 0).
  Match match;                            // The match items.
  std::string actions;                    // Text after "actions=", verbatim.
  std::vector<Conjunction> conjunctions;  // conjunction(id,k/n) actions.
};

// Parses a match ("in_port=1,ip,nw_src=10.0.0.0/8"); "" is the catch-all.
Result<Match> ParseMatch(std::string_view text);

// Parses a flow line: table, priority, cookie, match items and actions.
Result<FlowSpec> ParseFlow(std::string_view text);

// Splits ovs-ofctl text into its items at commas and blanks, keeping a
// parenthesised argument whole ("resubmit(,2)", "conjunction(1,2/3)").
// Empty items are dropped; the views point into `text`.
std::vector<std::string_view> SplitFlowItems(std::string_view text);

// Parses one field value (with optional /mask) into `match`.
Status ParseFieldValue(Field field, std::string_view value, Match* match);

}  // namespace spate::cls

#endif  // SPATE_CLASSIFIER_FLOW_MATCH_PARSE_H
