#!/bin/bash
# mgate-xfrmd through its socket, on the host kernel (no ESP here: policies,
# SPI allocation, ownership, events, IKE sockets, bad requests, restart).
# ESP SAs and traffic are tested in the VM (xfrmd_vm.sh).
# Usage: xfrmd_netns.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
B=$(cd "${1:?usage: xfrmd_netns.sh BUILD_DIR}" && pwd)
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root"; exit 77; }
if [[ -z ${MGATE_IN_NETNS:-} ]]; then
    MGATE_IN_NETNS=1 exec unshare --net -- "$0" "$@"
fi
ip link set lo up
# A veth pair with no peer address: traffic to 192.0.2.2 leaves through it, so
# output policies are looked up (to a /24 on lo it would be local delivery).
ip link add xv0 type veth peer name xv1
ip addr add 192.0.2.1/24 dev xv0
ip link set xv0 up
ip link set xv1 up
T=$(mktemp -d /tmp/mgate-xfrmd.XXXXXX)
XPID=
cleanup() { [[ -n $XPID ]] && kill -9 "$XPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

cat > "$T/mgate.conf" <<CONF
[global]
run_dir = $T/run
state_dir = $T/state
log_level = debug
[xfrmd]
ike_listen = 127.0.0.1 ::1
CONF
S=$T/run/xfrmd.sock
REQ="$B/tests/xfrmd_req $S"
CTL="$B/tools/mgatectl -c $T/mgate.conf"
# Ready means answering: a SIGKILLed xfrmd leaves its socket file behind.
start() { "$B/xfrmd/mgate-xfrmd" -c "$T/mgate.conf" 2>>"$T/xfrmd.log" & XPID=$!; until_ok 5 $CTL status xfrmd >/dev/null; }
# SPD policies only: the IKE sockets' bypass policies show as "socket in/out".
npol() { ip xfrm policy | grep -cE '^\s+dir '; }

# Someone else's policy, as strongSwan would leave it: xfrmd must never touch it.
ip xfrm policy add src 198.51.100.0/24 dst 203.0.113.0/24 dir out priority 1000 \
    tmpl src 192.0.2.1 dst 192.0.2.99 proto esp reqid 7 mode tunnel
start
check "xfrmd starts and takes a census" grep -q 'kernel holds 0 SAs and 0 policies' "$T/xfrmd.log"

# --- a batch mixing good and bad operations -----------------------------------
out=$($REQ bad-batch --local 192.0.2.1 --remote 192.0.2.2); echo "$out"
check "bad batch: the good policies went in, each bad SA got its own error" test $? -eq 0
check "bad batch: unknown algorithm named" grep -q 'op 1 unknown algorithm: Invalid argument: unknown algorithm' <<<"$out"
check "bad batch: short key named" grep -qi 'op 2 short key: Invalid argument: .*key' <<<"$out"
check "bad batch: family mismatch named" grep -qi 'op 3 family mismatch: Invalid argument: .*famil' <<<"$out"
check "kernel holds the two good policies + the foreign one" test "$(npol)" -eq 3
check "ours carry the mgate priority band (0x4dxxxx)" test "$(ip xfrm policy | grep -c 'priority 50[4-9][0-9][0-9][0-9][0-9]')" -ge 2
json=$($CTL --json xfrm policy)
check "mgatectl xfrm policy lists exactly ours" test "$(jq length <<<"$json")" -eq 2
check "mgatectl xfrm policy --all also shows the foreign one, marked" \
    test "$($CTL --json xfrm policy --all | jq '[.[] | select(.ours == false)] | length')" -eq 1
$CTL xfrm policy --all

# --- SPI allocation -------------------------------------------------------------
out=$($REQ allocspi --src 192.0.2.2 --dst 192.0.2.1 --reqid 0x4d000100 --min 0x1000 --max 0x1fff --count 5)
echo "$out"
spis=$(grep -o '0x[0-9a-f]*' <<<"$out" | sort -u)
check "5 distinct SPIs" test "$(wc -l <<<"$spis")" -eq 5
inrange=1; for s in $spis; do ((s >= 0x1000 && s <= 0x1fff)) || inrange=0; done
check "every SPI inside [0x1000, 0x1fff]" test $inrange -eq 1
check "the kernel holds them as larval SAs" test "$(ip xfrm state | grep -c 'proto esp spi 0x0000')" -ge 5
out=$($REQ allocspi --src 192.0.2.2 --dst 192.0.2.1 --reqid 0x11 --min 0x1000 --max 0x1fff 2>&1)
check "ALLOCSPI with a reqid outside mgate's range is refused" grep -q 'allocspi failed' <<<"$out"

# --- acquire events reach subscribers ------------------------------------------
$REQ wait-event acquire 5 > "$T/acq.out" &
waiter=$!
until_ok 3 grep -q subscribed "$T/acq.out"
# Traffic hitting one of our out policies with no SA makes the kernel ask.
ping -c1 -W1 -I 192.0.2.1 192.0.2.2 >/dev/null 2>&1
wait $waiter
check "an ACQUIRE for our policy was forwarded" grep -q 'acquire reqid 0x4d000001' "$T/acq.out"

# --- IKE sockets passed with SCM_RIGHTS -----------------------------------------
out=$($REQ ike-sockets); rc=$?; echo "$out"
check "4 IKE sockets passed (2 addresses x ports 500/4500)" test $rc -eq 0 -a "$(grep -c '^fd' <<<"$out")" -eq 4
check "they are UDP on 500 and 4500 (4500 with ESP-in-UDP)" grep -q '127.0.0.1 port 4500 natt' <<<"$out"
check "xfrmd keeps them (a restarted iked gets the same)" test "$(ss -ulnp | grep -c 'mgate-xfrmd')" -eq 4
# Their bypass policies show in the kernel's dump as socket policies: the
# dumps (and so reconcile) must step over them, not fail.
check "dumps work with the IKE sockets' socket policies present" $REQ reconcile --dry-run

# --- bad requests on the socket --------------------------------------------------
out=$($REQ tunnel add --local 192.0.2.1 --remote 192.0.2.2 --local-net 203.0.113.0/200 \
      --remote-net 198.18.0.2/32 --spi-in 0x300 --spi-out 0x301 2>&1)
check "a selector with prefix length 200 is refused by name" grep -q 'prefix length' <<<"$out"
check "and no policy changed in the kernel ($(npol))" test "$(npol)" -eq 3

# --- the move request (SAs need the VM; here: the request's way and its refusals) ---
mv() { $REQ move --local 192.0.2.1 --remote 192.0.2.2 --local-net 203.0.113.0/24 \
      --remote-net 198.18.0.2/32 --spi-in 0x400 --spi-out 0x401 "$@" 2>&1; }
out=$(mv --dst 198.51.100.2); rc=$?; echo "$out"
check "move of a tunnel without SAs: refused per SA (exit 1)" test $rc -eq 1
check "... 'no such SA' for both" test "$(grep -c 'No such process: SA spi 0x0000040[01] dst .*no such SA' <<<"$out")" -eq 2
out=$(mv --dst 2001:db8::2); echo "$out"
check "move to another address family: refused by name" grep -q 'IPv4 and IPv6 is not supported' <<<"$out"
out=$(mv --dst 198.51.100.2 --reqid 0x11); echo "$out"
check "move with a reqid outside mgate's range: refused" test "$(grep -c 'reqid 0x00000011 is outside' <<<"$out")" -eq 2
check "... and no policy changed in the kernel ($(npol))" test "$(npol)" -eq 3

# --- restart: the kernel keeps everything, the census finds it -----------------------
kill -9 $XPID; wait $XPID 2>/dev/null
check "policies survive SIGKILL of xfrmd" test "$(npol)" -eq 3
start
# 5 SPIs reserved, + 1 larval SA if the acquire's is still pending.
check "the new xfrmd finds what the old one left" grep -qE 'kernel holds [56] SAs and 2 policies' "$T/xfrmd.log"
out=$($REQ reconcile --dry-run); echo "$out"
check "reconcile --dry-run reports without deleting" test "$(npol)" -eq 3
out=$($REQ reconcile); echo "$out"
check "reconcile (iked wants nothing) deletes our orphans" grep -qE 'deleted [56] SAs 2 policies' <<<"$out"
check "... the reserved SPIs are gone from the kernel" test "$(ip xfrm state | grep -c 'spi 0x00001')" -eq 0
check "... and only ours: the foreign policy is still there" test "$(npol)" -eq 1
check "... which is the one with reqid 7" grep -q 'reqid 7' <(ip xfrm policy)

kill -TERM $XPID; wait $XPID; rc=$?; XPID=
check "xfrmd exits 0 on SIGTERM" test $rc -eq 0
check "the foreign policy outlives xfrmd too" test "$(npol)" -eq 1
grep -E 'AddressSanitizer|runtime error' "$T/xfrmd.log" && bad "sanitizer reports in the log"
if [[ $FAIL != 0 ]]; then echo "--- xfrmd.log"; grep -v '<7>' "$T/xfrmd.log"; fi
check_summary
