#!/bin/bash
# mgate-iked's dead peer detection and cookies, as a process on the host
# kernel in a network namespace of its own (set up as iked_netns.sh: xfrmd
# hands iked the IKE sockets on 127.0.0.1, [iked] has no subnets so no ESP
# is needed), driven by ike_initiator:
#   DPD (dpd_delay 2s, dpd_timeout 8s): a holding device that answers the
#   liveness checks keeps its IKE SA past 10 s; a silent one is torn down
#   ("peer dead") within dpd_timeout + a few seconds, having seen the check
#   retransmitted with the same message ID.
#   Cookies (cookie_threshold 0): a handshake completes after a COOKIE
#   round trip; a forged cookie gets a fresh COOKIE and no SA.
# Usage: iked_dpd.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
B=$(cd "${1:?usage: iked_dpd.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (network namespace)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }
if [[ -z ${MGATE_IN_NETNS:-} ]]; then
    MGATE_IN_NETNS=1 exec unshare --net -- "$0" "$@"
fi
ip link set lo up

T=$(mktemp -d /tmp/mgate-iked-dpd.XXXXXX)
chmod 755 "$T"
XPID='' IPID='' HOLD=''
cleanup() {
    [[ -n $HOLD ]] && kill -9 "$HOLD" 2>/dev/null
    [[ -n $IPID ]] && kill -9 "$IPID" 2>/dev/null
    [[ -n $XPID ]] && kill -9 "$XPID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
nlog() { grep -c -- "$1" "$T/iked.log"; }

"$HERE/../interop/pki.sh" -t ecdsa "$T/pki" >/dev/null || { echo "FAIL - pki.sh"; exit 1; }
P=$T/pki/ecdsa
CONF=$T/mgate.conf
write_conf() { # write_conf COOKIE_THRESHOLD
    cat > "$CONF" <<CONF
[global]
run_dir = $T/run
state_dir = $T/state
log_level = debug
[xfrmd]
ike_listen = 127.0.0.1
[iked]
cert = $P/gw.crt
key = $P/gw.key
ca = $P/ca.crt
ike_proposals = aes128gcm16-prfsha256-ecp256
esp_proposals = aes128gcm16
pool = 198.18.0.0/24
# no subnets: IKE SAs without CHILD SA, no ESP needed on the host kernel
dpd_delay = 2s
dpd_timeout = 8s
cookie_threshold = $1
workers = 2
CONF
}
write_conf 100
CTL="$B/tools/mgatectl -c $CONF"
INI="$B/tests/ike_initiator --gw 127.0.0.1 --ca $P/ca.crt --timeout 1500"
dev() { $INI --cert "$P/device.crt" --key "$P/device.key" "$@"; }
list() { $CTL --json ike list; }
nsas() { list | jq length; }
has_spi() { [[ $(list | jq --arg s "$1" '[.[] | select(.spi_i == $s)] | length') == 1 ]]; }
no_spi() { ! has_spi "$1"; }
spi_of() { sed -n 's/^established spi_i=\([0-9a-f]*\) .*/\1/p' "$1"; }

"$B/xfrmd/mgate-xfrmd" -c "$CONF" 2>>"$T/xfrmd.log" & XPID=$!
until_ok 5 $CTL status xfrmd >/dev/null || bad "xfrmd did not come up"
n_listening() { grep -c 'listening for IKE on' "$T/iked.log" 2>/dev/null; }
listening_since() { (($(n_listening) > $1)); }
start_iked() { # waits for this iked's own "listening" line
    local before
    before=$(n_listening)
    "$B/iked/mgate-iked" -c "$CONF" 2>>"$T/iked.log" & IPID=$!
    until_ok 8 listening_since "${before:-0}"
}
stop_iked() { kill -TERM "$IPID"; wait "$IPID"; local rc=$?; IPID=; return $rc; }
check "iked starts (dpd_delay 2s, dpd_timeout 8s)" start_iked

# --- (a) a device that answers stays up ------------------------------------------
dev --hold 16000 > "$T/alive.out" & HOLD=$!
until_ok 5 grep -q '^holding' "$T/alive.out"
spi_a=$(spi_of "$T/alive.out")
check "a holding device is up ($spi_a)" has_spi "$spi_a"
sleep 11
check "... still up after 11 s (> dpd_delay + dpd_timeout)" has_spi "$spi_a"
n_live=$(grep -c '^liveness check .* answered' "$T/alive.out")
check "... it answered liveness checks from the gateway ($n_live)" test "$n_live" -ge 3
check "... iked logged them" grep -q 'liveness check: nothing from 127.0.0.1.*CN=device-1' "$T/iked.log"
check "... no peer declared dead" test "$(nlog 'peer dead')" -eq 0
$CTL ike terminate "$spi_a" >/dev/null
wait "$HOLD"; rc=$?; HOLD=
check "... ends on terminate (the device got the DELETE)" test $rc -eq 0

# --- (b) a silent device is torn down ---------------------------------------------
dev --hold 25000 --silent > "$T/silent.out" & HOLD=$!
until_ok 5 grep -q '^holding' "$T/silent.out"
spi_b=$(spi_of "$T/silent.out")
check "a silent device is up ($spi_b)" has_spi "$spi_b"
t0=$SECONDS
until_ok 16 no_spi "$spi_b"; gone=$?
t1=$((SECONDS - t0))
check "... torn down within dpd_delay + dpd_timeout + a few s (${t1} s)" test $gone -eq 0
check "... logged once: tunnel down (peer dead ...)" \
    test "$(nlog "tunnel down (peer dead: .*CN=device-1")" -eq 1
grep 'peer dead' "$T/iked.log"
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null; HOLD=
cat "$T/silent.out"
n_ign=$(grep -c '^INFORMATIONAL request .* ignored' "$T/silent.out")
n_ids=$(sed -n 's/^INFORMATIONAL request \([0-9]*\) ignored.*/\1/p' "$T/silent.out" | sort -u | wc -l)
check "... it saw the check retransmitted with back-off ($n_ign sends, one message ID)" \
    test "$n_ign" -ge 3 -a "$n_ids" -eq 1
check "... no SA left" test "$(nsas)" -eq 0

# --- (c) cookies ------------------------------------------------------------------
check "no COOKIE asked for below cookie_threshold" test "$(nlog 'COOKIE required')" -eq 0
check "iked stops" stop_iked
write_conf 0
check "iked starts with cookie_threshold = 0" start_iked
check "... and says every IKE_SA_INIT needs a COOKIE" grep -q 'cookie_threshold = 0: every IKE_SA_INIT needs a COOKIE' "$T/iked.log"
out=$(dev); rc=$?; echo "$out"
check "handshake with cookies: exit 0" test $rc -eq 0
check "... the initiator was asked for a COOKIE and retried with it" \
    grep -q 'COOKIE asked for (33 octets)' <<<"$out"
spi_c=$(sed -n 's/^established spi_i=\([0-9a-f]*\) .*/\1/p' <<<"$out")
check "... established at the gateway ($spi_c)" has_spi "$spi_c"
check "... iked asked for it, then found it valid" \
    test "$(nlog 'COOKIE required, asked for')" -ge 1 -a "$(nlog 'valid COOKIE')" -ge 1
out=$(dev --forge-cookie --no-retry); rc=$?; echo "$out"
check "a forged COOKIE: refused (exit 2), a fresh COOKIE in the answer" \
    test $rc -eq 2 -a "$(grep -c 'COOKIE asked for' <<<"$out")" -eq 1
check "... logged" grep -q 'refused: the COOKIE' "$T/iked.log"
check "... no SA for it (the earlier one only)" test "$(list | jq -r '[.[].spi_i] | join(" ")')" = "$spi_c"
out=$(dev --forge-cookie); rc=$?
check "a forged COOKIE then the real one: established" test $rc -eq 0

check "iked exits 0 on SIGTERM" stop_iked
kill -TERM "$XPID"; wait "$XPID"; rc=$?; XPID=
check "xfrmd exits 0 on SIGTERM" test $rc -eq 0
if grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$T/iked.log" "$T/xfrmd.log"; then
    bad "sanitizer reports in the logs"
fi
if [[ $FAIL != 0 ]]; then echo "--- iked.log"; grep -v '<7>' "$T/iked.log" | tail -60; fi
check_summary
