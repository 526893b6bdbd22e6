#!/bin/bash
# NAT keepalives (RFC 3948 §2.3) from mgate-iked, as a process on the host
# kernel in a network namespace of its own (set up as iked_netns.sh: xfrmd
# hands iked the IKE sockets on 127.0.0.1, no subnets, no ESP needed).
# ike_initiator --gw-behind-nat sends a NAT_DETECTION_DESTINATION_IP that
# does not match, so iked believes it is behind a NAT and (nat_keepalive 1s)
# sends the one-octet 0xFF keepalive from port 4500 to the device; a packet
# capture on lo counts them. A device whose hashes match gets none; with
# nat_keepalive = 0 nobody does.
# Usage: iked_natka.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
. "$(dirname "${BASH_SOURCE[0]}")/iked_env.sh"
command -v python3 >/dev/null || { echo "SKIP: needs python3 (packet capture)"; exit 77; }
ikenv_enter mgate-iked-natka -- "$@"

ikenv_pki ecdsa
write_conf() { # write_conf NAT_KEEPALIVE
    ikenv_conf <<CONF
# no subnets: IKE SAs without CHILD SA, no ESP needed on the host kernel
dpd_delay = 0
nat_keepalive = $1
CONF
}
write_conf 1s
ikenv_ini --timeout 1500
spi_of() { sed -n 's/^established spi_i=\([0-9a-f]*\) .*/\1/p' "$1"; }
remote_of() { list | jq -r --arg s "$1" '.[] | select(.spi_i == $s) | .remote'; }

ikenv_start_xfrmd || bad "xfrmd did not come up"
# hold_and_capture OUT [initiator options]: a device holding its IKE SA
# for 7 s while lo is captured for 5 s of it.
hold_and_capture() {
    local out=$1
    shift
    dev --hold 7000 "$@" > "$out" & HOLD=$!
    until_ok 5 grep -q '^holding' "$out"
    "$HERE/ka_capture.py" lo 5 > "$out.cap"
    wait "$HOLD"; HOLD=
}
check "iked starts (nat_keepalive 1s)" ikenv_start_iked

# --- (a) the gateway behind a NAT: keepalives ------------------------------------
hold_and_capture "$T/nat.out" --gw-behind-nat
cat "$T/nat.out.cap"
spi=$(spi_of "$T/nat.out")
n=$(sed -n 's/^total //p' "$T/nat.out.cap")
check "gateway behind a NAT: the device's IKE SA came up ($spi)" test -n "$spi"
check "... 0xFF keepalives on the wire, one a second (3..6 in 5 s: $n)" test "${n:-0}" -ge 3 -a "${n:-0}" -le 6
check "... all from the gateway's port 4500" test "$(grep -c '^keepalive 127.0.0.1:4500 -> 127.0.0.1:' "$T/nat.out.cap")" -eq "${n:-0}"
dports=$(sed -n 's/^keepalive .* -> 127.0.0.1:\([0-9]*\)$/\1/p' "$T/nat.out.cap" | sort -u)
check "... all to one port, the device's ($dports: iked has $(remote_of "$spi"))" \
    test "$(wc -l <<<"$dports")" -eq 1 -a "$(remote_of "$spi")" = "127.0.0.1:$dports"
check "iked knew it is behind a NAT (IKE_SA_INIT log says NAT-T)" grep -q 'IKE_SA_INIT from 127.0.0.1.*NAT-T' "$T/iked.log"

# --- (b) no NAT: none ----------------------------------------------------------------
hold_and_capture "$T/plain.out"
n=$(sed -n 's/^total //p' "$T/plain.out.cap")
check "hashes that match: no keepalive in 5 s ($n)" test "${n:-1}" -eq 0

# --- (c) nat_keepalive = 0: none -----------------------------------------------------
check "iked stops" ikenv_stop_iked
write_conf 0
check "iked starts (nat_keepalive 0)" ikenv_start_iked
hold_and_capture "$T/off.out" --gw-behind-nat
n=$(sed -n 's/^total //p' "$T/off.out.cap")
check "nat_keepalive = 0, gateway behind a NAT: no keepalive in 5 s ($n)" test "${n:-1}" -eq 0
check_summary
