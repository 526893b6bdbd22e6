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
. "$(dirname "${BASH_SOURCE[0]}")/iked_env.sh"
ikenv_enter mgate-iked-frag -- "$@"

ikenv_pki rsa
ikenv_conf --log info --ike "aes256-sha384-modp3072 aes128gcm16-prfsha256-ecp256" <<CONF
# no subnets: IKE SAs without CHILD SA, no ESP needed on the host kernel
fragment_size = 576
CONF
ikenv_ini --timeout 2000

ikenv_start_xfrmd || bad "xfrmd did not come up"
check "iked starts (fragment_size 576)" ikenv_start_iked

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
check "iked exits 0 on SIGTERM" ikenv_stop_iked
check "xfrmd exits 0 on SIGTERM" ikenv_stop_xfrmd
ikenv_end 40
