# Helpers every component's CMakeLists.txt uses, so that each stays a short
# declaration:
#
#   spate_library(NAME SOURCES a.cc b.cc DEPS other_lib ...)
#       A static library spate_NAME; includes start at the repository root.
#   spate_executable(NAME SOURCES main.cc DEPS ...)
#       A program in build/bin/NAME (tools and daemons keep Open vSwitch's names).
#   spate_test(NAME SOURCES foo_test.cc DEPS ... [LABELS l] [TIMEOUT s] [SERIAL])
#       A GoogleTest binary registered with ctest.
#   spate_bench(NAME SOURCES foo_bench.cc DEPS ...)
#       A Google Benchmark binary; `make bench` runs every one.
#   spate_fuzz(NAME SOURCES foo_fuzz.cc DEPS ... CORPUS dir)
#       A libFuzzer target.  With GCC (the normal build) it links a replay
#       driver and ctest replays the corpus; with the `fuzz` preset (clang,
#       SPATE_FUZZ=ON) it is a real libFuzzer binary for `make fuzz`.
include_guard(GLOBAL)

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(OpenSSL 3 REQUIRED)

set(SPATE_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
    -Wnon-virtual-dtor
    -Wimplicit-fallthrough -Wformat=2)
if(SPATE_WERROR)
  list(APPEND SPATE_WARNINGS -Werror)
endif()

set(SPATE_SAN_FLAGS "")
if(SPATE_SANITIZE)
  set(SPATE_SAN_FLAGS -fsanitize=${SPATE_SANITIZE} -fno-omit-frame-pointer
      -fno-sanitize-recover=all)
endif()

# In the fuzz preset every library is instrumented for coverage, so that
# libFuzzer sees the edges of the code under test, not only the target's.
if(SPATE_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=fuzzer-no-link)
endif()

set_property(GLOBAL PROPERTY SPATE_BENCHES "")

function(_spate_common target)
  target_compile_options(${target} PRIVATE ${SPATE_WARNINGS} ${SPATE_SAN_FLAGS})
  target_link_options(${target} PRIVATE ${SPATE_SAN_FLAGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

function(spate_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(spate_${name} STATIC ${A_SOURCES})
  _spate_common(spate_${name})
  target_compile_options(spate_${name} PUBLIC ${SPATE_SAN_FLAGS})
  target_link_options(spate_${name} PUBLIC ${SPATE_SAN_FLAGS})
  target_link_libraries(spate_${name} PUBLIC ${A_DEPS} PRIVATE ${A_PRIVATE_DEPS})
endfunction()

function(spate_executable name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  _spate_common(${name})
  target_link_libraries(${name} PRIVATE ${A_DEPS})
endfunction()

function(spate_test name)
  cmake_parse_arguments(A "SERIAL" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  _spate_common(${name})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${SPATE_TEST_BIN_DIR})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main
                        GTest::gmock Threads::Threads)
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${A_TIMEOUT}
      ENVIRONMENT "SPATE_SOURCE_DIR=${PROJECT_SOURCE_DIR};SPATE_BIN_DIR=${CMAKE_BINARY_DIR}/bin")
  if(A_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${A_LABELS}")
  endif()
  if(A_SERIAL)
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()

function(spate_bench name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  _spate_common(${name})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${SPATE_BENCH_BIN_DIR})
  target_link_libraries(${name} PRIVATE ${A_DEPS} benchmark::benchmark
                        benchmark::benchmark_main Threads::Threads)
  set_property(GLOBAL APPEND PROPERTY SPATE_BENCHES ${name})
endfunction()

function(spate_fuzz name)
  cmake_parse_arguments(A "" "CORPUS" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  _spate_common(${name})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${SPATE_TEST_BIN_DIR})
  target_link_libraries(${name} PRIVATE ${A_DEPS})
  if(SPATE_FUZZ)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    target_link_libraries(${name} PRIVATE spate_fuzz_replay)
  endif()
  set(corpus ${CMAKE_CURRENT_SOURCE_DIR}/${A_CORPUS})
  set_property(GLOBAL APPEND PROPERTY SPATE_FUZZERS "${name}=${corpus}")
  # perf/run-fuzzers.sh (make fuzz) reads each target's corpus from here.
  file(WRITE ${CMAKE_BINARY_DIR}/fuzz-corpora/${name} "${corpus}\n")
  if(SPATE_FUZZ)
    # A short run per target, so ctest in the fuzz preset exercises libFuzzer.
    add_test(NAME ${name} COMMAND ${name} -runs=2000 ${corpus})
  else()
    add_test(NAME ${name}_replay COMMAND ${name} ${corpus})
  endif()
endfunction()
