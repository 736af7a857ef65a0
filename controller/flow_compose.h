// Flow descriptions to keys and packets: what `netdev-dummy/receive PORT
// PACKET` and `ofproto/trace BRIDGE FLOW` accept.
//
// What
//   Open vSwitch takes a packet on these commands in three spellings, and so
//   do we:
//     hex       "505400000002505400000001080045..." (datapath/dummy_port.h's
//               ParseHexFrame)
//     datapath  "in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),
//               eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,
//               tos=0,ttl=64,frag=no),udp(src=1,dst=2)" (ovs-dpctl's form;
//               also vlan(vid=,pcp=), tcp(), sctp(), icmp(type=,code=),
//               arp(sip=,tip=,op=,sha=,tha=), ipv6(src=,dst=,label=,proto=,
//               tclass=,hlimit=,frag=), icmpv6(), nd(target=,sll=,tll=);
//               recirc_id(), skb_priority(), skb_mark() and packet_type()
//               are accepted and ignored)
//     ofctl     "in_port=1,dl_src=...,udp,nw_src=10.0.0.1,tp_dst=2"
//               (classifier/flow_match_parse.h; port names allowed in
//               in_port= through the resolver)
//   ParseFlowDescription turns the last two into a cls::FlowKey (every
//   field not given is zero); ComposeFrame builds the Ethernet frame that
//   has that key: Ethernet, an optional 802.1Q tag, ARP, IPv4 (with
//   fragment bits), IPv6, TCP, UDP, SCTP, ICMP, ICMPv6 with ND options,
//   valid checksums, and, like Open vSwitch's flow_compose, 64 bytes of
//   payload after an L4 header.
//
// Thread-safety: pure functions (the resolver runs on the caller's thread).
#ifndef SPATE_CONTROLLER_FLOW_COMPOSE_H
#define SPATE_CONTROLLER_FLOW_COMPOSE_H

#include <cstdint>
#include <string_view>
#include <vector>

#include "classifier/flow.h"
#include "common/result.h"
#include "datapath/action_parse.h"

namespace spate::controller {

// True when `text` looks like a hex frame rather than a flow (only hex
// digits, blanks and colons, at least 28 digits, no '=' or '(').
bool LooksLikeHex(std::string_view text);

// Parses a datapath-form or ofctl-form flow into a key.  `resolve` maps
// port names in "in_port=NAME" (may be empty).  Errors ("syntax error"):
// unknown items, bad values, an unknown port name.
Result<cls::FlowKey> ParseFlowDescription(std::string_view text,
                                          const datapath::PortResolver& resolve = {});

// The frame whose extracted key equals `key` on every field the key's
// protocols carry.  Never fails: after a dl_type it does not know the
// frame ends with the Ethernet header, after an unknown nw_proto with the
// IP header.
std::vector<uint8_t> ComposeFrame(const cls::FlowKey& key);

// Hex or flow text to a frame (netdev-dummy/receive's PACKET).
Result<std::vector<uint8_t>> ParsePacket(std::string_view text,
                                         const datapath::PortResolver& resolve = {});

}  // namespace spate::controller

#endif  // SPATE_CONTROLLER_FLOW_COMPOSE_H
