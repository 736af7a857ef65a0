#include "datapath/drop_reasons.h"

namespace spate::datapath {

const char* DropReasonName(DropReason r) {
  switch (r) {
    case DropReason::kNone: return "none";
    case DropReason::kNoRule: return "no_rule";
    case DropReason::kExplicitDrop: return "explicit_drop";
    case DropReason::kResubmitTooDeep: return "resubmit_too_deep";
    case DropReason::kTooManyResubmits: return "too_many_resubmits";
    case DropReason::kTtlExpired: return "ttl_expired";
    case DropReason::kNoSuchPort: return "no_such_port";
    case DropReason::kCloneFailed: return "clone_failed";
    case DropReason::kNoTunnelHook: return "no_tunnel_hook";
    case DropReason::kTunnelPushFailed: return "tunnel_push_failed";
    case DropReason::kTunnelPopFailed: return "tunnel_pop_failed";
    case DropReason::kRecirculationLimit: return "recirculation_limit";
    case DropReason::kNonContiguous: return "non_contiguous";
    case DropReason::kNoHeadroom: return "no_headroom";
    case DropReason::kCount: break;
  }
  return "unknown";
}

}  // namespace spate::datapath
