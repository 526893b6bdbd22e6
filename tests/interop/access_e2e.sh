#!/usr/bin/env bash
# The acceptance test of the policyd issue (issue 6), in the VM: the real
# mgate-xfrmd, mgate-policyd and mgate-iked (authorization = policyd) in gw,
# a real strongSwan 5.9.8 device whose certificate mgate's CA issued through
# enrollment. Step by step, every step asserted on real outcomes:
#   a. the admin: `mgatectl ca init`, a group tree, a policy giving VPN access to
#      corp subnet A only, the device pre-enrolled in the group; the device
#      enrolls (CSR + one-time password -> certificate) and uses that
#      certificate in strongSwan; iked trusts mgate's CA;
#   b. the device proposes 0.0.0.0/0 and iked narrows it to A: gw's kernel
#      policies are exactly A's; ping to A passes; a packet the device sends
#      to B through the tunnel anyway is dropped by gw's kernel (counted in
#      /proc/net/xfrm_stat);
#   c. the device reports non-compliance (noncompliant_action = quarantine):
#      gw's policies become the remediation subnet's within a second, the
#      same IKE SA stays up, A is cut, the remediation server answers;
#   d. the admin blocks the device: its tunnel leaves gw's kernel within a
#      second, strongSwan gets the DELETE, a reconnect is refused;
#   e. policyd stops while a tunnel is up: the tunnel keeps working, the
#      device reconnects from iked's cached grant, an unknown device is refused.
# Times from each admin command to the kernel change are printed.
#
# Subnets: A = the lab's corp net (203.0.113.0/24, server 203.0.113.10);
# B = lab_add_corp_subnet's 198.19.2.0/24 (server 198.19.2.10); remediation =
# 203.0.113.128/28 (server 203.0.113.130), inside what the device negotiated
# (A): narrowing only replaces gw's kernel policies, the device keeps its own.
#
# Needs MGATE_BUILD=BUILD_DIR. Knobs: MGATE_INTEROP_PKI, PKI_KEY_CACHE (the
# gateway's certificate; see pki.sh). Exit 77 without root, strongSwan, jq or
# an ESP kernel outside the VM.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lab/lab.sh
. "$here/../lab/lab.sh"
# shellcheck source=pki.sh
. "$here/pki.sh"
# shellcheck source=strongswan.sh
. "$here/strongswan.sh"
# shellcheck source=../lib/check.sh
. "$here/../lib/check.sh"

B=${MGATE_BUILD:?usage: MGATE_BUILD=BUILD_DIR access_e2e.sh}
skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) == 0 ]] || skip "needs root"
for tool in ip ping swanctl openssl jq timeout; do
    command -v "$tool" >/dev/null || skip "$tool not installed (tests/interop/packages.txt)"
done
[[ -x /usr/lib/ipsec/charon ]] || skip "/usr/lib/ipsec/charon missing"
step() { printf '\n=== %s\n' "$*"; }
indent() { sed 's/^/    | /'; }
now_us() { printf '%s' "${EPOCHREALTIME/[.,]/}"; }
ms_since() { echo $((($(now_us) - $1) / 1000)); }

prefix=acc-
work=$(mktemp -d /tmp/mgate-access.XXXXXX) || exit 1
chmod 755 "$work"
export SW_RUNDIR_BASE=$work/sw
declare -A PID=()
stop_daemon() {  # stop_daemon NAME: SIGTERM, wait; prints the exit status
    local p=${PID[$1]:-} rc=0
    [[ -n $p ]] || return 0
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null || rc=$?
    unset "PID[$1]"
    return $rc
}
cleanup() {
    sw_stop_all
    for d in iked policyd wiped xfrmd; do stop_daemon "$d"; done
    lab_down "$prefix"
    rm -rf "$work"
}
trap cleanup EXIT
lab_down "$prefix"
lab_up "$prefix" >/dev/null || { echo "FAIL - lab_up"; exit 1; }
if ! probe=$(lab_gw ip xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x100 \
    mode tunnel aead 'rfc4106(gcm(aes))' "0x$(printf '%040d' 0)" 128 2>&1); then
    [[ ${MGATE_VM:-0} == 1 ]] && { echo "FAIL - no ESP in the VM kernel: $probe"; exit 1; }
    skip "this kernel has no ESP; run under tests/vm/vm-run"
fi
lab_gw ip xfrm state flush
lab_add_corp_subnet "$prefix" || { echo "FAIL - lab_add_corp_subnet"; exit 1; }
NET_A=$LAB_CORP_NET SRV_A=$LAB_CORP_IP NET_B=$LAB_CORP2_NET SRV_B=$LAB_CORP2_IP
NET_R=203.0.113.128/28 SRV_R=203.0.113.130
lab_corp ip addr add "$SRV_R/24" dev "$LAB_CORP_IF"
# gw's route back to the virtual IPs (the tunnel's out policies then catch it)
lab_gw_route_pool "$prefix"
echo "# A = $NET_A ($SRV_A), B = $NET_B ($SRV_B), remediation = $NET_R ($SRV_R)"
check "lab: gw routes B (the device reaches it in the clear, no tunnel yet)" \
    lab_device ping -c1 -W2 -q "$SRV_B" >/dev/null

# --- the gateway's certificate (an operator's server certificate) ---------------------
pki=${MGATE_INTEROP_PKI:-$work/pki}
pki_gen "$pki" ecdsa >/dev/null || { echo "FAIL - pki_gen"; exit 1; }
# shellcheck source=/dev/null
. "$pki/pki.env"
P=$pki/ecdsa

# --- mgate's configuration: the three daemons in gw ----------------------------------
mg=$work/mgate
mkdir -p "$mg"
CONF=$mg/mgate.conf
cat >"$CONF" <<CONF
[global]
run_dir = $mg/run
state_dir = $mg/state
log_level = debug
[xfrmd]
ike_listen = $LAB_GW_IP
[iked]
cert = $P/gw.crt
key = $P/gw.key
# devices: certificates of mgate's own CA (policyd's ca_dir)
ca = $mg/state/ca/ca.crt
local_id = $PKI_GW_ID
ike_proposals = aes128gcm16-prfsha256-ecp256
esp_proposals = aes128gcm16
pool = $LAB_POOL
subnets = $NET_A
authorization = policyd
authorization_timeout = 2s
[policyd]
grant_cache = 5m
noncompliant_action = quarantine
quarantine_subnets = $NET_R
CONF
echo "--- mgate.conf"
indent <"$CONF"
MGCTL() { "$B/tools/mgatectl" -c "$CONF" "$@"; }
run() {  # run CMD...: show an admin command and run it (output indented)
    local shown=$*
    printf '  $ %s\n' "${shown/#MGCTL/mgatectl}"
    "$@" 2>&1 | indent
    return "${PIPESTATUS[0]}"
}
start() {  # start DAEMON: in gw, as the tests start them (root, -c CONF, log to a file)
    ip netns exec "$LAB_NS_GW" "$B/$1/mgate-$1" -c "$CONF" 2>>"$mg/$1.log" &
    PID[$1]=$!
    until_ok 10 test -S "$mg/run/$1.sock"
}

step "a. the admin: mgate's CA, groups, a policy (corp subnet A only), the device pre-enrolled"
check "mgate-xfrmd starts" start xfrmd
check "mgate-policyd starts" start policyd
check "mgate-wiped starts (policyd's upstream; wiping itself is a later issue)" start wiped
check "mgatectl ca init" run MGCTL ca init
check "... policyd's ca_dir: ca.key 0600 and ca.crt" \
    test "$(stat -c %a "$mg/state/ca/ca.key")" = 600 -a -s "$mg/state/ca/ca.crt"
check "a group tree" run MGCTL group create corp/sales/emea
check "a policy" run MGCTL policy create corp-vpn
check "... split tunnel" run MGCTL policy set corp-vpn vpn.tunnel split
check "... to subnet A only" run MGCTL policy set corp-vpn vpn.subnets "$NET_A"
check "... linked to group corp" run MGCTL policy link corp-vpn corp
HWID=IMEI-35-209900-176148-1
out=$(MGCTL --json device pre-enroll --hwid "$HWID" --owner alice --name "alice phone" --platform ios)
echo "$out" | indent
ID=$(jq -r '.[0].id' <<<"$out") OTP=$(jq -r '.[0].password' <<<"$out")
check "the device pre-enrolled (id $ID, one-time password $OTP)" test -n "$ID" -a -n "$OTP"
check "... in group corp/sales/emea" run MGCTL device groups "$ID" corp/sales/emea
out=$(MGCTL device policy "$ID")
grep -E '^(device|SETTING|vpn)' <<<"$out" | indent
check "... its effective policy: vpn.subnets $NET_A from group corp" \
    grep -qE "^vpn.subnets +$NET_A +corp +corp-vpn" <<<"$out"

# The device: its own key, a CSR, the password -> its machine certificate.
dev=$work/dev1
mkdir -p "$dev"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$HWID" \
    -keyout "$dev/device.key" -out "$dev/device.csr" 2>/dev/null
printf '  $ mgatectl device enroll --hwid %s --password %s --csr device.csr > device.crt\n' "$HWID" "$OTP"
MGCTL device enroll --hwid "$HWID" --password "$OTP" --csr "$dev/device.csr" --os-version 17.1 \
    >"$dev/device.crt" 2>"$work/enroll.err"
check "the device enrolls: CSR + one-time password -> a certificate of mgate's CA" \
    openssl verify -CAfile "$mg/state/ca/ca.crt" "$dev/device.crt"
openssl x509 -in "$dev/device.crt" -noout -subject -issuer | indent
out=$(MGCTL device enroll --hwid "$HWID" --password "$OTP" --csr "$dev/device.csr" 2>&1)
check "... the one-time password does not work twice" test $? -ne 0
out=$(MGCTL --json device list)
check "... the device is enrolled" test "$(jq -r ".[] | select(.id == $ID) | .state" <<<"$out")" = enrolled
FPR=$(openssl x509 -in "$dev/device.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
check "... policyd has its certificate's fingerprint" \
    test "$(jq -r ".[] | select(.id == $ID) | .cert_fingerprint" <<<"$out")" = "$FPR"
# The device verifies the gateway against the operator's CA of the gateway's
# certificate (pki.sh's), as a device profile would carry it.
cp "$P/ca.crt" "$dev/ca.crt"

# An unknown device: a certificate of mgate's CA that policyd never issued
# (signed directly with ca.key): iked's trust check passes, only
# authorization can refuse it.
unk=$work/unknown
mkdir -p "$unk"
openssl req -x509 -CA "$mg/state/ca/ca.crt" -CAkey "$mg/state/ca/ca.key" -newkey ec \
    -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=mgate/CN=stranger" -days 30 \
    -addext keyUsage=digitalSignature -addext extendedKeyUsage=clientAuth \
    -keyout "$unk/device.key" -out "$unk/device.crt" 2>/dev/null
cp "$P/ca.crt" "$unk/ca.crt"

check "mgate-iked starts (authorization = policyd)" start iked
check "... listening for IKE" until_ok 10 grep -q "listening for IKE on" "$mg/iked.log"
subscribed() { MGCTL --json status policyd | jq -e '.[0].peers >= 1' >/dev/null; }
check "... subscribed to policyd's access events" until_ok 5 subscribed
run MGCTL status

# The device's strongSwan: remote_ts 0.0.0.0/0 (it asks for everything).
IKEP=aes128gcm16-prfsha256-ecp256 ESPP=aes128gcm16
sw_conf_new "$work/swdev" >/dev/null
sw_conf_client "$work/swdev" corp "$dev" "$IKEP" "$ESPP" remote_ts=0.0.0.0/0 || exit 1
sw_conf_client "$work/swdev" stranger "$unk" "$IKEP" "$ESPP" remote_ts=0.0.0.0/0 || exit 1
sw_start "$LAB_NS_DEVICE" device "$work/swdev" >/dev/null && sw_load device >/dev/null ||
    { echo "FAIL - strongSwan did not start in device"; exit 1; }

# --- helpers ----------------------------------------------------------------------------
# gw's IPsec policies as "dir src dst" lines, sorted (xfrmd's socket bypass policies left out)
pols() {
    local out a b d s t r=()
    # one process a call (`ip -n`), so that the timed waits below poll finely under TCG
    out=$(ip -n "$LAB_NS_GW" xfrm policy)
    while read -r a b _ d _; do
        if [[ $a == src ]]; then
            s=$b t=$d
        elif [[ $a == dir && $b =~ ^(in|out|fwd)$ ]]; then
            r+=("$b $s $t")
        fi
    done <<<"$out"
    ((${#r[@]})) && printf '%s\n' "${r[@]}" | sort
}
want_pols() {  # want_pols VIP NET...: the policies of a tunnel to NETs
    local v=$1 n
    shift
    for n; do printf '%s\n' "fwd $v/32 $n" "in $v/32 $n" "out $n $v/32"; done | sort
}
kgone() { [[ -z $(ip -n "$LAB_NS_GW" xfrm state) && -z $(pols) ]]; }
# gw kernel's inbound XFRM error counters, summed (XfrmInNoPols, XfrmInTmplMismatch, ...)
xstat() { lab_gw cat /proc/net/xfrm_stat; }
xstat_in_errors() { awk '$1 ~ /^XfrmIn/ { n += $2 } END { print n + 0 }'; }
xstat_diff() {  # xstat_diff BEFORE AFTER: the counters that moved
    join <(sort <<<"$1") <(sort <<<"$2") | awk '$3 != $2 { printf "%s +%d ", $1, $3 - $2 }'
}
pings() {  # pings DST [N]: prints how many of N pings from the vip got an answer
    local n=${2:-3}
    lab_device ping -4 -n -c "$n" -i 0.3 -W 2 -I "$vip" "$1" 2>&1 |
        awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /^received/) n = $(i-1) }
             END { print n + 0 }'
}
ike_json() { MGCTL --json ike list; }
sw_spis() {  # the device's IKE SA corp: "initiator-spi responder-spi"
    sw_swanctl device --list-sas --raw --ike corp |
        sed -n 's/.*initiator-spi=\([0-9a-f]*\) responder-spi=\([0-9a-f]*\).*/\1 \2/p'
}
wait_until() {  # wait_until SEC CMD...: poll CMD as fast as the VM allows, bounded
    local end=$(($(now_us) + $1 * 1000000))
    shift
    until "$@"; do
        (($(now_us) < end)) || return 1
    done
}
dump() {
    echo "--- iked.log (last 30 lines, no debug)"
    grep -v '^<7>' "$mg/iked.log" | tail -30 | indent
    echo "--- policyd.log (last 15)"
    tail -15 "$mg/policyd.log" | indent
    echo "--- device charon (last 20)"
    sw_log device | tail -20 | indent
}

# --- b. connect: narrowed to A -----------------------------------------------------------
step "b. the device connects (proposes 0.0.0.0/0); iked narrows it to A"
if ! sw_initiate device corp; then
    bad "strongSwan connects with its enrolled certificate"
    indent <"$SW_OUT"
    dump
    check_summary
    exit 1
fi
ok "strongSwan connects with its enrolled certificate ($SW_SECONDS s)"
vip=$(sw_vip device corp | head -1)
check "... virtual IP $vip from $LAB_POOL" test -n "$vip"
rts=$(sw_swanctl device --list-sas --raw --ike corp | grep -o 'remote-ts=\[[^]]*\]' | head -1)
check "... strongSwan's CHILD SA: $rts (iked narrowed 0.0.0.0/0)" test "$rts" = "remote-ts=[$NET_A]"
js=$(ike_json)
check "... mgatectl ike list: access allow, selectors [$NET_A]" \
    test "$(jq -c '[.[0].access, .[0].children[0].local_ts]' <<<"$js")" = "[\"allow\",[\"$NET_A\"]]"
run MGCTL ike list
echo "  $ ip xfrm policy   (gw)"
lab_gw ip xfrm policy | grep -vE 'socket (in|out)' | indent
check "gw's kernel policies: exactly A's selectors (in, fwd, out)" test "$(pols)" = "$(want_pols "$vip" "$NET_A")"
check "ping $SRV_A (A) through the tunnel: 3/3" test "$(pings "$SRV_A")" = 3
echo "  $ ip -s xfrm state   (gw, counters)"
lab_gw ip -s xfrm state | grep -E '^src|[0-9]+\(bytes\)' | indent
# The device's kernel sends only A into the tunnel (strongSwan took the
# narrowing). A device that sends B into the tunnel all the same (an xfrm
# policy added by hand, with the tunnel's reqid) must be stopped by gw's kernel.
reqid=$(lab_device ip xfrm policy list dir out | grep -o 'reqid [0-9]*' | head -1 | cut -d' ' -f2)
lab_device ip xfrm policy add src "$vip/32" dst "$NET_B" dir out priority 1000 \
    tmpl src "$LAB_DEVICE_IP" dst "$LAB_GW_IP" proto esp reqid "$reqid" mode tunnel
s0=$(xstat)
n=$(pings "$SRV_B")
s1=$(xstat)
check "ping $SRV_B (B) sent into the tunnel anyway: 0/3 answered" test "${n:-0}" = 0
check "... gw's kernel dropped them: $(xstat_diff "$s0" "$s1")" \
    test "$(($(xstat_in_errors <<<"$s1") - $(xstat_in_errors <<<"$s0")))" -ge 3
lab_device ip xfrm policy delete src "$vip/32" dst "$NET_B" dir out

# --- c. non-compliant: quarantine, live -------------------------------------------------------
step "c. the device reports non-compliance (storage not encrypted): quarantine, without reconnecting"
spi_before=$(jq -r '.[0].spi_i' <<<"$js") swspi_before=$(sw_spis)
qpols=$(want_pols "$vip" "$NET_R")
is_q() { [[ $(pols) == "$qpols" ]]; }
t0=$(now_us)
MGCTL device report "$ID" --encrypted no --password-set yes --jailbroken no --os-version 17.1 >"$work/report.out" 2>&1
wait_until 5 is_q
ms=$(ms_since "$t0")
printf '  $ mgatectl device report %s --encrypted no --password-set yes --jailbroken no --os-version 17.1\n' "$ID"
indent <"$work/report.out"
# Times are reported (TIMING lines, docs/performance.md), not asserted: a TCG
# guest on a shared host is no measure of speed.
check "gw's kernel policies became the remediation subnet's ($ms ms after the admin command)" \
    test "$(pols)" = "$qpols"
echo "TIMING quarantine: admin command -> kernel policies replaced: $ms ms"
js=$(ike_json)
check "... the same IKE SA in iked ($spi_before) and in strongSwan ($swspi_before)" \
    test "$(jq -r '.[0].spi_i' <<<"$js")" = "$spi_before" -a "$(sw_spis)" = "$swspi_before" -a "$(jq length <<<"$js")" = 1
check "... ike list: access quarantine, selectors [$NET_R]" \
    test "$(jq -c '[.[0].access, .[0].children[0].local_ts]' <<<"$js")" = "[\"quarantine\",[\"$NET_R\"]]"
run MGCTL ike list
s0=$(xstat)
n=$(pings "$SRV_A")
s1=$(xstat)
check "ping $SRV_A (A, outside remediation): 0/3 answered" test "${n:-0}" = 0
check "... gw's kernel dropped them: $(xstat_diff "$s0" "$s1")" \
    test "$(($(xstat_in_errors <<<"$s1") - $(xstat_in_errors <<<"$s0")))" -ge 3
check "ping $SRV_R (remediation): 3/3" test "$(pings "$SRV_R")" = 3

# --- d. blocked: the tunnel is cut ----------------------------------------------------------------
step "d. the admin blocks the device: the tunnel is cut, a reconnect refused"
printf '  $ mgatectl device state %s blocked\n' "$ID"
t0=$(now_us)
MGCTL device state "$ID" blocked 2>&1 | indent
wait_until 5 kgone
ms=$(ms_since "$t0")
check "gw's kernel SAs and policies gone ($ms ms after the admin command)" kgone
echo "TIMING block: admin command -> tunnel out of the kernel: $ms ms"
check "... no IKE SA in iked" test "$(ike_json | jq length)" = 0
check "... strongSwan got the DELETE" sw_wait_log device 'received DELETE for IKE_SA' 5
check "... the device's virtual IP is gone with it; a ping to $SRV_A from it: 0/2" \
    test "$(pings "$SRV_A" 2)" = 0
if sw_initiate device corp; then
    bad "a reconnect of the blocked device is refused"
else
    check "a reconnect of the blocked device is refused: AUTHENTICATION_FAILED" \
        grep -q AUTHENTICATION_FAILED "$SW_OUT"
fi
check "... iked's log says why" grep -q 'denied by policyd: .*blocked' "$mg/iked.log"
grep 'denied by policyd' "$mg/iked.log" | tail -1 | indent

# --- e. policyd down ---------------------------------------------------------------------------
step "e. policyd stops while a tunnel is up"
run MGCTL device state "$ID" enrolled
run MGCTL device report "$ID" --encrypted yes --password-set yes --jailbroken no --os-version 17.1
sw_terminate device corp >/dev/null 2>&1
if sw_initiate device corp && vip=$(sw_vip device corp | head -1); then
    ok "unblocked and compliant again: the device reconnects ($vip)"
else
    bad "unblocked and compliant again: the device reconnects"
    dump
fi
check "... access allow" test "$(ike_json | jq -r '.[0].access')" = allow
stop_daemon policyd
check "mgate-policyd stopped (SIGTERM, exit 0)" test $? = 0
check "... iked notices" until_ok 5 grep -q 'policyd is stopping\|policyd.*disconnect\|policyd.*closed' "$mg/iked.log"
check "the tunnel keeps working: ping $SRV_A 3/3" test "$(pings "$SRV_A")" = 3
sw_terminate device corp >/dev/null
check "the device disconnects (gw clean)" wait_until 5 kgone
if sw_initiate device corp && vip=$(sw_vip device corp | head -1); then
    ok "it reconnects while policyd is down ($vip)"
    check "... from iked's cached grant (ike list: access_cached)" \
        test "$(ike_json | jq -r '.[0].access_cached')" = true
    check "... logged" grep -q 'policyd is not connected; its cached grant' "$mg/iked.log"
    check "... ping $SRV_A 3/3" test "$(pings "$SRV_A")" = 3
else
    bad "it reconnects while policyd is down"
    dump
fi
if sw_initiate device stranger; then
    bad "an unknown device (certificate of mgate's CA, never enrolled) is refused"
else
    check "an unknown device (certificate of mgate's CA, never enrolled) is refused: AUTHENTICATION_FAILED" \
        grep -q AUTHENTICATION_FAILED "$SW_OUT"
fi
check "... iked's log: no cached grant, fail closed" \
    grep -q 'CN=stranger.*no cached grant for its certificate: refused (fail closed)' "$mg/iked.log"

# --- end ------------------------------------------------------------------------------------------
sw_stop_all
stop_daemon iked
check "mgate-iked exits 0 on SIGTERM" test $? = 0
stop_daemon wiped
stop_daemon xfrmd
[[ $FAIL == 0 ]] || dump
check_summary
