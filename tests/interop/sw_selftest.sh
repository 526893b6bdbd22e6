#!/usr/bin/env bash
# Self-test of the strongSwan interop kit (runs inside tests/vm/vm-run): strongSwan on
# both sides of the lab, so that the kit (pki.sh, strongswan.sh) is proven before
# mgate-iked replaces the responder in gw.
#
#   device: charon + swanctl client ==IKEv2/ESP== gw: charon responder --- corp
#
# For each certificate type and proposal of the matrix: connect, check the device got
# a virtual IP from the pool, that both sides negotiated the proposal asked for (IKE SA
# on gw, ESP algorithm of the kernel SAs), ping corp from the virtual IP through the
# tunnel, check that gw's kernel SA counters moved, terminate from the device, check
# that gw's kernel state is gone. Negative: a device certificate from another CA, an
# expired one and one whose keyUsage lacks digitalSignature are refused
# (AUTHENTICATION_FAILED, no IKE SA, no kernel state, the gw log says why).
# Prints timings (handshake under TCG). Exit 77 (skip) without root, strongSwan or an
# ESP-capable kernel (run it under tests/vm/vm-run).
#
# SWT_RESPONDER=iked (with MGATE_BUILD=BUILD_DIR) puts mgate's own responder in gw
# (mgate-xfrmd + mgate-iked, the issue's acceptance test) instead of strongSwan's:
# the device side and every kernel check stay the same.
#
# Knobs: MGATE_INTEROP_PKI=DIR (PKI directory: reused when pki.sh made it complete with
# the same parameters, e.g. by the host-side ctest fixture interop_pki; default a fresh
# one, ~10 s under TCG), PKI_KEY_CACHE=DIR (see pki.sh), SWT_MATRIX=full|short (full:
# every proposal for rsa and ecdsa; short: every proposal for ecdsa, one for rsa),
# SWT_ED25519=0 (skip the Ed25519 case), SW_LOGLEVEL=2 (more charon detail),
# SWT_KEEP=DIR (copy configs, logs and swanctl outputs to DIR; with vm-run, use a
# --results directory).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lab/lab.sh
. "$here/../lab/lab.sh"
# shellcheck source=pki.sh
. "$here/pki.sh"
# shellcheck source=strongswan.sh
. "$here/strongswan.sh"

fails=0
pass() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
die() { printf 'FAIL %s\n' "$*"; exit 1; }
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
t_start=$(now)
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
elapsed() { since "$t_start"; }
note() { printf '[%6s s] %s\n' "$(elapsed)" "$*"; }
indent() { sed 's/^/    | /'; }

[[ $(id -u) == 0 ]] || skip "needs root"
for tool in ip ping unshare swanctl openssl awk timeout; do
  command -v "$tool" >/dev/null || skip "$tool not installed (see tests/interop/packages.txt)"
done
[[ -x /usr/lib/ipsec/charon ]] || skip "/usr/lib/ipsec/charon missing: apt-get install strongswan-charon"

prefix=swi-
work=$(mktemp -d /tmp/sw-selftest.XXXXXX) || die "mktemp failed"
export SW_RUNDIR_BASE=$work/run
keep() {
  [[ -n ${SWT_KEEP:-} ]] || return 0
  mkdir -p "$SWT_KEEP" && cp -r "$work/conf" "$work/run" "$SWT_KEEP/" 2>/dev/null
}
trap 'sw_stop_all; keep; rm -rf "$work"' EXIT
lab_cleanup_on_exit "$prefix"
lab_down "$prefix"
lab_up "$prefix" || die "lab_up failed"
note "lab up"

# Without ESP in the kernel (the host) nothing here can work: skip, or fail in the VM.
if ! probe=$(lab_gw ip xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x100 \
     mode tunnel aead 'rfc4106(gcm(aes))' "0x$(printf '%040d' 0)" 128 2>&1); then
  [[ ${MGATE_VM:-0} == 1 ]] && die "the VM kernel cannot install an ESP SA: $probe"
  skip "this kernel has no ESP ($probe); run under tests/vm/vm-run"
fi
lab_gw ip xfrm state flush
note "ESP available (first SA install)"

# --- PKI ----------------------------------------------------------------------------
types="rsa ecdsa"
[[ ${SWT_ED25519:-1} == 1 ]] && types+=" ed25519"
pki=${MGATE_INTEROP_PKI:-$work/pki}
t0=$(now)
# shellcheck disable=SC2086
pki_gen "$pki" $types || die "pki_gen failed"
t_pki=$(since "$t0")
# shellcheck source=/dev/null
. "$pki/pki.env"
note "PKI ($types) ready in $pki after $t_pki s"

# --- the matrix ----------------------------------------------------------------------
# Per proposal: IKE and ESP proposals, what gw's IKE SA must show (ERE on swanctl
# --list-sas --raw) and what gw's kernel SAs must show (ERE on `ip xfrm state`).
declare -A IKE ESP IKE_RE ESP_RE
IKE[p1]=aes128gcm16-prfsha256-ecp256 ESP[p1]=aes128gcm16
IKE_RE[p1]='encr-alg=AES_GCM_16 encr-keysize=128 .*prf-alg=PRF_HMAC_SHA2_256 dh-group=ECP_256'
ESP_RE[p1]='aead rfc4106\(gcm\(aes\)\) 0x[0-9a-f]{40} 128'
IKE[p2]=aes256-sha384-modp3072 ESP[p2]=aes256-sha384
IKE_RE[p2]='encr-alg=AES_CBC encr-keysize=256 integ-alg=HMAC_SHA2_384_192 prf-alg=PRF_HMAC_SHA2_384 dh-group=MODP_3072'
ESP_RE[p2]='auth-trunc hmac\(sha384\) 0x[0-9a-f]{96} 192 enc cbc\(aes\) 0x[0-9a-f]{64}'
IKE[p3]=aes256gcm16-prfsha384-curve25519 ESP[p3]=aes256gcm16
IKE_RE[p3]='encr-alg=AES_GCM_16 encr-keysize=256 .*prf-alg=PRF_HMAC_SHA2_384 dh-group=CURVE_25519'
ESP_RE[p3]='aead rfc4106\(gcm\(aes\)\) 0x[0-9a-f]{72} 128'
# cases: "certificate type:proposal"
if [[ ${SWT_MATRIX:-full} == full ]]; then
  cases=(rsa:p1 rsa:p2 rsa:p3)
else
  cases=(rsa:p1)
fi
cases+=(ecdsa:p1 ecdsa:p2 ecdsa:p3)
[[ $types == *ed25519* ]] && cases+=(ed25519:p3)

# --- the gateway under test: strongSwan's responder --------------------------------------
# Everything that knows what runs in gw is in these four functions; the device side and
# the kernel checks do not care. Another responder (mgate-iked) means other versions
# of them (and its own IKE_RE patterns).
conf=$work/conf
responder=${SWT_RESPONDER:-strongswan}
if [[ $responder == strongswan ]]; then
  gw_up() {  # configure and start the responder: every certificate set, every proposal
    local sets=$pki/rsa,$pki/ecdsa
    [[ $types == *ed25519* ]] && sets+=,$pki/ed25519
    sw_conf_new "$conf/gw" || return 1
    sw_conf_gw "$conf/gw" rw "$sets" "${IKE[p1]},${IKE[p2]},${IKE[p3]}" "${ESP[p1]},${ESP[p2]},${ESP[p3]}" ||
      return 1
    sw_start "$LAB_NS_GW" gw "$conf/gw" || return 1
    t_gw_start=$SW_SECONDS
    sw_load gw || return 1
    t_gw_load=$SW_SECONDS
    echo "--- gw connection (swanctl.conf)"
    indent <"$conf/gw/swanctl/conf.d/rw.conf"
  }
  gw_ike_count() { sw_ike_count gw; }         # number of IKE SAs in gw
  gw_ike_sas() { sw_swanctl gw --list-sas --raw; }  # IKE SAs with algorithms (IKE_RE)
  gw_log() { sw_log gw; }                      # the responder's log, whole
  gw_prepare() { :; }  # charon offers every certificate set at once
else
  # --- mgate: xfrmd + iked in gw ---------------------------------------------------------
  B=${MGATE_BUILD:?SWT_RESPONDER=iked needs MGATE_BUILD=the build directory}
  mg=$work/mgate
  MGCTL() { "$B/tools/mgatectl" -c "$mg/mgate.conf" "$@"; }
  mg_conf() {  # mg_conf SET: the config for the gateway certificate of SET
    # The [iked] section is docs/config.md's example, as written there (the
    # issue wants the documented example to be the tested one); only the
    # file paths point at this test's PKI, and the lab's DNS is left out.
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
          -e "s|/etc/mgate/iked/ecdsa-ca.crt|$pki/ecdsa/ca.crt $([[ -r $pki/ed25519/ca.crt ]] && echo "$pki/ed25519/ca.crt")|" \
          <<<"$example"
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
  iked_pid= iked_set=
  gw_up() {
    mg_conf "$pki/rsa"
    ip netns exec "$LAB_NS_GW" "$B/xfrmd/mgate-xfrmd" -c "$mg/mgate.conf" 2>>"$mg/xfrmd.log" &
    mg_wait 10 MGCTL status xfrmd >/dev/null || return 1
    # The return path to the virtual IPs: the out policies of each tunnel
    # catch it (the kernel needs a route first).
    lab_gw_route_pool "$prefix"
    t_gw_start=0 t_gw_load=0
  }
  gw_prepare() {  # gw_prepare SET: iked with the gateway certificate of SET
    [[ $iked_set == "$1" ]] && return 0
    if [[ -n $iked_pid ]]; then
      kill -TERM "$iked_pid"
      wait "$iked_pid" 2>/dev/null
    fi
    mg_conf "$pki/$1"
    ip netns exec "$LAB_NS_GW" "$B/iked/mgate-iked" -c "$mg/mgate.conf" 2>>"$mg/iked.log" &
    iked_pid=$!
    iked_set=$1
    mg_wait 10 grep -q 'listening for IKE on' "$mg/iked.log" ||
      { echo "iked did not start listening"; tail -20 "$mg/iked.log"; return 1; }
    echo "--- gw: mgate-iked with the $1 gateway certificate"
  }
  gw_ike_count() { MGCTL --json ike list | jq 'length'; }
  gw_ike_sas() { MGCTL --json ike list | jq -r '.[] | "\(.state) \(.ike) \(.identity) \(.vip)"'; }
  # iked says why a device was refused; the check reads the lines after a
  # mark, so this must be one file that only grows.
  gw_log() { cat "$mg/iked.log" 2>/dev/null; }
  # mgatectl shows the proposal as configured: that is what must match.
  for p in p1 p2 p3; do IKE_RE[$p]="established ${IKE[$p]} "; done
fi
# --- configuration and start ----------------------------------------------------------------
t0=$(now)
gw_up || die "setting up the responder in gw failed"
note "gw: charon start $t_gw_start s, swanctl --load-all $t_gw_load s"
sw_conf_new "$conf/device" || die "sw_conf_new device failed"
for c in "${cases[@]}"; do
  sw_conf_client "$conf/device" "${c/:/-}" "$pki/${c%:*}" "${IKE[${c#*:}]}" "${ESP[${c#*:}]}" ||
    die "writing the client connection ${c/:/-} failed"
done
for neg in neg-otherca:rsa:other-device neg-expired:ecdsa:expired neg-nodigsig:ecdsa:nodigsig; do
  IFS=: read -r name set cert <<<"$neg"
  sw_conf_client "$conf/device" "$name" "$pki/$set" "${IKE[p1]}" "${ESP[p1]}" cert="$cert" ||
    die "writing the client connection $name failed"
done
sw_start "$LAB_NS_DEVICE" device "$conf/device" || die "starting charon in device failed"
t_dev_start=$SW_SECONDS
sw_load device || die "loading the device configuration failed"
t_dev_load=$SW_SECONDS
t_conf=$(since "$t0")
note "device: charon start $t_dev_start s, swanctl --load-all $t_dev_load s"
echo "--- device connection ${cases[0]/:/-} (swanctl.conf)"
indent <"$conf/device/swanctl/conf.d/${cases[0]/:/-}.conf"

# --- helpers ---------------------------------------------------------------------------
ip4_int() {
  local IFS=. a b c d
  read -r a b c d <<<"$1"
  printf '%s' $(((a << 24) | (b << 16) | (c << 8) | d))
}
ip4_in() {  # ip4_in NET/LEN ADDR
  local net=${1%/*} len=${1#*/} mask
  [[ $2 =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || return 1
  mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
  (( ($(ip4_int "$2") & mask) == ($(ip4_int "$net") & mask) ))
}
# gw_sas: one line per ESP SA in gw: "src dst spi bytes packets"
gw_sas() {
  lab_gw ip -s xfrm state | awk '
    $1 == "src" { src = $2; dst = $4 }
    $1 == "proto" && $2 == "esp" { spi = $4; sub(/\(.*/, "", spi) }
    /lifetime current:/ { getline; gsub(/[(),a-z]/, " "); print src, dst, spi, $1, $2 }'
}
gw_state_count() { lab_gw ip xfrm state | grep -c '^src'; }
# IPsec policies (in, out, fwd) in gw; charon's per-socket bypass policies ("socket
# in/out") are not tunnel state and are not counted.
gw_policy_count() { lab_gw ip xfrm policy | grep -cE '^[[:space:]]+dir (in|out|fwd) '; }
# wait_gw_clean SEC: until gw has no SA and no IPsec policy (bounded by wall time)
wait_gw_clean() {
  local end=$((${EPOCHREALTIME%[.,]*} + $1))
  while :; do
    [[ $(gw_state_count) == 0 && $(gw_policy_count) == 0 ]] && return 0
    ((${EPOCHREALTIME%[.,]*} < end)) || return 1
    sleep 0.2
  done
}
dump_logs() {
  echo "--- last swanctl output ($SW_OUT)"
  indent <"$SW_OUT"
  echo "--- gw charon log (last 40 lines)"
  gw_log | tail -n 40 | indent
  echo "--- device charon log (last 40 lines)"
  sw_log device | tail -n 40 | indent
}
gw_log_lines() { gw_log | wc -l; }

PINGS=3
timings=()

# --- positive cases ------------------------------------------------------------------------
run_case() {
  local name=$1 set=$2 ike=$3 esp=$4 ike_re=$5 esp_re=$6
  local case_fails=$fails t0 t_hs t_ping t_term vip raw got sas n line ok
  echo "=== $name: $set certificates, IKE $ike, ESP $esp"
  gw_prepare "$set" || { fail "$name: the responder did not start"; return; }
  t0=$(now)
  if ! sw_initiate device "$name"; then
    fail "$name: swanctl --initiate failed after $SW_SECONDS s"
    dump_logs
    sw_terminate device "$name" >/dev/null 2>&1
    wait_gw_clean 5
    return
  fi
  t_hs=$SW_SECONDS
  pass "$name: connected in $t_hs s (IKE_SA_INIT + IKE_AUTH + CHILD SA installed)"
  # the gateway's AUTH as the device verified it (RFC 7427 signature scheme)
  local init_out re="authentication of '([^']*)' with ([A-Za-z0-9_-]+) successful"
  init_out=$(<"$SW_OUT")
  if [[ $init_out =~ $re ]]; then
    pass "$name: device verified '${BASH_REMATCH[1]}' with ${BASH_REMATCH[2]}"
  else
    fail "$name: no successful authentication of the gateway in swanctl's output"
  fi

  # virtual IP, in the pool, installed on the device
  if vip=$(sw_vip device "$name") && vip=${vip%%$'\n'*} && ip4_in "$LAB_POOL" "$vip"; then
    pass "$name: device got virtual IP $vip from $LAB_POOL"
  else
    fail "$name: no virtual IP from $LAB_POOL (got '${vip:-}')"
    vip=
  fi
  if [[ -n $vip ]] && lab_device ip -4 -o addr show | grep -q " $vip/"; then
    pass "$name: $vip is installed on a device interface"
  elif [[ -n $vip ]]; then
    fail "$name: $vip is not on any device interface"
  fi

  # the proposal that was asked for is the one negotiated (gw's view)
  if raw=$(gw_ike_sas) && [[ $raw =~ $ike_re ]]; then
    pass "$name: gw's IKE SA uses ${BASH_REMATCH[0]}"
  else
    fail "$name: gw's IKE SA does not match /$ike_re/"
    printf '%s\n' "$raw" | indent
  fi
  n=$(gw_ike_count)
  if [[ $n == 1 ]]; then pass "$name: gw has exactly one IKE SA"; else fail "$name: gw has $n IKE SAs (want 1)"; fi
  got=$(lab_gw ip xfrm state | tr -s ' \n\t' ' ')
  if [[ $got =~ $esp_re ]]; then
    pass "$name: gw's kernel SAs use ESP ${esp} ($(grep -oE '(aead|enc|auth-trunc) [^ ]+' <<<"$got" | sort -u | tr '\n' ' '| sed 's/ $//'))"
  else
    fail "$name: gw's kernel SAs do not match /$esp_re/"
    lab_gw ip xfrm state | sed 's/0x[0-9a-f]\{16,\}/<key>/' | indent
  fi

  if [[ -n $vip && $name == "${cases[0]/:/-}" ]]; then
    echo "info: gw's route to $vip (strongSwan installs it in table 220; another responder must route the pool itself):"
    lab_gw ip route show table all | grep -F "$vip" | indent
  fi

  # traffic through the tunnel
  if [[ -n $vip ]]; then
    t0=$(now)
    local out
    out=$(lab_device ping -4 -n -c "$PINGS" -i 0.2 -W 5 -I "$vip" "$LAB_CORP_IP" 2>&1)
    t_ping=$(since "$t0")
    got=$(awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /^received/) print $(i-1) }' <<<"$out")
    if [[ $got == "$PINGS" ]]; then
      pass "$name: $PINGS/$PINGS pings $vip -> $LAB_CORP_IP through the tunnel ($t_ping s)"
    else
      fail "$name: ${got:-0}/$PINGS pings $vip -> $LAB_CORP_IP"
      indent <<<"$out"
    fi
  fi
  sas=$(gw_sas)
  n=0 ok=0
  while read -r line; do
    [[ -n $line ]] || continue
    n=$((n + 1))
    read -r -a f <<<"$line"
    if ((f[4] >= PINGS)); then ok=$((ok + 1)); fi
    printf '    | gw SA %s -> %s spi %s: %s bytes, %s packets\n' "${f[@]}"
  done <<<"$sas"
  if [[ $n == 2 && $ok == 2 ]]; then
    pass "$name: both gw kernel SAs counted >= $PINGS packets"
  else
    fail "$name: gw has $n kernel SAs, $ok of them counted >= $PINGS packets (want 2 and 2)"
  fi

  # teardown from the device
  if sw_terminate device "$name"; then
    t_term=$SW_SECONDS
    pass "$name: swanctl --terminate done in $t_term s"
  else
    t_term=$SW_SECONDS
    fail "$name: swanctl --terminate failed"
    indent <"$SW_OUT"
  fi
  if wait_gw_clean 5; then
    pass "$name: gw kernel state gone (ip xfrm state and policy empty)"
  else
    fail "$name: gw kernel state left: $(gw_state_count) SAs, $(gw_policy_count) policies"
    lab_gw ip xfrm state | sed 's/0x[0-9a-f]\{16,\}/<key>/' | indent
    lab_gw ip xfrm policy | grep -vE 'socket (in|out)' | indent
    lab_gw ip xfrm state flush
    lab_gw ip xfrm policy flush
  fi
  n=$(gw_ike_count)
  if [[ $n == 0 ]]; then pass "$name: gw has no IKE SA left"; else fail "$name: gw still has $n IKE SAs"; fi
  n=$(lab_device ip xfrm state | grep -c '^src')
  if [[ $n == 0 ]]; then pass "$name: device kernel SAs gone"; else fail "$name: device still has $n kernel SAs"; fi
  if [[ -n $vip ]] && lab_device ip -4 -o addr show | grep -q " $vip/"; then
    fail "$name: $vip is still on a device interface"
  fi
  ((fails > case_fails)) && dump_logs
  timings+=("$(printf '%-11s %-7s %-34s %-14s %8s %8s %8s' "$name" "$set" "$ike" "$esp" "$t_hs" "${t_ping:--}" "$t_term")")
}

for c in "${cases[@]}"; do
  p=${c#*:}
  run_case "${c/:/-}" "${c%:*}" "${IKE[$p]}" "${ESP[$p]}" "${IKE_RE[$p]}" "${ESP_RE[$p]}"
done
note "matrix done"

# --- negative cases ------------------------------------------------------------------------
# run_refused NAME WHAT GW_LOG_ERE: the connection must fail with AUTHENTICATION_FAILED,
# leave nothing behind, and gw's log must say why (lines matching GW_LOG_ERE).
run_refused() {
  local name=$1 what=$2 why_re=$3 before n why
  echo "=== $name: $what"
  before=$(gw_log_lines)
  if sw_initiate device "$name"; then
    fail "$name: the connection was accepted ($what)"
    sw_terminate device "$name" >/dev/null
    wait_gw_clean 5
    return
  fi
  if grep -q 'AUTHENTICATION_FAILED' "$SW_OUT"; then
    pass "$name: refused, the device got AUTHENTICATION_FAILED ($SW_SECONDS s)"
  else
    fail "$name: refused, but without AUTHENTICATION_FAILED:"
    indent <"$SW_OUT"
  fi
  n=$(gw_ike_count)
  if [[ $n == 0 ]]; then pass "$name: gw has no IKE SA"; else fail "$name: gw has $n IKE SAs"; fi
  n=$(gw_state_count)
  if [[ $n == 0 ]]; then pass "$name: gw has no kernel SA"; else fail "$name: gw has $n kernel SAs"; fi
  why=$(gw_log | awk -v n="$before" 'NR > n' | grep -E -- "$why_re")
  if [[ -n $why ]]; then
    pass "$name: gw's log says why:"
    indent <<<"$why"
  else
    fail "$name: gw's log has no line matching /$why_re/:"
    gw_log | awk -v n="$before" 'NR > n' | indent
  fi
  sw_terminate device "$name" >/dev/null 2>&1  # nothing to delete; keeps the device clean
}
if [[ $responder == iked ]]; then
  why_otherca='untrusted|unable to get|issuer|not trusted|unknown CA'
  why_expired='expired'
  why_nodigsig='key ?usage|digitalSignature'
else
  why_otherca='no issuer certificate found|issuer is "O=other org|no trusted .* public key found'
  why_expired='certificate invalid \(valid from|expired|no trusted .* public key found'
  why_nodigsig='without digitalSignature|no trusted .* public key found'
fi
gw_prepare rsa
run_refused neg-otherca "device-1 impostor, certificate from another CA (rsa)" "$why_otherca"
gw_prepare ecdsa
run_refused neg-expired "expired device certificate (ecdsa)" "$why_expired"
run_refused neg-nodigsig "device certificate whose keyUsage lacks digitalSignature (ecdsa)" "$why_nodigsig"

# --- mgate only: bad datagrams, the admin's terminate, a clean stop ---------------------------
if [[ $responder == iked ]]; then
  echo "=== iked: garbage, mgatectl ike terminate, SIGTERM"
  gw_prepare ecdsa
  before=$(gw_log_lines)
  # Not IKE at all, a header whose length lies, an IKE_AUTH for an SPI nobody
  # has: dropped, logged, and iked goes on serving.
  lab_device bash -c "printf 'garbage, not IKE' >/dev/udp/$LAB_GW_IP/500;
    printf '\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x21\\x20\\x22\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\xff\\xff' >/dev/udp/$LAB_GW_IP/500"
  sleep 0.5
  if gw_log | awk -v n="$before" 'NR > n' | grep -qE 'dropped|malformed'; then
    pass "iked: malformed datagrams dropped with a log line"
  else
    fail "iked: no log line for the malformed datagrams"
  fi
  if MGCTL status iked >/dev/null; then pass "iked: still serving after the garbage"; else fail "iked: not answering after the garbage"; fi
  name=ecdsa-p1
  if sw_initiate device "$name" && vip=$(sw_vip device "$name" | head -1); then
    pass "iked: $name connected again ($vip)"
    if MGCTL ike terminate "$vip" | grep -q 'terminated 1'; then
      pass "iked: mgatectl ike terminate $vip"
    else
      fail "iked: mgatectl ike terminate $vip"
    fi
    if wait_gw_clean 5; then pass "iked: terminated: gw kernel state gone"; else fail "iked: terminated, but gw kernel state left"; fi
    if lab_device ping -4 -n -c 1 -W 1 -I "$vip" "$LAB_CORP_IP" >/dev/null 2>&1; then
      fail "iked: the terminated device still reaches corp"
    else
      pass "iked: the terminated device no longer reaches corp"
    fi
    if sw_wait_log device 'received DELETE for IKE_SA' 5; then
      pass "iked: the device was told (DELETE)"
    else
      fail "iked: the device got no DELETE"
    fi
  else
    fail "iked: $name did not connect again"
  fi
  sw_terminate device "$name" >/dev/null 2>&1
  if sw_initiate device "$name"; then
    kill -TERM "$iked_pid"
    wait "$iked_pid"
    rc=$?
    iked_set=
    if ((rc == 0)); then pass "iked: exits 0 on SIGTERM"; else fail "iked: exit $rc on SIGTERM"; fi
    if wait_gw_clean 5; then pass "iked: SIGTERM removed the tunnel's kernel state"; else fail "iked: SIGTERM left kernel state"; fi
    n=$(sw_wait_log device 'received DELETE for IKE_SA' 5 && grep -c 'received DELETE for IKE_SA' "$(sw_logfile device)")
    if ((n >= 2)); then pass "iked: SIGTERM sent the device a DELETE"; else fail "iked: no DELETE on SIGTERM"; fi
  else
    fail "iked: $name did not connect for the SIGTERM check"
  fi
fi

# --- summary ---------------------------------------------------------------------------------
echo "--- timings (s; under TCG in the VM; handshake = swanctl --initiate wall time)"
printf '    PKI (%s): %s; configs + both charons started and loaded: %s\n' "$types" "$t_pki" "$t_conf"
printf '    charon start gw %s, device %s; swanctl --load-all gw %s, device %s\n' \
  "$t_gw_start" "$t_dev_start" "$t_gw_load" "$t_dev_load"
printf '    %-11s %-7s %-34s %-14s %8s %8s %8s\n' case certs IKE ESP handshake "ping x$PINGS" terminate
printf '    %s\n' "${timings[@]}"
note "done"
sw_stop_all
if ((fails)); then
  echo "sw_selftest: $fails check(s) failed"
  exit 1
fi
echo "sw_selftest: all checks passed"
