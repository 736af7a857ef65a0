// ovs-vsctl: manages the local Open_vSwitch database.  The logic is in
// tools/vsctl/; this is only the process shell: output on stdout, warnings
// and one "ovs-vsctl: ..." error line on stderr, Open vSwitch's exit codes.
#include <cstdio>
#include <string>
#include <vector>

#include "tools/vsctl/vsctl.h"

namespace {

int Fail(const spate::Error& error) {
  std::string text = spate::vsctl::ErrorText(error);
  if (!text.empty()) std::fprintf(stderr, "ovs-vsctl: %s\n", text.c_str());
  return spate::vsctl::ExitStatus(error);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  spate::Result<spate::vsctl::VsctlOptions> options = spate::vsctl::ParseVsctlArgs(args);
  if (!options) return Fail(options.error());
  if (options->help) {
    std::fputs(spate::vsctl::VsctlUsage().c_str(), stdout);
    return 0;
  }
  if (options->version) {
    std::printf("%s\n", spate::vsctl::VsctlVersion().c_str());
    return 0;
  }
  std::vector<std::string> warnings;
  spate::Result<std::string> out = spate::vsctl::RunVsctl(*options, &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "ovs-vsctl: %s\n", w.c_str());
  if (!out) return Fail(out.error());
  std::fputs(out->c_str(), stdout);
  return 0;
}
