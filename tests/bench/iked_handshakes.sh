#!/bin/bash
# IKE handshakes per second through mgate-iked, end to end over UDP (a
# benchmark, not a test). In a fresh network namespace of the host it starts
# mgate-xfrmd + mgate-iked on 127.0.0.1 and drives them with
# tests/ike_initiator's load mode: N handshakes (IKE_SA_INIT + IKE_AUTH with
# certificates), K in flight, each on its own UDP socket.
#
# Childless: the host kernel has no ESP, so [iked] has no subnets and every
# IKE_AUTH ends with the IKE SA up and TS_UNACCEPTABLE for the CHILD SA (the
# kernel SA install is measured by tests/bench/xfrm_install.sh). The virtual IP
# is still leased in SQLite. All handshakes come from one device certificate:
# each new IKE SA replaces the previous one (one per device), as a reconnecting
# device's would.
#
# Suites: X25519 (aes256gcm16-prfsha384-curve25519) with ECDSA P-256,
# RSA-2048 and Ed25519 certificates, the gateway's of the same type as the
# device's (tests/interop/pki.sh). Two runs per suite:
#
#   shared   iked with workers = 2, nothing pinned: iked and the initiator
#            share this machine's 2 cores (the initiator's own DH, signature
#            and key derivation take CPU from iked)
#   1 core   iked with workers = 1 pinned to CPU 0, the initiator pinned to
#            CPU 1: iked's throughput on one core, as long as the initiator
#            keeps up (its CPU per handshake is printed)
#
# The initiator runs with --no-verify (it does not verify the gateway's
# certificate and AUTH: less load on the shared cores; the netns test
# verifies them). iked's CPU time per handshake comes from /proc/PID/stat;
# "others" is the CPU the rest of the machine used meanwhile (another
# session's VM, a build), in cores: a figure taken with others > 0.1 is not
# clean.
# Then tests/ikeexch_bench: the responder's exchange functions alone, no I/O.
#
# Usage: iked_handshakes.sh BUILD_DIR
# Knobs: IB_SECONDS (per run, default 6), IB_PARALLEL (in flight, default 32).
set -uo pipefail
B=$(cd "${1:?usage: iked_handshakes.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SECS=${IB_SECONDS:-6} PAR=${IB_PARALLEL:-32}
[[ $(id -u) == 0 ]] || { echo "needs root (network namespace)"; exit 77; }
[[ -x $B/tests/ike_initiator ]] || { echo "build ike_initiator first (ninja -C $B ike_initiator)"; exit 1; }
if [[ -z ${MGATE_IN_NETNS:-} ]]; then
    # The cores are shared with everything else on the machine: wait
    # (bounded) for another session's VM (qemu takes a whole core) to end.
    for ((i = 0; i < 300; i++)); do
        pgrep -f '^qemu-system' >/dev/null || break
        ((i % 30 == 0)) && echo "waiting for a running qemu to finish (it takes a core)..."
        sleep 1
    done
    MGATE_IN_NETNS=1 exec unshare --net -- "$0" "$@"
fi
ip link set lo up
T=$(mktemp -d /tmp/mgate-ikedbench.XXXXXX)
XPID='' IPID=''
cleanup() {
    [[ -n $IPID ]] && kill -9 "$IPID" 2>/dev/null
    [[ -n $XPID ]] && kill -9 "$XPID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
until_ok() { local n=$(($1 * 10)); shift; while ((n-- > 0)); do "$@" && return 0; sleep 0.1; done; return 1; }
HZ=$(getconf CLK_TCK)
# CPU seconds (user + system) of a process, all its threads.
cpu_of() { awk -v hz="$HZ" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
# CPU seconds the whole machine spent busy (all CPUs), and the monotonic clock.
busy_all() { awk -v hz="$HZ" '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }

"$here/../interop/pki.sh" -t "ecdsa rsa ed25519" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 1; }
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "openssl: $(openssl version)"
echo "per run: ${SECS} s of handshakes, $PAR in flight, after 100 warm-up handshakes"
echo

run() { # run TYPE LABEL LIMIT MODE
    local type=$1 label=$2 limit=$3 mode=$4 workers=2 pin_iked=() pin_ini=()
    if [[ $mode == 1core ]]; then
        workers=1 pin_iked=(taskset -c 0) pin_ini=(taskset -c 1)
    fi
    local P=$T/pki/$type conf=$T/mgate-$type-$mode.conf
    rm -rf "$T/run" "$T/state"
    cat > "$conf" <<CONF
[global]
run_dir = $T/run
state_dir = $T/state
[xfrmd]
ike_listen = 127.0.0.1
[iked]
cert = $P/gw.crt
key = $P/gw.key
ca = $P/ca.crt
ike_proposals = aes256gcm16-prfsha384-curve25519
pool = 198.18.0.0/24
workers = $workers
# one source (127.0.0.1) measured at full speed: no per-source limit
sa_init_rate = 0
CONF
    "$B/xfrmd/mgate-xfrmd" -c "$conf" 2>>"$T/xfrmd.log" & XPID=$!
    until_ok 5 "$B/tools/mgatectl" -c "$conf" status xfrmd >/dev/null || { echo "xfrmd did not start"; return 1; }
    "${pin_iked[@]}" "$B/iked/mgate-iked" -c "$conf" 2>"$T/iked.log" & IPID=$!
    until_ok 8 grep -q 'listening for IKE on' "$T/iked.log" || { echo "iked did not start"; cat "$T/iked.log"; return 1; }
    local ini=("${pin_ini[@]}" "$B/tests/ike_initiator" --gw 127.0.0.1 --ca "$P/ca.crt"
        --cert "$P/device.crt" --key "$P/device.key" --proposal aes256gcm16-prfsha384-curve25519
        --timeout 3000 --tries 2)
    "${ini[@]}" >/dev/null || { echo "$label: a verified handshake failed"; return 1; }
    "${ini[@]}" --no-verify --count 100 --parallel 8 >/dev/null
    local c0 c1 m0 m1 out
    c0=$(cpu_of "$IPID") m0=$(busy_all)
    out=$("${ini[@]}" --no-verify --count 10000000 --parallel "$PAR" --duration "$SECS")
    c1=$(cpu_of "$IPID") m1=$(busy_all)
    local ok rate ini_us lat
    ok=$(sed -n 's/^load: \([0-9]*\) ok.*/\1/p' <<<"$out")
    rate=$(sed -n 's/.* \([0-9.]*\) handshakes\/s.*/\1/p' <<<"$out")
    ini_us=$(sed -n 's/.*(\([0-9]*\) us per handshake).*/\1/p' <<<"$out")
    lat=$(sed -n 's/.*latency avg [0-9.]* ms p50 \([0-9.]*\) ms p99 \([0-9.]*\) ms.*/\1\/\2/p' <<<"$out")
    local iked_us percore others el ini_s
    el=$(sed -n 's/.*; \([0-9.]*\) s; .*/\1/p' <<<"$out")
    ini_s=$(sed -n 's/.*initiator CPU \([0-9.]*\) s.*/\1/p' <<<"$out")
    # Cores used by everything else on the machine meanwhile (should be ~0).
    others=$(awk -v a="$m0" -v b="$m1" -v i0="$c0" -v i1="$c1" -v ini="$ini_s" -v el="$el" \
        'BEGIN { o = ((b - a) - (i1 - i0) - ini) / el; printf "%.2f", o < 0 ? 0 : o }')
    iked_us=$(awk -v a="$c0" -v b="$c1" -v n="$ok" 'BEGIN { printf "%.0f", n ? (b - a) / n * 1e6 : 0 }')
    percore=$(awk -v u="$iked_us" 'BEGIN { printf "%.0f", u ? 1e6 / u : 0 }')
    printf '%-22s %-7s %6s/s %13s ms  iked %5s us = %5s/core-s (%3s%% of %s)  initiator %4s us  others %s cores\n' \
        "$label" "$mode" "${rate%.*}" "$lat" "$iked_us" "$percore" \
        "$(awk -v p="$percore" -v l="$limit" 'BEGIN { printf "%.0f", p / l * 100 }')" "$limit" "$ini_us" "$others"
    grep -q ' 0 failed' <<<"$out" || echo "  ($out)"
    kill -TERM "$IPID"; wait "$IPID"; IPID=
    kill -TERM "$XPID"; wait "$XPID"; XPID=
}

printf '%-22s %-7s %8s %16s  %-45s %s\n' suite run "e2e" "latency p50/p99" "iked CPU per handshake = rate per core-second" "initiator CPU, other load"
for mode in shared 1core; do
    run ecdsa "X25519 + ECDSA P-256" 3200 $mode
    run rsa "X25519 + RSA-2048" 1800 $mode
    run ed25519 "X25519 + Ed25519" 2500 $mode
done
echo
echo "tests/ikeexch_bench (the exchange functions alone, thread CPU time, no I/O):"
"$B/tests/ikeexch_bench" -n 300 | head -2
