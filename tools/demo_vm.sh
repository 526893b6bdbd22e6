#!/usr/bin/env bash
# The demo's second act, inside the VM (a kernel with ESP): the whole story of
# a managed device with the real daemons in gw (mgate-xfrmd, -policyd, -wiped,
# -iked with authorization = policyd). The admin creates mgate's CA, a group
# and a policy giving VPN access to corp, and pre-enrolls the device; the device
# enrolls (its CSR + the one-time password -> its certificate), connects with
# strongSwan, gets a virtual IP and pings the corporate server through the
# tunnel; the admin blocks it and the tunnel is cut.
# Run by tools/demo through tests/vm/vm-run; BUILD_DIR is its argument. Exits
# non-zero as soon as a step does not do what it says.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
B=${1:?usage: demo_vm.sh BUILD_DIR}
# shellcheck source=../tests/lab/lab.sh
. "$top/tests/lab/lab.sh"
# shellcheck source=../tests/interop/pki.sh
. "$top/tests/interop/pki.sh"
# shellcheck source=../tests/interop/strongswan.sh
. "$top/tests/interop/strongswan.sh"

n=0
say() { n=$((n + 1)); printf '\n\033[1m== %d. %s\033[0m\n' "$n" "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; }
run() { show "$*"; "$@"; }
die() {
    printf '\n\033[1;31mdemo: FAILED: %s\033[0m\n' "$*"
    for f in iked policyd; do
        [[ -s $work/$f.log ]] && { echo "--- $f log (last 10 lines)"; tail -10 "$work/$f.log"; }
    done
    exit 1
}
now_us() { printf '%s' "${EPOCHREALTIME/[.,]/}"; }
work=$(mktemp -d /tmp/mgate-demo.XXXXXX)
chmod 755 "$work"
export SW_RUNDIR_BASE=$work/sw SW_TIMEOUT=20
declare -A PID=()
finish() {
    sw_stop_all
    for d in iked wiped policyd xfrmd; do
        [[ -n ${PID[$d]:-} ]] && kill -TERM "${PID[$d]}" 2>/dev/null
    done
    wait 2>/dev/null
    lab_down demo-
    rm -rf "$work"
}
trap finish EXIT
lab_up demo- >/dev/null || die "the lab did not come up"
lab_gw_route_pool demo-

conf=$work/mgate.conf
mgatectl() { "$B/tools/mgatectl" -c "$conf" "$@"; }
start() {  # start DAEMON: in gw, logging to $work/DAEMON.log
    ip netns exec "$LAB_NS_GW" "$B/$1/mgate-$1" -c "$conf" 2>>"$work/$1.log" &
    PID[$1]=$!
    for _ in $(seq 50); do [[ -S $work/run/$1.sock ]] && return 0; sleep 0.1; done
    die "mgate-$1 did not start"
}

say "The gateway's own certificate (from the operator's CA; a throw-away test PKI here)"
pki_gen "$work/pki" ecdsa >/dev/null || die "pki_gen"
. "$work/pki/pki.env"
P=$work/pki/ecdsa
openssl x509 -in "$P/gw.crt" -noout -subject -issuer | sed 's/^/    /'

say "mgate in gw: mgate-xfrmd (kernel XFRM), mgate-policyd (devices, CA, policies), mgate-wiped"
cat >"$conf" <<CONF
[global]
run_dir = $work/run
state_dir = $work/state
[xfrmd]
ike_listen = $LAB_GW_IP
[iked]
cert = $P/gw.crt
key = $P/gw.key
ca = $work/state/ca/ca.crt
local_id = ${PKI_GW_ID:-gw.mgate.test}
pool = $LAB_POOL
authorization = policyd
CONF
sed 's/^/    /' "$conf"
for d in xfrmd policyd wiped; do start "$d"; done

say "The admin creates mgate's CA (device certificates come from it)"
show "mgatectl ca init > ca.crt"
mgatectl ca init >"$work/ca.crt" || die "mgatectl ca init"

say "The admin: a group, a policy (VPN access to corp $LAB_CORP_NET), the device pre-enrolled"
run mgatectl group create corp/sales || die "group create"
run mgatectl policy create corp-vpn || die "policy create"
run mgatectl policy set corp-vpn vpn.tunnel split || die "policy set"
run mgatectl policy set corp-vpn vpn.subnets "$LAB_CORP_NET" || die "policy set"
run mgatectl policy link corp-vpn corp || die "policy link"
hwid=IMEI-35-209900-176148-1
show "mgatectl device pre-enroll --hwid $hwid --owner alice --name 'alice phone' --platform ios"
out=$(mgatectl device pre-enroll --hwid "$hwid" --owner alice --name 'alice phone' --platform ios) ||
    die "pre-enroll"
echo "$out"
read -r id _ otp _ < <(tail -1 <<<"$out")
[[ $id =~ ^[0-9]+$ && -n $otp ]] || die "no device id and password in the pre-enroll output"
run mgatectl device groups "$id" corp/sales || die "device groups"
show "mgatectl device policy $id | grep vpn"
mgatectl device policy "$id" | grep -E '^(SETTING|vpn)' || die "device policy"

say "iked starts: it trusts mgate's CA and asks policyd about every device"
start iked
# bounded wait until every daemon is connected to those it depends on
for _ in $(seq 80); do
    mgatectl --json status 2>/dev/null |
        jq -e '[.[] | .upstreams[]? | select(.connected == false)] | length == 0' >/dev/null && break
    sleep 0.1
done
run mgatectl status || die "mgatectl status"

say "The device enrolls: its own key and CSR + the one-time password -> its certificate"
dev=$work/device
mkdir -p "$dev"
show "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout device.key -out device.csr"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$hwid" \
    -keyout "$dev/device.key" -out "$dev/device.csr" 2>/dev/null || die "openssl req"
show "mgatectl device enroll --hwid $hwid --password $otp --csr device.csr > device.crt"
mgatectl device enroll --hwid "$hwid" --password "$otp" --csr "$dev/device.csr" --os-version 17.1 \
    >"$dev/device.crt" || die "enrollment"
openssl x509 -in "$dev/device.crt" -noout -subject -issuer | sed 's/^/    /'
run mgatectl device list || die "device list"
# the device checks the gateway's certificate against the operator's CA
cp "$P/ca.crt" "$dev/ca.crt"

say "The device (strongSwan) connects with that certificate and asks for a virtual IP"
sw_conf_new "$work/dev" >/dev/null && sw_conf_client "$work/dev" corp "$dev" \
    aes128gcm16-prfsha256-ecp256 aes128gcm16 || die "strongSwan configuration"
sw_start "$LAB_NS_DEVICE" device "$work/dev" >/dev/null && sw_load device >/dev/null ||
    die "strongSwan did not start in the device"
show "swanctl --initiate --child corp"
if ! sw_initiate device corp; then
    cat "$SW_OUT"
    die "the device could not connect"
fi
grep -E 'established|installed' "$SW_OUT" | sed 's/^/    device: /'
vip=$(sw_vip device corp | head -1) || die "no virtual IP"
echo "    device: virtual IP $vip"
run mgatectl ike list || die "ike list"

# gw's ESP SAs: "SPI packets" per SA
sa_packets() {
    lab_gw ip -s xfrm state | awk '$1 == "src" { s = $2 " -> " $4 }
        $1 == "proto" { spi = $4; sub(/\(.*/, "", spi) } /lifetime current:/ { getline; gsub(/[()a-z,]/, " "); printf "    %s spi %s: %s packets\n", s, spi, $2 }'
}
say "The device pings the corporate server $LAB_CORP_IP through the tunnel"
echo "gw's ESP SAs before:"
sa_packets
run lab_device ping -c 3 -i 0.3 -W 2 -I "$vip" "$LAB_CORP_IP" || die "the ping through the tunnel failed"
show "ip -s xfrm state   (in gw: the counters moved)"
sa_packets
[[ $(sa_packets | awk '$NF == "packets" && $(NF-1) >= 3' | wc -l) == 2 ]] ||
    die "gw's two ESP SAs did not count the pings"

say "The admin blocks the device"
echo "(remote wipe is a later issue: today 'wipe -> blocked' is what cuts the device off)"
t0=$(now_us)
run mgatectl device state "$id" blocked || die "device state blocked"
for _ in $(seq 100); do
    [[ -z $(ip -n "$LAB_NS_GW" xfrm state) ]] && break
    sleep 0.02
done
ms=$((($(now_us) - t0) / 1000))
[[ -z $(ip -n "$LAB_NS_GW" xfrm state) ]] || die "the tunnel's SAs are still in gw's kernel"
echo "    the tunnel left gw's kernel $ms ms after the command (ip xfrm state is empty)"
run mgatectl ike list || die "ike list"
sw_wait_log device 'received DELETE for IKE_SA' 5 || die "the device got no DELETE"
echo "    device: received DELETE for IKE_SA (strongSwan)"
show "ping -c 2 -W 1 $LAB_CORP_IP   (from the device)"
if lab_device ping -c 2 -W 1 -I "$vip" "$LAB_CORP_IP" >/dev/null 2>&1; then
    die "the blocked device still reaches corp"
fi
echo "    no answer: the device's virtual IP and tunnel are gone"
show "swanctl --initiate --child corp   (the device tries again)"
if sw_initiate device corp; then
    die "the blocked device connected again"
fi
grep -m1 AUTHENTICATION_FAILED "$SW_OUT" | sed 's/^/    device: /' || die "no AUTHENTICATION_FAILED"
grep 'denied by policyd' "$work/iked.log" | tail -1 | sed 's/^<[0-9]>/    /'
printf '\n\033[1m== The device was enrolled, reached corp through the tunnel, and was cut off.\033[0m\n'
