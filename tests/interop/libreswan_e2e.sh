#!/usr/bin/env bash
# VM test (tests/vm/vm-run): libreswan 4.10 (Debian's pluto, unpacked by libreswan-fetch)
# as the device, against mgate's responder (mgate-xfrmd + mgate-iked with docs/config.md's
# [iked] example) in gw: the second IKEv2 client nobody here wrote.
#
#   device: pluto (whack) ==IKEv2/ESP== gw: mgate-xfrmd + mgate-iked --- corp
#
# Per case (RSA-2048 and ECDSA P-256 device certificates from tests/interop/pki.sh,
# RFC 7427 digital signatures both ways): the connection comes up with a CP request,
# the device gets a virtual IP from the pool, 3/3 pings to corp through the tunnel,
# gw's kernel SA counters move, `whack --terminate` leaves gw with no kernel state and
# no IKE SA. Then `mgatectl ike terminate` from gw: libreswan logs the DELETE and drops
# its SAs. Exit 77 (skip) without root, without the unpacked libreswan or without ESP.
#
# Knobs: MGATE_BUILD (build directory, required), MGATE_INTEROP_PKI, PKI_KEY_CACHE (see
# pki.sh), LST_CASES="rsa-p1 ecdsa-p1" (only those cases), LS_PLUTODEBUG=all (pluto's debug log), LST_KEEP=DIR (copy configs and logs).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lab/lab.sh
. "$here/../lab/lab.sh"
# shellcheck source=pki.sh
. "$here/pki.sh"
# shellcheck source=libreswan.sh
. "$here/libreswan.sh"

fails=0
pass() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
die() { printf 'FAIL %s\n' "$*"; exit 1; }
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
t_start=$(now)
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
note() { printf '[%6s s] %s\n' "$(since "$t_start")" "$*"; }
indent() { sed 's/^/    | /'; }

[[ $(id -u) == 0 ]] || skip "needs root"
for tool in ip ping unshare openssl certutil pk12util jq timeout; do
  command -v "$tool" >/dev/null || skip "$tool not installed (see tests/interop/packages.txt)"
done
B=${MGATE_BUILD:?MGATE_BUILD=the build directory}
[[ -x $B/iked/mgate-iked && -x $B/xfrmd/mgate-xfrmd ]] || die "no mgate-iked/mgate-xfrmd under $B"
ls_root
rc=$?
((rc == 77)) && skip "libreswan is not unpacked (run tests/interop/libreswan-fetch as root on the host)"
((rc == 0)) || die "libreswan-fetch failed"
missing=$(ldd "$(_ls_bin pluto)" | awk '/not found/ { print $1 }' | tr '\n' ' ')
[[ -z $missing ]] || skip "pluto's libraries missing: $missing(tools/deps installs them)"
note "libreswan: $("$(_ls_bin pluto)" --version 2>&1 | head -1 | cut -c1-40) from $LS_ROOT"

prefix=lsi-
work=$(mktemp -d /tmp/ls-e2e.XXXXXX) || die "mktemp failed"
export LS_RUNDIR_BASE=$work/run
mg=$work/mgate
keep() {
  [[ -n ${LST_KEEP:-} ]] || return 0
  mkdir -p "$LST_KEEP" && cp -r "$work/run" "$mg" "$LST_KEEP/" 2>/dev/null
}
iked_pid='' xfrmd_pid=''
stop_mgate() {
  [[ -n $iked_pid ]] && kill -TERM "$iked_pid" 2>/dev/null && wait "$iked_pid" 2>/dev/null
  [[ -n $xfrmd_pid ]] && kill -TERM "$xfrmd_pid" 2>/dev/null && wait "$xfrmd_pid" 2>/dev/null
  iked_pid='' xfrmd_pid=''
}
trap 'ls_stop_all; stop_mgate; keep; rm -rf "$work"' EXIT
lab_cleanup_on_exit "$prefix"
lab_down "$prefix"
lab_up "$prefix" || die "lab_up failed"
if ! probe=$(lab_gw ip xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x100 \
     mode tunnel aead 'rfc4106(gcm(aes))' "0x$(printf '%040d' 0)" 128 2>&1); then
  [[ ${MGATE_VM:-0} == 1 ]] && die "the VM kernel cannot install an ESP SA: $probe"
  skip "this kernel has no ESP ($probe); run under tests/vm/vm-run"
fi
lab_gw ip xfrm state flush
note "lab up, ESP available"

pki=${MGATE_INTEROP_PKI:-$work/pki}
pki_gen "$pki" rsa ecdsa || die "pki_gen failed"
# shellcheck source=/dev/null
. "$pki/pki.env"
note "PKI ready in $pki"

# --- gw: mgate-xfrmd + mgate-iked with docs/config.md's [iked] example ---------------------
MGCTL() { "$B/tools/mgatectl" -c "$mg/mgate.conf" "$@"; }
mg_conf() {  # mg_conf SET: the config for the gateway certificate of SET (as sw_selftest.sh)
  local example
  example=$(awk '/^### Example/ { ex = 1 } ex && /^```ini/ { on = 1; next } on && /^```/ { exit } on' \
    "$here/../../docs/config.md")
  [[ $example == *'[iked]'* ]] || { echo "no [iked] example in docs/config.md"; return 1; }
  mkdir -p "$mg"
  {
    printf '[global]\nrun_dir = %s\nstate_dir = %s\nlog_level = debug\n' "$mg/run" "$mg/state"
    printf '[xfrmd]\nike_listen = %s\n' "$LAB_GW_IP"
    sed -e "s|/etc/mgate/iked/gw\.|$1/gw.|g" \
        -e "s|/etc/mgate/iked/rsa-ca.crt|$pki/rsa/ca.crt|" \
        -e "s|/etc/mgate/iked/ecdsa-ca.crt|$pki/ecdsa/ca.crt|" <<<"$example"
  } >"$mg/mgate.conf"
}
mg_wait() {  # mg_wait SEC CMD...: bounded poll
  local end=$((${EPOCHREALTIME%[.,]*} + $1))
  shift
  until "$@"; do
    ((${EPOCHREALTIME%[.,]*} < end)) || return 1
    sleep 0.2
  done
}
iked_set=
gw_prepare() {  # gw_prepare SET: iked with the gateway certificate of SET
  [[ $iked_set == "$1" ]] && return 0
  if [[ -n $iked_pid ]]; then
    kill -TERM "$iked_pid"
    wait "$iked_pid" 2>/dev/null
  fi
  mg_conf "$pki/$1" || return 1
  ip netns exec "$LAB_NS_GW" "$B/iked/mgate-iked" -c "$mg/mgate.conf" 2>>"$mg/iked.log" &
  iked_pid=$!
  iked_set=$1
  mg_wait 10 grep -q 'listening for IKE on' "$mg/iked.log" ||
    { echo "iked did not start listening"; tail -20 "$mg/iked.log"; return 1; }
}
mg_conf "$pki/rsa" || die "writing mgate.conf failed"
ip netns exec "$LAB_NS_GW" "$B/xfrmd/mgate-xfrmd" -c "$mg/mgate.conf" 2>>"$mg/xfrmd.log" &
xfrmd_pid=$!
mg_wait 10 MGCTL status xfrmd >/dev/null || die "mgate-xfrmd did not start"
lab_gw_route_pool "$prefix"
gw_ike_count() { MGCTL --json ike list | jq 'length'; }
gw_state_count() { lab_gw ip xfrm state | grep -c '^src'; }
gw_policy_count() { lab_gw ip xfrm policy | grep -cE '^[[:space:]]+dir (in|out|fwd) '; }
wait_gw_clean() {
  local end=$((${EPOCHREALTIME%[.,]*} + $1))
  while :; do
    [[ $(gw_state_count) == 0 && $(gw_policy_count) == 0 ]] && return 0
    ((${EPOCHREALTIME%[.,]*} < end)) || return 1
    sleep 0.2
  done
}
gw_sas() {  # one line per ESP SA in gw: "src dst spi bytes packets"
  lab_gw ip -s xfrm state | awk '
    $1 == "src" { src = $2; dst = $4 }
    $1 == "proto" && $2 == "esp" { spi = $4; sub(/\(.*/, "", spi) }
    /lifetime current:/ { getline; gsub(/[(),a-z]/, " "); print src, dst, spi, $1, $2 }'
}
note "gw: mgate-xfrmd up"

# --- device: pluto ---------------------------------------------------------------------------
# Cases: NAME SET AUTHBY IKE ESP (libreswan's proposal syntax; the names are the iked
# example's proposals, which iked's `ike list` shows as configured).
cases=(
  "rsa-p1 rsa rsasig aes_gcm128-sha2_256-dh19 aes_gcm128 aes128gcm16-prfsha256-ecp256"
  "ecdsa-p1 ecdsa ecdsa aes_gcm128-sha2_256-dh19 aes_gcm128 aes128gcm16-prfsha256-ecp256"
  "ecdsa-p2 ecdsa ecdsa aes256-sha2_384-dh15 aes256-sha2_384 aes256-sha384-modp3072"
  "ecdsa-p3 ecdsa ecdsa aes_gcm256-sha2_384-dh31 aes_gcm256 aes256gcm16-prfsha384-curve25519"
)
if [[ -n ${LST_CASES:-} ]]; then  # LST_CASES="rsa-p1 ...": only those
  sel=()
  for c in "${cases[@]}"; do [[ " $LST_CASES " == *" ${c%% *} "* ]] && sel+=("$c"); done
  cases=("${sel[@]}")
  ((${#cases[@]})) || die "LST_CASES=$LST_CASES selects no case"
fi
ls_nss_init device || die "NSS database"
ls_nss_import device dev-rsa "$pki/rsa" || die "importing the RSA device certificate"
ls_nss_import device dev-ecdsa "$pki/ecdsa" || die "importing the ECDSA device certificate"
for c in "${cases[@]}"; do
  read -r name set authby ike esp _ <<<"$c"
  ls_conf_client device "$name" "dev-$set" "$ike" "$esp" "$authby" || die "ipsec.conf $name"
done
ls_start "$LAB_NS_DEVICE" device || die "pluto did not start"
note "device: pluto up"
for c in "${cases[@]}"; do
  read -r name _ <<<"$c"
  ls_add device "$name" || { indent <"$LS_OUT"; die "addconn $name failed"; }
done
note "device: connections loaded"
echo "--- device connection ${cases[0]%% *} (ipsec.conf)"
awk -v c="conn ${cases[0]%% *}" '$0 == c { on = 1 } on && /^$/ { exit } on' \
  "$(ls_rundir device)/ipsec.conf" | indent

PINGS=3
dump_logs() {
  echo "--- whack output ($LS_OUT)"
  indent <"$LS_OUT"
  echo "--- iked log (last 30 lines)"
  tail -n 30 "$mg/iked.log" | indent
  echo "--- pluto log (last 40 lines)"
  ls_log device | tail -n 40 | indent
}
device_vip() {  # the virtual IP pluto installed (scope 50 marks addsource's addresses)
  lab_device ip -4 -o addr show | awk '{ split($4, a, "/"); print a[1] }' |
    grep -F "${LAB_POOL%.*/*}." | head -1
}

run_case() {
  local name=$1 set=$2 ike_name=$6 case_fails=$fails vip got n ok out line
  echo "=== $name: $set certificate, IKE $3/$4 ESP $5"
  gw_prepare "$set" || { fail "$name: iked did not start"; return; }
  if ls_up device "$name" && grep -q 'established Child SA' "$LS_OUT"; then
    pass "$name: connected in $LS_SECONDS s (whack --initiate)"
  else
    fail "$name: whack --initiate did not establish the Child SA ($LS_SECONDS s)"
    dump_logs
    ls_down device "$name"
    wait_gw_clean 5
    return
  fi
  grep -E 'authenticated|established' "$LS_OUT" | indent
  vip=$(device_vip)
  if [[ -n $vip ]]; then
    pass "$name: device got virtual IP $vip from $LAB_POOL (on a device interface)"
  else
    fail "$name: no address from $LAB_POOL on the device"
    lab_device ip -4 -o addr show | indent
  fi
  if out=$(MGCTL --json ike list) && [[ $(jq 'length' <<<"$out") == 1 ]] &&
     jq -e --arg p "$ike_name" '.[0].state == "established" and (.[0].ike | startswith($p))' <<<"$out" >/dev/null; then
    pass "$name: gw has one IKE SA, established, $ike_name"
  else
    fail "$name: gw's IKE SAs are not one established $ike_name"
    printf '%s\n' "$out" | indent
  fi
  if [[ -n $vip ]]; then
    out=$(lab_device ping -4 -n -c "$PINGS" -i 0.2 -W 5 -I "$vip" "$LAB_CORP_IP" 2>&1)
    got=$(awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /^received/) print $(i-1) }' <<<"$out")
    if [[ $got == "$PINGS" ]]; then
      pass "$name: $PINGS/$PINGS pings $vip -> $LAB_CORP_IP through the tunnel"
    else
      fail "$name: ${got:-0}/$PINGS pings $vip -> $LAB_CORP_IP"
      indent <<<"$out"
    fi
  fi
  n=0 ok=0
  while read -r line; do
    [[ -n $line ]] || continue
    n=$((n + 1))
    read -r -a f <<<"$line"
    ((f[4] >= PINGS)) && ok=$((ok + 1))
    printf '    | gw SA %s -> %s spi %s: %s bytes, %s packets\n' "${f[@]}"
  done < <(gw_sas)
  if [[ $n == 2 && $ok == 2 ]]; then
    pass "$name: both gw kernel SAs counted >= $PINGS packets"
  else
    fail "$name: gw has $n kernel SAs, $ok of them counted >= $PINGS packets (want 2 and 2)"
  fi
  if ls_down device "$name"; then
    pass "$name: whack --terminate done in $LS_SECONDS s"
  else
    fail "$name: whack --terminate failed"
    indent <"$LS_OUT"
  fi
  if wait_gw_clean 5; then
    pass "$name: gw kernel state gone (ip xfrm state and policy empty)"
  else
    fail "$name: gw kernel state left: $(gw_state_count) SAs, $(gw_policy_count) policies"
    lab_gw ip xfrm state | sed 's/0x[0-9a-f]\{16,\}/<key>/' | indent
    lab_gw ip xfrm policy | indent
    lab_gw ip xfrm state flush
    lab_gw ip xfrm policy flush
  fi
  n=$(gw_ike_count)
  if [[ $n == 0 ]]; then pass "$name: gw has no IKE SA left"; else fail "$name: gw still has $n IKE SAs"; fi
  n=$(lab_device ip xfrm state | grep -c '^src')
  if [[ $n == 0 ]]; then pass "$name: device kernel SAs gone"; else fail "$name: device still has $n kernel SAs"; fi
  ((fails > case_fails)) && dump_logs
}

for c in "${cases[@]}"; do
  # shellcheck disable=SC2086 # the case's words
  run_case $c
done
note "cases done"

# --- the gateway's admin terminates the tunnel ----------------------------------------------
echo "=== mgatectl ike terminate: libreswan accepts the gateway's DELETE"
read -r name set _ <<<"${cases[0]}"
gw_prepare "$set"
if ls_up device "$name" && grep -q 'established Child SA' "$LS_OUT" && vip=$(device_vip) && [[ -n $vip ]]; then
  pass "$name: connected again ($vip)"
  old_spis=$(lab_device ip xfrm state | awk '$1 == "proto" { print $4 }')
  if MGCTL ike terminate "$vip" | grep -q 'terminated 1'; then
    pass "mgatectl ike terminate $vip"
  else
    fail "mgatectl ike terminate $vip"
  fi
  # (gw and device share the SPIs; libreswan may already have a new tunnel, below)
  old_gone() {  # old_gone ROLE: none of the terminated tunnel's SPIs left in ROLE
    local s cur
    cur=$(lab_exec "$1" ip xfrm state | awk '$1 == "proto" { print $4 }')
    for s in $old_spis; do grep -qxF "$s" <<<"$cur" && return 1; done
    return 0
  }
  if mg_wait 5 old_gone gw; then pass "terminated: gw removed the tunnel's kernel SAs"; else fail "terminated, but gw kept the tunnel's kernel SAs"; fi
  # libreswan takes the DELETE, drops the IKE SA and its Child SA without answering
  # with a DELETE of its own ("NOT sending notification"), and then, because a
  # connection brought up with whack --initiate is "supposed to remain up", revives
  # it at once with a new IKE SA: so the check is on the old SPIs, not on "no SA".
  if ls_wait_log device 'received a Delete/Notify' 10; then
    pass "libreswan accepted the gateway's delete:"
    grep -E 'NOT sending notification|received a Delete/Notify|remain up' "$(ls_logfile device)" | tail -n 3 | indent
  else
    fail "libreswan's log shows no received delete"
    ls_log device | tail -n 20 | indent
  fi
  if mg_wait 10 old_gone device; then
    pass "libreswan removed the terminated tunnel's kernel SAs ($(tr '\n' ' ' <<<"$old_spis"))"
  else
    fail "libreswan kept kernel SAs of the terminated tunnel"
    lab_device ip xfrm state | sed 's/0x[0-9a-f]\{16,\}/<key>/' | indent
  fi
  revived() { ls_log device | awk '/received a Delete\/Notify/ { on = 1 } on' | grep -q 'established Child SA'; }
  if mg_wait 15 revived; then
    echo "info: libreswan revived the connection after the delete (a whack-initiated connection is kept up)"
  fi
  ls_down device "$name"
  if wait_gw_clean 5 && [[ $(gw_ike_count) == 0 ]]; then
    pass "after whack --terminate of the revived connection gw is clean"
  else
    fail "gw not clean after the revived connection's terminate"
  fi
else
  fail "$name did not connect again"
  dump_logs
fi

note "done"
ls_stop_all
if ((fails)); then
  echo "libreswan_e2e: $fails check(s) failed"
  exit 1
fi
echo "libreswan_e2e: all checks passed"
