#!/usr/bin/env bash
# ovsdb-bench.sh [BUILD_DIR]: Spate's ovsdb-server against Debian's Open vSwitch
# 3.1 ovsdb-server, same load, same client (perf/ovsdb_bench_client.py), same
# schema (ovsdb/schemas/ovn-nb.ovsschema), one server at a time.
#
# Each run starts a fresh server in a private temp directory (unix socket only,
# nothing else touched); every case is measured REPEAT times and the table at
# the end gives medians and the ratio (> 1 means Spate is better: faster, less CPU, less
# memory). Cases:
#   (a) N_TXN single-row insert transactions on one connection, WINDOW in flight,
#       durable false; N_DURABLE with "commit" durable:true; N_SEQ one at a time.
#   (b) for M in MONITORS: M connections with monitor_cond on Logical_Router, a
#       writer inserts one row, time until the first/median/last monitor has the
#       update2; median over PROBES changes.  Driven by BUILD_DIR/bench-bin/
#       ovsdb_fanout (perf/ovsdb_fanout.cc: one C++ reader thread polling the
#       sockets with epoll without sleeping; FANOUT_ARGS adds its options,
#       e.g. "--uring" or "--threads 2 --block"), or with FANOUT_CLIENT=py by
#       ovsdb_bench_client.py (one Python epoll loop, about 2.5 us per
#       socket: slower than our server at 1000 monitors).
#   (c) ROWS Logical_Switch rows loaded PER_TXN per transaction, then one
#       monitor_cond of that table: time to the whole reply, server VmRSS.
# Server CPU (nanoseconds on the CPU from /proc/PID/task/*/schedstat, else
# utime+stime) per operation is printed beside each rate: it is the steadier
# figure on a shared machine.  The client keeps its own work out of the
# timed parts: requests are encoded before the clock starts, replies are
# counted while timing and checked afterwards, and fan-out readers poll
# their sockets with epoll without sleeping.
# With PIN=1 (on a machine with 2 or more CPUs) the server runs on CPU 0
# and the client on CPU 1 (taskset), for both servers alike: on a quiet
# machine the client then reads the fan-out while the server is still
# writing it, instead of being woken onto the server's CPU and queued
# behind it.  Off by default: under other load a pinned process cannot
# move to the less busy CPU, and every figure gets worse.
#
# Env: REPEAT=3 N_TXN=20000 WINDOW=256 N_DURABLE=2000 N_SEQ=5000 MONITORS="100 1000"
#      PROBES=50 FANOUT_CLIENT=cc|py FANOUT_ARGS= ROWS=100000 PER_TXN=5000 PIN=0 KEEP=1 (keep the temp dir)
#      OVS_SERVER=/usr/sbin/ovsdb-server OVS_TOOL=/usr/bin/ovsdb-tool PY=/usr/bin/python3
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
BUILD=$(cd "${1:-$SRC/build}" && pwd)
REPEAT=${REPEAT:-3}
N_TXN=${N_TXN:-20000}
WINDOW=${WINDOW:-256}
N_DURABLE=${N_DURABLE:-2000}
N_SEQ=${N_SEQ:-5000}
MONITORS=${MONITORS:-"100 1000"}
PROBES=${PROBES:-50}
ROWS=${ROWS:-100000}
PER_TXN=${PER_TXN:-5000}
PY=${PY:-/usr/bin/python3}
OVS_SERVER=${OVS_SERVER:-/usr/sbin/ovsdb-server}
OVS_TOOL=${OVS_TOOL:-/usr/bin/ovsdb-tool}
PIN=${PIN:-0}
FANOUT_CLIENT=${FANOUT_CLIENT:-cc}
FANOUT_ARGS=${FANOUT_ARGS:-}
FANOUT=$BUILD/bench-bin/ovsdb_fanout
SERVER_PIN=()
CLIENT_PIN=()
if [[ $PIN == 1 ]] && (( $(nproc) >= 2 )) && command -v taskset >/dev/null; then
    SERVER_PIN=(taskset -c 0)
    CLIENT_PIN=(taskset -c 1)
fi
SCHEMA=$SRC/ovsdb/schemas/ovn-nb.ovsschema
CLIENT=$HERE/ovsdb_bench_client.py
SPATE=Spate
OVS="OVS 3.1"

for f in "$BUILD/bin/ovsdb-server" "$BUILD/bin/ovsdb-tool" "$OVS_SERVER" "$OVS_TOOL" "$PY"; do
    [[ -x $f ]] || { echo "ovsdb-bench: missing executable $f" >&2; exit 1; }
done
if [[ $FANOUT_CLIENT == cc && ! -x $FANOUT ]]; then
    echo "ovsdb-bench: missing $FANOUT (ninja -C $BUILD ovsdb_fanout, or FANOUT_CLIENT=py)" >&2; exit 1
fi
[[ -r $SCHEMA ]] || { echo "ovsdb-bench: missing $SCHEMA" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ovsdb-bench.XXXXXX")
SERVER_PID=
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
cleanup() {
    local rc=$?
    stop_server
    if [[ ${KEEP:-0} == 1 ]]; then echo "ovsdb-bench: kept $WORK" >&2; else rm -rf "$WORK"; fi
    (( rc == 0 )) || echo "ovsdb-bench: FAILED (exit $rc)" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Fan-out needs one descriptor per monitor in the client and in the server.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ $(ulimit -n) != unlimited ]] && (( $(ulimit -n) < 2200 )); then echo "ovsdb-bench: ulimit -n is $(ulimit -n), need ~2200" >&2; exit 1; fi

RESULTS=$WORK/results.tsv
RUN=0
# start_server LABEL: fresh database and server in $WORK/run-N; sets SOCK, SERVER_PID.
start_server() {
    local label=$1 server tool dir
    if [[ $label == "$SPATE" ]]; then server=$BUILD/bin/ovsdb-server; tool=$BUILD/bin/ovsdb-tool
    else server=$OVS_SERVER; tool=$OVS_TOOL; fi
    RUN=$((RUN + 1)); dir=$WORK/run-$RUN; mkdir "$dir"
    "$tool" create "$dir/nb.db" "$SCHEMA"
    SOCK=$dir/nb.sock
    "${SERVER_PIN[@]}" "$server" "$dir/nb.db" --remote="punix:$SOCK" --unixctl="$dir/ctl" \
        --log-file="$dir/server.log" </dev/null >"$dir/stdout" 2>"$dir/stderr" &
    SERVER_PID=$!
    for _ in $(seq 1 100); do [[ -S $SOCK ]] && break; sleep 0.05; done
    [[ -S $SOCK ]] || { echo "ovsdb-bench: $label server did not start:" >&2; cat "$dir/stderr" >&2; exit 1; }
}
# client LABEL ARGS...: runs the client, tags its result lines with LABEL.
client() {
    local label=$1; shift
    "${CLIENT_PIN[@]}" "$PY" "$CLIENT" "$1" "$SOCK" "$SERVER_PID" "${@:2}" | sed "s/^/$label\t/" >>"$RESULTS"
}
# fanout M: the fan-out case on the current server, by the chosen driver.
fanout() {
    local label=$1 m=$2
    if [[ $FANOUT_CLIENT == py ]]; then client "$label" fanout "$m" "$PROBES"; return; fi
    # shellcheck disable=SC2086  # FANOUT_ARGS is a list of options.
    "${CLIENT_PIN[@]}" "$FANOUT" "$SOCK" "$SERVER_PID" "$m" "$PROBES" $FANOUT_ARGS |
        sed "s/^/$label\t/" >>"$RESULTS"
}

# (a) and (b) alternate between the servers repeat by repeat, each on a fresh
# server, so that a change in the machine's load hits both alike.
for rep in $(seq 1 "$REPEAT"); do
    for label in "$SPATE" "$OVS"; do
        echo "ovsdb-bench: repeat $rep/$REPEAT $label: (a) inserts, (b) fan-out to $MONITORS" >&2
        start_server "$label"
        client "$label" insert "$N_TXN" "$WINDOW" 0 "pipelined w$WINDOW"
        client "$label" insert "$N_DURABLE" "$WINDOW" 1 "pipelined w$WINDOW durable"
        client "$label" insert "$N_SEQ" 1 0 "sequential"
        stop_server
        for m in $MONITORS; do
            start_server "$label"
            fanout "$label" "$m"
            stop_server
        done
    done
done
# (c) loads the rows once per server, then repeats the initial monitor.
for label in "$SPATE" "$OVS"; do
    echo "ovsdb-bench: $label: (c) load $ROWS rows, initial monitor x$REPEAT" >&2
    start_server "$label"
    client "$label" load "$ROWS" "$PER_TXN"
    for _ in $(seq 1 "$REPEAT"); do client "$label" initial "$ROWS"; done
    stop_server
done

echo
echo "ovsdb-bench $(date -u +%FT%TZ), REPEAT=$REPEAT, PIN=$PIN, FANOUT_CLIENT=$FANOUT_CLIENT${FANOUT_ARGS:+ FANOUT_ARGS=\"$FANOUT_ARGS\"}, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$SPATE: $BUILD/bin/ovsdb-server; $OVS: $("$OVS_SERVER" --version | head -1)"
echo "ratio > 1 means Spate is better (rate: Spate/OVS; time, CPU, memory: OVS/Spate)"
"$PY" "$CLIENT" report "$RESULTS" "$SPATE" "$OVS"
