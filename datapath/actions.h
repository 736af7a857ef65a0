// Actions: what rules ask for (Action) and what the fast path executes
// (DpAction), plus the tunnel hook and the per-packet executor.
//
// What it is
//   Two levels, as in Open vSwitch (ofpacts vs. datapath actions):
//   * Action: one action of a flow-table rule, in ovs-ofctl terms: output,
//     in_port, flood, all, set_field (and the mod_* spellings), push_vlan,
//     pop_vlan/strip_vlan, dec_ttl, resubmit, goto_table.  Conjunction
//     clauses are not actions here: they are part of the classifier rule.
//     An empty list is "drop".
//   * DpAction: the flat list the slow path (xlate.h) compiles a packet's
//     trip through the tables into: output to a port, set a packet field,
//     push/pop a VLAN tag, tunnel push/pop.  Register, metadata and tunnel
//     key writes never reach this level: they only steer translation (the
//     tunnel key travels inside the tunnel push parameters).
//
// Design
//   ExecuteDpActions walks the list once per packet.  A packet sent to
//   several places is copied for every consumer but the last (output,
//   tunnel push, tunnel pop), which gets the original, so a single-output
//   flow never copies.  Edits go through packet_edit.h on the packet's
//   bytes.  Outputs are handed to an ExecSink, which batches them per port
//   (fastpath.cc); drops are handed to the sink with a reason, never freed
//   silently.
//
// Tunnel hook
//   TunnelHook is the seam for the tunnels component: the slow path asks it
//   which ports are tunnels and which underlay packets are tunnel traffic;
//   the fast path calls Push (encapsulate, choose the underlay port) and
//   Pop (decapsulate, return the tunnel metadata for recirculation).
//
// Thread-safety
//   Action/DpActions are values.  ExecuteDpActions runs on the thread that
//   owns the packet.  TunnelHook implementations must allow concurrent
//   calls from every PMD thread.
#ifndef SPATE_DATAPATH_ACTIONS_H
#define SPATE_DATAPATH_ACTIONS_H

#include <cstdint>
#include <string>
#include <vector>

#include "classifier/flow.h"
#include "datapath/drop_reasons.h"
#include "datapath/packet.h"
#include "datapath/packet_edit.h"

namespace spate::datapath {

inline constexpr uint8_t kCurrentTable = 255;  // resubmit(,) without a table.
inline constexpr uint32_t kKeepInPort = UINT32_MAX;  // resubmit without a port.

enum class ActionType : uint8_t {
  kOutput,     // output:PORT
  kInPort,     // in_port: send back where it came from.
  kFlood,      // flood: every port but in_port and no-flood ports.
  kAll,        // all: every port but in_port.
  kSetField,   // set_field:V->F, mod_dl_src, load, set_tunnel, ...
  kPushVlan,   // push_vlan:TPID
  kPopVlan,    // pop_vlan / strip_vlan
  kDecTtl,     // dec_ttl
  kResubmit,   // resubmit([PORT],[TABLE]) / resubmit:PORT
  kGotoTable,  // goto_table:TABLE
};

// One rule action.
struct Action {
  ActionType type = ActionType::kOutput;   // What to do.
  cls::Field field = cls::Field::kInPort;  // kSetField: the field written.
  bool push_if_untagged = false;           // mod_vlan_vid/pcp on an untagged
                                           // packet pushes a tag first.
  uint8_t table = kCurrentTable;           // kResubmit/kGotoTable target.
  uint32_t port = 0;                       // kOutput port; kResubmit in_port.
  cls::U128 value;                         // kSetField value (right-aligned);
                                           // kPushVlan: value.lo = TPID.
  cls::U128 mask;                          // kSetField bits written.
  bool operator==(const Action&) const = default;
};

enum class DpActionType : uint8_t {
  kOutput,      // Transmit on `port`.
  kSetField,    // Write value/mask into packet field `field`.
  kPushVlan,    // Push a tag: TPID value.hi, TCI value.lo.
  kPopVlan,     // Remove the outer tag.
  kTunnelPush,  // Encapsulate with tunnels[aux], send on the hook's port.
  kTunnelPop,   // Decapsulate for tunnel port `port`, process again.
  kTunnelControl,  // ARP/ND for a local tunnel endpoint, received on `port`.
};

// Parameters of an encapsulation, taken from the translated flow.
struct TunnelPushParams {
  uint32_t tunnel_port = 0;     // Datapath number of the tunnel port.
  uint64_t tun_id = 0;          // VNI / STT context.
  uint32_t tun_src = 0;         // Outer IPv4 source (0: the port's local_ip).
  uint32_t tun_dst = 0;         // Outer IPv4 destination (0: the port's remote).
  cls::U128 tun_ipv6_src;       // Outer IPv6 source (zero: unset).
  cls::U128 tun_ipv6_dst;       // Outer IPv6 destination (zero: unset).
  uint16_t geneve_class = 0;    // Geneve option class (0: no option).
  uint8_t geneve_type = 0;      // Geneve option type.
  uint32_t geneve_value = 0;    // Geneve option value (tun_metadata0).
  bool operator==(const TunnelPushParams&) const = default;
};

// One datapath action.
struct DpAction {
  DpActionType type = DpActionType::kOutput;  // What to do.
  cls::Field field = cls::Field::kInPort;     // kSetField: the field.
  uint16_t aux = 0;                           // kTunnelPush: index in tunnels.
  uint32_t port = 0;                          // kOutput / kTunnelPop port.
  cls::U128 value;                            // kSetField / kPushVlan value.
  cls::U128 mask;                             // kSetField mask.
  bool operator==(const DpAction&) const = default;
};

// A compiled action list.
struct DpActions {
  std::vector<DpAction> acts;               // In execution order.
  std::vector<TunnelPushParams> tunnels;    // Referenced by kTunnelPush.aux.
  DropReason drop_reason = DropReason::kExplicitDrop;  // Why, if no consumer.
  int last_consumer = -1;                   // Index of the last output/push/
                                            // pop (set by Finalize).
  // Computes last_consumer and drops edits after it (they change nothing).
  void Finalize();
  bool operator==(const DpActions& o) const {
    return acts == o.acts && tunnels == o.tunnels && drop_reason == o.drop_reason;
  }
};

class ExecSink;

// MatchUnderlay's answer for ARP/ND traffic that the tunnel implementation
// answers or learns itself (a kTunnelControl action).
inline constexpr uint32_t kUnderlayControl = 0xfffffffeu;

// The seam for the tunnels component (see the header comment).
class TunnelHook {
 public:
  virtual ~TunnelHook() = default;
  // Slow path: true when datapath port `port` is a tunnel port (output to
  // it becomes a kTunnelPush).
  virtual bool IsTunnelPort(uint32_t port) const = 0;
  // Slow path: the tunnel port whose traffic `key` is (a packet for a local
  // tunnel endpoint on an underlay port), or 0 for ordinary traffic.  ORs
  // into *wc every key bit consulted.
  virtual uint32_t MatchUnderlay(const cls::FlowKey& key, cls::FlowKey* wc) const = 0;
  // Fast path: encapsulates `pkt` in place; on success returns kNone and
  // sets *out_port to the underlay port to transmit on; otherwise returns
  // the reason (the caller drops the packet).
  virtual DropReason Push(const TunnelPushParams& params, Packet* pkt,
                          uint32_t* out_port) = 0;
  // Fast path: decapsulates `pkt` (received as tunnel traffic for
  // `tunnel_port`) in place and writes the tunnel fields (tun_id, tun_src,
  // tun_dst, tun_ipv6_*, geneve_*) into *md; returns kNone or the reason.
  virtual DropReason Pop(uint32_t tunnel_port, Packet* pkt, cls::FlowKey* md) = 0;
  // Fast path: encapsulates `pkt` and hands every resulting packet to
  // `sink` (Output, or Drop with a reason).  An implementation may emit
  // several packets (STT segments) or extra ones (ARP requests).  The
  // default wraps Push.
  virtual void PushTo(const TunnelPushParams& params, Packet* pkt, ExecSink* sink);
  // Fast path: decapsulates `pkt` and hands it to sink->Recirculate (with
  // the tunnel port it was received on, which may differ from
  // `tunnel_port`), sink->Drop, or keeps it (a held STT segment).  The
  // default wraps Pop.
  virtual void PopTo(uint32_t tunnel_port, Packet* pkt, ExecSink* sink);
  // Fast path: PushTo for each of pkts[0..n), all of one megaflow (same
  // `params`), so per-batch work (state, port, template) is done once.
  // The default calls PushTo per packet.
  virtual void PushBatch(const TunnelPushParams& params, Packet* const* pkts, uint32_t n,
                         ExecSink* sink);
  // Fast path: PopTo for each of pkts[0..n), all of one megaflow.  The
  // default calls PopTo per packet.
  virtual void PopBatch(uint32_t tunnel_port, Packet* const* pkts, uint32_t n, ExecSink* sink);
  // Fast path, before classification of a batch received on `in_port`:
  // decapsulates the packets of pkts[0..n) whose translation could only
  // be a tunnel pop that succeeds (valid tunnel traffic for a local
  // endpoint on an underlay port) and hands them to sink->Recirculate;
  // moves the others, in order, to the front and returns their count
  // (they are classified as usual).  The default takes none.
  virtual uint32_t PopEarly(uint32_t /*in_port*/, Packet** /*pkts*/, uint32_t n,
                            ExecSink* /*sink*/) {
    return n;
  }
  // Fast path: ARP/ND received on underlay port `in_port` that
  // MatchUnderlay claimed; the packet is answered (sink->Output), learned
  // and freed, or dropped.  The default drops it (kTunnelPopFailed).
  virtual void Control(uint32_t in_port, Packet* pkt, ExecSink* sink);
};

// Where ExecuteDpActions sends its results.
class ExecSink {
 public:
  virtual ~ExecSink() = default;
  // Takes `pkt` for transmission on datapath port `port`.
  virtual void Output(uint32_t port, Packet* pkt) = 0;
  // Output for each of pkts[0..n), in order.
  virtual void OutputBatch(uint32_t port, Packet* const* pkts, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) Output(port, pkts[i]);
  }
  // A copy of `pkt` (contiguous, same data), or nullptr when out of buffers.
  virtual Packet* Clone(const Packet* pkt) = 0;
  // Takes `pkt` and frees it, counting `why`.  `pkt` is nullptr for a copy
  // that could not be made (kCloneFailed): only the count happens.
  virtual void Drop(Packet* pkt, DropReason why) = 0;
  // Takes a decapsulated `pkt` to process again as received on `in_port`
  // with tunnel metadata `md`.
  virtual void Recirculate(Packet* pkt, uint32_t in_port, const cls::FlowKey& md) = 0;
  // The tunnel implementation, or nullptr.
  virtual TunnelHook* tunnel_hook() = 0;
};

// Executes `actions` on `pkt` (whose headers are at `layout`), consuming
// it: every copy ends in sink->Output, sink->Recirculate or sink->Drop.
void ExecuteDpActions(const DpActions& actions, Packet* pkt, FrameLayout layout,
                      ExecSink* sink);

// dpif-style text of a datapath action list: "set(eth_src=..),2,3" or
// "drop".
std::string FormatDpActions(const DpActions& actions);

}  // namespace spate::datapath

#endif  // SPATE_DATAPATH_ACTIONS_H
