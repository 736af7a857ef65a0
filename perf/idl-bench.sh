#!/usr/bin/env bash
# idl-bench.sh [BUILD_DIR]: our OVSDB client library (BUILD_DIR/bench-bin/idl-bench)
# against Open vSwitch 3.1's Python IDL (ovs.db.idl, perf/idl_bench_py.py under
# Debian's /usr/bin/python3), one after the other against the same server
# (BUILD_DIR/bin/ovsdb-server, or SERVER=/usr/sbin/ovsdb-server), same workloads:
#   (a) sync:   initial sync of ROWS Logical_Switch rows: seconds from creating
#               the IDL to a complete replica (this includes the server's time
#               to build the reply), the replica process's CPU seconds, VmRSS.
#   (b) follow: a replica of Logical_Router (ROUTERS rows) while another client
#               (perf/idl_bench_load.py, raw JSON-RPC) sends N_UPDATES one-row
#               updates, 256 in flight: seconds from the first change to the
#               last, and the replica process's CPU seconds meanwhile.
#   (c) commit: N_COMMITS single-row transactions one after the other (each waits
#               for its reply): seconds and client CPU seconds.
# Each case runs REPEAT times, alternating the two clients; the table gives
# medians and the ratio OVS-Python/Spate (> 1 means ours is better).
#
# Env: REPEAT=3 ROWS=100000 ROUTERS=1000 N_UPDATES=10000 N_COMMITS=10000
#      SERVER=BUILD_DIR/bin/ovsdb-server TOOL=/usr/bin/ovsdb-tool PY=/usr/bin/python3
#      KEEP=1 (keep the temp dir)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
BUILD=$(cd "${1:-$SRC/build}" && pwd)
REPEAT=${REPEAT:-3}
ROWS=${ROWS:-100000}
ROUTERS=${ROUTERS:-1000}
N_UPDATES=${N_UPDATES:-10000}
N_COMMITS=${N_COMMITS:-10000}
SERVER=${SERVER:-$BUILD/bin/ovsdb-server}
TOOL=${TOOL:-/usr/bin/ovsdb-tool}
PY=${PY:-/usr/bin/python3}
SCHEMA=$SRC/ovsdb/schemas/ovn-nb.ovsschema
CXX_CLIENT=$BUILD/bench-bin/idl-bench
PY_CLIENT=$HERE/idl_bench_py.py
LOADER=$HERE/idl_bench_load.py

for f in "$SERVER" "$TOOL" "$PY" "$CXX_CLIENT"; do
    [[ -x $f ]] || { echo "idl-bench: missing executable $f" >&2; exit 1; }
done
"$PY" -c 'import ovs.db.idl' 2>/dev/null || { echo "idl-bench: $PY has no ovs module (python3-openvswitch)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/idl-bench.XXXXXX")
SERVER_PID=
FOLLOWER_PID=
stop_pid() {
    local pid=$1
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    stop_pid "$FOLLOWER_PID"
    stop_pid "$SERVER_PID"
    if [[ ${KEEP:-0} == 1 ]]; then echo "idl-bench: kept $WORK" >&2; else rm -rf "$WORK"; fi
    (( rc == 0 )) || echo "idl-bench: FAILED (exit $rc)" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SOCK=$WORK/nb.sock
REMOTE=unix:$SOCK
"$TOOL" create "$WORK/nb.db" "$SCHEMA"
"$SERVER" "$WORK/nb.db" --remote="punix:$SOCK" --unixctl="$WORK/ctl" \
    --log-file="$WORK/server.log" </dev/null >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!
for _ in $(seq 1 100); do [[ -S $SOCK ]] && break; sleep 0.05; done
[[ -S $SOCK ]] || { echo "idl-bench: the server did not start:" >&2; cat "$WORK/stderr" >&2; exit 1; }
echo "idl-bench: loading $ROWS switches and $ROUTERS routers" >&2
"$PY" "$LOADER" load "$SOCK" "$ROWS" "$ROUTERS"

RESULTS=$WORK/results.tsv
# run LABEL CMD ARGS...: the client's JSON result, tagged, into $RESULTS.
run() {
    local label=$1 case=$2; shift 2
    local out
    if [[ $label == Spate ]]; then out=$("$CXX_CLIENT" "$@"); else out=$("$PY" "$PY_CLIENT" "$SCHEMA" "$@"); fi
    printf '%s\t%s\t%s\n' "$label" "$case" "$out" >>"$RESULTS"
}
# follow LABEL TOKEN: a follower, the update stream, the follower's result.
follow() {
    local label=$1 token=$2 fifo=$WORK/follow.out
    rm -f "$fifo"
    if [[ $label == Spate ]]; then
        "$CXX_CLIENT" follow "$REMOTE" Logical_Router "$MARKER" "$token" >"$fifo" &
    else
        "$PY" "$PY_CLIENT" "$SCHEMA" follow "$REMOTE" Logical_Router "$MARKER" "$token" >"$fifo" &
    fi
    FOLLOWER_PID=$!
    for _ in $(seq 1 1200); do grep -q '^ready' "$fifo" 2>/dev/null && break; sleep 0.05; done
    grep -q '^ready' "$fifo" || { echo "idl-bench: $label follower never synced" >&2; exit 1; }
    "$PY" "$LOADER" update "$SOCK" "$N_UPDATES" "$ROUTERS" "$token" >/dev/null
    wait "$FOLLOWER_PID"
    FOLLOWER_PID=
    printf '%s\t%s\t%s\n' "$label" follow "$(grep -v '^ready' "$fifo")" >>"$RESULTS"
}
MARKER=$("$PY" -c "import sys; sys.path.insert(0, '$HERE'); import idl_bench_load; print(idl_bench_load.router_uuid(0))")

for rep in $(seq 1 "$REPEAT"); do
    for label in Spate OVS-Python; do
        echo "idl-bench: repeat $rep/$REPEAT $label: (a) sync $ROWS, (b) follow $N_UPDATES, (c) commit $N_COMMITS" >&2
        run "$label" sync sync "$REMOTE" Logical_Switch
        follow "$label" "done-$rep-$label"
        run "$label" commit commit "$REMOTE" Logical_Router "$N_COMMITS"
    done
done

echo
echo "idl-bench $(date -u +%FT%TZ), REPEAT=$REPEAT, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server: $SERVER; OVS-Python: $("$PY" -c 'import ovs.version; print(ovs.version.VERSION)')"
"$PY" - "$RESULTS" "$ROWS" "$N_UPDATES" "$N_COMMITS" <<'EOF'
import json, statistics, sys
path, rows, n_updates, n_commits = sys.argv[1], *map(int, sys.argv[2:])
data = {}
for line in open(path):
    label, case, text = line.rstrip("\n").split("\t", 2)
    data.setdefault((label, case), []).append(json.loads(text))
def med(label, case, key):
    return statistics.median(r[key] for r in data[(label, case)])
figures = [
    ("(a) sync %d rows: seconds" % rows, "sync", "seconds", 1),
    ("(a) sync: replica CPU seconds", "sync", "cpu", 1),
    ("(a) sync: replica VmRSS MB", "sync", "rss_kb", 1 / 1024),
    ("(b) follow %d updates: seconds" % n_updates, "follow", "seconds", 1),
    ("(b) follow: replica CPU seconds", "follow", "cpu", 1),
    ("(c) commit %d txns: seconds" % n_commits, "commit", "seconds", 1),
    ("(c) commit: client CPU seconds", "commit", "cpu", 1),
]
print("%-36s %12s %12s %8s" % ("median of %d" % len(data[("Spate", "sync")]), "Spate", "OVS-Python", "ratio"))
for name, case, key, scale in figures:
    s, o = med("Spate", case, key) * scale, med("OVS-Python", case, key) * scale
    print("%-36s %12.3f %12.3f %7.1fx" % (name, s, o, o / s if s else float("inf")))
print("(c) per transaction: Spate %.1f us, OVS-Python %.1f us" % (
    med("Spate", "commit", "seconds") / n_commits * 1e6, med("OVS-Python", "commit", "seconds") / n_commits * 1e6))
for label in ("Spate", "OVS-Python"):
    print("%s: rows synced %s, follower changes seen %s" % (
        label, sorted({r["rows"] for r in data[(label, "sync")]}),
        sorted({r["changes"] for r in data[(label, "follow")]})))
EOF
