#!/bin/bash
# The four daemons as real processes, in a network namespace of their own:
# start, Status through mgatectl, upstream reconnects, sd_notify, clean stop,
# and every kind of bad input the foundation must refuse without falling over.
# Usage: daemons.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
B=$(cd "${1:?usage: daemons.sh BUILD_DIR}" && pwd)
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (network namespace, setpriv)"; exit 77; }
if [[ -z ${MGATE_IN_NETNS:-} ]]; then
    MGATE_IN_NETNS=1 exec unshare --net -- "$0" "$@"
fi
ip link set lo up

T=$(mktemp -d /tmp/mgate-daemons.XXXXXX)
chmod 755 "$T"
declare -A PID

cleanup() {
    for d in "${!PID[@]}"; do kill -9 "${PID[$d]}" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

# until SECONDS CMD...: polls CMD every 0.1 s, bounded.
log_has() { grep -q -- "$2" "$T/$1.log"; }

CONF=$T/mgate.conf
cat > "$CONF" <<CONF
[global]
run_dir = $T/run
state_dir = $T/state
log_level = debug
max_frame = 64K
request_timeout = 2s

[wiped]
# numeric ids need not exist: the group test below uses 4242
allow_groups = 4242
CONF
CTL="$B/tools/mgatectl -c $CONF"
PROBE=$B/tests/daemon_ipc_probe

start() { # start DAEMON [env...]
    local d=$1; shift
    env "$@" "$B/$d/mgate-$d" -c "$CONF" 2>>"$T/$d.log" &
    PID[$d]=$!
    until_ok 5 test -S "$T/run/$d.sock" || bad "$d did not create its socket"
}
alive() { kill -0 "${PID[$1]}" 2>/dev/null; }

# --- start, readiness and watchdog through sd_notify ------------------------
"$B/tests/daemon_notify_listen" "$T/notify" 4 > "$T/notify.out" &
until_ok 2 test -S "$T/notify"
start xfrmd NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=200000
start policyd
start wiped
start iked
sleep 1
check "xfrmd told systemd READY=1 with a STATUS" grep -q '^READY=1|STATUS=serving on' "$T/notify.out"
check "xfrmd pings the watchdog" grep -q '^WATCHDOG=1' "$T/notify.out"

# --- status: all up, upstreams connected, schema versions --------------------
all_linked() { [[ $($CTL --json status | jq '[.[] | .upstreams[] | select(.connected == false)] | length') == 0 ]]; }
check "every upstream connection is up within 10 s" until_ok 10 all_linked
out=$($CTL status); rc=$?
echo "$out"
check "mgatectl status exits 0 when all four are up" test $rc -eq 0
check "status lists four running daemons" test "$(echo "$out" | grep -c ' up ')" -eq 4
json=$($CTL --json status)
check "status --json: xfrmd has no database, the others a schema" \
    test "$(echo "$json" | jq -r '[.[] | "\(.service)=\(.schema_version > 0)"] | join(",")')" = \
         "xfrmd=false,iked=true,policyd=true,wiped=true"
check "status --json: pids are the daemons' pids" \
    test "$(echo "$json" | jq -r '.[] | select(.service == "iked") | .pid')" = "${PID[iked]}"
for d in iked policyd wiped; do
    v=$(echo "$json" | jq -r ".[] | select(.service == \"$d\") | .schema_version")
    check "$d.db is at the schema $d reports ($v), with its meta row" \
        test "$(sqlite3 "$T/state/$d.db" 'PRAGMA user_version; SELECT count(*) FROM meta;' | tr '\n' ' ')" = "$v 1 "
    check "$d.db is mode 0600" test "$(stat -c %a "$T/state/$d.db")" = 600
done

# --- bad input on the socket ------------------------------------------------
check "oversized frame: connection closed" $PROBE xfrmd "$T/run/xfrmd.sock" oversize
check "oversized frame: one log line" log_has xfrmd 'frame larger than 65536 bytes'
check "invalid mgate.Frame: connection closed" $PROBE iked "$T/run/iked.sock" garbage
check "invalid mgate.Frame: one log line" log_has iked 'frame is not a valid mgate.Frame'
check "invalid request envelope: ERR_INVALID, connection kept" $PROBE policyd "$T/run/policyd.sock" badpayload
check "invalid request envelope: logged" log_has policyd 'not a valid mgate.PolicydRequest'
check "unknown api_version: ERR_VERSION" $PROBE wiped "$T/run/wiped.sock" version
check "unknown api_version: logged" log_has wiped 'api_version 99'
check "unknown request kind: ERR_UNSUPPORTED" $PROBE xfrmd "$T/run/xfrmd.sock" unknown
check "a client that never reads is paused, not buffered without bound" \
    $PROBE xfrmd "$T/run/xfrmd.sock" flood 2000000
check "xfrmd still serves after all that" $PROBE xfrmd "$T/run/xfrmd.sock" status
rss=$(awk '/VmRSS/ {print $2}' "/proc/${PID[xfrmd]}/status")
check "xfrmd memory stays bounded after the flood (${rss} kB)" test "$rss" -lt 150000

# --- peers that are not allowed ----------------------------------------------
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups $CTL status xfrmd 2>&1); rc=$?
check "uid 65534 is refused by xfrmd (mgatectl exits 3)" test $rc -eq 3
check "the refusal is logged with the peer's uid" log_has xfrmd 'refused connection from pid [0-9]* uid 65534'
out=$(setpriv --reuid=65534 --regid=65534 --groups=4242 $CTL status wiped 2>&1); rc=$?
check "a member of an allowed group (4242) reaches wiped" test $rc -eq 0
out=$(setpriv --reuid=65534 --regid=65534 --groups=4242 $CTL status iked 2>&1); rc=$?
check "... but not iked, which does not allow that group" test $rc -eq 3
check "xfrmd serves root after refusing others" $PROBE xfrmd "$T/run/xfrmd.sock" status

# --- a daemon goes down and comes back: status and upstreams follow -----------
kill -9 "${PID[wiped]}"; wait "${PID[wiped]}" 2>/dev/null
out=$($CTL status); rc=$?
check "status exits 3 when wiped is down" test $rc -eq 3
check "status says plainly that wiped is DOWN" grep -q '^wiped *DOWN' <<<"$out"
policyd_sees() { [[ $($CTL --json status policyd | jq -r '.[0].upstreams[] | select(.service == "wiped") | .connected') == "$1" ]]; }
check "policyd notices wiped is gone" until_ok 3 policyd_sees false
start wiped
check "policyd reconnects to the restarted wiped (back-off <= 5 s)" until_ok 8 policyd_sees true

# --- clean stop: subscribers are told, the socket is removed, exit 0 ----------
$PROBE policyd "$T/run/policyd.sock" stopping > "$T/stopping.out" &
probe=$!
until_ok 3 grep -q subscribed "$T/stopping.out"
kill -TERM "${PID[policyd]}"
wait "${PID[policyd]}"; rc=$?
check "policyd exits 0 on SIGTERM" test $rc -eq 0
wait $probe; check "a subscriber received the Stopping event" test $? -eq 0
check "policyd removed its socket" test ! -e "$T/run/policyd.sock"
check "iked logged that policyd is stopping" until_ok 3 log_has iked 'policyd is stopping'
unset 'PID[policyd]'
start policyd
check "policyd is back" $PROBE policyd "$T/run/policyd.sock" status

# --- a second instance must not steal a live socket ---------------------------
"$B/xfrmd/mgate-xfrmd" -c "$CONF" 2>"$T/second.log"; rc=$?
check "a second xfrmd refuses to start (exit 1)" test $rc -eq 1
check "... saying why" grep -q 'another instance is listening' "$T/second.log"

# --- bad configuration -------------------------------------------------------
printf '[iked]\nsocket = %s/x.sock\nlisten_everywhere = yes\n' "$T" > "$T/bad1.conf"
"$B/iked/mgate-iked" -c "$T/bad1.conf" 2>"$T/bad1.log"; rc=$?
check "unknown key: exit 1" test $rc -eq 1
check "unknown key: file, line and key named" grep -q "bad1.conf:3: unknown key 'listen_everywhere' in \[iked\]" "$T/bad1.log"
printf '[iked]\nsocket = %s/y.sock\nike_proposals = aes128gcm16-prfsha256-ecp256 aes999-foo\n' "$T" > "$T/bad4.conf"
"$B/iked/mgate-iked" -c "$T/bad4.conf" 2>"$T/bad4.log"; rc=$?
check "bad IKE proposal: exit 1" test $rc -eq 1
check "bad IKE proposal: file, line, key and the wrong word named" \
    grep -q "bad4.conf:3: ike_proposals: .*aes999" "$T/bad4.log"
"$B/iked/mgate-iked" -c "$T/bad4.conf" --check-config >/dev/null 2>"$T/bad4c.log"; rc=$?
check "--check-config catches the bad proposal too (exit 1, same line)" \
    test $rc -eq 1 -a -n "$(grep "bad4.conf:3: ike_proposals" "$T/bad4c.log")"
printf '[iked]\ncert = /nonexistent/gw.crt\nkey = /nonexistent/gw.key\nca = /nonexistent/ca.crt\n' > "$T/bad5.conf"
"$B/iked/mgate-iked" -c "$T/bad5.conf" --check-config >/dev/null 2>"$T/bad5.log"; rc=$?
check "--check-config reads the credentials (missing CA file: exit 1, named)" \
    test $rc -eq 1 -a -n "$(grep "/nonexistent/ca.crt" "$T/bad5.log")"
printf '[global]\nmax_frame = 12\n' > "$T/bad2.conf"
"$B/wiped/mgate-wiped" -c "$T/bad2.conf" 2>"$T/bad2.log"; rc=$?
check "value out of range: exit 1 with the range" grep -q 'bad2.conf:2: max_frame: 12 is out of range' "$T/bad2.log"
"$B/policyd/mgate-policyd" -c "$T/missing.conf" 2>"$T/bad3.log"; rc=$?
check "a config file named but missing: exit 1" test $rc -eq 1
"$B/iked/mgate-iked" -c "$CONF" --check-config >/dev/null 2>&1; rc=$?
check "--check-config accepts the good file" test $rc -eq 0

# --- a database from a newer mgate is refused, not damaged ------------------
kill -TERM "${PID[wiped]}"; wait "${PID[wiped]}"; unset 'PID[wiped]'
sqlite3 "$T/state/wiped.db" 'PRAGMA user_version = 99'
"$B/wiped/mgate-wiped" -c "$CONF" 2>"$T/newer.log"; rc=$?
check "newer schema: wiped refuses to start" test $rc -eq 1
check "newer schema: says so" grep -q 'schema version 99 is newer than this mgate knows' "$T/newer.log"
check "newer schema: the database is left as it was" test "$(sqlite3 "$T/state/wiped.db" 'PRAGMA user_version')" = 99

# --- every daemon stops cleanly ---------------------------------------------
for d in xfrmd iked policyd; do
    kill -TERM "${PID[$d]}"; wait "${PID[$d]}"; rc=$?
    check "$d exits 0 on SIGTERM" test $rc -eq 0
    unset "PID[$d]"
done
for d in xfrmd iked policyd wiped; do
    if grep -qE 'AddressSanitizer|runtime error' "$T/$d.log"; then bad "$d log has sanitizer reports"; cat "$T/$d.log"; fi
done

check_summary
