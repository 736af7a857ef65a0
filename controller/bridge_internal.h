// Shared by bridge*.cc only: what the database asks for, and small helpers.
//
// Thread-safety: the Vswitch's loop thread, like Vswitch.
#ifndef SPATE_CONTROLLER_BRIDGE_INTERNAL_H
#define SPATE_CONTROLLER_BRIDGE_INTERNAL_H

#include <map>
#include <optional>
#include <string>

#include "controller/bridge.h"
#include "ovsdb/idl.h"
#include "ovsdb/idl_replica.h"

namespace spate::controller {

// The bridges and interfaces the database describes.
struct Vswitch::Desired {
  std::map<std::string, std::string> bridges;  // Bridge name -> datapath_type.
  std::map<std::string, IfaceState> ifaces;    // Interface name -> wanted
                                               // state (error: refused before
                                               // creation, e.g. duplicate).
};

// The Open_vSwitch table's row, or nullopt when `init` has not run.
std::optional<ovsdb::idl::RowView> OpenVswitchRow(ovsdb::idl::Idl& idl);

// geneve, vxlan, stt (the datapath's definition, port_factory.h).
using datapath::IsTunnelType;

}  // namespace spate::controller

#endif  // SPATE_CONTROLLER_BRIDGE_INTERNAL_H
