// Replays a libFuzzer corpus through LLVMFuzzerTestOneInput without libFuzzer,
// so that `make check` (GCC, no fuzzing runtime) runs every fuzz target over
// its checked-in corpus.  Arguments are files or directories (read
// recursively).  Exits 0 when every input ran; a crash is a test failure.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz-replay: %s: cannot open\n", path.c_str());
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                         bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  size_t n_inputs = 0;
  bool ok = true;
  for (int i = 1; i < argc; i++) {
    std::error_code ec;
    fs::path arg(argv[i]);
    if (fs::is_directory(arg, ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) {
          ok = RunFile(entry.path()) && ok;
          n_inputs++;
        }
      }
    } else {
      ok = RunFile(arg) && ok;
      n_inputs++;
    }
  }
  if (n_inputs == 0) {
    std::fprintf(stderr, "fuzz-replay: no inputs given\n");
    return 1;
  }
  std::printf("fuzz-replay: %zu inputs ran\n", n_inputs);
  return ok ? 0 : 1;
}
