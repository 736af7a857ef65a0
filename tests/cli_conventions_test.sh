#!/usr/bin/env bash
# Every program in build/bin follows the command-line conventions:
#   --help     exits 0 and prints a usage text
#   --version  exits 0 and prints "NAME (Spate) VERSION" on its first line
#   a bad option, or a missing option argument, exits non-zero with a one-line
#   error on stderr, never a crash or a stack trace.
# Usage: cli_conventions_test.sh BIN_DIR
set -uo pipefail
bindir=${1:?usage: cli_conventions_test.sh BIN_DIR}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export OVS_RUNDIR=$tmp OVS_LOGDIR=$tmp OVS_DBDIR=$tmp OVS_SYSCONFDIR=$tmp

crashed() {  # FILE: does the output look like a crash?
  grep -q -E 'terminate called|Aborted|Segmentation|AddressSanitizer|runtime error:|stack trace|core dumped' "$1"
}

shopt -s nullglob
programs=("$bindir"/*)
((${#programs[@]})) || { echo "FAIL: no programs in $bindir"; exit 1; }
for prog in "${programs[@]}"; do
  [[ -x $prog && -f $prog ]] || continue
  name=$(basename "$prog")
  timeout 20 "$prog" --help >"$tmp/out" 2>"$tmp/err"; rc=$?
  ((rc == 0)) || fail "$name --help exited $rc"
  [[ -s $tmp/out ]] || fail "$name --help printed nothing"
  timeout 20 "$prog" --version >"$tmp/out" 2>"$tmp/err"; rc=$?
  ((rc == 0)) || fail "$name --version exited $rc"
  head -1 "$tmp/out" | grep -q "^$name (Spate) " || fail "$name --version first line: $(head -1 "$tmp/out")"
  timeout 20 "$prog" --no-such-option </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?
  ((rc != 0 && rc < 124)) || fail "$name --no-such-option exited $rc"
  (($(wc -l <"$tmp/err") == 1)) || fail "$name --no-such-option stderr is not one line: $(cat "$tmp/err")"
  crashed "$tmp/err" && fail "$name --no-such-option crashed"
  echo "ok: $name"
done
echo "$((${#programs[@]} - failures)) passed, $failures failed"
((failures == 0))
