#!/usr/bin/env bash
# Restart without dropping tunnels (issue 5 item 8), in the VM with a real ESP
# kernel: strongSwan 5.9.8 in device, mgate-xfrmd + mgate-iked in gw.
#
#   device: charon (dpd_delay 3s) ==IKEv2/ESP== gw: mgate-xfrmd + mgate-iked --- corp
#
# A ping runs through the tunnel (5/s) while iked is killed with SIGKILL and
# restarted, then again while xfrmd is; lost pings are counted and must be
# zero (the kernel SAs never leave). After each restart the tunnel must still
# be managed: iked restored it from its checkpoint (mgatectl ike list shows the
# device), strongSwan's DPD gets answers (no retransmission). Then the tunnel
# still rekeys, each time under the ping with none lost and new SPIs in gw's
# kernel: the device rekeys the CHILD SA and the IKE SA, iked is killed right
# after the IKE rekey and restores the NEW IKE SA (DPD answered); restarted with
# short lifetimes, the device rekeys both again, the gateway rekeys the IKE SA
# (becoming its original initiator) and the CHILD SA on the kernel's soft
# expire; iked is killed again, restores that SA, and mgatectl ike terminate
# sends a DELETE strongSwan accepts and removes the kernel state; a tunnel terminated while xfrmd is down has its kernel state
# removed by the reconcile after xfrmd's restart; a tunnel whose kernel SA was
# deleted while xfrmd was down is found and ended with a DELETE. Exit 77 without root, strongSwan or an ESP kernel (run it
# under tests/vm/vm-run, MGATE_BUILD=the build directory).
#
# Knobs: MGATE_INTEROP_PKI=DIR, PKI_KEY_CACHE=DIR (see sw_selftest.sh),
# SWR_PINGS=N (pings per phase, default 50 = 10 s), SWT_KEEP=DIR (logs).
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
for tool in ip ping swanctl openssl jq awk timeout; do
  command -v "$tool" >/dev/null || skip "$tool not installed (see tests/interop/packages.txt)"
done
[[ -x /usr/lib/ipsec/charon ]] || skip "/usr/lib/ipsec/charon missing: apt-get install strongswan-charon"
B=${MGATE_BUILD:?MGATE_BUILD=the build directory}

prefix=swr-
work=$(mktemp -d /tmp/sw-restart.XXXXXX) || die "mktemp failed"
export SW_RUNDIR_BASE=$work/run
export SW_LOGLEVEL=${SW_LOGLEVEL:-1}
mg=$work/mgate
xfrmd_pid='' iked_pid='' ping_pid=''
finish() {
  [[ -n $ping_pid ]] && kill "$ping_pid" 2>/dev/null
  [[ -n $iked_pid ]] && kill -9 "$iked_pid" 2>/dev/null
  [[ -n $xfrmd_pid ]] && kill -9 "$xfrmd_pid" 2>/dev/null
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
note "lab and PKI ready"

# --- gw: mgate ------------------------------------------------------------------------
mkdir -p "$mg"
# mg_conf [EXTRA_IKED_LINES]: (re)writes mgate.conf; iked reads it when it starts.
mg_conf() {
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
local_id = gw.mgate.test
ike_proposals = aes128gcm16-prfsha256-ecp256
esp_proposals = aes128gcm16
pool = $LAB_POOL
subnets = $LAB_CORP_NET
${1:-}
CONF
}
mg_conf
CKPT=$mg/run/iked.checkpoint
MGCTL() { "$B/tools/mgatectl" -c "$mg/mgate.conf" "$@"; }
ilog() { cat "$mg/iked.log" 2>/dev/null; }
nilog() { ilog | grep -c -- "$1"; }
more_than() { local n; n=$(nilog "$1"); ((n > $2)); }
start_xfrmd() {
  ip netns exec "$LAB_NS_GW" "$B/xfrmd/mgate-xfrmd" -c "$mg/mgate.conf" 2>>"$mg/xfrmd.log" &
  xfrmd_pid=$!
  until_ok 15 MGCTL status xfrmd >/dev/null
}
start_iked() {
  local n; n=$(nilog 'listening for IKE on')
  ip netns exec "$LAB_NS_GW" "$B/iked/mgate-iked" -c "$mg/mgate.conf" 2>>"$mg/iked.log" &
  iked_pid=$!
  until_ok 20 more_than 'listening for IKE on' "$n"
}
check "gw: mgate-xfrmd starts" start_xfrmd || die "xfrmd did not start"
lab_gw_route_pool "$prefix"
check "gw: mgate-iked starts" start_iked || { ilog | tail -20; die "iked did not start"; }

# --- device: strongSwan with a short DPD ------------------------------------------------
conf=$work/conf
# As the responder of the gateway's CHILD rekey strongSwan has its out policy without
# an SA for ~2 ms (see tests/rekey/rekey_vm.sh): the device's kernel holds such
# packets instead of dropping them.
lab_device sysctl -qw net.core.xfrm_larval_drop=0 || die "xfrm_larval_drop on the device"
sw_conf_new "$conf/device" || die "sw_conf_new failed"
sw_conf_client "$conf/device" dev "$pki/ecdsa" aes128gcm16-prfsha256-ecp256 aes128gcm16 \
  conn.dpd_delay=3s || die "sw_conf_client failed"
sw_start "$LAB_NS_DEVICE" device "$conf/device" || die "starting charon in device failed"
sw_load device || die "swanctl --load-all failed"
DLOG=$(sw_logfile device)
sw_initiate device dev || { indent <"$SW_OUT"; ilog | tail -30; die "the device did not connect"; }
vip=$(sw_vip device dev | head -1) || die "no virtual IP"
note "device connected, virtual IP $vip"
gw_states() { lab_gw ip xfrm state | grep -c '^src'; }
gw_policies() { lab_gw ip xfrm policy | grep -cE '^[[:space:]]+dir (in|out|fwd) '; }
gw_spis() { lab_gw ip xfrm state | awk '$1 == "proto" { print $4 }' | sort | tr '\n' ' '; }
listed() { [[ $(MGCTL --json ike list | jq -r --arg v "$vip" '[.[] | select(.vip == $v and .state == "established")] | length') == 1 ]]; }
check "gw: 2 kernel SAs, the device listed by mgatectl ike list" test "$(gw_states)" = 2 -a -n "$(listed && echo y)"
spis0=$(gw_spis)
ike0=$(MGCTL --json ike list | jq -c '[.[] | {spi_i, spi_r, identity, vip}]')
check "gw: the checkpoint exists, mode 0600" test "$(stat -c %a "$CKPT" 2>/dev/null)" = 600

PINGS=${SWR_PINGS:-50}
# ping_start [N]: N (default PINGS) pings at 5/s from the virtual IP to corp, in the background.
ping_start() {
  lab_device ping -4 -n -c "${1:-$PINGS}" -i 0.2 -W 2 -I "$vip" "$LAB_CORP_IP" >"$work/ping.out" 2>&1 &
  ping_pid=$!
}
# ping_wait: waits for the ping to end (in this shell: wait cannot reach it
# from a command substitution); ping_result prints transmitted and received.
ping_wait() {
  wait "$ping_pid"
  ping_pid=
}
ping_result() {
  sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$work/ping.out"
}
# dpd_answered MARK: after line MARK of the device log, a DPD was sent and
# answered, and nothing was retransmitted.
dlines() { wc -l <"$DLOG"; }
dpd_answered() {
  local since=$1
  awk -v n="$since" 'NR > n' "$DLOG" | grep -q 'parsed INFORMATIONAL response [0-9]* \[ \]'
}
no_retransmit() { ! awk -v n="$1" 'NR > n' "$DLOG" | grep -qiE 'retransmit|giving up|deleting IKE_SA'; }

# phase NAME: the ping through one daemon's kill -9 and restart; then DPD.
phase() {
  local what=$1 pid_var=$2 start=$3 tr rx mark
  echo "=== SIGKILL of $what under a 5/s ping"
  ping_start
  sleep 2
  kill -9 "${!pid_var}"
  wait "${!pid_var}" 2>/dev/null
  printf -v "$pid_var" ''
  note "$what killed"
  check "gw: the kernel SAs stay while $what is down" test "$(gw_spis)" = "$spis0"
  sleep 1
  check "$what restarts" "$start"
  note "$what restarted"
  ping_wait
  read -r tr rx <<<"$(ping_result)"
  note "ping: $rx of $tr answered"
  check "$what: no ping lost ($rx/$tr received, kernel path)" test -n "$tr" -a "$tr" = "$PINGS" -a "$rx" = "$tr" ||
    indent <"$work/ping.out"
  check "$what: the same kernel SAs ($spis0)" test "$(gw_spis)" = "$spis0"
  check "$what: mgatectl ike list shows the device ($vip) with the same IKE SA" \
    test "$(MGCTL --json ike list | jq -c '[.[] | {spi_i, spi_r, identity, vip}]')" = "$ike0"
  # The ping has stopped: strongSwan's DPD fires after dpd_delay (3 s).
  mark=$(dlines)
  check "$what: strongSwan's DPD answered" until_ok 20 dpd_answered "$mark"
  sleep 4 # a second DPD round: a retransmission would show now
  check "$what: no retransmission by strongSwan" no_retransmit "$mark"
  check "$what: the device still has its IKE SA" test "$(sw_ike_count device)" = 1
}
phase iked iked_pid start_iked
check "iked: restored the IKE SA from the checkpoint" grep -q 'checkpoint: 1 of 1 IKE SAs restored' "$mg/iked.log"
check "iked: reconcile kept the kernel state (nothing removed)" \
  bash -c "! grep -q 'xfrmd removed' '$mg/iked.log'"
nrec=$(nilog 'reconciled with xfrmd')
phase xfrmd xfrmd_pid start_xfrmd
check "iked: reconnected to xfrmd and reconciled" until_ok 10 more_than 'reconciled with xfrmd' "$nrec"
check "iked: the kernel holds both SAs of the CHILD SA (reconcile)" \
  bash -c "grep 'reconciled with xfrmd' '$mg/iked.log' | tail -1 | grep -q 'holds 2 SAs and 3 policies'"

# --- the tunnel still rekeys after the restarts -----------------------------------------
# The restored state must be right for the next exchanges: keys (SK_d for the
# CHILD SA's keys, SK_e/SK_a), message IDs both ways, which side is the IKE
# SA's original initiator. Each rekey runs under the ping (none lost); gw's
# kernel then has new SPIs and none of the old.
ike_ids() { MGCTL --json ike list | jq -r '.[] | "\(.spi_i)/\(.spi_r)/\(.state)"' | sort | tr '\n' ' '; }
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
new_ike() {  # new_ike "OLD": one established IKE SA, not OLD
  local now
  now=$(ike_ids)
  [[ $now != "$1" && $(wc -w <<<"$now") == 1 && $now == *"/established "* ]]
}
ping_none_lost() {  # ping_none_lost WHAT: waits for the ping; none lost
  local tr rx
  ping_wait
  read -r tr rx <<<"$(ping_result)"
  note "ping: $rx of $tr answered"
  check "$1: no ping lost ($rx/$tr received)" test -n "$tr" -a "${tr:-0}" -gt 0 -a "$rx" = "$tr" ||
    indent <"$work/ping.out"
}
kill_iked() {
  kill -9 "$iked_pid"
  wait "$iked_pid" 2>/dev/null
  iked_pid=
}
restored() {  # restored N: the Nth "checkpoint: 1 of 1 IKE SAs restored" line is there
  test "$(nilog 'checkpoint: 1 of 1 IKE SAs restored')" -ge "$1"
}

echo "=== the device rekeys the CHILD SA and the IKE SA after both restarts; iked killed right after"
before=$(gw_spis) ike_b=$(ike_ids)
ping_start 75 # 15 s
sleep 1
sw_swanctl device --rekey --child dev >/dev/null || bad "swanctl --rekey --child failed"
check "device CHILD rekey on the restored SA: new SPIs in gw, the old ones ($before) gone" \
  until_ok 15 two_new_sas "$before"
sas1=$(gw_spis)
sw_swanctl device --rekey --ike dev >/dev/null || bad "swanctl --rekey --ike failed"
check "device IKE rekey on the restored SA: one IKE SA, new SPIs (was $ike_b)" until_ok 15 new_ike "$ike_b"
ike1=$(ike_ids)
note "rekeyed: kernel SAs $sas1, IKE SA $ike1; iked killed"
# Right after the IKE SA rekey: the checkpoint must hold the NEW IKE SA. The
# restarted iked has short lifetimes for what it makes from now on (the
# restored SAs keep their own).
kill_iked
mg_conf $'child_lifetime = 30s\nike_lifetime = 24s\nrekey_margin = 50\nrekey_jitter = 0'
check "iked restarts (short lifetimes)" start_iked
ping_none_lost "CHILD and IKE rekeys, then iked's SIGKILL"
check "iked restored the checkpoint again" restored 2
check "iked restored the NEW IKE SA ($ike1)" test "$(ike_ids)" = "$ike1"
check "... with its CHILD SA ($sas1)" test "$(gw_spis)" = "$sas1"
mark=$(dlines)
check "the restored rekeyed IKE SA: strongSwan's DPD answered" until_ok 20 dpd_answered "$mark"
check "... nothing retransmitted" no_retransmit "$mark"

echo "=== rekeys both ways on the restored rekeyed IKE SA"
# t0 the device rekeys the CHILD SA (iked's new SA: 30 s, soft expire at 15 s)
# and the IKE SA (iked's new IKE SA: 24 s, its rekey due at 12 s): the gateway
# rekeys the IKE SA at ~t0+13 s, the CHILD SA at ~t0+15 s.
before=$(gw_spis) ike_b=$(ike_ids)
nsoft=$(nilog 'soft-expired: rekeying it') nike=$(nilog 'IKE SA rekeyed by us')
ping_start 110 # 22 s
sleep 1
sw_swanctl device --rekey --child dev >/dev/null || bad "swanctl --rekey --child failed"
check "device CHILD rekey (restored keys): new SPIs, the old ones ($before) gone" \
  until_ok 15 two_new_sas "$before"
sas2=$(gw_spis)
sw_swanctl device --rekey --ike dev >/dev/null || bad "swanctl --rekey --ike failed"
check "device IKE rekey (restored message IDs): one IKE SA, new SPIs (was $ike_b)" until_ok 15 new_ike "$ike_b"
ike2=$(ike_ids)
check "the gateway rekeys the IKE SA on its lifetime" until_ok 25 more_than 'IKE SA rekeyed by us' "$nike"
check "... strongSwan took it: one IKE SA, new SPIs (was $ike2)" until_ok 10 new_ike "$ike2"
check "the gateway rekeys the CHILD SA on the soft expire" until_ok 15 more_than 'soft-expired: rekeying it' "$nsoft"
check "... new SPIs in gw, the old ones ($sas2) gone" until_ok 10 two_new_sas "$sas2"
ping_none_lost "rekeys both ways after the restarts"
ike3=$(ike_ids) sas3=$(gw_spis)
note "gateway rekeyed: kernel SAs $sas3, IKE SA $ike3 (iked its original initiator); iked killed"

echo "=== iked killed right after its own IKE SA rekey; the DELETE it sends after restart"
kill_iked
check "iked restarts" start_iked
check "iked restored the checkpoint again" restored 3
check "iked restored the IKE SA it rekeyed ($ike3)" test "$(ike_ids)" = "$ike3"
check "... with its CHILD SA ($sas3)" test "$(gw_spis)" = "$sas3"

# --- a soft expire that reached nobody --------------------------------------------------
# The kernel sends a soft expire once. iked killed before it and restarted
# after it must still rekey that CHILD SA (from its checkpointed install
# time, on xfrmd's connect) before the hard lifetime ends the tunnel.
echo "=== a soft expire while iked is down: the restarted iked catches up"
kill_iked
mg_conf $'child_lifetime = 60s\nrekey_margin = 50\nrekey_jitter = 0'
check "iked restarts (CHILD SAs of 60 s, soft expire at 30 s)" start_iked
before=$(gw_spis)
sw_swanctl device --rekey --child dev >/dev/null || bad "swanctl --rekey --child failed"
check "device CHILD rekey: iked installs a CHILD SA of 60 s" until_ok 15 two_new_sas "$before"
t_in=$(date +%s) sas4=$(gw_spis) ncatch=$(nilog 'its expire reached nobody')
kill_iked
ping_start 225 # 45 s
while (($(date +%s) < t_in + 32)); do sleep 1; done # bounded: at most 32 s
check "iked restarts after the kernel's soft expire went by" start_iked
check "the restarted iked rekeys the CHILD SA whose soft expire it missed" \
  until_ok 25 more_than 'its expire reached nobody' "$ncatch"
check "... new SPIs in gw, the old ones ($sas4) gone" until_ok 15 two_new_sas "$sas4"
ping_none_lost "a soft expire missed during a restart"

# --- the tunnel is still iked's to end ----------------------------------------------------
# A request from iked on the restored IKE SA it initiated: the DELETE is
# accepted only with the right keys, message ID and initiator flag.
echo "=== mgatectl ike terminate"
ndel=$(grep -c 'received DELETE for IKE_SA' "$DLOG")
out=$(MGCTL ike terminate "$vip"); echo "$out"
check "terminate $vip: one IKE SA" grep -q 'terminated 1' <<<"$out"
deleted() { test "$(grep -c 'received DELETE for IKE_SA' "$DLOG")" -gt "$ndel"; }
gone() { test "$(gw_states)" = 0 -a "$(gw_policies)" = 0; }
check "the device accepted the DELETE (its log: received DELETE for IKE_SA)" until_ok 10 deleted
check "the device has no IKE SA left" test "$(sw_ike_count device)" = 0
check "gw: the kernel state is gone" until_ok 10 gone
check "gw: no IKE SA listed" test "$(MGCTL --json ike list | jq length)" = 0
# The default lifetimes again for the rest.
kill -TERM "$iked_pid"; wait "$iked_pid"; iked_pid=
mg_conf
check "iked restarts (default lifetimes)" start_iked

# --- a tunnel ended while xfrmd is down -------------------------------------------------
# iked cannot remove the kernel state then; the reconcile after xfrmd's
# restart must (nothing owns it any more).
echo "=== mgatectl ike terminate while xfrmd is down"
if sw_initiate device dev && vip=$(sw_vip device dev | head -1); then
  ok "the device connects again ($vip)"
else
  bad "the device does not connect again"
fi
kill -9 "$xfrmd_pid"; wait "$xfrmd_pid" 2>/dev/null; xfrmd_pid=
nrec=$(nilog 'reconciled with xfrmd')
ndel=$(grep -c 'received DELETE for IKE_SA' "$DLOG")
out=$(MGCTL ike terminate "$vip"); echo "$out"
check "terminate with xfrmd down: one IKE SA" grep -q 'terminated 1' <<<"$out"
check "... the device got the DELETE" until_ok 10 deleted
check "... the kernel state is still there (xfrmd is down)" test "$(gw_states)" = 2
check "xfrmd restarts" start_xfrmd
check "... iked reconciles" until_ok 10 more_than 'reconciled with xfrmd' "$nrec"
check "... the orphaned kernel state is removed" until_ok 10 gone
check "... iked says so" grep -q 'xfrmd removed 2 SAs and 3 policies' "$mg/iked.log"

# --- a CHILD SA lost from the kernel while xfrmd is down -----------------------------------
# Someone deletes one of the tunnel's kernel SAs: after xfrmd's restart the
# reconcile counts one SA short, iked finds which tunnel lost it and ends it
# with a DELETE (the device reconnects rather than sending into nothing).
echo "=== a kernel SA deleted while xfrmd is down"
if sw_initiate device dev && vip=$(sw_vip device dev | head -1); then
  ok "the device connects again ($vip)"
else
  bad "the device does not connect again"
fi
kill -9 "$xfrmd_pid"; wait "$xfrmd_pid" 2>/dev/null; xfrmd_pid=
ndel=$(grep -c 'received DELETE for IKE_SA' "$DLOG")
spi_in=$(lab_gw ip xfrm state | awk -v gw="$LAB_GW_IP" '$1 == "src" { d = $4 } $1 == "proto" && d == gw { print $4; exit }')
check "the inbound kernel SA ($spi_in) deleted behind mgate's back" \
  lab_gw ip xfrm state delete src "$LAB_DEVICE_IP" dst "$LAB_GW_IP" proto esp spi "$spi_in"
check "xfrmd restarts" start_xfrmd
check "iked finds the tunnel that lost its CHILD SA" \
  until_ok 15 grep -q 'its CHILD SA (in .* missing.*) is gone from the kernel' "$mg/iked.log"
check "... ends it with a DELETE the device gets" \
  until_ok 10 deleted
check "... the rest of its kernel state is removed" until_ok 10 gone
check "... no IKE SA listed" test "$(MGCTL --json ike list | jq length)" = 0
kill -TERM "$iked_pid"; wait "$iked_pid"; rc=$?; iked_pid=
check "iked exits 0 on SIGTERM" test $rc -eq 0
check "... and removes its checkpoint" test ! -e "$CKPT"
if ((FAIL)); then
  echo "--- iked log (last 40)"; grep -v '<7>' "$mg/iked.log" | tail -40 | indent
  echo "--- device charon log (last 40)"; tail -40 "$DLOG" | indent
fi
check_summary
