// Port helpers that need no device.
#include "datapath/port.h"

#include <cstdio>

namespace spate::datapath {

std::string MacAddress::ToString() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]);
  return buf;
}

}  // namespace spate::datapath
