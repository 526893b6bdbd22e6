#!/bin/bash
# mgate-iked as a process, on the host kernel, in a network namespace of its
# own: mgate-xfrmd hands it the IKE sockets on 127.0.0.1, and ike_initiator
# (the exchange tests' initiator on a UDP socket) talks to it. The host
# kernel has no ESP, so [iked] has no subnets: IKE_AUTH establishes the IKE
# SA and refuses the CHILD SA (TS_UNACCEPTABLE); no kernel SA is needed.
# CHILD SAs, ESP and traffic are the VM interop test's.
# Checks real outcomes: mgatectl ike list, iked's log lines, exit codes.
# Usage: iked_netns.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
. "$(dirname "${BASH_SOURCE[0]}")/iked_env.sh"
ikenv_enter mgate-iked -- "$@"

# --- PKI, config, daemons ------------------------------------------------------
ikenv_pki ecdsa
DEV_ID="CN=device-1,O=mgate test" # how iked names the device's subject
ikenv_conf --ike "aes128gcm16-prfsha256-ecp256 aes256gcm16-prfsha384-curve25519" \
    --esp "aes128gcm16 aes256gcm16" <<CONF
# no subnets: every CHILD SA is refused (TS_UNACCEPTABLE), the IKE SA stays
half_open_timeout = 2s
CONF
ikenv_ini --timeout 1500
spis() { list | jq -r '[.[] | .spi_i] | sort | join(" ")'; }
field() { sed -n "s/^$1=\([^ ]*\).*/\1/p" <<<"$2"; }
spi_of() { sed -n 's/^established spi_i=\([0-9a-f]*\) .*/\1/p' <<<"$1"; }
# rc_says RC PATTERN: the last command ($rc, $out) exited RC and printed PATTERN.
rc_says() { [[ $rc == "$1" ]] && grep -q -- "$2" <<<"$out"; }
# got_delete FILE: the holding device ($rc) exited 0, having answered a DELETE.
got_delete() { [[ $rc == 0 ]] && grep -q '^DELETE received' "$1"; }

ikenv_start_xfrmd || bad "xfrmd did not come up"
check "iked starts and gets its IKE sockets from xfrmd" ikenv_start_iked

# --- a full handshake ------------------------------------------------------------
out=$(dev); rc=$?; echo "$out"
spi1=$(spi_of "$out") vip1=$(field vip "$out")
check "full handshake: exit 0" test $rc -eq 0
check "... the gateway's certificate, IDr and AUTH verified by the initiator" \
    grep -q 'certificate, IDr and AUTH verified' <<<"$out"
check "... a virtual IP from the pool 198.18.0.0/24 ($vip1)" grep -qE '^198\.18\.0\.[0-9]+$' <<<"$vip1"
check "... CHILD SA refused with TS_UNACCEPTABLE (no subnets)" grep -q 'notify TS_UNACCEPTABLE' <<<"$out"
json=$(list); echo "$json"
check "ike list: one IKE SA, the initiator's ($spi1)" test "$(jq -r '.[].spi_i' <<<"$json")" = "$spi1"
check "... state established" test "$(jq -r '.[0].state' <<<"$json")" = established
check "... identity = the device certificate's subject" test "$(jq -r '.[0].identity' <<<"$json")" = "$DEV_ID"
check "... virtual IP = the one the device got" test "$(jq -r '.[0].vip' <<<"$json")" = "$vip1"
check "... no CHILD SA" test "$(jq '.[0].children | length' <<<"$json")" -eq 0
check "iked logged the tunnel up (no CHILD SA), once" test "$(nlog 'tunnel up: .*CN=device-1.*(no CHILD SA)')" -eq 1
check "iked logged why there is no CHILD SA" grep -q 'no CHILD SA: TS_UNACCEPTABLE' "$T/iked.log"
status_has_one() { $CTL --json status iked | jq -r '.[0].detail' | grep -q '^1 IKE SAs (0 half-open); [1-9][0-9]* handshakes'; }
check "mgatectl status iked says one IKE SA (within 2 s)" until_ok 2 status_has_one

# --- the same device again: one IKE SA per device --------------------------------
out=$(dev); rc=$?
spi2=$(spi_of "$out") vip2=$(field vip "$out")
check "same device again: exit 0" test $rc -eq 0
check "... one IKE SA, the new one ($spi2)" test "$(spis)" = "$spi2"
check "... which keeps the virtual IP ($vip2)" test "$vip2" = "$vip1" -a "$(list | jq -r '.[0].vip')" = "$vip1"
check "... the old one was replaced (log)" \
    test "$(nlog 'tunnel down (replaced by a new connection of the same device)')" -eq 1

# --- retransmissions ---------------------------------------------------------------
inits=$(nlog 'IKE_SA_INIT from 127.0.0.1.*: ENCR') auths=$(nlog 'IKE_AUTH ok:')
out=$(dev --retransmit); rc=$?; echo "$out"
spi3=$(spi_of "$out")
check "retransmit: exit 0" test $rc -eq 0
check "... IKE_SA_INIT retransmitted: byte-identical answer" grep -q '^retransmit IKE_SA_INIT: identical' <<<"$out"
check "... IKE_AUTH retransmitted: byte-identical answer" grep -q '^retransmit IKE_AUTH: identical' <<<"$out"
check "... one IKE SA, the retransmitting device's" test "$(spis)" = "$spi3"
check "... IKE_SA_INIT computed once" test "$(nlog 'IKE_SA_INIT from 127.0.0.1.*: ENCR')" -eq $((inits + 1))
check "... IKE_AUTH computed once" test "$(nlog 'IKE_AUTH ok:')" -eq $((auths + 1))

# --- half-open ---------------------------------------------------------------------
out=$(dev --init-only); rc=$?
spih=$(sed -n 's/^IKE_SA_INIT: ok, spi_i=\([0-9a-f]*\) .*/\1/p' <<<"$out")
check "--init-only: exit 0" test $rc -eq 0
check "... a half-open IKE SA is listed" \
    test "$(list | jq -r --arg s "$spih" '.[] | select(.spi_i == $s) | .state')" = half-open
check "... gone within 5 s (half_open_timeout = 2s)" until_ok 5 no_spi "$spih"
check "... the log says why" grep -q 'IKE SA removed (half-open timeout)' "$T/iked.log"
check "... the established SA is untouched" test "$(spis)" = "$spi3"

# --- INVALID_KE_PAYLOAD and NO_PROPOSAL_CHOSEN ------------------------------------------
# The device prefers curve25519 and sends its KE; iked prefers ecp256, which
# the device also offers: our order wins, so iked asks for ecp256.
two=aes256gcm16-prfsha384-curve25519,aes128gcm16-prfsha256-ecp256
out=$(dev --proposal $two --ke curve25519 --no-retry); rc=$?; echo "$out"
check "KE for curve25519, ecp256 also offered: refused (exit 2)" test $rc -eq 2
check "... INVALID_KE_PAYLOAD asking for ECP_256 (our first choice)" \
    grep -q 'INVALID_KE_PAYLOAD (group ECP_256)' <<<"$out"
check "... no SA kept (the established one only)" test "$(spis)" = "$spi3"
check "... logged" grep -q 'INVALID_KE_PAYLOAD' "$T/iked.log"
out=$(dev --proposal $two --ke curve25519); rc=$?
spi4=$(spi_of "$out")
check "retrying with ecp256 as asked: established (exit 0)" test $rc -eq 0
check "... with iked's first proposal" test "$(list | jq -r '.[0].ike')" = aes128gcm16-prfsha256-ecp256
out=$(dev --proposal aes256gcm16-prfsha384-curve25519); rc=$?
check "only iked's second proposal offered: taken at once (no INVALID_KE)" \
    test $rc -eq 0 -a "$(list | jq -r '.[0].ike')" = aes256gcm16-prfsha384-curve25519
check "... with nothing refused on the way" test "$(grep -c INVALID_KE <<<"$out")" -eq 0
spi4=$(spi_of "$out")
out=$(dev --proposal aes256-sha512-modp4096); rc=$?; echo "$out"
check "a proposal iked does not have: NO_PROPOSAL_CHOSEN (exit 2)" \
    rc_says 2 'IKE_SA_INIT: NO_PROPOSAL_CHOSEN'
check "... no SA kept" test "$(spis)" = "$spi4"
check "... one log line naming what was offered" test "$(nlog 'NO_PROPOSAL_CHOSEN: none of ours')" -eq 1

# --- certificates iked must refuse ------------------------------------------------
# other-device.crt has device-1's very subject, from a CA iked does not trust.
for neg in other-device expired; do
    n0=$(nlog 'refused: AUTHENTICATION_FAILED')
    out=$($INI --cert "$P/$neg.crt" --key "$P/$neg.key"); rc=$?; echo "$out"
    check "$neg: AUTHENTICATION_FAILED (exit 2)" \
        rc_says 2 'notify AUTHENTICATION_FAILED'
    check "... no SA kept: device-1's IKE SA is still the only one" test "$(spis)" = "$spi4"
    check "... one log line saying why" test "$(nlog 'refused: AUTHENTICATION_FAILED')" -eq $((n0 + 1))
done
grep 'refused: AUTHENTICATION_FAILED' "$T/iked.log"
check "... the other CA's device: the reason is the chain" \
    grep -q 'AUTHENTICATION_FAILED: .*issuer' "$T/iked.log"
check "... the expired one: the reason is its expiry" \
    grep -qi 'AUTHENTICATION_FAILED: .*expired' "$T/iked.log"

# --- malformed datagrams -----------------------------------------------------------
for k in truncated length payload random unknown-spi; do
    out=$($INI --junk $k --timeout 500); echo "$out"
    case $k in
        payload) check "junk $k: answered with INVALID_SYNTAX" grep -q 'answered with INVALID_SYNTAX' <<<"$out" ;;
        random) ;; # random bytes: whatever the header says, no crash is the check
        *) check "junk $k: no answer" grep -q 'no answer' <<<"$out" ;;
    esac
done
head -c 300 /dev/urandom > /dev/udp/127.0.0.1/500
head -c 7 /dev/urandom > /dev/udp/127.0.0.1/500
head -c 5000 /dev/zero > /dev/udp/127.0.0.1/500
check "junk: each datagram cut short or lying about its length logged" \
    test "$(nlog 'IKE datagram from 127.0.0.1.* dropped')" -ge 3
check "junk: the lying payload length logged" grep -q 'malformed IKE message from 127.0.0.1' "$T/iked.log"
check "junk: the unknown SPI logged" grep -q 'IKE message for an unknown SA' "$T/iked.log"
check "iked is still running" kill -0 "$IPID"
check "... and answers mgatectl status iked" $CTL status iked
out=$(dev); rc=$?
spi5=$(spi_of "$out")
check "... and a full handshake" test $rc -eq 0 -a "$(spis)" = "$spi5"

# --- mgatectl ike terminate ------------------------------------------------------
# A holding device answers the DELETE iked sends.
hold_up() { # hold_up FILE: a device holding its IKE SA, output in FILE
    dev --hold 8000 > "$1" & HOLD=$!
    until_ok 5 grep -q '^holding' "$1"
}
hold_up "$T/hold1.out"
spi6=$(spi_of "$(cat "$T/hold1.out")")
check "a device holds its IKE SA ($spi6)" has_spi "$spi6"
out=$($CTL ike terminate "$DEV_ID"); rc=$?
check "terminate by identity: exit 0, one SA" test $rc -eq 0 -a "$out" = "terminated 1 IKE SA(s)"
check "... the IKE SA is gone" test "$(nsas)" -eq 0
wait $HOLD; rc=$?; HOLD=; cat "$T/hold1.out"
check "... the device got a DELETE for it" got_delete "$T/hold1.out"
check "... logged" grep -q 'tunnel down (terminated by the admin)' "$T/iked.log"
hold_up "$T/hold2.out"
spi7=$(spi_of "$(cat "$T/hold2.out")")
out=$($CTL ike terminate "$spi7"); rc=$?
check "terminate by SPI ($spi7): exit 0, one SA" test $rc -eq 0 -a "$out" = "terminated 1 IKE SA(s)"
check "... the IKE SA is gone" test "$(nsas)" -eq 0
wait $HOLD; rc=$?; HOLD=
check "... the device got a DELETE for it" got_delete "$T/hold2.out"
out=$($CTL ike terminate "$spi7" 2>&1); rc=$?
check "terminate of an SA that is gone: refused, says so" rc_says 1 'no such IKE SA'

# --- SIGTERM -------------------------------------------------------------------------
hold_up "$T/hold3.out"
check "iked exits 0 on SIGTERM" ikenv_stop_iked
wait $HOLD; rc=$?; HOLD=; cat "$T/hold3.out"
check "... the device got a DELETE" got_delete "$T/hold3.out"
check "... logged" grep -q 'tunnel down (iked stopping)' "$T/iked.log"

check "xfrmd exits 0 on SIGTERM" ikenv_stop_xfrmd
ikenv_end
