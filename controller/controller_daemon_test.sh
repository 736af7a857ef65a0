#!/usr/bin/env bash
# ovn-controller as a plain switch, end to end: our ovsdb-server and
# ovn-controller in a temp dir, configured with our ovs-vsctl (and Debian's),
# flows loaded through ovs-appctl ofctl/*, frames injected with
# netdev-dummy/receive, the output checked in the tx pcap files, and the
# counters in pmd-stats-show, dpif/show and Interface:statistics.
# Usage: controller_daemon_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=${1:?usage: controller_daemon_test.sh SOURCE_DIR BUILD_DIR}
build=${2:?}
bin=$build/bin
# ovn-controller comes from BUILD_DIR; the other programs too, unless that
# build lacks them (a sanitizer build of the daemon alone): then from
# $SPATE_TOOLS_BIN.
tool() { if [[ -x $bin/$1 ]]; then echo "$bin/$1"; else echo "${SPATE_TOOLS_BIN:-$bin}/$1"; fi; }
py=/usr/bin/python3
failures=0; passes=0
check() {  # NAME CONDITION
  if eval "$2"; then passes=$((passes + 1)); else echo "FAIL: $1"; failures=$((failures + 1)); fi
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctl-test.XXXXXX")
export OVS_RUNDIR=$tmp OVS_LOGDIR=$tmp OVS_DBDIR=$tmp OVS_SYSCONFDIR=$tmp
stop() {  # PIDFILE: TERM, then wait for the process to go
  local pid i
  [[ -s $1 ]] || return 0
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
}
cleanup() {
  stop "$tmp/ovn-controller.pid"; stop "$tmp/ovsdb-server.pid"
  if ((failures)); then
    echo "--- ovn-controller.log"; tail -40 "$tmp/ovn-controller.log" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

# wait_for CONDITION: polls the condition for up to 30 s.
wait_for() {
  local i
  for ((i = 0; i < 300; i++)); do eval "$1" && return 0; sleep 0.1; done
  return 1
}
# frames FILE: one line per frame of a pcap file, in hex.
frames() {
  "$py" - "$1" <<'PY'
import struct, sys
try:
    data = open(sys.argv[1], "rb").read()
except OSError:
    sys.exit(0)
off = 24
while off + 16 <= len(data):
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    print(data[off + 16:off + 16 + incl].hex())
    off += 16 + incl
PY
}
nframes() { frames "$1" | wc -l; }

V=("$(tool ovs-vsctl)" --timeout=30)
A=("$(tool ovs-appctl)" -t ovn-controller)
"$(tool ovsdb-tool)" create conf.db "$src/ovsdb/schemas/vswitch.ovsschema" || exit 1
"$(tool ovsdb-server)" --detach --no-chdir --pidfile --log-file -vconsole:off \
    --remote=punix:"$tmp/db.sock" conf.db || exit 1
"${V[@]}" --no-wait init || exit 1
"${V[@]}" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    other_config:dpdk-extra="--no-huge" || exit 1
# Not --detach, so that a sanitizer's report (stderr) and the exit status
# are seen.
"$bin/ovn-controller" --enable-dummy --no-chdir --pidfile --log-file \
    -vconsole:off "unix:$tmp/db.sock" 2>"$tmp/stderr" &
daemon=$!
check "ovn-controller starts" 'wait_for "\"\${A[@]}\" version >/dev/null 2>&1"'

# ---- bridges and ports, without --no-wait (cur_cfg follows next_cfg)
"${V[@]}" add-br br0 -- set bridge br0 datapath_type=netdev; rc=$?
check "add-br without --no-wait returns (rc $rc)" '((rc == 0))'
"${V[@]}" add-port br0 p1 -- set interface p1 type=dummy ofport_request=1 \
    options:tx_pcap=p1-tx.pcap -- add-port br0 p2 -- set interface p2 type=dummy \
    ofport_request=2 options:pcap=p2.pcap -- add-port br0 p3 -- set interface p3 \
    type=dummy options:tx_pcap=p3-tx.pcap; rc=$?
check "add-port x3 without --no-wait returns (rc $rc)" '((rc == 0))'
read -r next cur <<<"$("${V[@]}" get Open_vSwitch . next_cfg cur_cfg | tr '\n' ' ')"
check "cur_cfg == next_cfg ($next, $cur)" '[[ -n $next && $next == "$cur" ]]'
check "ofport_request honoured" '[[ $("${V[@]}" get interface p1 ofport) == 1 && $("${V[@]}" get interface p2 ofport) == 2 ]]'
p3=$("${V[@]}" get interface p3 ofport)
check "p3 gets a free number ($p3)" '[[ $p3 =~ ^[0-9]+$ && $p3 != 1 && $p3 != 2 ]]'
check "link and admin state up" '[[ $("${V[@]}" get interface p1 link_state admin_state | tr "\n" " ") == "up up " ]]'
check "no error on p1" '[[ $("${V[@]}" get interface p1 error) == "[]" ]]'

# ---- flows in ovs-ofctl syntax, frames in both syntaxes
"${A[@]}" ofctl/add-flow br0 "priority=10,in_port=p1,actions=output:p2"; rc1=$?
printf '# comment\n\npriority=5,in_port=3,actions=drop\ntable=0,priority=1,actions=drop\n' >flows.txt
"${A[@]}" ofctl/add-flows br0 "$tmp/flows.txt"; rc2=$?
check "ofctl/add-flow and add-flows succeed" '((rc1 == 0 && rc2 == 0))'
dump=$("${A[@]}" ofctl/dump-flows br0)
check "dump-flows shows the rules" '[[ $(grep -c "" <<<"$dump") == 3 && $dump == *"priority=10,in_port=1 actions=output:2"* ]]'
out=$("${A[@]}" ofctl/add-flow br0 "in_port=1,actions=frobnicate" 2>&1); rc=$?
check "a bad flow is a one-line error ($out)" '((rc != 0)) && [[ $out == *frobnicate* ]]'

udp='in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)'
"${A[@]}" netdev-dummy/receive p1 "$udp"; rc=$?
check "netdev-dummy/receive (datapath flow) succeeds" '((rc == 0))'
check "the frame reaches p2's pcap" 'wait_for "(( \$(nframes p2.pcap) == 1 ))"'
hex=50540000000250540000000108004500001c0000400040110000ac100001ac1000020001000200080000
"${A[@]}" netdev-dummy/receive p1 "$hex" "in_port=p1,dl_dst=50:54:00:00:00:02,tcp,nw_ttl=9"
check "two more frames (hex, ofctl flow) reach p2" 'wait_for "(( \$(nframes p2.pcap) == 3 ))"'
check "the hex frame is forwarded unchanged" '[[ $(frames p2.pcap | sed -n 2p) == "$hex" ]]'
check "the first frame is OVS's 106-byte UDP frame" '[[ $(frames p2.pcap | head -1 | wc -c) == 213 ]]'
check "p1 and p3 sent nothing" '[[ $(nframes p1-tx.pcap) == 0 && $(nframes p3-tx.pcap) == 0 ]]'

stats=$("${A[@]}" dpif-netdev/pmd-stats-show)
check "pmd-stats-show counts 3 packets" '[[ $stats == *"packets received: 3"* && $stats == *"packets sent: 3"* ]]'
show=$("${A[@]}" dpif/show)
check "dpif/show lists the ports" '[[ $show == *"netdev@ovs-netdev: hit:"* && $show == *"  br0:"* && $show == *"    p1 1/1: (dummy)"* && $show == *"    p2 2/2: (dummy)"* ]]'
check "dpif/dump-flows shows a megaflow" '[[ $("${A[@]}" dpif/dump-flows br0) == *"actions:2"* ]]'
trace=$("${A[@]}" ofproto/trace br0 "in_port=1,dl_dst=50:54:00:00:00:02")
check "ofproto/trace explains the output" '[[ $trace == *"bridge(\"br0\")"* && $trace == *"Datapath actions: 2"* ]]'
"${A[@]}" dpif-netdev/pmd-stats-clear
check "pmd-stats-clear zeroes" '[[ $("${A[@]}" dpif-netdev/pmd-stats-show) == *"packets received: 0"* ]]'
check "pmd-rxq-show lists p1" '[[ $("${A[@]}" dpif-netdev/pmd-rxq-show) == *"port: p1  queue-id: 0"* ]]'
check "Interface statistics reach the database" \
    'wait_for "[[ \$(\"\${V[@]}\" get interface p2 statistics:tx_packets 2>/dev/null) == 3 ]]"'

# ---- the PMD thread does not spin while idle
pid=$(cat ovn-controller.pid)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks); sleep 2; t1=$(ticks)
hz=$(getconf CLK_TCK)
check "idle daemon used $((t1 - t0)) ticks in 2 s (< 1 s of CPU)" '(( t1 - t0 < hz ))'

# ---- errors: bad type, bad devargs; then a good dpdk port
"${V[@]}" add-port br0 bad -- set interface bad type=frobnicate; rc=$?
check "a bad type still returns (rc $rc)" '((rc == 0))'
err=$("${V[@]}" get interface bad error)
check "bad type: error column ($err)" '[[ $err == *unsupported\ type* && $("${V[@]}" get interface bad ofport) == -1 ]]'
"${V[@]}" add-port br0 d0 -- set interface d0 type=dpdk options:dpdk-devargs=net_bogus0
err=$("${V[@]}" get interface d0 error)
check "bad devargs: error column ($err)" '[[ $err == *net_bogus0* ]]'
"${V[@]}" add-port br0 d1 -- set interface d1 type=dpdk options:dpdk-devargs=net_null0 \
    -- add-port br0 r1 -- set interface r1 type=dpdk options:dpdk-devargs=net_ring_r1
check "dpdk net_null port added" '[[ $("${V[@]}" get interface d1 error) == "[]" && $("${V[@]}" get interface d1 ofport) -gt 0 ]]'
check "dpdk net_ring port added" '[[ $("${V[@]}" get interface r1 error) == "[]" && $("${V[@]}" get interface r1 ofport) -gt 0 ]]'
check "the daemon survived" 'kill -0 $pid'

# ---- tunnel ports go to the bridge's TunnelManager
"${V[@]}" add-port br0 t1 -- set interface t1 type=geneve options:remote_ip=192.0.2.9 \
    options:key=5 -- add-port br0 t2 -- set interface t2 type=vxlan options:frobnicate=1
t1=$("${V[@]}" get interface t1 ofport)
check "a geneve port is added ($t1, $("${V[@]}" get interface t1 error))" \
    '[[ $t1 -gt 0 && $("${V[@]}" get interface t1 error) == "[]" ]]'
check "dpif/show lists it as geneve" '[[ $("${A[@]}" dpif/show) == *"t1 $t1/$t1: (geneve)"* ]]'
check "a bad tunnel option is an Interface error" \
    '[[ $("${V[@]}" get interface t2 error) == *frobnicate* && $("${V[@]}" get interface t2 ofport) == -1 ]]'
# An underlay (OVS's br-phy address, as its tunnel tests give a dummy
# port one), a neighbour, and one frame encapsulated out of p2.
"${A[@]}" netdev-dummy/ip4addr p2 192.0.2.1/24 >/dev/null; rc=$?
check "netdev-dummy/ip4addr makes p2 the underlay" '((rc == 0))'
out=$("${A[@]}" netdev-dummy/ip4addr p2 192.0.2.1/99 2>&1); rc=$?
check "a bad prefix is refused ($out)" '((rc != 0)) && [[ $out == *"prefix length"* ]]'
check "ovs/route/show has the connected route" \
    '[[ $("${A[@]}" ovs/route/show) == *"192.0.2.0/24 dev p2"* ]]'
"${A[@]}" tnl/neigh/set br0 192.0.2.9 aa:55:aa:55:00:09 >/dev/null
check "tnl/neigh/show has the neighbour" '[[ $("${A[@]}" tnl/neigh/show) == *"aa:55:aa:55:00:09"* ]]'
check "tnl/ports/show lists the geneve listener" '[[ $("${A[@]}" tnl/ports/show) == *"genev_sys_6081 ($t1) ref_cnt=1"* ]]'
"${A[@]}" ofctl/add-flow br0 "priority=30,in_port=1,actions=output:$t1"
"${A[@]}" netdev-dummy/receive p1 "$hex"
check "the encapsulated frame leaves by p2" 'wait_for "(( \$(nframes p2.pcap) == 4 ))"'
enc=$(frames p2.pcap | sed -n 4p)
# Outer Ethernet to the neighbour, IPv4, UDP to 6081, Geneve VNI 5.
check "it is Geneve to 192.0.2.9 with VNI 5" \
    '[[ ${enc:0:12} == aa55aa550009 && ${enc:24:4} == 0800 && ${enc:60:8} == c0000209 && ${enc:72:4} == 17c1 && ${enc:92:6} == 000005 ]]'
"${A[@]}" ofctl/del-flows br0 --strict "priority=30,in_port=1"
"${V[@]}" del-port t1 -- del-port t2
check "tunnel ports are removed" '[[ $("${A[@]}" dpif/show) != *" t1 "* ]]'

# ---- reconfiguration and removal while running
"${V[@]}" set interface p3 options:tx_pcap=p3-new.pcap
"${A[@]}" ofctl/add-flow br0 "priority=20,in_port=1,actions=output:$p3"
"${A[@]}" netdev-dummy/receive p1 "$hex"
check "a reconfigured port uses its new capture" 'wait_for "(( \$(nframes p3-new.pcap) == 1 ))"'
"${V[@]}" del-port br0 p3; rc=$?
check "del-port without --no-wait returns" '((rc == 0))'
check "dpif/show no longer has p3" '[[ $("${A[@]}" dpif/show) != *" p3 "* ]]'
"${A[@]}" netdev-dummy/receive p1 "$hex"
check "a frame to the removed port is dropped, not sent" 'wait_for "[[ \$(\"\${A[@]}\" dpif-netdev/pmd-stats-show) == *no_such_port* ]]"'

# ---- pmd-cpu-mask: two PMD threads, rules and numbers kept
if (($(nproc) >= 2)); then
  "${V[@]}" set Open_vSwitch . other_config:pmd-cpu-mask=0x3
  rxq=$("${A[@]}" dpif-netdev/pmd-rxq-show)
  check "pmd-cpu-mask=0x3 gives two PMD threads" '(($(grep -c "^pmd thread" <<<"$rxq") == 2))'
  check "rules survive the rebuild" '[[ $("${A[@]}" ofctl/dump-flows br0) == *"in_port=1 actions=output:2"* ]]'
  "${A[@]}" ofctl/del-flows br0 "in_port=1,priority=20" --strict 2>/dev/null ||
      "${A[@]}" ofctl/del-flows br0 --strict "priority=20,in_port=1"
  n=$(nframes p2.pcap)
  "${A[@]}" netdev-dummy/receive p1 "$hex"
  check "forwarding works after the rebuild" 'wait_for "(( \$(nframes p2.pcap) == n + 1 ))"'
fi

# ---- Debian's ovs-vsctl and ovs-appctl against ours
if [[ -x /usr/bin/ovs-vsctl && -x /usr/bin/ovs-appctl ]]; then
  /usr/bin/ovs-vsctl --timeout=30 add-port br0 q1 -- set interface q1 type=dummy >deb.out 2>&1; rc=$?
  check "Debian ovs-vsctl add-port (waits for cur_cfg) (rc $rc: $(tail -1 deb.out))" '((rc == 0))'
  check "Debian ovs-vsctl show" '/usr/bin/ovs-vsctl --timeout=30 show 2>/dev/null | grep -q "Port q1"'
  check "Debian ovs-appctl dpif/show" \
      '/usr/bin/ovs-appctl -t "$tmp/ovn-controller.$pid.ctl" dpif/show | grep -q "q1 "'
  check "Debian ovs-appctl ofctl/dump-flows" \
      '/usr/bin/ovs-appctl -t "$tmp/ovn-controller.$pid.ctl" ofctl/dump-flows br0 | grep -q "output:2"'
fi

# ---- the control socket basics, then exit
check "version" '[[ $("${A[@]}" version) == "ovn-controller (Spate) "* ]]'
check "list-commands has ofctl/add-flow" '"${A[@]}" list-commands | grep -q "ofctl/add-flow"'
check "memory/show" '[[ $("${A[@]}" memory/show) == *"bridges:1"* ]]'
"${V[@]}" del-br br0
check "del-br removes the datapath" '[[ $("${A[@]}" dpif/show) != *br0* ]]'
"${A[@]}" exit
wait "$daemon"; rc=$?
check "exit stops the daemon with status 0 (got $rc)" '((rc == 0))'

# ---- a bad dpdk-extra: the daemon runs, and the Interface says why
"${V[@]}" --no-wait set Open_vSwitch . other_config:dpdk-extra="--vdev 'net_null9"
"$bin/ovn-controller" --enable-dummy --no-chdir --pidfile --log-file \
    -vconsole:off "unix:$tmp/db.sock" 2>>"$tmp/stderr" &
daemon=$!
"${V[@]}" add-br br1 -- set bridge br1 datapath_type=netdev -- add-port br1 z1 \
    -- set interface z1 type=dummy; rc=$?
check "with a bad dpdk-extra, add-port still returns (rc $rc)" '((rc == 0))'
err=$("${V[@]}" get interface z1 error)
check "the error names dpdk-extra and the fix ($err)" '[[ $err == *dpdk-extra*restart* ]]'
"${A[@]}" exit
wait "$daemon"; rc=$?
check "that daemon exits with status 0 too (got $rc)" '((rc == 0))'
check "no sanitizer report" '! grep -q -E "Sanitizer|runtime error" "$tmp/stderr"'

echo "$passes passed, $failures failed"
((failures == 0))
