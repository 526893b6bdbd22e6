# shellcheck shell=bash
# netns.sh: the start every host network-namespace test shares (source it
# after check.sh). netns_enter skips unless root, re-runs the script under
# `unshare --net`, brings lo up and makes the scratch directory $T; on exit
# the processes whose PIDs are in the variables named by NETNS_PIDVARS are
# killed (-9, in that order) and $T is removed.
NETNS_PIDVARS=${NETNS_PIDVARS:-}

# netns_enter NAME [TOOL...] -- ARGS...: ARGS are the script's own; T is
# /tmp/NAME.XXXXXX. Exits 77 (ctest's skip) without root or a TOOL.
netns_enter() {
    local name=$1
    shift
    [[ $(id -u) == 0 ]] || { echo "SKIP: needs root (network namespace)"; exit 77; }
    while [[ $# -gt 0 && $1 != -- ]]; do
        command -v "$1" >/dev/null || { echo "SKIP: needs $1"; exit 77; }
        shift
    done
    shift
    if [[ -z ${MGATE_IN_NETNS:-} ]]; then
        MGATE_IN_NETNS=1 exec unshare --net -- "$0" "$@"
    fi
    ip link set lo up
    T=$(mktemp -d "/tmp/$name.XXXXXX")
    chmod 755 "$T"
    trap netns_cleanup EXIT
}

netns_cleanup() {
    local v
    for v in $NETNS_PIDVARS; do
        [[ -n ${!v:-} ]] && kill -9 "${!v}" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$T"
}
