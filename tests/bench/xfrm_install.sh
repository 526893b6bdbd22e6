#!/bin/bash
# SA + policy install rate through mgate-xfrmd, against `ip xfrm` (benchmark,
# not a test). On the host this boots the VM (tests/vm/vm-run: the host kernel
# has no ESP) and runs itself inside it; in the VM it starts one xfrmd in a
# fresh network namespace and measures, each run from an empty SAD/SPD:
#
#   xfrmd batched      N SAs (AES-GCM-16-128) + N out policies, OPS ops per request
#   xfrmd single       one SA and its policy per request (a CHILD SA at a time)
#   xfrmd reconcile    deleting all of them (one reconcile request)
#   ip -batch          the same SAs and policies from one file, one process
#   ip xfrm loop       `ip xfrm state add` + `ip xfrm policy add` per SA
#
# The out policies (203.0.113.0/24 -> VIP/32) are "inexact" for the kernel's
# default hash thresholds (/32 both ways): Linux 6.1 walks its list of all
# inexact policies twice on each insert, so N of them cost O(N^2) (upstream
# fixed that in 2024, "xfrm: policy: don't iterate inexact policies twice at
# insert time" and its series). A gateway sets
# the thresholds to its selectors' prefixes (`ip xfrm policy set hthresh4 24 32`,
# as done here) and its policies are hashed; one last row shows the default.
#
# Usage: xfrm_install.sh BUILD_DIR
# Knobs (environment): XB_N (SAs batched, default 20000), XB_OPS (ops per
# request, default "100 1000 5000"), XB_SINGLE
# (default 3000), XB_LOOP (default 150), XB_TIMEOUT (VM time limit, default 300),
# XB_MEM (VM memory in MB, default 2048), XB_INEXACT (policies for the
# default-threshold row, default 5000). XB_HOST=1 runs on this machine's own
# kernel instead of the VM (it needs esp4 and gcm: a real-hardware figure).
set -uo pipefail
B=$(cd "${1:?usage: xfrm_install.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
N=${XB_N:-20000} OPS=${XB_OPS:-100 1000 5000} SINGLE=${XB_SINGLE:-3000} LOOP=${XB_LOOP:-150}
INEXACT=${XB_INEXACT:-5000}

if [[ ${MGATE_VM:-0} != 1 && ${XB_HOST:-0} != 1 ]]; then
    [[ -x $B/tests/bench/xfrm_install ]] || { echo "build xfrm_install first (ninja -C $B xfrm_install)"; exit 1; }
    # One qemu at a time on this machine: wait (bounded) for another run to end.
    for ((i = 0; i < 600; i++)); do
        pgrep -f qemu-system >/dev/null || break
        ((i % 30 == 0)) && echo "waiting for another VM to finish..."
        sleep 1
    done
    pgrep -f qemu-system >/dev/null && { echo "another VM is still running; try later"; exit 1; }
    exec "$here/../vm/vm-run" --timeout "${XB_TIMEOUT:-300}" --mem "${XB_MEM:-2048}" -- "$0" "$B"
fi

# --- inside the VM --------------------------------------------------------------
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 1; }
NS=xb$$
T=$(mktemp -d /tmp/mgate-xbench.XXXXXX)
XPID=''
cleanup() {
    [[ -n $XPID ]] && kill "$XPID" 2>/dev/null && wait "$XPID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
# Hash policies whose local (source, for out) prefix is >= /24 and remote >= /32.
in_ns ip xfrm policy set hthresh4 24 32
cat > "$T/mgate.conf" <<CONF
[global]
run_dir = $T/run
state_dir = $T/state
log_level = info
max_frame = 64M
[xfrmd]
ike_listen = 127.0.0.1
CONF
# ip netns exec execs xfrmd: $! is its pid (for its CPU times)
ip netns exec "$NS" "$B/xfrmd/mgate-xfrmd" -c "$T/mgate.conf" 2>"$T/xfrmd.log" &
XPID=$!
for ((i = 0; i < 200; i++)); do
    "$B/tools/mgatectl" -c "$T/mgate.conf" status xfrmd >/dev/null 2>&1 && break
    sleep 0.1
done
BENCH="$B/tests/bench/xfrm_install $T/run/xfrmd.sock"
now() { date +%s.%N; }
counts() { # -> "SAs policies" in the kernel
    echo "$(in_ns ip xfrm state count | awk '{print $NF}') $(in_ns ip xfrm policy count | awk '{print $5}')"
}
flush() { in_ns ip xfrm state flush; in_ns ip xfrm policy flush; }
ROWS=()
# xfrmd's CPU time: user (mgate's code: protobuf, the library) and system
# (the kernel's XFRM work, done in xfrmd's sendmsg), in seconds
HZ=$(getconf CLK_TCK)
cpu() { awk -v hz="$HZ" '{ printf "%.2f %.2f", $14 / hz, $15 / hz }' "/proc/$XPID/stat"; }
CPU0=
cpu_start() { CPU0=$(cpu); }
cpu_used() { local a b; read -r a b <<<"$CPU0"; awk -v a="$a" -v b="$b" -v n="$(cpu)" 'BEGIN { split(n, c, " "); printf "%.2f/%.2f", c[1] - a, c[2] - b }'; }
row() { ROWS+=("$(printf '%-36s %6s %7s %8s %8s %8s %11s' "$@")"); }
# field NAME LINE -> value of NAME=... in a result line
field() { sed -n "s/.*\\<$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
bad=0
note() { echo "$*" >&2; }

how="on this machine's kernel"
[[ ${MGATE_VM:-0} == 1 ]] && how="VM, TCG emulation"
note "kernel $(uname -r), $(nproc) CPU(s), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $how"
note "warm-up: the first SA install loads the crypto templates"
$BENCH batched 10 20 >/dev/null || { note "warm-up failed:"; cat "$T/xfrmd.log" >&2; exit 1; }
$BENCH reconcile >/dev/null

for ops in $OPS; do
    cpu_start
    out=$($BENCH batched "$N" "$ops") || bad=1
    note "$out"
    c=$(counts)
    [[ $c == "$N $N" ]] || { note "after the batched run the kernel holds '$c', want '$N $N'"; bad=1; }
    row "xfrmd, batched ($ops ops/request)" "$N" "$ops" "$(field seconds "$out")" "$(field sa_per_s "$out")" "$(field ops_per_s "$out")" "$(cpu_used)"
    cpu_start
    out=$($BENCH reconcile) || bad=1
    note "$out"
    row "xfrmd, reconcile (deletes all)" "$(field deleted_sas "$out")" "-" "$(field seconds "$out")" "$(field sa_per_s "$out")" "$(field ops_per_s "$out")" "$(cpu_used)"
    [[ $(counts) == "0 0" ]] || { note "reconcile left '$(counts)'"; bad=1; flush; }
done

cpu_start
out=$($BENCH single "$SINGLE") || bad=1
note "$out"
[[ $(counts) == "$SINGLE $SINGLE" ]] || { note "after the single run the kernel holds '$(counts)'"; bad=1; }
row "xfrmd, one SA + policy per request" "$SINGLE" 2 "$(field seconds "$out")" "$(field sa_per_s "$out")" "$(field ops_per_s "$out")" "$(cpu_used)"
flush

cpu_start
out=$($BENCH policies "$N" 1000) || bad=1
note "$out"
row "xfrmd, policies only" "$N" 1000 "$(field seconds "$out")" "-" "$(field ops_per_s "$out")" "$(cpu_used)"
flush

"$B/tests/bench/xfrm_install" - ipbatch "$N" "$T/batch" || exit 1
TIMEFORMAT='%U/%S'
t0=$(now)
{ time in_ns ip -batch "$T/batch" 2>"$T/iperr" || bad=1; } 2>"$T/iptime"
t1=$(now)
cat "$T/iperr" >&2
[[ $(counts) == "$N $N" ]] || { note "after ip -batch the kernel holds '$(counts)'"; bad=1; }
dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
row "ip -batch (one process)" "$N" "-" "$dt" "$(awk -v n="$N" -v t="$dt" 'BEGIN { printf "%.0f", n / t }')" \
    "$(awk -v n="$N" -v t="$dt" 'BEGIN { printf "%.0f", 2 * n / t }')" "ip $(cat "$T/iptime")"
flush

# Default thresholds: the same policies are inexact, one list walked per insert.
in_ns ip xfrm policy set hthresh4 32 32
cpu_start
out=$($BENCH policies "$INEXACT" 1000) || bad=1
note "$out"
row "xfrmd, policies only, default hthresh" "$INEXACT" 1000 "$(field seconds "$out")" "-" "$(field ops_per_s "$out")" "$(cpu_used)"
flush
in_ns ip xfrm policy set hthresh4 24 32

head -n $((2 * LOOP)) "$T/batch" > "$T/loop"
t0=$(now)
while read -r -a cmd; do in_ns ip "${cmd[@]}" || bad=1; done < "$T/loop"
t1=$(now)
[[ $(counts) == "$LOOP $LOOP" ]] || { note "after the ip loop the kernel holds '$(counts)'"; bad=1; }
dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
row "ip xfrm ... add in a loop" "$LOOP" "-" "$dt" "$(awk -v n="$LOOP" -v t="$dt" 'BEGIN { printf "%.0f", n / t }')" \
    "$(awk -v n="$LOOP" -v t="$dt" 'BEGIN { printf "%.0f", 2 * n / t }')" "-"
flush
t0=$(now)
for ((i = 0; i < 20; i++)); do in_ns true; done
t1=$(now)
note "process start under this VM: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 / 20 }') ms each (ip netns exec true)"

echo
printf '%-36s %6s %7s %8s %8s %8s %11s\n' "method" "SAs" "ops/req" "seconds" "SAs/s" "ops/s" "CPU u/s"

printf '%s\n' "${ROWS[@]}"
echo "(SA rows: each SA comes with its out policy, ops = 2 x SAs. CPU u/s: seconds xfrmd (or ip)"
echo " spent in user mode (protobuf, the xfrm library) / in the kernel (the XFRM work, done in its sendmsg))"
grep -E '^<[0-3]>' "$T/xfrmd.log" >&2 && bad=1
exit $bad
