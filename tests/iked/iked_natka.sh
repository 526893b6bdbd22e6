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
B=$(cd "${1:?usage: iked_natka.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (network namespace)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: needs python3 (packet capture)"; exit 77; }
if [[ -z ${MGATE_IN_NETNS:-} ]]; then
    MGATE_IN_NETNS=1 exec unshare --net -- "$0" "$@"
fi
ip link set lo up

T=$(mktemp -d /tmp/mgate-iked-natka.XXXXXX)
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

"$HERE/../interop/pki.sh" -t ecdsa "$T/pki" >/dev/null || { echo "FAIL - pki.sh"; exit 1; }
P=$T/pki/ecdsa
CONF=$T/mgate.conf
write_conf() { # write_conf NAT_KEEPALIVE
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
dpd_delay = 0
nat_keepalive = $1
workers = 2
CONF
}
write_conf 1s
CTL="$B/tools/mgatectl -c $CONF"
INI="$B/tests/ike_initiator --gw 127.0.0.1 --ca $P/ca.crt --timeout 1500"
dev() { $INI --cert "$P/device.crt" --key "$P/device.key" "$@"; }
list() { $CTL --json ike list; }
spi_of() { sed -n 's/^established spi_i=\([0-9a-f]*\) .*/\1/p' "$1"; }
remote_of() { list | jq -r --arg s "$1" '.[] | select(.spi_i == $s) | .remote'; }

"$B/xfrmd/mgate-xfrmd" -c "$CONF" 2>>"$T/xfrmd.log" & XPID=$!
until_ok 5 $CTL status xfrmd >/dev/null || bad "xfrmd did not come up"
n_listening() { grep -c 'listening for IKE on' "$T/iked.log" 2>/dev/null; }
listening_since() { (($(n_listening) > $1)); }
start_iked() {
    local before
    before=$(n_listening)
    "$B/iked/mgate-iked" -c "$CONF" 2>>"$T/iked.log" & IPID=$!
    until_ok 8 listening_since "${before:-0}"
}
stop_iked() { kill -TERM "$IPID"; wait "$IPID"; local rc=$?; IPID=; return $rc; }
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
check "iked starts (nat_keepalive 1s)" start_iked

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
check "iked stops" stop_iked
write_conf 0
check "iked starts (nat_keepalive 0)" start_iked
hold_and_capture "$T/off.out" --gw-behind-nat
n=$(sed -n 's/^total //p' "$T/off.out.cap")
check "nat_keepalive = 0, gateway behind a NAT: no keepalive in 5 s ($n)" test "${n:-1}" -eq 0
check_summary
