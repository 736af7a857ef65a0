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
# Missing arguments, unreadable files, unreachable servers: one line on
# stderr (ovs-appctl's connect failure also logs a warning first, exactly as
# Open vSwitch's does, so it is allowed two), a non-zero exit, no crash.
bad_usage=(
  "1|ovsdb-tool db-name $tmp/missing.db"
  "1|ovsdb-tool create $tmp/a.db $tmp/missing.ovsschema"
  "1|ovsdb-tool frobnicate"
  "1|ovsdb-server $tmp/missing.db"
  "1|ovsdb-server --remote"
  "1|ovsdb-client --format"
  "1|ovsdb-client list-dbs unix:$tmp/missing.sock"
  "1|ovsdb-client frobnicate"
  "1|ovs-appctl"
  "1|ovs-appctl -t"
  "2|ovs-appctl -t $tmp/missing.ctl version"
  "1|ovn-nbctl --db=unix:$tmp/missing.sock -t 1 lswitch-list"
  "1|ovn-nbctl --db"
  "1|ovn-nbctl lport-add"
  "1|ovn-nbctl acl-add sw0 1 ip"
  "1|ovn-nbctl frobnicate"
)
n_cases=0
for entry in "${bad_usage[@]}"; do
  max_lines=${entry%%|*}; cmd=${entry#*|}; prog=${cmd%% *}
  [[ -x $bindir/$prog ]] || continue
  n_cases=$((n_cases + 1))
  # shellcheck disable=SC2086
  timeout 20 "$bindir/$prog" ${cmd#* } </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?
  ((rc != 0 && rc < 124)) || fail "'$cmd' exited $rc"
  n_lines=$(wc -l <"$tmp/err")
  ((n_lines >= 1 && n_lines <= max_lines)) || fail "'$cmd' stderr has $n_lines lines: $(cat "$tmp/err")"
  tail -1 "$tmp/err" | grep -q "^$prog: " || fail "'$cmd' error does not start with '$prog: '"
  crashed "$tmp/err" && fail "'$cmd' crashed"
  echo "ok: $cmd"
done

echo "$((${#programs[@]} + n_cases - failures)) passed, $failures failed"
((failures == 0))
