#!/usr/bin/env bash
# The seed's transcript (../shared/seed/000_3164d93840f0afd0.txt), command by
# command, in the non-interactive sandbox (tools/ovs-sandbox --command):
# ps ax, lswitch-add/-list, lport-add/-list, `ovsdb-client dump OVN` with the
# Bindings rows ovn-nbd creates, lport-get-up, the raw `ovsdb-client
# transact` that sets chassis, `up`, and back to `down` when chassis is
# cleared.  Every output is checked against the seed's shape, UUIDs aside;
# dump rows are compared after normalising whitespace and the 2015 quoting
# rule (see tests/README.md).
#
# Usage: seed_transcript_test.sh SOURCE_DIR BUILD_DIR [OVSDB_SERVER]
#   OVSDB_SERVER (default: the build's) serves the sandbox's databases, e.g.
#   Open vSwitch's /usr/sbin/ovsdb-server.
# Needs BUILD_DIR/bin/{ovsdb-server,ovsdb-tool,ovsdb-client,ovn-nbctl,ovn-nbd}.
set -uo pipefail

if [[ ${1:-} != --inside ]]; then
  src=${1:?usage: seed_transcript_test.sh SOURCE_DIR BUILD_DIR [OVSDB_SERVER]}
  build=${2:?usage: seed_transcript_test.sh SOURCE_DIR BUILD_DIR [OVSDB_SERVER]}
  server=${3:-}
  for prog in ovsdb-server ovsdb-tool ovsdb-client ovn-nbctl ovn-nbd; do
    [[ -x $build/bin/$prog ]] || { echo "FAIL: $build/bin/$prog is not built"; exit 1; }
  done
  args=(--builddir="$build" --srcdir="$src")
  [[ -n $server ]] && args+=(--ovsdb-server="$server")
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  # The sandbox removes its own directory; its daemons must be gone too.
  "$src/tools/ovs-sandbox" "${args[@]}" --sandbox-dir="$tmp/sandbox" --keep \
      --command "bash '$(cd "$(dirname "$0")" && pwd)/$(basename "$0")' --inside '${server:-ovsdb-server}'"
  rc=$?
  for pidfile in "$tmp"/sandbox/*.pid; do
    [[ -e $pidfile ]] || continue
    if kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "FAIL: $(basename "$pidfile" .pid) still running after the sandbox exited"; rc=1
    fi
  done
  exit $rc
fi

# ---- Inside the sandbox: OVS_RUNDIR, PATH and OVN_NB_DB are set. ----
server=$2
failures=0; passes=0
pass() { passes=$((passes + 1)); echo "ok: $*"; }
fail() { failures=$((failures + 1)); echo "FAIL: $*"; }
check() { if eval "$2"; then pass "$1"; else fail "$1"; fi; }
uuid_re='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

# run CMD...: runs a command, leaving stdout in $out, stderr in $err, status in $rc.
run() { out=$("$@" 2>"$OVS_RUNDIR/.err"); rc=$?; err=$(cat "$OVS_RUNDIR/.err"); }
# expect DESCRIPTION EXPECTED-STDOUT CMD...: succeeds, no stderr, exact stdout.
expect() {
  local what=$1 want=$2; shift 2
  run "$@"
  if ((rc == 0)) && [[ -z $err && $out == "$want" ]]; then pass "$what"; else
    fail "$what: rc=$rc stdout='$out' (want '$want') stderr='$err'"; fi
}
# wait_until SECONDS CMD...: polls CMD until it succeeds or SECONDS pass.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do ((SECONDS < deadline)) || return 1; sleep 0.05; done
}

# The seed's Bindings rows, projected onto its columns.
seed_cols="_uuid chassis logical_port mac parent_port tag"
seed_rows1='<uuid> "" "sw0-port0" [] [] []
<uuid> "" "sw0-port1" [] [] []'
seed_rows2='<uuid> "" "sw0-port1" [] [] []
<uuid> hostname "sw0-port0" [] [] []'

# normalize: UUIDs become <uuid>; a quoted string that needs no quotes in
# either rule loses them (2015 quoted "sw0-port0", 3.1 does not); runs of
# spaces collapse.
normalize() {
  sed -E -e "s/$uuid_re/<uuid>/g" -e 's/"([A-Za-z_][A-Za-z0-9_.-]*)"/\1/g' \
      -e 's/ +/ /g' -e 's/ $//'
}
# bindings_rows DUMP: the Bindings table of an `ovsdb-client dump` as
# "<seed columns>" rows, in the dump's order.
bindings_rows() {
  awk -v want="$seed_cols" '
    /^Bindings table$/ { inb = 1; n = 0; next }
    inb && /^$/ { exit }
    inb { n++
      if (n == 1) { for (i = 1; i <= NF; i++) col[$i] = i; next }
      if (n == 2) next
      split(want, w, " "); line = ""
      for (i = 1; i in w; i++) line = line (i > 1 ? " " : "") (w[i] in col ? $(col[w[i]]) : "?")
      print line }' <<<"$1" | normalize
}
bindings_count() { run ovsdb-client dump OVN; [[ $(bindings_rows "$out" | grep -c .) == "$1" ]]; }

# ---- $ ps ax | grep ov[sn] ----
ps_out=$(ps ax | grep 'ov[sn]')
for daemon in ovsdb-server ovn-nbd; do
  pid=$(cat "$OVS_RUNDIR/$daemon.pid" 2>/dev/null)
  line=$(awk -v pid="$pid" '$1 == pid' <<<"$ps_out")
  case $daemon in
    ovsdb-server) want="$server --detach --no-chdir --pidfile -vconsole:off --log-file --remote=punix:$OVS_RUNDIR/db.sock ovn.db ovnnb.db conf.db" ;;
    ovn-nbd) want="ovn-nbd --detach --no-chdir --pidfile -vconsole:off --log-file" ;;
  esac
  check "ps ax shows $daemon as the seed does ($line)" '[[ -n $pid && $line == *" $want" ]]'
done

# ---- lswitch-add, lswitch-list ----
expect "lswitch-add sw0" "" ovn-nbctl lswitch-add sw0
expect "lswitch-add sw1" "" ovn-nbctl lswitch-add sw1
run ovn-nbctl lswitch-list
# Two "<uuid> (<name>)" lines.  The seed shows sw1 first: the 2015 tool's
# hash order.  Ours is sorted by name, then UUID (northd/README.md).
check "lswitch-list: two '<uuid> (<name>)' lines, by name ($out)" \
    '((rc == 0)) && [[ -z $err ]] && [[ $(sed -E "s/^$uuid_re /<uuid> /" <<<"$out") == $'"'"'<uuid> (sw0)\n<uuid> (sw1)'"'"' ]]'

# ---- lport-add, lport-list ----
expect "lport-add sw0-port0 sw0" "" ovn-nbctl lport-add sw0-port0 sw0
expect "lport-add sw0-port1 sw0" "" ovn-nbctl lport-add sw0-port1 sw0
run ovn-nbctl lport-list sw0
check "lport-list sw0: two '<uuid> (<name>)' lines ($out)" \
    '((rc == 0)) && [[ -z $err ]] && [[ $(sed -E "s/^$uuid_re /<uuid> /" <<<"$out") == $'"'"'<uuid> (sw0-port0)\n<uuid> (sw0-port1)'"'"' ]]'

# ---- $ ovsdb-client dump OVN: ovn-nbd made the Bindings rows ----
check "ovn-nbd creates two Bindings rows (10 s)" 'wait_until 10 bindings_count 2'
run ovsdb-client dump OVN
dump1=$out
check "dump OVN exits 0 without stderr" '((rc == 0)) && [[ -z $err ]]'
header=$(awk '/^Bindings table$/ { getline; print; exit }' <<<"$dump1")
has_seed_cols() { local c; for c in $seed_cols; do [[ " $1 " == *" $c "* ]] || return 1; done; }
check "Bindings header has the seed's columns ($header)" 'has_seed_cols "$header"'
rows=$(bindings_rows "$dump1")
check "Bindings rows are the seed's, chassis \"\" ($rows)" '[[ $rows == "$(normalize <<<"$seed_rows1")" ]]'
run /usr/bin/ovsdb-client dump OVN
check "our ovsdb-client prints what Open vSwitch 3.1's does" '[[ $out == "$dump1" ]]'

# ---- $ ovn-nbctl lport-get-up sw0-port0 ----
expect "lport-get-up sw0-port0 is down" "down" ovn-nbctl lport-get-up sw0-port0

# ---- the raw transact a hypervisor would do ----
binding=$(awk '/^Bindings table$/ { inb = 1 } inb && /sw0-port0/ { print $1; exit }' <<<"$dump1")
check "the Bindings row of sw0-port0 has a UUID ($binding)" '[[ $binding =~ ^$uuid_re$ ]]'
expect "transact sets chassis" '[{"count":1}]' ovsdb-client transact \
    '["OVN",{"op":"update","table":"Bindings","where":[["_uuid","==",["uuid","'"$binding"'"]]],"row":{"chassis":"hostname"}}]'
run ovsdb-client dump OVN
rows=$(bindings_rows "$out")
check "dump shows chassis hostname ($rows)" '[[ $rows == "$(normalize <<<"$seed_rows2")" ]]'
port_up() { [[ $(ovn-nbctl lport-get-up "$1" 2>&1) == "$2" ]]; }
check "lport-get-up sw0-port0 turns up (10 s)" 'wait_until 10 port_up sw0-port0 up'
expect "lport-get-up sw0-port0 is up" "up" ovn-nbctl lport-get-up sw0-port0
expect "lport-get-up sw0-port1 stays down" "down" ovn-nbctl lport-get-up sw0-port1

# ---- clearing chassis: down again ----
expect "transact clears chassis" '[{"count":1}]' ovsdb-client transact \
    '["OVN",{"op":"update","table":"Bindings","where":[["_uuid","==",["uuid","'"$binding"'"]]],"row":{"chassis":""}}]'
check "lport-get-up sw0-port0 turns down (10 s)" 'wait_until 10 port_up sw0-port0 down'
run ovsdb-client dump OVN
rows=$(bindings_rows "$out")
check "dump shows chassis \"\" again ($rows)" '[[ $rows == "$(normalize <<<"$seed_rows1")" ]]'

# ---- deleting a port deletes its binding ----
expect "lport-del sw0-port1" "" ovn-nbctl lport-del sw0-port1
check "ovn-nbd deletes the stale Bindings row (10 s)" 'wait_until 10 bindings_count 1'

echo "$passes passed, $failures failed"
((failures == 0))
