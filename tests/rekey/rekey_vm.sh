#!/usr/bin/env bash
# Rekeying under a steady ping (runs inside tests/vm/vm-run): a strongSwan 5.9.8
# device against mgate-xfrmd + mgate-iked in gw, 5 pings/s from the device's virtual
# IP to corp through the tunnel while
#   (a) the device rekeys the CHILD SA (swanctl --rekey --child), without and with PFS
#       (curve25519, the IKE SA being ecp256);
#   (b) the device rekeys the IKE SA (swanctl --rekey --ike), and the CHILD SA after it
#       (keys from the new SK_d);
#   (c) the gateway rekeys the CHILD SA on the kernel's soft expire (child_lifetime
#       20s, rekey_margin 50%: every ~10 s), without and with PFS;
#   (d) the gateway rekeys the IKE SA on its lifetime (ike_lifetime 24s: after ~12 s),
#       becoming its original initiator; then the device rekeys the CHILD SA on it.
# Each time: not one ping lost; gw's kernel has new SPIs and none of the old ones; the
# new SAs' counters move; one IKE SA. Exit 77 (skip) without root, strongSwan or an
# ESP-capable kernel. Knobs: MGATE_BUILD (build directory, default ./build),
# MGATE_INTEROP_PKI, PKI_KEY_CACHE (see tests/interop/pki.sh), RKT_KEEP=DIR (logs).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lab/lab.sh
. "$here/../lab/lab.sh"
# shellcheck source=../interop/pki.sh
. "$here/../interop/pki.sh"
# shellcheck source=../interop/strongswan.sh
. "$here/../interop/strongswan.sh"
# shellcheck source=../lib/check.sh
. "$here/../lib/check.sh"

skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
die() { printf 'FAIL %s\n' "$*"; exit 1; }
t_start=${EPOCHREALTIME/,/.}
note() { printf '[%6s s] %s\n' "$(awk -v a="$t_start" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }')" "$*"; }
indent() { sed 's/^/    | /'; }

[[ $(id -u) == 0 ]] || skip "needs root"
for tool in ip ping swanctl openssl awk jq; do
  command -v "$tool" >/dev/null || skip "$tool not installed"
done
[[ -x /usr/lib/ipsec/charon ]] || skip "/usr/lib/ipsec/charon missing"
B=${MGATE_BUILD:-$PWD/build}
[[ -x $B/iked/mgate-iked && -x $B/xfrmd/mgate-xfrmd ]] || skip "no mgate build in $B"

prefix=rkt-
work=$(mktemp -d /tmp/rekey-vm.XXXXXX) || die "mktemp failed"
export SW_RUNDIR_BASE=$work/run
mg=$work/mgate
keep() {
  [[ -n ${RKT_KEEP:-} ]] || return 0
  mkdir -p "$RKT_KEEP" && cp -r "$work/run" "$mg" "$RKT_KEEP/" 2>/dev/null
}
iked_pid= xfrmd_pid=
stop_mgate() {
  [[ -n $iked_pid ]] && kill -TERM "$iked_pid" 2>/dev/null && wait "$iked_pid" 2>/dev/null
  iked_pid=
}
trap 'sw_stop_all; stop_mgate; [[ -n $xfrmd_pid ]] && kill -TERM "$xfrmd_pid"; keep; rm -rf "$work"' EXIT
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
note "lab, ESP and PKI ready"

# --- gw: xfrmd + iked -------------------------------------------------------------------
MGCTL() { "$B/tools/mgatectl" -c "$mg/mgate.conf" "$@"; }
mg_conf() {  # mg_conf EXTRA_IKED_LINES
  mkdir -p "$mg"
  cat >"$mg/mgate.conf" <<EOF
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
esp_proposals = aes128gcm16-curve25519 aes128gcm16
pool = $LAB_POOL
subnets = $LAB_CORP_NET
$1
EOF
}
mg_wait() {  # mg_wait SEC CMD...: bounded poll
  local end=$((${EPOCHREALTIME%[.,]*} + $1))
  shift
  until "$@"; do
    ((${EPOCHREALTIME%[.,]*} < end)) || return 1
    sleep 0.2
  done
}
start_iked() {  # start_iked EXTRA_IKED_LINES
  stop_mgate
  mg_conf "$1"
  ip netns exec "$LAB_NS_GW" "$B/iked/mgate-iked" -c "$mg/mgate.conf" 2>>"$mg/iked.log" &
  iked_pid=$!
  mg_wait 10 grep -q 'listening for IKE on' "$mg/iked.log" ||
    { tail -20 "$mg/iked.log"; die "iked did not start listening"; }
}
mg_conf ""
ip netns exec "$LAB_NS_GW" "$B/xfrmd/mgate-xfrmd" -c "$mg/mgate.conf" 2>>"$mg/xfrmd.log" &
xfrmd_pid=$!
mg_wait 10 MGCTL status xfrmd >/dev/null || die "xfrmd did not start"
lab_gw_route_pool "$prefix"

# --- device: strongSwan, a connection without PFS and one with ----------------------------
# As the responder of the gateway's CHILD rekey, strongSwan 5.9.8 removes its old SA pair
# before it adds the new outbound SA when our DELETE arrives (its log: "CHILD_SA closed",
# then "outbound CHILD_SA ... established"): for that moment (~2 ms under TCG) its out
# policy has no SA, and the device's kernel drops by default what it sends then. With
# xfrm_larval_drop=0 the kernel holds such packets until the SA is there instead: the
# device's own gap, closed on the device; nothing on the gateway's side depends on it.
lab_device sysctl -qw net.core.xfrm_larval_drop=0 || die "xfrm_larval_drop on the device"
dev=$work/conf/device
sw_conf_new "$dev" || die "sw_conf_new failed"
sw_conf_client "$dev" nopfs "$pki/ecdsa" aes128gcm16-prfsha256-ecp256 aes128gcm16 || die "conf nopfs"
sw_conf_client "$dev" pfs "$pki/ecdsa" aes128gcm16-prfsha256-ecp256 aes128gcm16-x25519 || die "conf pfs"
sw_start "$LAB_NS_DEVICE" device "$dev" || die "starting charon in device failed"
sw_load device || die "loading the device configuration failed"
note "gw and device ready"

# --- helpers ---------------------------------------------------------------------------------
# gw_sas: one line per ESP SA in gw: "spi packets"
gw_sas() {
  lab_gw ip -s xfrm state | awk '
    $1 == "proto" && $2 == "esp" { spi = $4; sub(/\(.*/, "", spi) }
    /lifetime current:/ { getline; gsub(/[(),a-z]/, " "); print spi, $2 }'
}
gw_spis() { gw_sas | awk '{ print $1 }' | sort | tr '\n' ' '; }
ike_spis() { MGCTL --json ike list | jq -r '.[] | "\(.spi_i)/\(.spi_r)/\(.state)"' | sort | tr '\n' ' '; }
disjoint() {  # disjoint "A B" "C D": no word in both
  local w
  for w in $1; do [[ " $2 " == *" $w "* ]] && return 1; done
  return 0
}
two_new_sas() {  # two_new_sas "OLD SPIS": gw has 2 SAs, none of them old
  local now
  now=$(gw_spis)
  [[ $(wc -w <<<"$now") == 2 ]] && disjoint "$1" "$now"
}
ping_pid= ping_out=
ping_start() {  # ping_start COUNT: 5 pings/s from the virtual IP, in the background
  ping_out=$work/ping.$RANDOM
  lab_device ping -4 -n -D -c "$1" -i 0.2 -W 3 -I "$vip" "$LAB_CORP_IP" >"$ping_out" 2>&1 &
  ping_pid=$!
}
ping_check() {  # ping_check WHAT: wait for the ping; none lost
  wait "$ping_pid"
  local tx rx
  tx=$(awk '/packets transmitted/ { print $1 }' "$ping_out")
  rx=$(awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /^received/) print $(i-1) }' "$ping_out")
  if [[ -n $tx && $tx == "$rx" && $tx -gt 0 ]]; then
    ok "$1: $rx/$tx pings, none lost"
  else
    bad "$1: ${rx:-0}/${tx:-?} pings through the tunnel"
    awk -v n="$tx" '/icmp_seq=/ { t = $1; sub(/.*icmp_seq=/, ""); sub(/ .*/, ""); got[$0] = t }
      END { for (i = 1; i <= n; i++) if (!(i in got)) printf "lost icmp_seq=%d (the one before answered at %s)\n", i, got[i-1] }' \
      "$ping_out" | indent
  fi
}
sas_counting() {  # sas_counting WHAT: both of gw's SAs counted packets
  local n=0 moving=0 spi pk
  while read -r spi pk; do
    [[ -n $spi ]] || continue
    n=$((n + 1))
    ((pk > 0)) && moving=$((moving + 1))
    printf '    | gw SA %s: %s packets\n' "$spi" "$pk"
  done < <(gw_sas)
  check "$1: both new kernel SAs count packets" test "$n" = 2 -a "$moving" = 2
}
connect() {  # connect CONN: sets vip
  sw_initiate device "$1" || { sw_log device | tail -20 | indent; die "$1 did not connect"; }
  vip=$(sw_vip device "$1" | head -1)
  [[ -n $vip ]] || die "$1: no virtual IP"
  mg_wait 10 two_new_sas "" || die "$1: gw has no SA pair"
  lab_device ping -4 -n -c 1 -W 5 -I "$vip" "$LAB_CORP_IP" >/dev/null || die "$1: no first ping"
  note "$1 up: $vip, gw SAs $(gw_spis)"
}
disconnect() {
  sw_terminate device "$1" >/dev/null
  mg_wait 10 test "$(gw_spis)" = "" || bad "$1: gw kernel SAs left after the terminate"
}

# child_pfs WHAT 0|1: the device's CHILD SA was (not) made with a key exchange (the
# PFS group, curve25519, is not the IKE SA's, ecp256)
child_pfs() {
  local raw
  raw=$(sw_swanctl device --list-sas --raw)
  if [[ $2 == 1 ]]; then
    check "$1: the device's CHILD SA has PFS (CURVE_25519)" grep -q 'dh-group=CURVE_25519' <<<"$raw"
  else
    check "$1: the device's CHILD SA has no PFS" test "$(grep -c 'dh-group=CURVE_25519' <<<"$raw")" = 0
  fi
}

# (a) the device rekeys the CHILD SA
device_child_rekey() {  # device_child_rekey CONN WHAT
  local before
  before=$(gw_spis)
  ping_start 25
  sleep 1.5
  sw_swanctl device --rekey --child "$1" >/dev/null || bad "$2: swanctl --rekey --child failed"
  if mg_wait 15 two_new_sas "$before"; then
    ok "$2: gw's kernel has new SPIs ($(gw_spis)), the old ones ($before) are gone"
  else
    bad "$2: gw's kernel SAs are $(gw_spis) (before: $before)"
  fi
  ping_check "$2"
  sas_counting "$2"
}

start_iked ""
echo "=== (a) the device rekeys the CHILD SA"
connect nopfs
device_child_rekey nopfs "device CHILD rekey without PFS"
check "device CHILD rekey without PFS: iked logged it" grep -qE 'CHILD SA rekeyed: in' "$mg/iked.log"
disconnect nopfs
connect pfs
device_child_rekey pfs "device CHILD rekey with PFS"
check "device CHILD rekey with PFS: iked logged it" grep -qE 'CHILD SA rekeyed with PFS' "$mg/iked.log"
child_pfs "device CHILD rekey with PFS" 1

echo "=== (b) the device rekeys the IKE SA"
ike_before=$(ike_spis)
sas_before=$(gw_spis)
ping_start 25
sleep 1.5
sw_swanctl device --rekey --ike pfs >/dev/null || bad "swanctl --rekey --ike failed"
if mg_wait 15 eval '[[ $(ike_spis) != "$ike_before" && $(ike_spis) == *"/established "* && $(wc -w <<<"$(ike_spis)") == 1 ]]'; then
  ok "IKE rekey: one IKE SA with new SPIs ($(ike_spis); before $ike_before)"
else
  bad "IKE rekey: gw's IKE SAs are $(ike_spis) (before: $ike_before)"
fi
check "IKE rekey: the CHILD SA stayed (kernel SPIs $sas_before)" test "$(gw_spis)" = "$sas_before"
ping_check "IKE rekey"
device_child_rekey pfs "CHILD rekey on the rekeyed IKE SA"
disconnect pfs

echo "=== (c) the gateway rekeys the CHILD SA on the kernel's soft expire"
start_iked $'child_lifetime = 20s\nrekey_margin = 50\nrekey_jitter = 0'
gateway_rekeys() {  # gateway_rekeys CONN WHAT
  local before n0 n1 seen
  connect "$1"
  before=$(gw_spis)
  n0=$(grep -c 'soft-expired: rekeying it' "$mg/iked.log")
  ping_start 70  # 14 s: the first soft expire comes ~10 s after the SA was made
  mg_wait 16 two_new_sas "$before" && seen=$(gw_spis)
  ping_check "$2"
  n1=$(grep -c 'soft-expired: rekeying it' "$mg/iked.log")
  check "$2: iked rekeyed on a soft expire ($((n1 - n0)) so far)" test "$n1" -gt "$n0"
  if [[ -n ${seen:-} ]]; then
    ok "$2: gw's kernel has new SPIs ($seen), the old ones ($before) are gone"
  else
    bad "$2: gw's kernel SAs are $(gw_spis) (before: $before)"
  fi
  sas_counting "$2"
  child_pfs "$2" "$3"
  disconnect "$1"
}
gateway_rekeys nopfs "gateway CHILD rekey without PFS" 0
gateway_rekeys pfs "gateway CHILD rekey with PFS" 1

echo "=== (d) the gateway rekeys the IKE SA on its lifetime"
start_iked $'ike_lifetime = 24s\nrekey_margin = 50\nrekey_jitter = 0'
connect pfs
ike_before=$(ike_spis)
sas_before=$(gw_spis)
ping_start 70  # 14 s: the IKE SA's rekey is due ~12 s after it was made
if mg_wait 16 eval '[[ $(ike_spis) != "$ike_before" && $(ike_spis) == *"/established "* && $(wc -w <<<"$(ike_spis)") == 1 ]]'; then
  ok "gateway IKE rekey: one IKE SA with new SPIs ($(ike_spis); before $ike_before)"
else
  bad "gateway IKE rekey: gw's IKE SAs are $(ike_spis) (before: $ike_before)"
fi
check "gateway IKE rekey: iked started it" grep -q 'IKE SA rekeyed by us' "$mg/iked.log"
check "gateway IKE rekey: the device took it" sw_wait_log device 'IKE_SA pfs\[[0-9]+\] rekeyed' 2
check "gateway IKE rekey: the CHILD SA stayed (kernel SPIs $sas_before)" test "$(gw_spis)" = "$sas_before"
ping_check "gateway IKE rekey"
# The device is the new IKE SA's original responder now: its CHILD rekey on it.
device_child_rekey pfs "device CHILD rekey on the IKE SA the gateway rekeyed"
disconnect pfs

echo "--- iked's rekey log lines"
grep -E 'rekey|soft-expired|deleted the rekeyed' "$mg/iked.log" | tail -20 | indent
check_summary
