#!/usr/bin/env bash
# Host test of tests/lab/lab.sh (ctest label "netns"): brings the lab up with a private
# prefix, proves routing with cleartext pings device -> corp (IPv4 and IPv6, both
# device links), checks that the pool is not routed by gw without a tunnel, then
# brings it down (twice: idempotent) and checks nothing is left. Exit 77 (skip) when
# network namespaces cannot be created here.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lab.sh
. "$here/lab.sh"

fails=0
pass() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
check() {  # check DESCRIPTION CMD...
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}
check_not() {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then fail "$what"; else pass "$what"; fi
}

if [[ $(id -u) != 0 ]]; then
  echo "SKIP: needs root for network namespaces"
  exit 77
fi
for tool in ip ping; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
probe=lt-probe-$$
if ! ip netns add "$probe" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces here"
  exit 77
fi
ip netns del "$probe"

# A per-process prefix lets several runs (or other tests) coexist.
prefix=lt$$-
lab_cleanup_on_exit "$prefix"

t0=$(date +%s.%N)
lab_up "$prefix"
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "lab_up took %.2f s\n", b - a }'

check "namespaces exist" test -e "/run/netns/${prefix}device" -a -e "/run/netns/${prefix}gw" -a -e "/run/netns/${prefix}corp"
check "lab_up again with the same prefix refuses" bash -c ". '$here/lab.sh'; ! lab_up '$prefix'"
check "gw forwards IPv4" test "$(lab_gw cat /proc/sys/net/ipv4/ip_forward)" = 1

ping4() { lab_device ping -n -q -c 2 -i 0.2 -W 2 "$@"; }
ping6() { lab_device ping -6 -n -q -c 2 -i 0.2 -W 2 "$@"; }
check "device -> gw ($LAB_GW_IP)" ping4 "$LAB_GW_IP"
check "device -> corp ($LAB_CORP_IP), routed by gw" ping4 "$LAB_CORP_IP"
check "device -> corp ($LAB_CORP_IP6), routed by gw" ping6 "$LAB_CORP_IP6"
check "corp -> device ($LAB_DEVICE_IP)" lab_corp ping -n -q -c 1 -W 2 "$LAB_DEVICE_IP"
check "lab_exec corp" lab_exec corp ip -4 addr show dev "$LAB_CORP_IF"

# Without a tunnel the pool must not be reachable: gw has no pool route.
lab_device ip addr add "$LAB_POOL_FIRST/32" dev lo
check_not "pool address unreachable from corp without a tunnel" \
  lab_corp ping -n -q -c 1 -W 1 "$LAB_POOL_FIRST"
lab_gw_route_pool "$prefix"
check "pool address reachable after lab_gw_route_pool" lab_corp ping -n -q -c 1 -W 2 "$LAB_POOL_FIRST"

lab_add_device_link "$prefix"
check "device -> gw over the second link ($LAB_GW_IP2)" ping4 -I "$LAB_DEVICE_IF2" "$LAB_GW_IP2"
lab_device ip link set "$LAB_DEVICE_IF" down
check "device -> corp over the second link once the first is down" ping4 "$LAB_CORP_IP"
check "device -> corp IPv6 over the second link" ping6 "$LAB_CORP_IP6"

# A process left in a namespace must not keep lab_down from finishing.
lab_gw sleep 60 &
sleeper=$!
# A second lab with another prefix coexists with the first.
lab_up "${prefix}b-"
check "second lab (prefix ${prefix}b-) device -> corp" \
  ip netns exec "${prefix}b-device" ping -n -q -c 1 -W 2 "$LAB_CORP_IP"
lab_down "${prefix}b-"
_lab_set_prefix "$prefix"

t2=$(date +%s.%N)
lab_down "$prefix"
t3=$(date +%s.%N)
awk -v a="$t2" -v b="$t3" 'BEGIN { printf "lab_down took %.2f s\n", b - a }'
wait "$sleeper" 2>/dev/null || true
check_not "process in gw was stopped" kill -0 "$sleeper"
check "lab_down is idempotent" lab_down "$prefix"
left=$(ip netns list | grep -c "^$prefix" || true)
check "no namespace left" test "$left" = 0

if ((fails)); then
  echo "lab self-test: $fails check(s) failed"
  exit 1
fi
echo "lab self-test: all checks passed"
