#!/usr/bin/env bash
# Runs every Google Benchmark binary of a build (make bench).
#   perf/run-benchmarks.sh BUILD_DIR [benchmark flags...]
set -euo pipefail
build=${1:?usage: perf/run-benchmarks.sh BUILD_DIR [benchmark flags]}
shift
shopt -s nullglob
benches=("$build"/bench-bin/*)
if ((${#benches[@]} == 0)); then
  echo "run-benchmarks: no benchmarks in $build/bench-bin" >&2
  exit 1
fi
for b in "${benches[@]}"; do
  [[ -x "$b" ]] || continue
  echo "== $(basename "$b")"
  "$b" --benchmark_repetitions=${REPS:-3} --benchmark_report_aggregates_only=true "$@"
done
