#!/usr/bin/env bash
# ovn-nbd against OVN 23.03's ovn-northd: NB -> SB translation time, CPU and
# memory for SWITCHES x PORTS logical ports (default 100 x 100), each with a
# MAC and port security, written in ONE northbound transaction; then ADDS
# single-port additions on the loaded system.
#
#   perf/northd-bench.sh [BUILD_DIR]       # default BUILD_DIR: build
#
# Spate: BUILD_DIR/bin/ovsdb-server (one for OVN_Northbound, one for the
# southbound OVN database, as ovn-ctl runs them) and BUILD_DIR/bin/ovn-nbd,
# on ovsdb/schemas/*.ovsschema of this checkout.  Baseline: Debian's
# /usr/sbin/ovsdb-server (NB and SB) with /usr/share/ovn/ovn-{nb,sb}.ovsschema
# and /usr/bin/ovn-northd (1 thread), as perf anchors ran it.  Each run starts
# fresh databases and daemons in a private mktemp -d directory; the systems
# alternate, run by run.  perf/northd_bench.py does the loading and timing.
# Env: SWITCHES=100 PORTS=100 ADDS=10 REPEAT=3 KEEP=1 (keep the temp dir).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=${1:-$SRC/build}
[[ $BUILD = /* ]] || BUILD=$PWD/$BUILD
BIN=$BUILD/bin
SWITCHES=${SWITCHES:-100}
PORTS=${PORTS:-100}
ADDS=${ADDS:-10}
REPEAT=${REPEAT:-3}
PY=/usr/bin/python3

for f in "$BIN/ovsdb-server" "$BIN/ovn-nbd" /usr/sbin/ovsdb-server /usr/bin/ovn-northd \
         /usr/bin/ovsdb-tool /usr/share/ovn/ovn-nb.ovsschema; do
    [[ -e $f ]] || { echo "northd-bench: missing $f (ninja -C BUILD_DIR ovsdb-server ovn-nbd)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/northd-bench.XXXXXX)
PIDFILES=()
stop_all() {
    local f p i
    for f in "${PIDFILES[@]}"; do
        [[ -s $f ]] || continue
        p=$(cat "$f")
        kill "$p" 2>/dev/null || true
        for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
        rm -f "$f"
    done
    PIDFILES=()
}
cleanup() {
    set +e
    stop_all
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for CMD...: retries CMD for up to 30 s.
wait_for() {
    local i
    for i in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "northd-bench: timed out waiting for: $*" >&2
    return 1
}

# start_servers DIR SERVER NB_SCHEMA SB_SCHEMA
start_servers() {
    local d=$1 server=$2 db
    mkdir -p "$d"
    /usr/bin/ovsdb-tool create "$d/nb.db" "$3"
    /usr/bin/ovsdb-tool create "$d/sb.db" "$4"
    for db in nb sb; do
        "$server" "$d/$db.db" --remote="punix:$d/$db.sock" --pidfile="$d/$db.pid" \
            --unixctl="$d/$db.ctl" --log-file="$d/$db.log" -vconsole:off --detach --no-chdir
        PIDFILES+=("$d/$db.pid")
    done
}

run_spate() {
    local d=$T/spate.$1
    start_servers "$d" "$BIN/ovsdb-server" "$SRC/ovsdb/schemas/ovn-nb.ovsschema" \
        "$SRC/ovsdb/schemas/ovn.ovsschema"
    "$BIN/ovn-nbd" --ovnnb-db="unix:$d/nb.sock" --ovn-db="unix:$d/sb.sock" \
        --pidfile="$d/nbd.pid" --unixctl="$d/nbd.ctl" --log-file="$d/nbd.log" \
        -vconsole:off --detach --no-chdir
    PIDFILES+=("$d/nbd.pid")
    wait_for sh -c "/usr/bin/ovs-appctl -t '$d/nbd.ctl' status | grep -q 'Status: active'"
    "$PY" "$HERE/northd_bench.py" run spate "$d/nb.sock" "$d/sb.sock" "$(cat "$d/nbd.pid")" \
        "$SWITCHES" "$PORTS" "$ADDS" | tee -a "$T/results"
    stop_all
}

run_ovn() {
    local d=$T/ovn.$1
    start_servers "$d" /usr/sbin/ovsdb-server /usr/share/ovn/ovn-nb.ovsschema \
        /usr/share/ovn/ovn-sb.ovsschema
    /usr/bin/ovn-nbctl --db="unix:$d/nb.sock" init
    /usr/bin/ovn-northd --ovnnb-db="unix:$d/nb.sock" --ovnsb-db="unix:$d/sb.sock" \
        --n-threads=1 --pidfile="$d/northd.pid" --unixctl="$d/northd.ctl" \
        --log-file="$d/northd.log" -vconsole:off --detach --no-chdir
    PIDFILES+=("$d/northd.pid")
    wait_for /usr/bin/ovn-nbctl --db="unix:$d/nb.sock" --timeout=5 --wait=sb sync
    "$PY" "$HERE/northd_bench.py" run ovn "$d/nb.sock" "$d/sb.sock" "$(cat "$d/northd.pid")" \
        "$SWITCHES" "$PORTS" "$ADDS" | tee -a "$T/results"
    stop_all
}

echo "northd-bench: $SWITCHES switches x $PORTS ports, $ADDS single-port adds, $REPEAT runs" >&2
for run in $(seq 1 "$REPEAT"); do
    run_spate "$run"
    run_ovn "$run"
done
echo
"$PY" "$HERE/northd_bench.py" report "$T/results"
