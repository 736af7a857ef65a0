// ovs-ofctl syntax for actions and whole flow lines.
//
// What it is
//   ParseActions reads the text after "actions=" into Actions (action.h)
//   and conjunction clauses; ParseRuleOp reads a whole add-flow /
//   mod-flows / del-flows line (match through the classifier's ParseFlow);
//   FormatActions prints what ParseActions reads back.
//
// Syntax (comma separated, as ovs-ofctl)
//   drop | output:PORT | PORT | in_port | flood | all |
//   mod_dl_src:MAC | mod_dl_dst:MAC | mod_vlan_vid:VID | mod_vlan_pcp:PCP |
//   strip_vlan | pop_vlan | push_vlan:TPID | mod_nw_src:IP | mod_nw_dst:IP |
//   mod_nw_tos:TOS | mod_nw_ecn:ECN | mod_nw_ttl:TTL | dec_ttl |
//   mod_tp_src:N | mod_tp_dst:N | set_tunnel:ID | set_tunnel64:ID |
//   set_field:VALUE[/MASK]->FIELD | load:VALUE->FIELD[] | load:VALUE->FIELD[a..b] |
//   resubmit:PORT | resubmit([PORT],[TABLE]) | goto_table:TABLE |
//   conjunction(ID,K/N)
//   PORT is a number or, with a resolver, a port name (also in_port=NAME
//   in the match of a flow line).  FIELD is any name
//   of classifier/flow.h plus ip_src, ip_dst, vlan_vid, vlan_pcp and the NXM
//   names NXM_NX_REG0..7, NXM_NX_TUN_ID, OXM_OF_METADATA, NXM_OF_IN_PORT,
//   NXM_OF_ETH_SRC/DST, NXM_OF_IP_SRC/DST, NXM_NX_TUN_METADATA0.
//
// Errors
//   Result errors tagged "syntax error" naming the offending item.
//
// Thread-safety
//   Pure functions (the resolver is called on the caller's thread).
#ifndef SPATE_DATAPATH_ACTION_PARSE_H
#define SPATE_DATAPATH_ACTION_PARSE_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "datapath/actions.h"
#include "datapath/flow_rule.h"

namespace spate::datapath {

// Maps a port name to its number, or nullopt when unknown.
using PortResolver = std::function<std::optional<uint32_t>(std::string_view)>;

// The parsed action text of one rule.
struct ParsedActions {
  std::vector<Action> actions;                 // In order; empty is drop.
  std::vector<cls::Conjunction> conjunctions;  // conjunction(...) clauses.
};

// Parses the action text ("output:2,mod_dl_src:aa:bb:cc:dd:ee:ff").  A
// rule with conjunction clauses may have no other action.
Result<ParsedActions> ParseActions(std::string_view text,
                                   const PortResolver& resolve = {});

// Parses a flow line for `kind`: add needs "actions=", delete forbids it;
// "cookie=V/M" sets a cookie mask (modify/delete); without "table=" a
// modify or delete applies to every table.  `strict` as mod-flows
// --strict / del-flows --strict.
Result<RuleOp> ParseRuleOp(RuleOpKind kind, std::string_view text, bool strict = false,
                           const PortResolver& resolve = {});

// ovs-ofctl text of `actions` ("drop" when empty); conjunctions appended.
std::string FormatActions(const std::vector<Action>& actions,
                          const std::vector<cls::Conjunction>& conjunctions = {});

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_ACTION_PARSE_H
