#!/usr/bin/env bash
# The device's side going away, in the VM with a real ESP kernel: strongSwan
# 5.9.8 in device, mgate-xfrmd + mgate-iked (dpd_delay 3s, dpd_timeout 15s: the
# second connection comes well within it) in gw.
#
#   (1) the same device connecting twice: the device's charon is killed with
#       SIGKILL (its kernel state flushed, as after a reboot) and started again;
#       it connects anew with INITIAL_CONTACT. iked replaces the old IKE SA: the
#       device keeps its virtual IP, gw's kernel holds only the new CHILD SA's two
#       SAs (none of the old SPIs) and one set of three policies, one IKE SA is
#       listed, a ping passes.
#   (2) DPD teardown: the device's link is cut (ip link set down in its
#       namespace); iked's liveness checks go unanswered and after dpd_timeout it
#       ends the tunnel: one "peer dead" log line, gw's kernel SAs and policies
#       gone, mgatectl ike list empty, the dead-peer counter at 1, the lease
#       released (iked.db: no active lease).
# Exit 77 without root, strongSwan or an ESP kernel (run it under
# tests/vm/vm-run, MGATE_BUILD=the build directory).
# Knobs: MGATE_INTEROP_PKI=DIR, PKI_KEY_CACHE=DIR (see sw_selftest.sh), SWT_KEEP=DIR (logs).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lib/check.sh
. "$here/../lib/check.sh"
# shellcheck source=../lab/lab.sh
. "$here/../lab/lab.sh"
# shellcheck source=pki.sh
. "$here/pki.sh"
# shellcheck source=strongswan.sh
. "$here/strongswan.sh"

skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
die() { printf 'FAIL - %s\n' "$*"; exit 1; }
indent() { sed 's/^/    | /'; }
t_start=${EPOCHREALTIME/,/.}
note() { printf '[%6s s] %s\n' "$(awk -v a="$t_start" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }')" "$*"; }

[[ $(id -u) == 0 ]] || skip "needs root"
for tool in ip ping swanctl openssl jq awk sqlite3; do
  command -v "$tool" >/dev/null || skip "$tool not installed (see tests/interop/packages.txt)"
done
[[ -x /usr/lib/ipsec/charon ]] || skip "/usr/lib/ipsec/charon missing: apt-get install strongswan-charon"
B=${MGATE_BUILD:?MGATE_BUILD=the build directory}

prefix=swp-
work=$(mktemp -d /tmp/sw-peer.XXXXXX) || die "mktemp failed"
export SW_RUNDIR_BASE=$work/run
mg=$work/mgate
xfrmd_pid='' iked_pid=''
finish() {
  [[ -n $iked_pid ]] && kill -TERM "$iked_pid" 2>/dev/null && wait "$iked_pid" 2>/dev/null
  [[ -n $xfrmd_pid ]] && kill -TERM "$xfrmd_pid" 2>/dev/null
  sw_stop_all
  if [[ -n ${SWT_KEEP:-} ]]; then mkdir -p "$SWT_KEEP" && cp -r "$work/run" "$mg" "$SWT_KEEP/" 2>/dev/null; fi
  rm -rf "$work"
}
trap finish EXIT
lab_cleanup_on_exit "$prefix"
lab_down "$prefix"
lab_up "$prefix" || die "lab_up failed"
if ! probe=$(lab_gw ip xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x100 \
     mode tunnel aead 'rfc4106(gcm(aes))' "0x$(printf '%040d' 0)" 128 2>&1); then
  [[ ${MGATE_VM:-0} == 1 ]] && die "the VM kernel cannot install an ESP SA: $probe"
  skip "this kernel has no ESP ($probe); run under tests/vm/vm-run"
fi
lab_gw ip xfrm state flush

pki=${MGATE_INTEROP_PKI:-$work/pki}
pki_gen "$pki" ecdsa || die "pki_gen failed"
# shellcheck source=/dev/null
. "$pki/pki.env"

# --- gw: mgate with a short DPD -----------------------------------------------------------
mkdir -p "$mg"
cat >"$mg/mgate.conf" <<CONF
[global]
run_dir = $mg/run
state_dir = $mg/state
log_level = debug
[xfrmd]
ike_listen = $LAB_GW_IP
[iked]
cert = $pki/ecdsa/gw.crt
key = $pki/ecdsa/gw.key
ca = $pki/ecdsa/ca.crt
local_id = $PKI_GW_ID
ike_proposals = aes128gcm16-prfsha256-ecp256
esp_proposals = aes128gcm16
pool = $LAB_POOL
subnets = $LAB_CORP_NET
dpd_delay = 3s
dpd_timeout = 15s
CONF
MGCTL() { "$B/tools/mgatectl" -c "$mg/mgate.conf" "$@"; }
ilog() { cat "$mg/iked.log" 2>/dev/null; }
ip netns exec "$LAB_NS_GW" "$B/xfrmd/mgate-xfrmd" -c "$mg/mgate.conf" 2>>"$mg/xfrmd.log" &
xfrmd_pid=$!
until_ok 15 MGCTL status xfrmd >/dev/null || die "xfrmd did not start"
lab_gw_route_pool "$prefix"
ip netns exec "$LAB_NS_GW" "$B/iked/mgate-iked" -c "$mg/mgate.conf" 2>>"$mg/iked.log" &
iked_pid=$!
until_ok 20 grep -q 'listening for IKE on' "$mg/iked.log" || { ilog | tail -20; die "iked did not start"; }

conf=$work/conf
sw_conf_new "$conf/device" || die "sw_conf_new failed"
sw_conf_client "$conf/device" dev "$pki/ecdsa" aes128gcm16-prfsha256-ecp256 aes128gcm16 ||
  die "sw_conf_client failed"
note "lab, PKI, gw ready"

gw_states() { lab_gw ip xfrm state | grep -c '^src'; }
gw_policies() { lab_gw ip xfrm policy | grep -cE '^[[:space:]]+dir (in|out|fwd) '; }
gw_spis() { lab_gw ip xfrm state | awk '$1 == "proto" { print $4 }' | sort | tr '\n' ' '; }
ike_spis() { MGCTL --json ike list | jq -r '.[] | "\(.spi_i)/\(.spi_r)/\(.vip)"' | sort | tr '\n' ' '; }
disjoint() {  # disjoint "A B" "C D": no word in both
  local w
  for w in $1; do [[ " $2 " == *" $w "* ]] && return 1; done
  return 0
}
device_up() {  # device_up WHAT: start charon, connect; sets vip
  sw_start "$LAB_NS_DEVICE" device "$conf/device" >/dev/null || die "$1: charon does not start"
  sw_load device || die "$1: swanctl --load-all failed"
  sw_initiate device dev || { ilog | grep -v '<7>' | tail -20 | indent; die "$1: the device did not connect"; }
  vip=$(sw_vip device dev | head -1) || die "$1: no virtual IP"
}
pings() { lab_device ping -4 -n -c 3 -i 0.3 -W 3 -I "$vip" "$LAB_CORP_IP" >/dev/null; }

# --- (1) the same device connecting twice ----------------------------------------------------
echo "=== (1) the same device connects twice (charon killed and started again)"
device_up "first connection"
vip1=$vip spis1=$(gw_spis) ike1=$(ike_spis)
note "connected: $vip1, gw SAs $spis1, IKE SA $ike1"
check "first connection: a ping passes" pings
pid=$(sw_pid device)
kill -9 "$pid"
wait "$pid" 2>/dev/null
# The device "rebooted": its kernel forgets the tunnel too.
lab_device ip xfrm state flush
lab_device ip xfrm policy flush
lab_device ip -4 addr show to "$vip1/32" | awk -F'[ :@]+' '/^[0-9]/ { print $2 }' | while read -r ifc; do
  lab_device ip addr del "$vip1/32" dev "$ifc"
done
check "gw: the old IKE SA is still listed (nothing told iked)" test "$(ike_spis)" = "$ike1"
device_up "second connection"
note "connected again: $vip, gw SAs $(gw_spis), IKE SA $(ike_spis)"
check "the device sent INITIAL_CONTACT" sw_wait_log device 'IKE_AUTH request 1 \[.*N\(INIT_CONTACT\)' 1
check "the device keeps its virtual IP ($vip1)" test "$vip" = "$vip1"
check "iked replaced the old IKE SA" until_ok 10 grep -q 'replaced by a new connection of the same device' "$mg/iked.log"
check "gw: one IKE SA, new SPIs ($(ike_spis); was $ike1)" \
  test "$(wc -w <<<"$(ike_spis)")" = 1 -a "$(ike_spis)" != "$ike1"
only_new() { [[ $(gw_states) == 2 ]] && disjoint "$spis1" "$(gw_spis)"; }
check "gw: 2 kernel SAs, none of the old ones ($(gw_spis); was $spis1)" until_ok 10 only_new
check "gw: one set of 3 policies" test "$(gw_policies)" = 3
check "second connection: a ping passes" pings

# --- (2) DPD teardown when the device is cut off -----------------------------------------------
echo "=== (2) the device's link is cut: iked's DPD ends the tunnel"
ndead=$(ilog | grep -c 'peer dead')
leases() { sqlite3 -readonly "$mg/state/iked.db" 'SELECT count(*) FROM leases WHERE active = 1'; }
check "the device holds one active lease" test "$(leases)" = 1
lab_device ip link set "$LAB_DEVICE_IF" down
note "device link down"
# dpd_delay 3 s idle, then checks for dpd_timeout 15 s: down after ~18 s (bound 40 s).
one_dead() { test "$(ilog | grep -c 'peer dead')" = "$((ndead + 1))"; }
check "iked: one 'peer dead' line" until_ok 60 one_dead
note "$(ilog | grep 'peer dead' | tail -1)"
no_kernel_state() { test "$(gw_states)" = 0 -a "$(gw_policies)" = 0; }
check "gw: the kernel SAs and policies are gone" until_ok 10 no_kernel_state
check "gw: mgatectl ike list is empty" test "$(MGCTL --json ike list | jq length)" = 0
# its detail is refreshed every second
dead_counted() { MGCTL --json status iked | jq -r '.[0].detail' | grep -q ' 1 dead peers'; }
check "mgatectl status iked counts 1 dead peer" until_ok 30 dead_counted
check "the lease is released (no active lease in iked.db)" test "$(leases)" = 0

if ((FAIL)); then
  echo "--- iked log (last 40)"; grep -v '<7>' "$mg/iked.log" | tail -40 | indent
  echo "--- device charon log (last 30)"; sw_log device | tail -30 | indent
fi
check_summary
