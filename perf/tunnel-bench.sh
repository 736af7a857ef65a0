#!/usr/bin/env bash
# Tunnel encapsulation and decapsulation: Spate's datapath against Open
# vSwitch 3.1's userspace (DPDK) tunnelling, in the same run.  64-byte inner
# UDP frames (64 flows), one PMD core (CPU 1), DPDK vdevs only: net_pcap
# with infinite_rx=1 as input, net_null,no-rx=1 as the sink.  Mpps and TSC
# cycles per packet on the PMD (pmd-perf-show's definition on both sides),
# medians over REPEAT runs and the best run, and the ratios.
#
#   perf/tunnel-bench.sh [BUILD_DIR]       # default BUILD_DIR: build
#   (needs BUILD_DIR/bench-bin/tunnel_bench: ninja -C BUILD_DIR tunnel_bench)
#
# Cases, for TYPE in geneve vxlan (both sides) and stt (Spate only: Open
# vSwitch's userspace datapath has no STT):
#   encap-TYPE  inner.pcap -> flow output:tunnel -> push -> underlay sink
#   decap-TYPE  outer-TYPE.pcap (for 172.31.1.1, key 77) on the underlay ->
#               pop -> flow in_port=tunnel,output:sink
# The pcaps are written by tunnel_bench --write-pcaps (tunnels/ encap code).
# Spate: tunnel_bench (perf/tunnel_bench.cc), one process per run.
# Open vSwitch: ovs-vswitchd-dpdk in a network namespace of its own (its br-phy
# internal port holds 172.31.1.1/24 there), its own ovsdb-server in a temp
# dir, br-int (tunnel port, remote_ip 172.31.1.2, key 77) and br-phy
# (hwaddr 02:00:00:00:10:01, NORMAL), tnl/neigh/set for the remote, measured
# by dpif-netdev/pmd-perf-show.  Both use the same vdevs and CPU, one after
# the other.
#
# Hugepages (2 MiB) are reserved and mounted privately when possible and put
# back on exit; HUGE=0 forces --no-huge.
# Env: REPEAT=3 DUR=3 WARM=2 TYPES="geneve vxlan stt" HUGE=auto KEEP=1.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=${1:-$SRC/build}
[[ $BUILD = /* ]] || BUILD=$PWD/$BUILD
DRV=$BUILD/bench-bin/tunnel_bench
VSWITCHD=${VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
REPEAT=${REPEAT:-3}
DUR=${DUR:-3}
WARM=${WARM:-2}
HUGE=${HUGE:-auto}
TYPES=${TYPES:-"geneve vxlan stt"}
HP_NEED=${HP_NEED:-700}
HP_SYS=/sys/kernel/mm/hugepages/hugepages-2048kB
LOCAL_IP=172.31.1.1
REMOTE_IP=172.31.1.2
LOCAL_MAC=02:00:00:00:10:01
REMOTE_MAC=02:00:00:00:10:02

for f in "$DRV" "$VSWITCHD" /usr/sbin/ovsdb-server /usr/bin/ovsdb-tool /usr/bin/ovs-vsctl \
         /usr/bin/ovs-ofctl /usr/bin/ovs-appctl; do
    [[ -x $f ]] || { echo "tunnel-bench: missing $f (ninja -C BUILD_DIR tunnel_bench; apt-get install openvswitch-switch-dpdk)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/tunnel-bench.XXXXXX)
NS="tnlbench_$$"
PREFIX="tnlbench_$$"
HP_OLD=$(cat "$HP_SYS/nr_hugepages" 2>/dev/null || echo 0)
HP_CHANGED=0; HP_MOUNTED=0; NS_MADE=0
export OVS_RUNDIR=$T OVS_LOGDIR=$T OVS_DBDIR=$T OVS_SYSCONFDIR=$T

log() { echo "# $*" >&2; }

cleanup() {
    set +e
    local p
    for p in "$T/ovs-vswitchd.pid" "$T/ovsdb-server.pid"; do
        [[ -s $p ]] || continue
        local pid; pid=$(cat "$p"); kill "$pid" 2>/dev/null
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 "$pid" 2>/dev/null
    done
    (( NS_MADE )) && ip netns del "$NS"
    (( HP_MOUNTED )) && umount "$T/huge"
    (( HP_CHANGED )) && echo "$HP_OLD" >"$HP_SYS/nr_hugepages"
    rm -rf /var/run/dpdk/"${PREFIX}"*
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- hugepages -------------------------------------------------------------------
MEM_DESC="--no-huge"
SPATE_MEM=()
OVS_EAL_EXTRA="--no-huge --legacy-mem -m 1024 --file-prefix ${PREFIX}_ovs --no-pci"
if [[ $HUGE != 0 && -w $HP_SYS/nr_hugepages ]]; then
    free=$(cat "$HP_SYS/free_hugepages")
    if (( free < HP_NEED )); then
        echo $(( HP_OLD + HP_NEED - free )) >"$HP_SYS/nr_hugepages" 2>/dev/null && HP_CHANGED=1 || true
    fi
    free=$(cat "$HP_SYS/free_hugepages")
    mkdir -p "$T/huge"
    if (( free >= HP_NEED )) && mount -t hugetlbfs -o pagesize=2M nodev "$T/huge" 2>/dev/null; then
        HP_MOUNTED=1; MEM_DESC="hugepages 2M"
        SPATE_MEM=(--huge-dir "$T/huge" --memory-mb 512)
        OVS_EAL_EXTRA="--huge-dir $T/huge --file-prefix ${PREFIX}_ovs --no-pci"
    fi
fi

# ---- pcaps -----------------------------------------------------------------------
"$DRV" --write-pcaps "$T" --local-ip $LOCAL_IP --remote-ip $REMOTE_IP \
    --local-mac $LOCAL_MAC --remote-mac $REMOTE_MAC --key 77 >/dev/null

declare -A MPPS CPP MPPSB CPPB
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{if (NR==0) print "n/a"; else print a[int((NR+1)/2)]}'; }
lowest() { tr ' ' '\n' | grep -v '^$' | grep -v '^0$' | sort -g | head -1 | grep . || echo n/a; }
highest() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1 | grep . || echo n/a; }

# ---- Spate -----------------------------------------------------------------------
spate_run() {   # spate_run <mode> <type>: "mpps cyc"
    local mode=$1 type=$2 out
    local in="net_pcap_sin,rx_pcap=$T/inner.pcap,infinite_rx=1"
    local phy="net_null_sphy,no-rx=1"
    [[ $mode == decap ]] && phy="net_pcap_sphy,rx_pcap=$T/outer-$type.pcap,infinite_rx=1"
    out=$("$DRV" --mode "$mode" --type "$type" --in "$in" --phy "$phy" --out "net_null_sout,no-rx=1" \
          --local-ip $LOCAL_IP --remote-ip $REMOTE_IP --remote-mac $REMOTE_MAC --key 77 \
          "${SPATE_MEM[@]}" --cpu 1 --warm "$WARM" --dur "$DUR" 2>"$T/spate.err" | grep '^RESULT') \
        || { log "spate $mode $type failed: $(tail -3 "$T/spate.err")"; echo "0 0"; return; }
    log "spate $mode-$type: $out"
    local tx rx
    rx=$(sed -n 's/.* rx=\([0-9]*\).*/\1/p' <<<"$out"); tx=$(sed -n 's/.* tx=\([0-9]*\).*/\1/p' <<<"$out")
    (( tx * 100 >= rx * 99 )) || log "WARNING spate $mode-$type transmitted $tx of $rx packets"
    sed -n 's/.*mpps=\([0-9.]*\) cyc_per_pkt=\([0-9.]*\).*/\1 \2/p' <<<"$out"
}

for type in $TYPES; do
    for mode in encap decap; do
        m=""; c=""
        for _ in $(seq 1 "$REPEAT"); do
            read -r a b < <(spate_run "$mode" "$type")
            m+=" $a"; c+=" $b"
        done
        MPPS[spate-$mode-$type]=$(median <<<"$m"); CPP[spate-$mode-$type]=$(median <<<"$c")
        MPPSB[spate-$mode-$type]=$(highest <<<"$m"); CPPB[spate-$mode-$type]=$(lowest <<<"$c")
    done
done

# ---- Open vSwitch -----------------------------------------------------------------
ip netns add "$NS"; NS_MADE=1
ip -n "$NS" link set lo up
ovsdb-tool create "$T/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$T/conf.db" --remote="punix:$T/db.sock" --pidfile="$T/ovsdb-server.pid" \
    --unixctl="$T/ovsdb-server.ctl" --log-file="$T/ovsdb-server.log" -vconsole:off --detach --no-chdir
V=(ovs-vsctl --db="unix:$T/db.sock" --timeout=30)
A=(ovs-appctl -t "$T/ovs-vswitchd.ctl")
"${V[@]}" --no-wait init
socket_mem=()
(( HP_MOUNTED )) && socket_mem=(other_config:dpdk-socket-mem=512)
"${V[@]}" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 "${socket_mem[@]}" \
    "other_config:dpdk-extra=\"$OVS_EAL_EXTRA\"" other_config:pmd-perf-metrics=true
ip netns exec "$NS" "$VSWITCHD" "unix:$T/db.sock" --pidfile="$T/ovs-vswitchd.pid" \
    --unixctl="$T/ovs-vswitchd.ctl" --log-file="$T/ovs-vswitchd.log" -vconsole:off --detach --no-chdir
ok=0
for _ in $(seq 1 60); do
    [[ "$("${V[@]}" get Open_vSwitch . dpdk_initialized 2>/dev/null)" == true ]] && { ok=1; break; }
    sleep 0.5
done
(( ok )) || { echo "tunnel-bench: OVS DPDK init failed: $(grep -E 'EAL|dpdk' "$T/ovs-vswitchd.log" | tail -3)" >&2; exit 1; }
"${V[@]}" add-br br-int -- set bridge br-int datapath_type=netdev fail_mode=secure
"${V[@]}" add-br br-phy -- set bridge br-phy datapath_type=netdev other-config:hwaddr=$LOCAL_MAC
ip -n "$NS" addr add $LOCAL_IP/24 dev br-phy
ip -n "$NS" link set br-phy up
of() { ovs-ofctl "$1" "unix:$T/br-int.mgmt" "${@:2}"; }

wait_ofport() {  # wait_ofport <iface> <n>
    local st=""
    for _ in $(seq 1 60); do
        st=$("${V[@]}" get Interface "$1" ofport 2>/dev/null || true)
        [[ $st == "$2" ]] && return 0; sleep 0.25
    done
    echo "tunnel-bench: port $1 not up: $("${V[@]}" get Interface "$1" error)" >&2; exit 1
}

ovs_run() {   # ovs_run <mode> <type> <n>: "mpps cyc"
    local mode=$1 type=$2 n=$3 f="$T/perf.$1.$2.$3"
    "${V[@]}" -- --if-exists del-port br-int t0 -- --if-exists del-port br-int p0 \
        -- --if-exists del-port br-phy p1
    "${V[@]}" add-port br-int t0 -- set Interface t0 type="$type" options:remote_ip=$REMOTE_IP \
        options:key=77 ofport_request=2
    if [[ $mode == encap ]]; then
        "${V[@]}" add-port br-int p0 -- set Interface p0 type=dpdk \
            "options:dpdk-devargs=\"net_pcap_oin$n,rx_pcap=$T/inner.pcap,infinite_rx=1\"" ofport_request=1
        "${V[@]}" add-port br-phy p1 -- set Interface p1 type=dpdk \
            "options:dpdk-devargs=\"net_null_ophy$n,no-rx=1\""
        of replace-flows - <<<"in_port=1,actions=output:2"
    else
        "${V[@]}" add-port br-int p0 -- set Interface p0 type=dpdk \
            "options:dpdk-devargs=\"net_null_oout$n,no-rx=1\"" ofport_request=1
        "${V[@]}" add-port br-phy p1 -- set Interface p1 type=dpdk \
            "options:dpdk-devargs=\"net_pcap_ophy$n,rx_pcap=$T/outer-$type.pcap,infinite_rx=1\""
        of replace-flows - <<<"in_port=2,actions=output:1"
    fi
    wait_ofport p0 1
    "${A[@]}" tnl/neigh/set br-phy $REMOTE_IP $REMOTE_MAC >/dev/null
    sleep "$WARM"
    "${A[@]}" dpif-netdev/pmd-stats-clear >/dev/null
    sleep "$DUR"
    "${A[@]}" dpif-netdev/pmd-perf-show -nh >"$f"
    "${A[@]}" dpctl/dump-flows >"$f.flows" 2>/dev/null || true
    local kpps cyc
    read -r kpps cyc < <(sed -n 's/.*Rx packets: *[0-9]* *( *\([0-9]*\) Kpps, *\([0-9]*\) cycles\/pkt).*/\1 \2/p' "$f" | head -1)
    grep -q "tnl_p\(ush\|op\)" "$f.flows" || log "WARNING ovs $mode-$type: no tnl_push/tnl_pop in dpctl/dump-flows"
    log "ovs $mode-$type: ${kpps:-0} Kpps ${cyc:-0} cycles/pkt; $(grep -o 'actions:.*' "$f.flows" | head -1)"
    echo "$(awk -v k="${kpps:-0}" 'BEGIN{printf "%.2f", k/1000}') ${cyc:-0}"
}

n=0
for type in $TYPES; do
    [[ $type == stt ]] && continue
    for mode in encap decap; do
        m=""; c=""
        for _ in $(seq 1 "$REPEAT"); do
            n=$((n + 1))
            read -r a b < <(ovs_run "$mode" "$type" "$n")
            m+=" $a"; c+=" $b"
        done
        MPPS[ovs-$mode-$type]=$(median <<<"$m"); CPP[ovs-$mode-$type]=$(median <<<"$c")
        MPPSB[ovs-$mode-$type]=$(highest <<<"$m"); CPPB[ovs-$mode-$type]=$(lowest <<<"$c")
    done
done

# ---- table -----------------------------------------------------------------------
log "Spate: $DRV; OVS: $("$VSWITCHD" --version | head -1); memory: $MEM_DESC; REPEAT=$REPEAT WARM=$WARM DUR=$DUR"
print_table() {  # print_table <title> <mpps array name> <cycles array name>
    local -n mp=$2 cp=$3
    printf '%s\n\n' "$1"
    printf '| case | Spate Mpps | Spate cycles/pkt | OVS Mpps | OVS cycles/pkt | Spate/OVS rate |\n'
    printf '|---|---|---|---|---|---|\n'
    local type mode sm sc om oc ratio
    for type in $TYPES; do
        for mode in encap decap; do
            sm=${mp[spate-$mode-$type]}; sc=${cp[spate-$mode-$type]}
            om=${mp[ovs-$mode-$type]:-n/a}; oc=${cp[ovs-$mode-$type]:-n/a}
            ratio=n/a
            [[ $om != n/a && $om != 0 && $om != 0.00 ]] && ratio=$(awk -v a="$sm" -v b="$om" 'BEGIN{printf "%.2fx", a/b}')
            printf '| %s-%s | %s | %s | %s | %s | %s |\n' "$mode" "$type" "$sm" "$sc" "$om" "$oc" "$ratio"
        done
    done
}
print_table "Medians of REPEAT runs:" MPPS CPP
echo
# On a shared machine another process on the PMD's CPU inflates both
# sides' busy cycles; the best run of each is the least disturbed.
print_table "Best of REPEAT runs (highest Mpps, lowest cycles/pkt):" MPPSB CPPB
