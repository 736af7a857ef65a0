#!/usr/bin/env bash
# The sandbox's non-interactive form: runs commands inside the sandbox with
# OVS_* pointing at a private directory, exits with their status, stops every
# daemon it started and removes its directory.
# Usage: sandbox_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=${1:?}; build=${2:?}
sandbox=$src/tools/ovs-sandbox
failures=0; passes=0
check() { if eval "$2"; then passes=$((passes + 1)); else echo "FAIL: $1"; failures=$((failures + 1)); fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# The status of the commands is the sandbox's status.
"$sandbox" --builddir="$build" --command 'exit 0' >/dev/null 2>&1; rc=$?
check "exit 0 propagates (got $rc)" '((rc == 0))'
SANDBOX_CMD='exit 7' "$sandbox" --builddir="$build" >/dev/null 2>&1; rc=$?
check "exit 7 propagates through SANDBOX_CMD (got $rc)" '((rc == 7))'

# Environment inside, and the directory is private and removed afterwards.
"$sandbox" --builddir="$build" --sandbox-dir="$tmp/sb" \
    --command 'echo "$OVS_RUNDIR|$OVS_LOGDIR|$OVS_DBDIR|$OVS_SYSCONFDIR|$PATH|$PWD"' >"$tmp/env" 2>/dev/null
IFS='|' read -r run log dbd sysc path pwd <"$tmp/env"
check "OVS_RUNDIR is the sandbox ($run)" '[[ $run == "$tmp/sb" ]]'
check "OVS_LOGDIR, OVS_DBDIR, OVS_SYSCONFDIR too" '[[ $log == "$tmp/sb" && $dbd == "$tmp/sb" && $sysc == "$tmp/sb" ]]'
check "build/bin is first on PATH ($path)" '[[ ${path%%:*} == "$(cd "$build" && pwd)/bin" ]]'
check "the commands run in the sandbox dir" '[[ $pwd == "$tmp/sb" ]]'
check "the sandbox dir is removed on exit" '[[ ! -e $tmp/sb ]]'
"$sandbox" --builddir="$build" --sandbox-dir="$tmp/kept" --keep --command true >/dev/null 2>&1
check "--keep keeps it" '[[ -d $tmp/kept ]]'

# Daemons started by the sandbox are gone after it exits.
"$sandbox" --builddir="$build" --sandbox-dir="$tmp/sb2" --keep \
    --command 'for f in *.pid; do [ -e "$f" ] && cat "$f"; done' >"$tmp/pids" 2>/dev/null
n_daemons=$(wc -l <"$tmp/pids")
while read -r pid; do
  check "daemon $pid stopped" '! kill -0 "$pid" 2>/dev/null'
done <"$tmp/pids"
if [[ -x $build/bin/ovsdb-server ]]; then
  check "ovsdb-server was started (pids: $n_daemons)" '((n_daemons >= 1))'
fi

# --ovsdb-server / SANDBOX_OVSDB_SERVER: another server serves the sandbox.
if [[ -x /usr/sbin/ovsdb-server && -x $build/bin/ovsdb-tool ]]; then
  exe_of_server='readlink /proc/$(cat ovsdb-server.pid)/exe; ovsdb-client list-dbs'
  "$sandbox" --builddir="$build" --ovsdb-server=/usr/sbin/ovsdb-server \
      --command "$exe_of_server" >"$tmp/exe" 2>/dev/null; rc=$?
  check "--ovsdb-server=/usr/sbin/ovsdb-server serves the sandbox (rc $rc)" \
      '((rc == 0)) && [[ $(tr "\n" " " <"$tmp/exe") == "/usr/sbin/ovsdb-server OVN OVN_Northbound Open_vSwitch _Server " ]]'
  SANDBOX_OVSDB_SERVER=/usr/sbin/ovsdb-server "$sandbox" --builddir="$build" \
      --command "$exe_of_server" >"$tmp/exe" 2>/dev/null
  check "SANDBOX_OVSDB_SERVER does the same" '[[ $(head -1 "$tmp/exe") == /usr/sbin/ovsdb-server ]]'
fi
"$sandbox" --builddir="$build" --ovsdb-server="$tmp/none" --command true >/dev/null 2>"$tmp/err"; rc=$?
check "--ovsdb-server with a missing file fails with one line" \
    '((rc != 0)) && (($(wc -l <"$tmp/err") == 1)) && grep -q "is not an executable file" "$tmp/err"'

# Bad usage: one line on stderr, non-zero exit.
"$sandbox" --builddir="$build" --bogus >/dev/null 2>"$tmp/err"; rc=$?
check "bad option fails (rc $rc)" '((rc != 0))'
check "bad option: one-line error" '(($(wc -l <"$tmp/err") == 1))'
"$sandbox" --builddir="$tmp/nonexistent" --command true >/dev/null 2>"$tmp/err"; rc=$?
check "missing build dir fails" '((rc != 0)) && grep -q "does not exist" "$tmp/err"'

echo "$passes passed, $failures failed"
((failures == 0))
