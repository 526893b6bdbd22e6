#!/usr/bin/env bash
# shellcheck disable=SC2015,SC2016 # pass/fail return 0; literal $ in test strings
# Self-test of tests/vm/vm-run (runs on the host; boots the VM five times, ~30 s):
#   A  the command runs in the caller's directory with the caller's environment, as root,
#      on the Debian kernel with the ESP modules loaded; it can create namespaces, write
#      anywhere without touching the host, and write to the results share; its output
#      streams to vm-run's stdout while it runs (the host answers a marker through the
#      results share); its exit status (3) becomes vm-run's
#   B  exit 77 passes through (ctest's skip)
#   C  a command that is not found gives 127
#   D  --timeout kills the VM: exit 124, a TIMEOUT message, no qemu left behind
#   E  SIGTERM to vm-run stops the VM at once: no qemu left behind
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
vmrun=$here/vm-run
work=$(mktemp -d "${TMPDIR:-/tmp}/vm-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT

fails=0
pass() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# qemu processes whose command line mentions $1 (a path unique to one run)
qemus_for() { pgrep -f -- "qemu-system.*$1" || true; }

# --- A ------------------------------------------------------------------------------
res=$work/resA
mkdir -p "$res" "$work/cwd dir"
cat >"$work/guest-a.sh" <<'EOF'
#!/bin/bash
echo "pwd=$(pwd)"
echo "env=$SELFTEST_VAR"
echo "vm=$MGATE_VM results=$MGATE_VM_RESULTS kernel=$(uname -r) uid=$(id -u)"
echo "args=$#:$1:$2"
echo "stderr-line" >&2
grep -q '^esp4 ' /proc/modules && echo "mod=esp4"
grep -q '^xfrm_user ' /proc/modules && echo "mod=xfrm_user"
ip netns add selftest-ns && ip netns exec selftest-ns ip link set lo up && echo "netns=ok"
touch /etc/mgate-vm-selftest && echo "rootfs=writable"
echo hello >"$MGATE_VM_RESULTS/from-guest"
echo "STREAM-MARK"
for ((i = 0; i < 300; i++)); do
  [[ -e $MGATE_VM_RESULTS/go ]] && { echo "GOT-GO"; break; }
  sleep 0.1
done
exit 3
EOF
chmod +x "$work/guest-a.sh"
t0=$(now)
(cd "$work/cwd dir" && SELFTEST_VAR='a b$c' "$vmrun" --timeout 120 --results "$res" -- \
   "$work/guest-a.sh" "x y" "'q'") >"$work/outA" 2>"$work/errA" &
pid=$!
streamed=0
for ((i = 0; i < 900; i++)); do  # <= 90 s
  if grep -q STREAM-MARK "$work/outA" 2>/dev/null; then
    kill -0 "$pid" 2>/dev/null && streamed=1
    touch "$res/go"
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
wait "$pid"
rc=$?
echo "A: vm-run took $(since "$t0") s, exit $rc"
sed 's/^/    | /' "$work/outA"
[[ -s $work/errA ]] && sed 's/^/    2| /' "$work/errA"
[[ $rc == 3 ]] && pass "A: exit status 3 passed through" || fail "A: exit status $rc, want 3"
want=("pwd=$work/cwd dir" 'env=a b$c' "vm=1 results=$res kernel=6.1." "uid=0"
      "args=2:x y:'q'" stderr-line mod=esp4 mod=xfrm_user netns=ok rootfs=writable GOT-GO)
for w in "${want[@]}"; do
  if grep -qF -- "$w" "$work/outA"; then pass "A: output has '$w'"; else fail "A: output lacks '$w'"; fi
done
[[ $streamed == 1 ]] && pass "A: output streamed while the VM ran" || fail "A: output not seen while the VM ran"
[[ $(cat "$res/from-guest" 2>/dev/null) == hello ]] && pass "A: results share written by the guest" ||
  fail "A: results share: from-guest missing"
[[ -e /etc/mgate-vm-selftest ]] && fail "A: the guest's write reached the host's /etc" ||
  pass "A: the host's root stayed untouched"
[[ -s $res/vm-console.log ]] && pass "A: kernel log saved as vm-console.log" || fail "A: no vm-console.log"

# --- B ------------------------------------------------------------------------------
"$vmrun" --timeout 120 -- sh -c 'echo skipping; exit 77' >"$work/outB" 2>&1
rc=$?
[[ $rc == 77 ]] && pass "B: exit 77 (skip) passed through" || { fail "B: exit $rc, want 77"; cat "$work/outB"; }

# --- C ------------------------------------------------------------------------------
"$vmrun" --timeout 120 -- /nonexistent/command >"$work/outC" 2>&1
rc=$?
[[ $rc == 127 ]] && pass "C: missing command gives 127" || { fail "C: exit $rc, want 127"; cat "$work/outC"; }

# --- D ------------------------------------------------------------------------------
mkdir -p "$work/resD"
t0=$(now)
"$vmrun" --timeout 12 --results "$work/resD" -- sleep 600 >"$work/outD" 2>&1
rc=$?
took=$(since "$t0")
[[ $rc == 124 ]] && pass "D: timeout gives 124 (after $took s)" || fail "D: exit $rc after $took s, want 124"
awk -v t="$took" 'BEGIN { exit !(t < 25) }' && pass "D: stopped within the limit" || fail "D: took $took s for a 12 s limit"
grep -q TIMEOUT "$work/outD" && pass "D: says TIMEOUT" || { fail "D: no TIMEOUT message"; cat "$work/outD"; }
[[ -z $(qemus_for "$work/resD") ]] && pass "D: no qemu left" || fail "D: qemu still running: $(qemus_for "$work/resD")"

# --- E ------------------------------------------------------------------------------
mkdir -p "$work/resE"
"$vmrun" --timeout 120 --results "$work/resE" -- sleep 600 >"$work/outE" 2>&1 &
pid=$!
for ((i = 0; i < 100; i++)); do [[ -n $(qemus_for "$work/resE") ]] && break; sleep 0.1; done
sleep 2
t0=$(now)
kill -TERM "$pid"
wait "$pid"
rc=$?
took=$(since "$t0")
[[ $rc == 143 ]] && pass "E: SIGTERM gives 143 (after $took s)" || { fail "E: exit $rc, want 143"; cat "$work/outE"; }
for ((i = 0; i < 50; i++)); do [[ -z $(qemus_for "$work/resE") ]] && break; sleep 0.1; done
[[ -z $(qemus_for "$work/resE") ]] && pass "E: no qemu left" || fail "E: qemu still running: $(qemus_for "$work/resE")"

if ((fails)); then
  echo "vm self-test: $fails check(s) failed"
  exit 1
fi
echo "vm self-test: all checks passed"
