# shellcheck shell=bash
# iked_env.sh: mgate-xfrmd + mgate-iked in a network namespace of the host,
# the setup every tests/iked/iked_*.sh shares (source it after
# tests/lib/check.sh). xfrmd hands iked the IKE sockets on 127.0.0.1; the
# host kernel has no ESP, so a test without [iked] subnets gets IKE SAs
# without a CHILD SA.
#   ikenv_enter NAME [TOOL...] -- "$@"   B, HERE, the namespace, $T (netns_enter)
#   ikenv_pki TYPE                       the test PKI (interop/pki.sh -t TYPE) in $P
#   ikenv_conf [--log L] [--ike P] [--esp P] < extra [iked] lines   writes $CONF, sets CTL
#   ikenv_ini [ARG...]                   INI: ike_initiator against 127.0.0.1 with ARGs
#   ikenv_start_xfrmd, ikenv_start_iked, ikenv_stop_xfrmd, ikenv_stop_iked, ikenv_kill9 PID
#   ikenv_end [LINES]                    sanitizer check, iked.log on failure, summary
# and the queries: dev, list, nsas, has_spi, no_spi, nlog, detail.
# Daemon PIDs: XPID (xfrmd), IPID (iked); HOLD, FLOOD, FPID are killed at exit too.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # read by netns_cleanup and the scripts that source this
NETNS_PIDVARS="HOLD FLOOD FPID IPID XPID"
# shellcheck disable=SC2034
XPID='' IPID='' HOLD='' FLOOD='' FPID=''

# ikenv_enter NAME [TOOL...] -- BUILD_DIR: jq is always needed.
ikenv_enter() {
    local name=$1
    shift
    local tools=()
    while [[ $# -gt 0 && $1 != -- ]]; do tools+=("$1"); shift; done
    shift
    B=$(cd "${1:?usage: $(basename "$0") BUILD_DIR}" && pwd)
    netns_enter "$name" jq "${tools[@]}" -- "$@"
}

ikenv_pki() {
    "$HERE/../interop/pki.sh" -t "$1" "$T/pki" >/dev/null || { echo "FAIL - pki.sh"; exit 1; }
    P=$T/pki/$1
}

# ikenv_conf [--log LEVEL] [--ike PROPOSALS] [--esp PROPOSALS]: $CONF with
# the gateway's certificate, the pool and two workers; more [iked] lines
# from stdin.
ikenv_conf() {
    local log=debug ike=aes128gcm16-prfsha256-ecp256 esp=aes128gcm16
    while [[ $# -gt 0 ]]; do
        case $1 in
            --log) log=$2 ;;
            --ike) ike=$2 ;;
            --esp) esp=$2 ;;
            *) echo "ikenv_conf: unknown option $1" >&2; return 1 ;;
        esac
        shift 2
    done
    CONF=$T/mgate.conf
    {
        cat <<CONF
[global]
run_dir = $T/run
state_dir = $T/state
log_level = $log
[xfrmd]
ike_listen = 127.0.0.1
[iked]
cert = $P/gw.crt
key = $P/gw.key
ca = $P/ca.crt
ike_proposals = $ike
esp_proposals = $esp
pool = 198.18.0.0/24
workers = 2
CONF
        cat
    } > "$CONF"
    CTL="$B/tools/mgatectl -c $CONF"
}

ikenv_ini() { INI="$B/tests/ike_initiator --gw 127.0.0.1 --ca $P/ca.crt $*"; }
dev() { $INI --cert "$P/device.crt" --key "$P/device.key" "$@"; }
list() { $CTL --json ike list; }
nsas() { list | jq length; }
has_spi() { [[ $(list | jq --arg s "$1" '[.[] | select(.spi_i == $s)] | length') == 1 ]]; }
no_spi() { ! has_spi "$1"; }
nlog() { grep -c -- "$1" "$T/iked.log"; }
detail() { $CTL --json status iked | jq -r '.[0].detail'; }

ikenv_start_xfrmd() {
    "$B/xfrmd/mgate-xfrmd" -c "$CONF" 2>>"$T/xfrmd.log" & XPID=$!
    until_ok 5 $CTL status xfrmd >/dev/null
}
# Waits for this iked's own "listening for IKE on" line, not an earlier one's.
ikenv_listening_more() { (($(nlog 'listening for IKE on' 2>/dev/null) > $1)); }
ikenv_start_iked() {
    local n
    n=$(nlog 'listening for IKE on' 2>/dev/null)
    "$B/iked/mgate-iked" -c "$CONF" 2>>"$T/iked.log" & IPID=$!
    until_ok 8 ikenv_listening_more "${n:-0}"
}
# The stops return the daemon's exit status (0 on SIGTERM).
ikenv_stop_iked() { kill -TERM "$IPID"; wait "$IPID"; local rc=$?; IPID=; return $rc; }
ikenv_stop_xfrmd() { kill -TERM "$XPID"; wait "$XPID"; local rc=$?; XPID=; return $rc; }
ikenv_kill9() { kill -9 "$1"; wait "$1" 2>/dev/null; }

# ikenv_end [LINES]: no sanitizer report in the daemons' logs; the last
# LINES (60) of iked.log without debug lines when a check failed.
ikenv_end() {
    if grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$T/iked.log" "$T/xfrmd.log"; then
        bad "sanitizer reports in the logs"
    fi
    if [[ $FAIL != 0 ]]; then echo "--- iked.log"; grep -v '<7>' "$T/iked.log" | tail -"${1:-60}"; fi
    check_summary
}
