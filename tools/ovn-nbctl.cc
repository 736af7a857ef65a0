// ovn-nbctl: manages the OVN_Northbound database, one command per run.
// The logic is in northd/nbctl.{h,cc}; this is only the process shell:
// output on stdout, one "ovn-nbctl: ..." line on stderr and exit 1 on error.
#include <cstdio>
#include <string>
#include <vector>

#include "northd/nbctl.h"

namespace {

int Fail(const spate::Error& error) {
  const std::string& text = error.details().empty() ? error.tag() : error.details();
  std::fprintf(stderr, "ovn-nbctl: %s\n", text.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  spate::Result<spate::northd::NbctlOptions> options = spate::northd::ParseNbctlArgs(args);
  if (!options) return Fail(options.error());
  if (options->help) {
    std::fputs(spate::northd::NbctlUsage().c_str(), stdout);
    return 0;
  }
  if (options->version) {
    std::printf("%s\n", spate::northd::NbctlVersion().c_str());
    return 0;
  }
  spate::Result<std::string> out = spate::northd::RunNbctl(*options);
  if (!out) return Fail(out.error());
  std::fputs(out->c_str(), stdout);
  return 0;
}
