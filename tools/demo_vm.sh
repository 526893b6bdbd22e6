#!/usr/bin/env bash
# The demo's second act, inside the VM (a kernel with ESP): a device running
# strongSwan connects to mgate (xfrmd + iked in gw) with its machine
# certificate, gets a virtual IP, pings a corporate server through the
# tunnel; then the admin cuts it off with mgatectl and the ping fails.
# Run by tools/demo through tests/vm/vm-run; BUILD_DIR is its argument.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
B=${1:?usage: demo_vm.sh BUILD_DIR}
# shellcheck source=../tests/lab/lab.sh
. "$top/tests/lab/lab.sh"
# shellcheck source=../tests/interop/pki.sh
. "$top/tests/interop/pki.sh"
# shellcheck source=../tests/interop/strongswan.sh
. "$top/tests/interop/strongswan.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
work=$(mktemp -d /tmp/mgate-demo.XXXXXX)
export SW_RUNDIR_BASE=$work/sw
trap 'sw_stop_all; lab_down demo-; rm -rf "$work"' EXIT
lab_up demo- >/dev/null || exit 1
lab_gw_route_pool demo-

say "A test PKI: mgate's CA, the gateway's and the device's certificates"
pki_gen "$work/pki" ecdsa >/dev/null || exit 1
. "$work/pki/pki.env"
openssl x509 -in "$work/pki/ecdsa/device.crt" -noout -subject -issuer

say "mgate in gw: mgate-xfrmd (kernel XFRM) and mgate-iked (IKEv2)"
mkdir -p "$work/mgate"
cat >"$work/mgate/mgate.conf" <<CONF
[global]
run_dir = $work/mgate/run
state_dir = $work/mgate/state
[xfrmd]
ike_listen = $LAB_GW_IP
[iked]
cert = $work/pki/ecdsa/gw.crt
key = $work/pki/ecdsa/gw.key
ca = $work/pki/ecdsa/ca.crt
local_id = ${PKI_GW_ID:-gw.mgate.test}
pool = $LAB_POOL
subnets = $LAB_CORP_NET
CONF
sed 's/^/    /' "$work/mgate/mgate.conf"
ctl() { "$B/tools/mgatectl" -c "$work/mgate/mgate.conf" "$@"; }
ip netns exec "$LAB_NS_GW" "$B/xfrmd/mgate-xfrmd" -c "$work/mgate/mgate.conf" 2>"$work/xfrmd.log" &
for _ in $(seq 50); do ctl status xfrmd >/dev/null 2>&1 && break; sleep 0.1; done
ip netns exec "$LAB_NS_GW" "$B/iked/mgate-iked" -c "$work/mgate/mgate.conf" 2>"$work/iked.log" &
for _ in $(seq 50); do grep -q 'listening for IKE' "$work/iked.log" && break; sleep 0.1; done
run ctl status xfrmd iked

say "The device (strongSwan) connects with its certificate and asks for a virtual IP"
sw_conf_new "$work/dev" >/dev/null && sw_conf_client "$work/dev" corp "$work/pki/ecdsa" \
    aes128gcm16-prfsha256-ecp256 aes128gcm16 || exit 1
sw_start "$LAB_NS_DEVICE" device "$work/dev" >/dev/null && sw_load device >/dev/null || exit 1
if ! sw_initiate device corp; then
    echo "the connection failed:"; cat "$SW_OUT"; tail -20 "$work/iked.log"; exit 1
fi
grep -E 'established|installed|virtual IP' "$SW_OUT" | sed 's/^/    device: /'
vip=$(sw_vip device corp | head -1)
echo "    device: virtual IP $vip"

say "What mgate sees"
run ctl ike list
run ctl xfrm sa

say "The device pings the corporate server $LAB_CORP_IP through the tunnel"
run lab_device ping -c 3 -i 0.3 -I "$vip" "$LAB_CORP_IP"
echo "    the kernel counted the ESP packets on gw:"
lab_gw ip -s xfrm state | grep -E '^src|packets' | sed 's/^/    /'

say "The admin cuts the device off"
run ctl ike terminate "$vip"
sleep 0.5
run ctl ike list
echo "$ lab_device ping -c 2 -W 1 -I $vip $LAB_CORP_IP"
if lab_device ping -c 2 -W 1 -I "$vip" "$LAB_CORP_IP" >/dev/null 2>&1; then
    echo "    UNEXPECTED: the ping still passes"; exit 1
fi
echo "    no answer: the tunnel is gone (gw's kernel has $(lab_gw ip xfrm state | grep -c '^src') SAs left)"
