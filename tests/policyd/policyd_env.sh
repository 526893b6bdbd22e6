# shellcheck shell=bash
# policyd_env.sh: mgate-policyd alone in a network namespace of the host,
# the setup tests/policyd/*.sh share (source it after tests/lib/check.sh).
#   pdenv_enter NAME -- "$@"   B, the namespace, $T (netns_enter; needs
#                              openssl, sqlite3, jq)
#   pdenv_conf < [policyd] lines   writes $CONF (ca_dir = $T/ca and the lines)
#   pdenv_start, pdenv_stop    the daemon (PID); stop returns its exit status
#   sql, has FILE PATTERN      queries
# CTL, PROBE (ipc_probe), SOCK, DB are set; PID and SUB (a subscriber) are
# killed at exit.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
# shellcheck disable=SC2034 # read by netns_cleanup
NETNS_PIDVARS="SUB PID"
PID='' SUB=''

pdenv_enter() {
    local name=$1
    shift 2 # NAME --
    B=$(cd "${1:?usage: $(basename "$0") BUILD_DIR}" && pwd)
    netns_enter "$name" openssl sqlite3 jq -- "$@"
    CONF=$T/mgate.conf
    CTL="$B/tools/mgatectl -c $CONF"
    PROBE=$B/tests/daemon_ipc_probe
    SOCK=$T/run/policyd.sock
    DB=$T/state/policyd.db
}

pdenv_conf() {
    {
        cat <<CONF
[global]
run_dir = $T/run
state_dir = $T/state
log_level = debug

[policyd]
ca_dir = $T/ca
CONF
        cat
    } > "$CONF"
}

sql() { sqlite3 "$DB" "$@"; }
has() { grep -q -- "$2" "$1"; }

pdenv_start() {
    "$B/policyd/mgate-policyd" -c "$CONF" 2>>"$T/policyd.log" &
    PID=$!
    until_ok 5 test -S "$SOCK" || bad "policyd did not create its socket"
}
pdenv_stop() { kill -TERM "$PID"; wait "$PID"; local rc=$?; PID=; return $rc; }
