#!/bin/bash
# iked restarts without dropping its IKE SAs (issue 5 item 8), on the host
# kernel in a network namespace of its own (no ESP here: IKE SAs without a
# CHILD SA; the kernel side is the VM test vm_interop_restart's):
#  - SIGKILL of iked: the checkpoint (<run_dir>/iked.checkpoint, 0600)
#    brings the IKE SA back; the device's retransmission of the request
#    answered just before the kill gets the same answer byte for byte, its
#    next request is answered with the SA's keys and message ID; mgatectl
#    ike list shows it again (same SPIs, identity, virtual IP); terminate
#    sends a DELETE the device answers;
#  - SIGKILL of xfrmd: iked reconnects, reconciles, keeps the SA;
#  - a corrupt checkpoint: a clear log line, iked starts empty, the lease
#    is released;
#  - SIGTERM: DELETEs sent, the checkpoint removed.
# Usage: iked_restart.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
. "$(dirname "${BASH_SOURCE[0]}")/iked_env.sh"
ikenv_enter mgate-ikedrs -- "$@"

ikenv_pki ecdsa
DEV_ID="CN=device-1,O=mgate test"
CKPT=$T/run/iked.checkpoint
ikenv_conf --ike "aes128gcm16-prfsha256-ecp256 aes256-sha384-modp3072" <<CONF
dpd_delay = 0
CONF
ikenv_ini --timeout 1500
spi_of() { sed -n 's/^established spi_i=\([0-9a-f]*\) .*/\1/p' "$1"; }
vip_of() { sed -n 's/^vip=\([^ ]*\).*/\1/p' "$1"; }
leases() { sqlite3 "$T/state/iked.db" 'SELECT count(*) FROM leases WHERE active = 1' 2>/dev/null; }
mode_of() { stat -c %a "$1"; }

check "xfrmd starts" ikenv_start_xfrmd
check "iked starts" ikenv_start_iked

# --- SIGKILL of iked with a device holding an IKE SA -------------------------------
# With the AES-CBC suite: its IV is random, so "byte-identical" below can only
# come from the saved response, never from a recomputation.
run_device() { # run_device OUT GO [initiator options]: holds until GO appears, then a DELETE
    local out=$1 go=$2; shift 2
    # A simple command, not the dev function: $! is ike_initiator itself, so
    # that kill -9 $HOLD ends it (a subshell's death would leave it running).
    $INI --cert "$P/device.crt" --key "$P/device.key" --restart-check "$go" --hold 20000 "$@" \
        > "$out" & HOLD=$!
    until_ok 10 grep -q '^waiting for' "$out"
}
check "a device connects, a liveness check answered before the kill" \
    run_device "$T/dev1.out" "$T/go1" --proposal aes256-sha384-modp3072
cat "$T/dev1.out"
spi1=$(spi_of "$T/dev1.out") vip1=$(vip_of "$T/dev1.out")
check "... listed ($spi1, $vip1)" test "$(list | jq -r '.[0].spi_i')" = "$spi1"
check "the checkpoint exists: $CKPT" test -s "$CKPT"
check "... mode 0600" test "$(mode_of "$CKPT")" = 600
[[ -e $CKPT-wal ]] && check "... its -wal too" test "$(mode_of "$CKPT-wal")" = 600
before=$(list | jq -c '[.[] | {spi_i, spi_r, identity, vip, state}]')
check "one active lease before the kill" test "$(leases)" = 1

ikenv_kill9 "$IPID"; IPID=
check "iked killed with SIGKILL: the checkpoint stays" test -s "$CKPT"
check "iked restarts" ikenv_start_iked
check "... logs the restored IKE SA" grep -q "checkpoint: restored 127.0.0.1.*$DEV_ID" "$T/iked.log"
check "... 1 of 1 restored" grep -q 'checkpoint: 1 of 1 IKE SAs restored' "$T/iked.log"
after=$(list | jq -c '[.[] | {spi_i, spi_r, identity, vip, state}]')
echo "before: $before"; echo "after:  $after"
check "mgatectl ike list shows it again: same SPIs, identity, virtual IP, established" \
    test "$after" = "$before"
check "... the lease stays (one active)" test "$(leases)" = 1
touch "$T/go1"
check "the device's next requests are answered" until_ok 10 grep -q '^after the restart: liveness request 3 answered' "$T/dev1.out"
cat "$T/dev1.out"
check "... its retransmission of request 2 (answered before the kill): identical answer" \
    grep -q '^after the restart: retransmitted request 2: identical answer' "$T/dev1.out"
check "... request 3: answered with the SA's keys and message ID" \
    grep -q '^after the restart: liveness request 3 answered (keys and message ID ok)' "$T/dev1.out"

# --- SIGKILL of xfrmd ----------------------------------------------------------------
ikenv_kill9 "$XPID"; XPID=
check "xfrmd killed with SIGKILL, restarted" ikenv_start_xfrmd
check "iked reconnects to xfrmd and reconciles" \
    until_ok 10 test "$(nlog 'reconciled with xfrmd')" -ge 2
check "... the IKE SA is still listed" test "$(list | jq -r '.[0].spi_i')" = "$spi1"

# --- terminate: a DELETE the device answers ------------------------------------------
out=$($CTL ike terminate "$DEV_ID"); rc=$?
check "terminate the restored SA: exit 0, one SA" test $rc -eq 0 -a "$out" = "terminated 1 IKE SA(s)"
wait $HOLD; rc=$?; HOLD=
cat "$T/dev1.out"
check "... the device got a DELETE for it and answered" \
    test $rc -eq 0 -a "$(grep -c '^DELETE received' "$T/dev1.out")" -eq 1
check "... no IKE SA left" test "$(nsas)" -eq 0
check "... no lease active" test "$(leases)" = 0

# --- a corrupt checkpoint: start empty, fail closed ---------------------------------------
check "a second device session" run_device "$T/dev2.out" "$T/go2"
spi2=$(spi_of "$T/dev2.out")
ikenv_kill9 "$IPID"; IPID=
ikenv_kill9 "$HOLD"; HOLD=
printf 'garbage where a checkpoint was\n' > "$CKPT"
rm -f "$CKPT-wal" "$CKPT-shm"
check "iked restarts over a corrupt checkpoint" ikenv_start_iked
check "... says so in one clear line" \
    test "$(nlog "checkpoint $CKPT unusable (.*not a database.*): starting with no IKE SA")" -eq 1
check "... no IKE SA" test "$(nsas)" -eq 0
check "... the lease of the lost SA released" test "$(leases)" = 0
check "... a fresh checkpoint, 0600" test "$(mode_of "$CKPT")" = 600
out=$(dev); rc=$?
check "... and serves a new handshake" test $rc -eq 0

# --- a checkpoint of another format version ------------------------------------------
if command -v sqlite3 >/dev/null; then
    ikenv_kill9 "$IPID"; IPID=
    sqlite3 "$CKPT" 'PRAGMA user_version = 99' >/dev/null
    check "iked restarts over a checkpoint of format 99" ikenv_start_iked
    check "... says so" grep -q "checkpoint $CKPT unusable (format 99, this iked reads 1)" "$T/iked.log"
    check "... no IKE SA" test "$(nsas)" -eq 0
fi

# --- SIGTERM: DELETEs, the checkpoint removed ----------------------------------------------
hold_up() { dev --hold 8000 > "$1" & HOLD=$!; until_ok 10 grep -q '^holding' "$1"; }
check "a third device holds an IKE SA" hold_up "$T/dev3.out"
check "iked exits 0 on SIGTERM" ikenv_stop_iked
wait $HOLD; HOLD=
check "... the device got a DELETE" grep -q '^DELETE received' "$T/dev3.out"
check "... the checkpoint is gone" test ! -e "$CKPT" -a ! -e "$CKPT-wal"
check "iked starts again: nothing restored" ikenv_start_iked
check "... no IKE SA" test "$(nsas)" -eq 0
ikenv_stop_iked
ikenv_stop_xfrmd
ikenv_end
