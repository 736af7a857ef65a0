#include "datapath/actions.h"

#include <cstdio>

namespace spate::datapath {
namespace {

bool IsConsumer(DpActionType t) {
  return t == DpActionType::kOutput || t == DpActionType::kTunnelPush ||
         t == DpActionType::kTunnelPop || t == DpActionType::kTunnelControl;
}

FrameView ViewOf(Packet* pkt) {
  return FrameView{pkt->buffer(), pkt->buffer_bytes(), pkt->headroom(), pkt->length()};
}

// Applies one edit to `pkt`; false when the packet cannot be edited (it
// was then handed to the sink as a drop).
bool ApplyEdit(const DpAction& a, Packet* pkt, FrameLayout* layout, ExecSink* sink) {
  if (!pkt->is_contiguous()) {
    sink->Drop(pkt, DropReason::kNonContiguous);
    return false;
  }
  FrameView v = ViewOf(pkt);
  switch (a.type) {
    case DpActionType::kSetField:
      EditSetField(&v, *layout, a.field, a.value, a.mask);
      break;
    case DpActionType::kPushVlan:
      if (!EditPushVlan(&v, layout, static_cast<uint16_t>(a.value.hi),
                        static_cast<uint16_t>(a.value.lo))) {
        sink->Drop(pkt, DropReason::kNoHeadroom);
        return false;
      }
      break;
    case DpActionType::kPopVlan:
      EditPopVlan(&v, layout);
      break;
    default:
      break;
  }
  pkt->SetDataWindow(v.offset, v.length);
  return true;
}

// Hands `pkt` (the original or a copy) to consumer `a`.
void Consume(const DpActions& acts, const DpAction& a, Packet* pkt, ExecSink* sink) {
  if (a.type == DpActionType::kOutput) {
    sink->Output(a.port, pkt);
    return;
  }
  TunnelHook* hook = sink->tunnel_hook();
  if (hook == nullptr) {
    sink->Drop(pkt, DropReason::kNoTunnelHook);
    return;
  }
  if (a.type == DpActionType::kTunnelPush) {
    hook->PushTo(acts.tunnels[a.aux], pkt, sink);
  } else if (a.type == DpActionType::kTunnelPop) {
    hook->PopTo(a.port, pkt, sink);
  } else {
    hook->Control(a.port, pkt, sink);
  }
}

}  // namespace

void TunnelHook::PushTo(const TunnelPushParams& params, Packet* pkt, ExecSink* sink) {
  uint32_t out = 0;
  DropReason r = Push(params, pkt, &out);
  if (r != DropReason::kNone) {
    sink->Drop(pkt, r);
  } else {
    sink->Output(out, pkt);
  }
}

void TunnelHook::PopTo(uint32_t tunnel_port, Packet* pkt, ExecSink* sink) {
  cls::FlowKey md{};
  DropReason r = Pop(tunnel_port, pkt, &md);
  if (r != DropReason::kNone) {
    sink->Drop(pkt, r);
  } else {
    sink->Recirculate(pkt, tunnel_port, md);
  }
}

void TunnelHook::PushBatch(const TunnelPushParams& params, Packet* const* pkts, uint32_t n,
                           ExecSink* sink) {
  for (uint32_t i = 0; i < n; ++i) PushTo(params, pkts[i], sink);
}

void TunnelHook::PopBatch(uint32_t tunnel_port, Packet* const* pkts, uint32_t n,
                          ExecSink* sink) {
  for (uint32_t i = 0; i < n; ++i) PopTo(tunnel_port, pkts[i], sink);
}

void TunnelHook::Control(uint32_t /*in_port*/, Packet* pkt, ExecSink* sink) {
  sink->Drop(pkt, DropReason::kTunnelPopFailed);
}

void DpActions::Finalize() {
  last_consumer = -1;
  for (size_t i = 0; i < acts.size(); ++i) {
    if (IsConsumer(acts[i].type)) last_consumer = static_cast<int>(i);
  }
  acts.resize(static_cast<size_t>(last_consumer + 1));
}

void ExecuteDpActions(const DpActions& actions, Packet* pkt, FrameLayout layout,
                      ExecSink* sink) {
  if (actions.last_consumer < 0) {
    sink->Drop(pkt, actions.drop_reason);
    return;
  }
  for (int i = 0; i <= actions.last_consumer; ++i) {
    const DpAction& a = actions.acts[static_cast<size_t>(i)];
    if (!IsConsumer(a.type)) {
      if (!ApplyEdit(a, pkt, &layout, sink)) return;
      continue;
    }
    if (i == actions.last_consumer) {
      Consume(actions, a, pkt, sink);
      return;
    }
    Packet* copy = sink->Clone(pkt);
    if (copy == nullptr) {
      // The copy is lost, not the packet: count it and carry on.
      Packet* none = nullptr;
      sink->Drop(none, DropReason::kCloneFailed);
      continue;
    }
    Consume(actions, a, copy, sink);
  }
}

namespace {

std::string FieldValueText(cls::Field f, cls::U128 v, cls::U128 m) {
  return cls::FormatField(f, v, m);
}

}  // namespace

std::string FormatDpActions(const DpActions& actions) {
  if (actions.last_consumer < 0) return "drop";
  std::string out;
  char buf[96];
  for (const DpAction& a : actions.acts) {
    if (!out.empty()) out += ',';
    switch (a.type) {
      case DpActionType::kOutput:
        out += std::to_string(a.port);
        break;
      case DpActionType::kSetField:
        out += "set(" + std::string(cls::GetFieldInfo(a.field).name) + "=" +
               FieldValueText(a.field, a.value, a.mask) + ")";
        break;
      case DpActionType::kPushVlan:
        std::snprintf(buf, sizeof buf, "push_vlan(tpid=0x%04x,vid=%u,pcp=%u)",
                      static_cast<unsigned>(a.value.hi),
                      static_cast<unsigned>(a.value.lo & 0xfff),
                      static_cast<unsigned>(a.value.lo >> 13 & 7));
        out += buf;
        break;
      case DpActionType::kPopVlan:
        out += "pop_vlan";
        break;
      case DpActionType::kTunnelPush: {
        const TunnelPushParams& t = actions.tunnels[a.aux];
        std::snprintf(buf, sizeof buf, "tnl_push(tnl_port=%u,tun_id=0x%llx",
                      t.tunnel_port, static_cast<unsigned long long>(t.tun_id));
        out += buf;
        if (t.tun_dst != 0) {
          out += ",dst=" + cls::FormatField(cls::Field::kTunDst, {0, t.tun_dst},
                                            {0, 0xffffffff});
        }
        out += ")";
        break;
      }
      case DpActionType::kTunnelPop:
        out += "tnl_pop(" + std::to_string(a.port) + ")";
        break;
      case DpActionType::kTunnelControl:
        out += "tnl_neigh(in_port=" + std::to_string(a.port) + ")";
        break;
    }
  }
  return out;
}

}  // namespace spate::datapath
