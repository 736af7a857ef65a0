// ovsdb-tool: Open vSwitch's database management utility; the logic lives
// in ovsdb/tool.cc.
#include <iostream>
#include <string>
#include <vector>

#include "ovsdb/tool.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return spate::ovsdb::RunTool(args, std::cout, std::cerr);
}
