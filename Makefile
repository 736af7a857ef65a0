# The two commands of the README, and a few more.  CMake and Ninja do the
# building; this file only strings steps together.
#   make sandbox [SANDBOXFLAGS=...] [SANDBOX_CMD='cmd; cmd']
#   make check        install what is missing, build, run every test (ctest)
#   make bench        run every micro-benchmark
#   make fuzz         long libFuzzer runs (clang preset), FUZZ_SECONDS each
#   make asan|tsan    build and test under a sanitizer preset
PRESET ?= release
BUILD_DIR = $(if $(filter release,$(PRESET)),build,build-$(PRESET))
FUZZ_SECONDS ?= 600
CTEST_JOBS ?= 2
WERROR = $(if $(filter true,$(CI)),-DSPATE_WERROR=ON,)

.PHONY: all deps peers configure build check sandbox bench fuzz asan tsan clean

all: build

deps:
	@scripts/install-deps.sh

peers:
	@scripts/install-deps.sh --peers

configure: deps
	@cmake --preset $(PRESET) $(WERROR) >/dev/null

build: configure
	@cmake --build --preset $(PRESET)

check: peers configure
	@cmake --build --preset $(PRESET)
	@cd $(BUILD_DIR) && ctest --output-on-failure -j$(CTEST_JOBS)

sandbox: build
	@tools/ovs-sandbox --builddir=$(BUILD_DIR) $(SANDBOXFLAGS)


bench: build
	@perf/run-benchmarks.sh $(BUILD_DIR)

asan:
	@$(MAKE) check PRESET=asan

tsan:
	@$(MAKE) check PRESET=tsan

fuzz:
	@scripts/install-deps.sh --fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz
	@perf/run-fuzzers.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-*
