#!/usr/bin/env bash
# Long libFuzzer runs (make fuzz): each fuzz target of the fuzz preset runs for
# SECONDS, starting from its checked-in corpus, new inputs going to a scratch
# corpus under BUILD_DIR (merge the good ones back by hand).
#   perf/run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]
set -euo pipefail
build=${1:?usage: perf/run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: perf/run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
shopt -s nullglob
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in "$build"/tests-bin/*_fuzz; do targets+=("$(basename "$f")"); done
fi
((${#targets[@]} > 0)) || { echo "run-fuzzers: no *_fuzz targets in $build/tests-bin" >&2; exit 1; }
for t in "${targets[@]}"; do
  # The corpus spate_fuzz(... CORPUS dir) names (cmake/Spate.cmake writes it).
  corpus=
  [[ -r "$build/fuzz-corpora/$t" ]] && corpus=$(<"$build/fuzz-corpora/$t")
  [[ -z "$corpus" || -d "$corpus" ]] || { echo "run-fuzzers: $t: no corpus $corpus" >&2; exit 1; }
  scratch="$build/fuzz-work/$t"
  mkdir -p "$scratch"
  echo "== $t for ${seconds}s (corpus ${corpus:-none})"
  "$build/tests-bin/$t" -max_total_time="$seconds" -print_final_stats=1 "$scratch" ${corpus:+"$corpus"}
done
