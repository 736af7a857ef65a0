#!/usr/bin/env bash
# Installs exactly the Debian 12 packages Spate needs and that are missing.
#   scripts/install-deps.sh           build and test dependencies
#   scripts/install-deps.sh --peers   also the interoperability peers
#                                     (Open vSwitch 3.1, OVN 23.03, tshark, ...)
#   scripts/install-deps.sh --fuzz    also clang's libFuzzer runtime
# Idempotent: prints what it installs, or nothing when all is present.
# The package list and the reason for each lives in docs/dependencies.md.
set -euo pipefail

build_pkgs=(
  g++ cmake ninja-build pkg-config make
  libdpdk-dev dpdk libbpf-dev libxdp-dev libpcap-dev
  nlohmann-json3-dev libasio-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
peer_pkgs=(
  openvswitch-switch openvswitch-common openvswitch-switch-dpdk dpdk-dev
  ovn-central ovn-host python3-openvswitch
  tshark iproute2 iputils-ping procps
)
fuzz_pkgs=(clang libclang-rt-14-dev)

want=("${build_pkgs[@]}")
for arg in "$@"; do
  case "$arg" in
    --peers) want+=("${peer_pkgs[@]}") ;;
    --fuzz) want+=("${fuzz_pkgs[@]}") ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -q --no-install-recommends "${missing[@]}"; }
if ! apt_install >/tmp/spate-install-deps.log 2>&1; then
  # A fresh machine may never have fetched package lists.
  if ! apt-get update -q >>/tmp/spate-install-deps.log 2>&1; then
    echo "install-deps: 'apt-get update' failed: is this machine offline? (log: /tmp/spate-install-deps.log)" >&2
    exit 1
  fi
  if ! apt_install >>/tmp/spate-install-deps.log 2>&1; then
    echo "install-deps: 'apt-get install ${missing[*]}' failed (log: /tmp/spate-install-deps.log)" >&2
    tail -5 /tmp/spate-install-deps.log >&2
    exit 1
  fi
fi
echo "install-deps: done"
