#!/bin/bash
# RFC 7383 through mgate-iked as a process on the host kernel, in a network namespace of
# its own (set up as iked_netns.sh: xfrmd hands iked the IKE sockets on 127.0.0.1, no
# subnets so no ESP is needed), driven by ike_initiator --frag with RSA-2048
# certificates and iked's fragment_size at 576:
#   the IKE_AUTH request in fragments of 200 octets is reassembled (fragments that
#   arrive while a worker holds the SA wait for it) and the response comes back in
#   fragments, every datagram within 576 octets, which the initiator reassembles and
#   verifies; iked's status counts both; resending fragments 2..n gets no answer
#   (§2.6.1), resending the whole set gets the same fragments byte for byte, once;
#   a request in more fragments than iked takes is dropped and logged.
# Usage: iked_frag.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
B=$(cd "${1:?usage: iked_frag.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (network namespace)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }
if [[ -z ${MGATE_IN_NETNS:-} ]]; then
    MGATE_IN_NETNS=1 exec unshare --net -- "$0" "$@"
fi
ip link set lo up

T=$(mktemp -d /tmp/mgate-iked-frag.XXXXXX)
chmod 755 "$T"
XPID='' IPID=''
cleanup() {
    [[ -n $IPID ]] && kill -9 "$IPID" 2>/dev/null
    [[ -n $XPID ]] && kill -9 "$XPID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
nlog() { grep -c -- "$1" "$T/iked.log"; }

"$HERE/../interop/pki.sh" -t rsa "$T/pki" >/dev/null || { echo "FAIL - pki.sh"; exit 1; }
P=$T/pki/rsa
CONF=$T/mgate.conf
cat > "$CONF" <<CONF
[global]
run_dir = $T/run
state_dir = $T/state
log_level = info
[xfrmd]
ike_listen = 127.0.0.1
[iked]
cert = $P/gw.crt
key = $P/gw.key
ca = $P/ca.crt
ike_proposals = aes256-sha384-modp3072 aes128gcm16-prfsha256-ecp256
esp_proposals = aes128gcm16
pool = 198.18.0.0/24
# no subnets: IKE SAs without CHILD SA, no ESP needed on the host kernel
fragment_size = 576
workers = 2
CONF
CTL="$B/tools/mgatectl -c $CONF"
INI="$B/tests/ike_initiator --gw 127.0.0.1 --ca $P/ca.crt --timeout 2000"
dev() { $INI --cert "$P/device.crt" --key "$P/device.key" "$@"; }
detail() { $CTL --json status iked | jq -r '.[0].detail'; }

"$B/xfrmd/mgate-xfrmd" -c "$CONF" 2>>"$T/xfrmd.log" & XPID=$!
until_ok 5 $CTL status xfrmd >/dev/null || bad "xfrmd did not come up"
"$B/iked/mgate-iked" -c "$CONF" 2>>"$T/iked.log" & IPID=$!
check "iked starts (fragment_size 576)" until_ok 8 grep -q 'listening for IKE on' "$T/iked.log"

for prop in aes128gcm16-prfsha256-ecp256 aes256-sha384-modp3072; do
    out=$(dev --proposal "$prop" --frag 200 --childless); rc=$?
    echo "$out" | grep -E '^IKE_AUTH|^established'
    check "$prop: IKE_AUTH in fragments of 200 octets: established, gateway verified (exit $rc)" \
        test $rc -eq 0
    re='request in ([0-9]+) fragments, answer in ([0-9]+) datagrams \(([0-9]+) octets, the largest ([0-9]+)\)'
    [[ $out =~ $re ]]
    nq=${BASH_REMATCH[1]:-0} na=${BASH_REMATCH[2]:-0} big=${BASH_REMATCH[4]:-9999}
    check "... $nq fragments sent, the answer came in $na fragments" test "$nq" -ge 5 -a "$na" -ge 3
    # IP (20) + UDP (8) + the IKE message <= fragment_size
    check "... every answer fragment within 576 octets (the largest: 28 + $big)" \
        test $((28 + big)) -le 576
done
sleep 1.2 # the status line is refreshed every second
st=$(detail)
echo "status: $st"
[[ $st =~ fragments\ ([0-9]+)\ in,\ ([0-9]+)\ out ]]
check "mgatectl status counts the fragments (${BASH_REMATCH[1]:-?} in, ${BASH_REMATCH[2]:-?} out)" \
    test "${BASH_REMATCH[1]:-0}" -ge 10 -a "${BASH_REMATCH[2]:-0}" -ge 6

out=$(dev --frag 150 --childless --retransmit); rc=$?
echo "$out" | grep -E '^IKE_AUTH|^retransmit'
check "resending fragments 2..n: no answer; the whole set: the same answer once (exit $rc)" \
    test $rc -eq 0
check "... said so" grep -q 'identical answer .* sent once' <<<"$out"

out=$(dev --frag 10 --childless --tries 1 --timeout 1000); rc=$?
check "a request in more than 128 fragments gets no answer (exit $rc = 3)" test $rc -eq 3
check "... iked says why" grep -q 'fragment dropped: more fragments than iked accepts' "$T/iked.log"

check "no fragment refused in the good cases" test "$(nlog 'fragment dropped: integrity')" -eq 0
kill -TERM "$IPID"; wait "$IPID"; rc=$?; IPID=
check "iked exits 0 on SIGTERM" test $rc -eq 0
kill -TERM "$XPID"; wait "$XPID"; rc=$?; XPID=
check "xfrmd exits 0 on SIGTERM" test $rc -eq 0
if grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$T/iked.log" "$T/xfrmd.log"; then
    bad "sanitizer reports in the logs"
fi
if [[ $FAIL != 0 ]]; then echo "--- iked.log"; grep -v '<7>' "$T/iked.log" | tail -40; fi
check_summary
