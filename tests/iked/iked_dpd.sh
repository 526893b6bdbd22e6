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
. "$(dirname "${BASH_SOURCE[0]}")/iked_env.sh"
ikenv_enter mgate-iked-dpd -- "$@"

ikenv_pki ecdsa
write_conf() { # write_conf COOKIE_THRESHOLD
    ikenv_conf <<CONF
# no subnets: IKE SAs without CHILD SA, no ESP needed on the host kernel
dpd_delay = 2s
dpd_timeout = 8s
cookie_threshold = $1
CONF
}
write_conf 100
ikenv_ini --timeout 1500
spi_of() { sed -n 's/^established spi_i=\([0-9a-f]*\) .*/\1/p' "$1"; }

ikenv_start_xfrmd || bad "xfrmd did not come up"
check "iked starts (dpd_delay 2s, dpd_timeout 8s)" ikenv_start_iked

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
check "iked stops" ikenv_stop_iked
write_conf 0
check "iked starts with cookie_threshold = 0" ikenv_start_iked
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

check "iked exits 0 on SIGTERM" ikenv_stop_iked
check "xfrmd exits 0 on SIGTERM" ikenv_stop_xfrmd
ikenv_end
