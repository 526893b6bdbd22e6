#!/bin/bash
# systemd-analyze verify on the units, with ExecStart pointed at the binaries
# of this build (verify checks that they exist), plus the promises the units
# make that verify cannot see: no Requires= between daemons, capabilities only
# for xfrmd, notify + watchdog everywhere.
set -uo pipefail
SRC=$1 B=$2
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
for d in xfrmd iked policyd wiped; do
    sed "s|^ExecStart=.*|ExecStart=$B/$d/mgate-$d|" "$B/systemd/mgate-$d.service" > "$T/mgate-$d.service"
done
cp "$SRC/systemd/mgate.target" "$T/"
if ! out=$(systemd-analyze verify --man=no "$T"/*.service "$T"/mgate.target 2>&1); then
    echo "$out"; fail=1
fi
[[ -n $out ]] && { echo "verify warnings:"; echo "$out"; fail=1; }
for d in xfrmd iked policyd wiped; do
    u=$T/mgate-$d.service
    for key in 'Type=notify' 'WatchdogSec=' 'Restart=on-failure' 'ProtectSystem=strict' \
               'NoNewPrivileges=yes' 'RuntimeDirectory=mgate' 'RuntimeDirectoryPreserve=yes'; do
        grep -q "^$key" "$u" || { echo "FAIL: mgate-$d lacks $key"; fail=1; }
    done
    grep -qE '^(Requires|BindsTo|Requisite)=' "$u" && { echo "FAIL: mgate-$d hard-binds another unit"; fail=1; }
    if [[ $d == xfrmd ]]; then
        grep -q '^CapabilityBoundingSet=.*CAP_NET_ADMIN' "$u" || { echo "FAIL: xfrmd lacks CAP_NET_ADMIN"; fail=1; }
    else
        grep -q '^CapabilityBoundingSet=$' "$u" || { echo "FAIL: mgate-$d must have no capabilities"; fail=1; }
        grep -q '^User=mgate$' "$u" || { echo "FAIL: mgate-$d must run as mgate"; fail=1; }
        grep -q '^StateDirectory=mgate' "$u" || { echo "FAIL: mgate-$d lacks StateDirectory"; fail=1; }
    fi
done
[[ $fail == 0 ]] && echo "units verified"
exit $fail
