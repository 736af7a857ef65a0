#!/usr/bin/env bash
# Spate's datapath against Open vSwitch 3.1's userspace (DPDK) datapath and
# dpdk-testpmd io forwarding: same DPDK vdevs, same ovs-ofctl flows, one PMD
# core (lcore/CPU 1), 64-byte packets; Mpps and TSC cycles per packet on the
# PMD, medians over REPEAT runs, and the ratios.
#
#   perf/datapath-bench.sh [BUILD_DIR]     # default BUILD_DIR: build
#   (needs BUILD_DIR/bench-bin/datapath_fwd: ninja -C BUILD_DIR datapath_fwd)
#
# Input p0 (port 1) is net_null (identical zero-filled 64 B frames) or
# net_pcap with infinite_rx=1 replaying a pcap of N flows written here; the
# output p1 (port 2) is net_null,no-rx=1 (counts and frees).  Cases:
#   null-1flow   net_null in, "in_port=1,actions=output:2"
#   pcap-1flow   1-packet pcap, same flow
#   emc-1k       1000 dst MACs, 1000 "dl_dst=..,actions=output:2" flows (+ a
#                priority-0 drop), EMC on (insertion 1/100, both defaults)
#   mega-1k      same, EMC off (OVS: emc-insert-inv-prob=0; Spate: 0)
#   emc-100k     100 000 dst MACs and flows, EMC on
#   mega-100k    same, EMC off
#   mega-20sub   1000 TCP packets; flows on tp_dst (20 values) and nw_src
#                prefixes of 20 lengths: 20 megaflow masks, EMC off
# Spate: BUILD_DIR/bench-bin/datapath_fwd (perf/datapath_fwd.cc), one
# process per run.  OVS: /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
# with its own ovsdb-server in a private temp dir, pmd-cpu-mask=0x2, the
# flows loaded with ovs-ofctl, measured by dpif-netdev/pmd-perf-show.
# testpmd: io forwarding on the null and the 1000-flow pcap vdevs (the
# ceiling).  The three run one after another (they all poll CPU 1).
#
# Hugepages (2 MiB) are reserved and mounted privately when possible and put
# back on exit; HUGE=0 forces --no-huge (every rate falls 2.6-3x).
# OVS runs each case REPEAT times in a row without clearing its caches in
# between (a 100k-flow case needs its upcalls done); each Spate run is a new
# process.  About 6 minutes with the defaults on this 2-core VM under load.
# Env: REPEAT=3 DUR=2 WARM=1 WARM100K=3 CASES="..." HUGE=auto KEEP=1 (keep temp dir).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=${1:-$SRC/build}
[[ $BUILD = /* ]] || BUILD=$PWD/$BUILD
FWD=$BUILD/bench-bin/datapath_fwd
VSWITCHD=${VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
REPEAT=${REPEAT:-3}
DUR=${DUR:-2}
WARM=${WARM:-1}
WARM100K=${WARM100K:-3}
HUGE=${HUGE:-auto}
CASES=${CASES:-"null-1flow pcap-1flow emc-1k mega-1k emc-100k mega-100k mega-20sub"}
HP_NEED=${HP_NEED:-900}   # 2 MiB pages: 1800 MiB (the 100k pcap holds 100k mbufs)
HP_SYS=/sys/kernel/mm/hugepages/hugepages-2048kB
PY=/usr/bin/python3

for f in "$FWD" "$VSWITCHD" /usr/sbin/ovsdb-server /usr/bin/ovsdb-tool /usr/bin/ovs-vsctl /usr/bin/ovs-ofctl \
         /usr/bin/ovs-appctl "$PY"; do
    [[ -x $f ]] || { echo "datapath-bench: missing $f (ninja -C BUILD_DIR datapath_fwd; apt-get install openvswitch-switch-dpdk)" >&2; exit 1; }
done
command -v dpdk-testpmd >/dev/null || { echo "datapath-bench: dpdk-testpmd missing (apt-get install dpdk)" >&2; exit 1; }

T=$(mktemp -d /tmp/datapath-bench.XXXXXX)
PREFIX="dpbench_$$"
HP_OLD=$(cat "$HP_SYS/nr_hugepages" 2>/dev/null || echo 0)
HP_CHANGED=0; HP_MOUNTED=0
PIDS=()
export OVS_RUNDIR=$T OVS_LOGDIR=$T OVS_DBDIR=$T OVS_SYSCONFDIR=$T

stop_pids() {
    local p i alive
    for p in "$T/ovs-vswitchd.pid" "$T/ovsdb-server.pid"; do
        if [[ -s $p ]]; then PIDS+=("$(cat "$p")"); rm -f "$p"; fi
    done
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for i in $(seq 1 40); do
        alive=0
        for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        (( alive )) || break
        sleep 0.25
    done
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    PIDS=()
}
cleanup() {
    set +e
    stop_pids
    exec 3>&- 2>/dev/null
    (( HP_MOUNTED )) && umount "$T/huge"
    (( HP_CHANGED )) && echo "$HP_OLD" >"$HP_SYS/nr_hugepages"
    rm -rf /var/run/dpdk/"$PREFIX"*
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "# $(date -u +%T) $*" >&2; }
die() { echo "datapath-bench: $*" >&2; exit 1; }

# ---- hugepages -------------------------------------------------------------------
MEM_DESC="--no-huge"
if [[ $HUGE != 0 && -w $HP_SYS/nr_hugepages ]]; then
    free=$(cat "$HP_SYS/free_hugepages")
    if (( free < HP_NEED )); then
        echo $(( HP_OLD + HP_NEED - free )) >"$HP_SYS/nr_hugepages" 2>/dev/null && HP_CHANGED=1 || true
    fi
    free=$(cat "$HP_SYS/free_hugepages")
    mkdir -p "$T/huge"
    if (( free >= HP_NEED )) && mount -t hugetlbfs -o pagesize=2M nodev "$T/huge" 2>/dev/null; then
        HP_MOUNTED=1; MEM_DESC="hugepages 2M"
    fi
fi
if (( HP_MOUNTED )); then
    SPATE_MEM=(--huge-dir "$T/huge")
    OVS_EAL_EXTRA="--huge-dir $T/huge --file-prefix ${PREFIX}_ovs --no-pci"
    OVS_SOCKET_MEM=(other_config:dpdk-socket-mem=1536)
    TP_MEM=(--huge-dir "$T/huge" --huge-unlink --socket-mem 512)
else
    SPATE_MEM=()
    # --no-huge implies legacy memory; OVS 3.1 adds --in-memory unless --legacy-mem is given.
    OVS_EAL_EXTRA="--no-huge --legacy-mem -m 1536 --file-prefix ${PREFIX}_ovs --no-pci"
    OVS_SOCKET_MEM=()
    TP_MEM=(--no-huge -m 512)
fi

# ---- traffic and flows -----------------------------------------------------------
cat >"$T/gen.py" <<'EOF'
# gen.py KIND N PCAP FLOWS: writes N 60-byte frames (64 B on the wire) and the
# ovs-ofctl flows that forward them to port 2.  KIND mac: IPv4/UDP to dst MAC
# 02:00:00:XX:YY:ZZ = i, flows "dl_dst=..".  KIND sub20: IPv4/TCP from
# 10.X.Y.1 (i) to port 1000 + i % 20, flows "tcp,nw_src=<i's /12+g>,tp_dst=1000+g".
import struct, sys
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def frame(dst, src_ip, proto, sport, dport):
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 46, 0, 0, 64, proto, 0, src_ip, bytes([127, 2, 0, 1]))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    if proto == 17:
        l4 = struct.pack('!HHHH', sport, dport, 26, 0)
    else:
        l4 = struct.pack('!HHIIBBHHH', sport, dport, 1, 0, 0x50, 0x10, 1024, 0, 0)
    pkt = dst + bytes([2, 0, 0, 0xff, 0, 1]) + b'\x08\x00' + ip + l4
    return pkt + b'\x00' * (60 - len(pkt))
kind, n, pcap, flows = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lines = set()
with open(pcap, 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        if kind == 'mac':
            dst = bytes([2, 0, 0, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff])
            p = frame(dst, bytes([127, 1, 0, 1]), 17, 1024, 1024 + i % 1000)
            lines.add('priority=10,in_port=1,dl_dst=%s,actions=output:2' % ':'.join('%02x' % b for b in dst))
        else:
            g = i % 20
            src = 0x0a000000 + (i << 8) + 1
            p = frame(bytes([2, 0, 0, 0, 0, 2]), struct.pack('!I', src), 6, 4000, 1000 + g)
            plen = 12 + g
            net = src & ((0xffffffff << (32 - plen)) & 0xffffffff)
            lines.add('priority=%d,tcp,in_port=1,nw_src=%d.%d.%d.%d/%d,tp_dst=%d,actions=output:2' % (
                100 - g, net >> 24, (net >> 16) & 255, (net >> 8) & 255, net & 255, plen, 1000 + g))
        f.write(struct.pack('<IIII', 0, i, len(p), len(p)) + p)
with open(flows, 'w') as f:
    for l in sorted(lines):
        f.write(l + '\n')
    f.write('priority=0,actions=drop\n')
EOF
$PY "$T/gen.py" mac 1 "$T/one.pcap" "$T/unused.flows"
echo "in_port=1,actions=output:2" >"$T/one.flows"
$PY "$T/gen.py" mac 1000 "$T/mac1k.pcap" "$T/mac1k.flows"
$PY "$T/gen.py" mac 100000 "$T/mac100k.pcap" "$T/mac100k.flows"
$PY "$T/gen.py" sub20 1000 "$T/sub20.pcap" "$T/sub20.flows"

# case_params CASE: sets IN (input devargs without the name), FLOWS, EMC (1/0), NPKT.
case_params() {
    case $1 in
        null-1flow) IN="size=64"; FLOWS=$T/one.flows; EMC=1; NPKT=1 ;;
        pcap-1flow) IN="rx_pcap=$T/one.pcap,infinite_rx=1"; FLOWS=$T/one.flows; EMC=1; NPKT=1 ;;
        emc-1k) IN="rx_pcap=$T/mac1k.pcap,infinite_rx=1"; FLOWS=$T/mac1k.flows; EMC=1; NPKT=1000 ;;
        mega-1k) IN="rx_pcap=$T/mac1k.pcap,infinite_rx=1"; FLOWS=$T/mac1k.flows; EMC=0; NPKT=1000 ;;
        emc-100k) IN="rx_pcap=$T/mac100k.pcap,infinite_rx=1"; FLOWS=$T/mac100k.flows; EMC=1; NPKT=100000 ;;
        mega-100k) IN="rx_pcap=$T/mac100k.pcap,infinite_rx=1"; FLOWS=$T/mac100k.flows; EMC=0; NPKT=100000 ;;
        mega-20sub) IN="rx_pcap=$T/sub20.pcap,infinite_rx=1"; FLOWS=$T/sub20.flows; EMC=0; NPKT=1000 ;;
        *) die "unknown case $1" ;;
    esac
}
warm_for() {    # warm_for CASE: warm-up seconds (100k flows: every megaflow installed)
    if [[ $1 == *-100k ]]; then echo "$WARM100K"; else echo "$WARM"; fi
}
input_devargs() {   # input_devargs CASE N: a fresh vdev name each time
    case_params "$1"
    if [[ $1 == null-* ]]; then echo "net_null$2,$IN"; else echo "net_pcap$2,$IN"; fi
}

declare -A SP_MPPS SP_CYC SP_CPU SP_INFO OVS_MPPS OVS_CYC OVS_CPU OVS_INFO TP_MPPS TP_CYC TP_CPU

# pmd_cpu_ns PID [PATTERN]: nanoseconds on CPU of PID's thread whose name
# matches PATTERN (default pmd*: OVS's PMD), from schedstat.
pmd_cpu_ns() {
    local t n
    for t in /proc/"$1"/task/*; do
        read -r n <"$t/comm" 2>/dev/null || continue
        # shellcheck disable=SC2053
        if [[ $n == ${2:-pmd*} ]]; then cut -d' ' -f1 "$t/schedstat"; return; fi
    done
    echo 0
}

# ---- Spate -----------------------------------------------------------------------
run_spate() {   # run_spate CASE RUN
    local c=$1 out emc
    case_params "$c"
    emc=100; (( EMC )) || emc=0
    # EAL memory: the pool (NPKT + 16384 buffers of ~2.3 KB) plus room.
    out=$("$FWD" "${SPATE_MEM[@]}" --memory-mb $(( (NPKT + 16384) * 3 / 1024 + 128 )) \
        --pool $(( NPKT + 16384 )) --in "$(input_devargs "$c" 0)" \
        --out "net_null1,no-rx=1" --flows "$FLOWS" --emc-inv-prob "$emc" --cpu 1 \
        --warm "$(warm_for "$c")" --dur "$DUR" 2>"$T/spate.$c.$2.err") \
        || die "datapath_fwd failed ($c): $(tail -3 "$T/spate.$c.$2.err")"
    out=$(grep '^RESULT' <<<"$out")
    SP_MPPS[$c]+="$(sed -n 's/.* mpps=\([0-9.]*\).*/\1/p' <<<"$out") "
    SP_CYC[$c]+="$(sed -n 's/.* cyc_per_pkt=\([0-9.]*\).*/\1/p' <<<"$out") "
    SP_CPU[$c]+="$(sed -n 's/.* cpu_mpps=\([0-9.]*\).*/\1/p' <<<"$out") "
    SP_INFO[$c]=$(sed 's/^RESULT //' <<<"$out")
    log "spate  $c run $2: $out"
}

# ---- Open vSwitch ----------------------------------------------------------------
V=(/usr/bin/ovs-vsctl --db="unix:$T/db.sock" --timeout=60)
A=(/usr/bin/ovs-appctl -t "$T/ovs-vswitchd.ctl")
of() { local c=$1; shift; /usr/bin/ovs-ofctl "$c" "unix:$T/br0.mgmt" "$@"; }
start_ovs() {
    /usr/bin/ovsdb-tool create "$T/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    /usr/sbin/ovsdb-server "$T/conf.db" --remote="punix:$T/db.sock" --pidfile="$T/ovsdb-server.pid" \
        --unixctl="$T/ovsdb-server.ctl" --log-file="$T/ovsdb-server.log" -vconsole:off --detach \
        --no-chdir 2>>"$T/daemons.stderr"
    "${V[@]}" --no-wait init
    "${V[@]}" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
        other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 "${OVS_SOCKET_MEM[@]}" \
        "other_config:dpdk-extra=\"$OVS_EAL_EXTRA\"" other_config:pmd-perf-metrics=true
    "$VSWITCHD" "unix:$T/db.sock" --pidfile="$T/ovs-vswitchd.pid" --unixctl="$T/ovs-vswitchd.ctl" \
        --log-file="$T/ovs-vswitchd.log" -vconsole:off --detach --no-chdir 2>>"$T/daemons.stderr" \
        || die "ovs-vswitchd-dpdk failed: $(grep -E 'EAL|dpdk' "$T/ovs-vswitchd.log" | tail -3)"
    local i
    for i in $(seq 1 120); do
        [[ $("${V[@]}" get Open_vSwitch . dpdk_initialized 2>/dev/null) == true ]] && break
        sleep 0.25
    done
    [[ $("${V[@]}" get Open_vSwitch . dpdk_initialized) == true ]] \
        || die "OVS DPDK init failed: $(grep -E 'EAL|dpdk' "$T/ovs-vswitchd.log" | tail -3)"
    "${V[@]}" add-br br0 -- set bridge br0 datapath_type=netdev fail_mode=secure
    "${V[@]}" add-port br0 p1 -- set Interface p1 type=dpdk \
        "options:dpdk-devargs=\"net_null1,no-rx=1\"" ofport_request=2
}
NIN=10
OVS_FLOWS=""
ovs_case() {    # ovs_case CASE RUN: run 1 sets the case up, later runs measure again
    local c=$1 f="$T/ovs.$1.$2" kpps cyc st i
    case_params "$c"
    if [[ $2 == 1 ]]; then
        NIN=$(( NIN + 1 ))
        "${V[@]}" -- --if-exists del-port br0 p0
        if [[ $OVS_FLOWS != "$FLOWS" ]]; then of replace-flows "$FLOWS"; OVS_FLOWS=$FLOWS; fi
        "${V[@]}" set Open_vSwitch . other_config:emc-insert-inv-prob=$(( EMC ? 100 : 0 ))
        "${A[@]}" dpctl/del-flows >/dev/null 2>&1 || true
        "${V[@]}" add-port br0 p0 -- set Interface p0 type=dpdk \
            "options:dpdk-devargs=\"$(input_devargs "$c" "$NIN")\"" ofport_request=1
        for i in $(seq 1 80); do
            st=$("${V[@]}" get Interface p0 ofport); [[ $st == 1 ]] && break; sleep 0.25
        done
        [[ $st == 1 ]] || die "OVS port p0 not up ($c): $("${V[@]}" get Interface p0 error)"
    fi
    sleep "$(warm_for "$c")"
    local pid cpu0 rx_pkts
    pid=$(cat "$T/ovs-vswitchd.pid")
    "${A[@]}" dpif-netdev/pmd-stats-clear >/dev/null
    cpu0=$(pmd_cpu_ns "$pid")
    sleep "$DUR"
    "${A[@]}" dpif-netdev/pmd-perf-show -nh >"$f"
    cpu0=$(( $(pmd_cpu_ns "$pid") - cpu0 ))
    rx_pkts=$(sed -n 's/.*Rx packets: *\([0-9]*\).*/\1/p' "$f" | head -1)
    OVS_CPU[$c]+="$(awk -v n="$rx_pkts" -v c="$cpu0" 'BEGIN{if (c > 0) printf "%.2f", n / (c / 1e9) / 1e6; else print 0}') "
    read -r kpps cyc < <(sed -n 's/.*Rx packets: *[0-9]* *( *\([0-9]*\) Kpps, *\([0-9]*\) cycles\/pkt).*/\1 \2/p' "$f" | head -1)
    OVS_MPPS[$c]+="$(awk -v k="$kpps" 'BEGIN{printf "%.2f", k/1000}') "
    OVS_CYC[$c]+="$cyc "
    OVS_INFO[$c]=$(grep -E 'EMC hits|Megaflow hits|Upcalls|Simple Match' "$f" | tr -s ' ' | tr '\n' ';')
    log "ovs    $c run $2: ${kpps} Kpps ${cyc} cyc/pkt ${OVS_INFO[$c]}"
}

# ---- testpmd ---------------------------------------------------------------------
run_testpmd() {
    local out="$T/testpmd.out" r pair name ports before seg i
    mkfifo "$T/tp.in"; exec 3<>"$T/tp.in"
    stdbuf -oL -eL dpdk-testpmd -l 0,1 -n 1 "${TP_MEM[@]}" --file-prefix "${PREFIX}_tp" --no-pci \
        --vdev "net_null0,size=64" --vdev "net_null1,no-rx=1" \
        --vdev "net_pcap0,rx_pcap=$T/mac1k.pcap,infinite_rx=1" --vdev "net_null2,no-rx=1" \
        -- -i --nb-cores=1 --total-num-mbufs=16384 --record-core-cycles --forward-mode=io \
        --disable-link-check <&3 >"$out" 2>&1 &
    PIDS+=($!)
    local tp_pid=$! cpu0 pkts
    for i in $(seq 1 80); do grep -q 'testpmd>' "$out" 2>/dev/null && break; sleep 0.25; done
    grep -q 'testpmd>' "$out" || die "testpmd did not start: $(tail -3 "$out")"
    tp_cmd() {  # tp_cmd COMMAND REGEX [COUNT]: bounded wait (20 s)
        local b; b=$(wc -l <"$out")
        echo "$1" >&3
        for i in $(seq 1 80); do
            (( $(tail -n +"$((b + 1))" "$out" | grep -c -E "$2") >= ${3:-1} )) && return 0
            sleep 0.25
        done
        die "testpmd: no '$2' after '$1'"
    }
    for r in $(seq 1 "$REPEAT"); do
        for pair in "null:0,1" "pcap:2,3"; do
            name=${pair%%:*}; ports=${pair#*:}
            before=$(wc -l <"$out")
            tp_cmd "set portlist $ports" 'testpmd>'
            tp_cmd "start" 'packets/burst'
            sleep 1
            tp_cmd "show port stats all" 'Tx-pps:' 4
            cpu0=$(pmd_cpu_ns "$tp_pid" '*worker*')
            sleep "$DUR"
            tp_cmd "show port stats all" 'Tx-pps:' 4
            cpu0=$(( $(pmd_cpu_ns "$tp_pid" '*worker*') - cpu0 ))
            tp_cmd "stop" 'cycles/packet'
            seg=$(tail -n +"$before" "$out")
            # Tx-pps (over the window) times the window's CPU share of a second.
            pkts=$(grep 'Tx-pps:' <<<"$seg" | tail -4 | awk '{s+=$2} END{print s}')
            TP_CPU[$name]+="$(awk -v p="$pkts" -v c="$cpu0" -v d="$DUR" 'BEGIN{if (c > 0) printf "%.2f", p * d / (c / 1e9) / 1e6; else print 0}') "
            TP_MPPS[$name]+="$(grep 'Tx-pps:' <<<"$seg" | tail -4 | awk '{s+=$2} END{printf "%.2f", s/1e6}') "
            TP_CYC[$name]+="$(grep -o 'CPU cycles/packet=[0-9.]*' <<<"$seg" | tail -1 | cut -d= -f2) "
            log "testpmd io $name run $r: $(grep 'Tx-pps:' <<<"$seg" | tail -4 | awk '{s+=$2} END{printf "%.2f", s/1e6}') Mpps"
        done
    done
    echo quit >&3
    exec 3>&-
    stop_pids
}

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (a+0 > 0 && b+0 > 0) printf "%.2fx", a/b; else print "n/a"}'; }

START=$(date -u +%FT%TZ); LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "Spate: $FWD; OVS: $("$VSWITCHD" --version | head -1); memory: $MEM_DESC; REPEAT=$REPEAT WARM=$WARM DUR=$DUR"
for r in $(seq 1 "$REPEAT"); do
    for c in $CASES; do run_spate "$c" "$r"; done
done
start_ovs
for c in $CASES; do
    for r in $(seq 1 "$REPEAT"); do ovs_case "$c" "$r"; done
done
stop_pids
run_testpmd

# ---- the table -----------------------------------------------------------------
printf '\ndatapath-bench %s, %s, 1 PMD core, 64 B, medians of %s runs (WARM=%ss/%ss DUR=%ss)\n' \
    "$START" "$MEM_DESC" "$REPEAT" "$WARM" "$WARM100K" "$DUR"
printf 'load average: %s at start, %s at end\n' "$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'Mpps: packets/s of wall time; cyc/pkt: PMD TSC cycles per packet (pmd-perf-show);\n'
printf 'cpuMpps: packets per second of CPU time the PMD thread got (schedstat): what other load on\n'
printf '  the machine changes least (it still pollutes the caches)\n'
printf '%-11s %7s %7s %7s | %7s %7s %7s | %9s %9s | %7s %7s %9s  %s\n' case "Spate" "cyc/pkt" \
    "cpuMpps" "OVS 3.1" "cyc/pkt" "cpuMpps" "Spate/OVS" "cpu ratio" "testpmd" "cpuMpps" "cpu ratio" "target"
for c in $CASES; do
    sm=$(median "${SP_MPPS[$c]:-}"); sc=$(median "${SP_CYC[$c]:-}"); su=$(median "${SP_CPU[$c]:-}")
    om=$(median "${OVS_MPPS[$c]:-}"); oc=$(median "${OVS_CYC[$c]:-}"); ou=$(median "${OVS_CPU[$c]:-}")
    tpk=pcap; [[ $c == null-* ]] && tpk=null
    tp=$(median "${TP_MPPS[$tpk]:-}"); tu=$(median "${TP_CPU[$tpk]:-}")
    case $c in
        *-1flow) tgt=">=1.5x OVS" ;;
        emc-1k) tgt=">=2x OVS, >=0.5x testpmd" ;;
        mega-20sub) tgt="(megaflow-heavy)" ;;
        *) tgt=">=2x OVS" ;;
    esac
    printf '%-11s %7s %7s %7s | %7s %7s %7s | %9s %9s | %7s %7s %9s  %s\n' "$c" "$sm" "$sc" "$su" \
        "$om" "$oc" "$ou" "$(ratio "$sm" "$om")" "$(ratio "$su" "$ou")" "$tp" "$tu" "$(ratio "$su" "$tu")" "$tgt"
done
printf 'testpmd io cycles/pkt: null %s, pcap %s\n' "$(median "${TP_CYC[null]:-}")" "$(median "${TP_CYC[pcap]:-}")"
for c in $CASES; do printf 'Spate %-11s %s\n' "$c" "${SP_INFO[$c]:-}"; done
for c in $CASES; do printf 'OVS   %-11s %s\n' "$c" "${OVS_INFO[$c]:-}"; done
