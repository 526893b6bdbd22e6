#!/bin/bash
# mgate-iked's IKE_SA_INIT guard, as a process on the host kernel in a
# network namespace of its own (set up as iked_netns.sh: xfrmd hands iked
# the IKE sockets on 127.0.0.1, no subnets so no ESP is needed), driven by
# ike_initiator from several loopback source addresses:
#   Rate limit (sa_init_rate 5/s, burst 10): a flood of IKE_SA_INIT from
#   127.0.0.2 gets about burst + rate x time answers, the rest is dropped
#   and counted in `mgatectl status`, logged in a line or two, not one per
#   packet; meanwhile a device on 127.0.0.3 completes its handshake.
#   Half-open bound (max_half_open 25): 40 IKE_SA_INIT from 8 sources
#   (none over its rate) leave exactly 25 half-open SAs; the others and a
#   later device get no answer and are counted.
# Usage: iked_dos.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
. "$(dirname "${BASH_SOURCE[0]}")/iked_env.sh"
ikenv_enter mgate-iked-dos -- "$@"

ikenv_pki ecdsa
ikenv_conf --log info <<CONF
# no subnets: IKE SAs without CHILD SA, no ESP needed on the host kernel
sa_init_rate = 5
sa_init_burst = 10
max_half_open = 25
cookie_threshold = 100000
half_open_timeout = 60s
CONF
ikenv_ini
n_limited() { detail | sed -n 's/.* \([0-9]*\) rate-limited.*/\1/p'; }
n_bounded() { detail | sed -n 's/.* \([0-9]*\) over max_half_open.*/\1/p'; }
n_half() { $CTL --json ike list | jq '[.[] | select(.state == "half-open")] | length'; }
ok_of() { sed -n 's/^load: \([0-9]*\) ok.*/\1/p' "$1"; }

ikenv_start_xfrmd || bad "xfrmd did not come up"
check "iked starts (sa_init_rate 5, sa_init_burst 10, max_half_open 25)" ikenv_start_iked

# --- (a) a flood from one source is rate limited ---------------------------------------
t0=$(date +%s.%N)
dev --src 127.0.0.2 --init-only --count 150 --parallel 30 --timeout 300 --tries 1 \
    > "$T/flood.out" 2>&1 & FLOOD=$!
sleep 0.5
out=$(dev --src 127.0.0.3 --childless); rc=$?
check "a device on another source completes its handshake during the flood (exit $rc)" test $rc -eq 0
wait "$FLOOD"; FLOOD=
t1=$(date +%s.%N)
cat "$T/flood.out"
answered=$(ok_of "$T/flood.out")
max_ok=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", 10 + 5 * (b - a) + 2 }')
check "the flood got ${answered:-?} answers of 150: at most burst + rate x time ($max_ok)" \
    test "${answered:-999}" -ge 10 -a "${answered:-999}" -le "$max_ok"
sleep 1.2 # the status line is refreshed every second
echo "status: $(detail)"
lim=$(n_limited)
check "mgatectl status counts the dropped ones (${lim:-?} rate-limited, >= $((150 - max_ok)))" \
    test "${lim:-0}" -ge $((150 - max_ok))
n_lines=$(nlog 'over the per-source rate limit')
check "... logged in $n_lines line(s), not one per packet" test "$n_lines" -ge 1 -a "$n_lines" -le 3
check "... naming the source" grep -q 'IKE_SA_INIT from 127.0.0.2 over the per-source rate limit' "$T/iked.log"
check "the flood left no more half-open SAs than it got answers" test "$(n_half)" -le "$answered"

# --- (b) the half-open bound ---------------------------------------------------------
check "iked restarts (no half-open SA left): stops" ikenv_stop_iked
check "... listening" ikenv_start_iked
pids=()
for i in 1 2 3 4 5 6 7 8; do
    dev --src "127.0.1.$i" --init-only --count 5 --parallel 5 --timeout 600 --tries 1 \
        > "$T/half.$i.out" 2>&1 & pids+=($!)
done
wait "${pids[@]}"
total_ok=0
for i in 1 2 3 4 5 6 7 8; do total_ok=$((total_ok + $(ok_of "$T/half.$i.out"))); done
check "40 IKE_SA_INIT from 8 sources: $total_ok answered, as many as max_half_open" test "$total_ok" -eq 25
check "... 25 half-open SAs at the gateway" test "$(n_half)" -eq 25
out=$(dev --src 127.0.0.4 --timeout 500 --tries 2); rc=$?
check "a new device gets no answer while the bound holds (exit $rc = 3)" test $rc -eq 3
check "... still 25 half-open" test "$(n_half)" -eq 25
sleep 1.2
echo "status: $(detail)"
nb=$(n_bounded)
check "mgatectl status counts what the bound dropped (${nb:-?} >= 17)" test "${nb:-0}" -ge 17
check "... logged once" test "$(nlog 'half-open IKE SAs (max_half_open 25)')" -eq 1
check "... and not as rate limiting" test "$(n_limited)" -eq 0

check "iked exits 0 on SIGTERM" ikenv_stop_iked
check "xfrmd exits 0 on SIGTERM" ikenv_stop_xfrmd
ikenv_end 40
