#!/usr/bin/env bash
# Devices that move (runs inside tests/vm/vm-run): strongSwan 5.9.8 in the lab's device
# namespace against mgate-xfrmd + mgate-iked in gw, over a real ESP kernel.
#
#   (a) NAT: a namespace "nat" between device and gw masquerades the device
#       (iptables MASQUERADE, UDP to ports 40000-40999). The device connects through it,
#       pings corp; ESP travels in UDP on the wire (counted on gw's link) and gw's
#       kernel SAs carry the encapsulation with the NAT's port.
#   (b) the NAT mapping changes mid-session (MASQUERADE to 41000-41999 and the
#       connection tracking flushed) while a ping runs: the kernel reports the new
#       mapping, iked moves the SAs (xfrmd's move request), gw's SA encapsulation port
#       follows, pings resume; the losses are reported.
#   (d) the same without MOBIKE and without traffic (RFC 7296 §2.23): the device's next
#       liveness check comes from the new mapping and moves the IKE SA and CHILD SAs.
#   (c) MOBIKE: the device (mobike = yes, no NAT) moves from its first link
#       (192.0.2.0/24) to the second (198.51.100.0/24) while a ping runs: strongSwan
#       sends UPDATE_SA_ADDRESSES from the new address, iked checks return routability
#       (COOKIE2), the kernel SAs move to the new address, the ping goes on (losses
#       reported), the IKE SA's SPIs stay (no new handshake).
#
# Usage (host): MGATE_BUILD=build tests/vm/vm-run --timeout 300 -- tests/mobility/mobility.sh
# (MGATE_INTEROP_PKI and PKI_KEY_CACHE as for the interop test; MOB_KEEP=DIR keeps logs).
# Exit 77 without root, the tools (tests/*/packages.txt) or an ESP-capable kernel.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lab/lab.sh
. "$here/../lab/lab.sh"
# shellcheck source=../interop/pki.sh
. "$here/../interop/pki.sh"
# shellcheck source=../interop/strongswan.sh
. "$here/../interop/strongswan.sh"
# shellcheck source=../lib/check.sh
. "$here/../lib/check.sh"

skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
die() { printf 'FAIL - %s\n' "$*"; exit 1; }
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
t_start=$(now)
secs_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
note() { printf '[%6s s] %s\n' "$(secs_since "$t_start")" "$*"; }
indent() { sed 's/^/    | /'; }

[[ $(id -u) == 0 ]] || skip "needs root"
for tool in ip ping swanctl openssl jq python3 iptables conntrack nft; do
  command -v "$tool" >/dev/null || skip "$tool not installed (see tests/*/packages.txt)"
done
[[ -x /usr/lib/ipsec/charon ]] || skip "/usr/lib/ipsec/charon missing"
B=${MGATE_BUILD:?MGATE_BUILD=the build directory}

prefix=mob-
NS_NAT=${prefix}nat
work=$(mktemp -d /tmp/mobility.XXXXXX) || die "mktemp failed"
export SW_RUNDIR_BASE=$work/run
mg=$work/mgate
nat_down() {
  ip netns pids "$NS_NAT" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns del "$NS_NAT" 2>/dev/null
  return 0
}
cleanup() {
  sw_stop_all
  if [[ -n ${MOB_KEEP:-} ]]; then
    mkdir -p "$MOB_KEEP" && cp -r "$work/run" "$mg" "$MOB_KEEP/" 2>/dev/null
  fi
  nat_down
  rm -rf "$work"
}
trap cleanup EXIT
lab_cleanup_on_exit "$prefix"
lab_down "$prefix"
nat_down
lab_up "$prefix" || die "lab_up failed"
if ! probe=$(lab_gw ip xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x100 \
     mode tunnel aead 'rfc4106(gcm(aes))' "0x$(printf '%040d' 0)" 128 2>&1); then
  [[ ${MGATE_VM:-0} == 1 ]] && die "the VM kernel cannot install an ESP SA: $probe"
  skip "this kernel has no ESP ($probe); run under tests/vm/vm-run"
fi
lab_gw ip xfrm state flush
note "lab up, ESP available"

pki=${MGATE_INTEROP_PKI:-$work/pki}
pki_gen "$pki" ecdsa >/dev/null || die "pki_gen failed"
# shellcheck source=/dev/null
. "$pki/pki.env"
IKE=aes128gcm16-prfsha256-ecp256 ESP=aes128gcm16

# --- gw: mgate-xfrmd + mgate-iked --------------------------------------------------------
mkdir -p "$mg"
printf '%s\n' "[global]" "run_dir = $mg/run" "state_dir = $mg/state" "log_level = debug" \
  "[xfrmd]" "ike_listen = $LAB_GW_IP" \
  "[iked]" "cert = $pki/ecdsa/gw.crt" "key = $pki/ecdsa/gw.key" "ca = $pki/ecdsa/ca.crt" \
  "local_id = ${PKI_GW_ID:-gw.mgate.test}" "ike_proposals = $IKE" "esp_proposals = $ESP" \
  "pool = $LAB_POOL" "subnets = $LAB_CORP_NET" >"$mg/mgate.conf"
MGCTL() { "$B/tools/mgatectl" -c "$mg/mgate.conf" "$@"; }
lab_gw "$B/xfrmd/mgate-xfrmd" -c "$mg/mgate.conf" 2>>"$mg/xfrmd.log" &
until_ok 10 MGCTL status xfrmd >/dev/null || die "xfrmd did not come up"
lab_gw "$B/iked/mgate-iked" -c "$mg/mgate.conf" 2>>"$mg/iked.log" &
until_ok 10 grep -q 'listening for IKE on' "$mg/iked.log" || die "iked did not start"
lab_gw_route_pool "$prefix"
note "gw: xfrmd and iked up"

sw_conf_new "$work/conf/device" || die "sw_conf_new failed"
sw_conf_client "$work/conf/device" nat "$pki/ecdsa" "$IKE" "$ESP" || die "client conf nat"
sw_conf_client "$work/conf/device" natdpd "$pki/ecdsa" "$IKE" "$ESP" conn.mobike=no conn.dpd_delay=2s ||
  die "client conf natdpd"
sw_conf_client "$work/conf/device" roam "$pki/ecdsa" "$IKE" "$ESP" conn.mobike=yes ||
  die "client conf roam"
sw_start "$LAB_NS_DEVICE" device "$work/conf/device" || die "charon in device did not start"
sw_load device || die "swanctl --load-all failed"
note "device: charon up"

# --- helpers -------------------------------------------------------------------------------
ike_list() { MGCTL --json ike list; }
n_ike() { ike_list | jq length; }
# gw_sa out|in: "src dst encap-sport encap-dport" of gw's ESP SA to (out) or from (in)
# the device, read back from the kernel (ip xfrm state).
gw_sa() {
  lab_gw ip xfrm state | awk -v want="$1" -v gw="$LAB_GW_IP" '
    function emit() { if (src != "" && ((want == "out" && src == gw) || (want == "in" && dst == gw))) print src, dst, es, ed }
    $1 == "src" { emit(); src = $2; dst = $4; es = ""; ed = "" }
    $1 == "encap" { es = $5; ed = $7 }
    END { emit() }' | head -n 1
}
# ping_bg OUT COUNT: the device pings corp from its virtual IP, 5 a second, in the background
ping_bg() {
  lab_device ping -4 -n -c "$2" -i 0.2 -W 1 -I "$vip" "$LAB_CORP_IP" >"$1" 2>&1 &
  PING_PID=$!
}
received() { awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /^received/) print $(i-1) }' "$1"; }
# longest_gap OUT COUNT: the longest run of unanswered icmp_seq
longest_gap() {
  awk -v n="$2" -F'icmp_seq=' '/icmp_seq=/ { split($2, a, " "); got[a[1]] = 1 }
    END { g = 0; m = 0; for (i = 1; i <= n; i++) { if (got[i]) g = 0; else if (++g > m) m = g }; print m }' "$1"
}
# answered_from OUT FIRST LAST: every icmp_seq FIRST..LAST answered
answered_from() {
  local s
  for ((s = $2; s <= $3; s++)); do grep -q "icmp_seq=$s " "$1" || return 1; done
}
in_range() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= $2 && $1 <= $3)); }
dump() {
  echo "--- iked log (last 40 lines)"; tail -n 40 "$mg/iked.log" | indent
  echo "--- xfrmd log (last 15 lines)"; tail -n 15 "$mg/xfrmd.log" | indent
  echo "--- device charon log (last 30 lines)"; sw_log device | tail -n 30 | indent
  echo "--- gw ip xfrm state"; lab_gw ip xfrm state | sed 's/0x[0-9a-f]\{16,\}/<key>/' | indent
}

# --- (a) a device behind a NAT ---------------------------------------------------------------
# device devn0 (10.77.0.2) -- natd0 (10.77.0.1) [nat] natg0 ($LAB_DEVICE_IP2) -- dev1 gw
# The device's direct link (gw0) is down meanwhile: the NAT is its only way to gw. Like a
# real NAT, the namespace never lets the private address out (an nftables rule after
# source NAT: a packet racing the connection tracking flush of (b) was seen to leave
# untranslated without it).
NAT_IN=10.77.0 NAT_OUT_IP=$LAB_DEVICE_IP2
nat_rule() {  # nat_rule PORTS: MASQUERADE the device's UDP to PORTS on the outside
  ip netns exec "$NS_NAT" iptables -t nat -F POSTROUTING &&
    ip netns exec "$NS_NAT" iptables -t nat -A POSTROUTING -o natg0 -p udp -j MASQUERADE --to-ports "$1" &&
    ip netns exec "$NS_NAT" iptables -t nat -A POSTROUTING -o natg0 -j MASQUERADE
}
nat_up() {
  lab_device ip link set "$LAB_DEVICE_IF" down &&
    ip netns add "$NS_NAT" &&
    ip link add natd0 netns "$NS_NAT" type veth peer name devn0 netns "$LAB_NS_DEVICE" &&
    ip link add natg0 netns "$NS_NAT" type veth peer name "$LAB_GW_DEVICE_IF2" netns "$LAB_NS_GW" &&
    printf '%s\n' "link set lo up" "addr add $NAT_IN.1/24 dev natd0" "link set natd0 up" \
      "addr add $NAT_OUT_IP/24 dev natg0" "link set natg0 up" \
      "route add $LAB_GW_IP/32 via $LAB_GW_IP2 dev natg0" | ip -n "$NS_NAT" -batch - &&
    ip netns exec "$NS_NAT" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward' &&
    ip netns exec "$NS_NAT" nft -f - <<<"table ip leak { chain post { type filter hook postrouting priority srcnat + 1; oifname \"natg0\" ip saddr $NAT_IN.0/24 drop; }; }" &&
    printf '%s\n' "addr add $NAT_IN.2/24 dev devn0" "link set devn0 up" \
      "route add $LAB_GW_IP/32 via $NAT_IN.1 dev devn0" | ip -n "$LAB_NS_DEVICE" -batch - &&
    printf '%s\n' "addr add $LAB_GW_IP2/24 dev $LAB_GW_DEVICE_IF2" "link set $LAB_GW_DEVICE_IF2 up" |
    ip -n "$LAB_NS_GW" -batch - &&
    nat_rule 40000-40999
}

check "nat namespace up (device $NAT_IN.2 -> MASQUERADE $NAT_OUT_IP:40000-40999 -> gw)" nat_up
if ! sw_initiate device nat; then
  bad "(a) the device behind the NAT did not connect"
  dump
  exit 1
fi
ok "(a) the device behind the NAT connected in $SW_SECONDS s"
vip=$(sw_vip device nat) && vip=${vip%%$'\n'*}
check "(a) it got a virtual IP ($vip)" test -n "$vip"
json=$(ike_list)
spi_a=$(jq -r '.[0].spi_i' <<<"$json") remote=$(jq -r '.[0].remote' <<<"$json")
check "(a) gw's IKE SA: the device at the NAT's address and a port of 40000-40999 ($remote)" \
  in_range "${remote##*:}" 40000 40999
check "(a) ... ($NAT_OUT_IP)" test "${remote%:*}" = "$NAT_OUT_IP"
check "(a) gw's IKE SA uses NAT-T" test "$(jq -r '.[0].natt' <<<"$json")" = true
read -r o_src o_dst o_es o_ed <<<"$(gw_sa out)"
read -r i_src i_dst i_es i_ed <<<"$(gw_sa in)"
echo "    gw out SA: $o_src -> $o_dst encap $o_es -> $o_ed; in SA: $i_src -> $i_dst encap $i_es -> $i_ed"
check "(a) gw's out SA goes to the NAT ($o_dst), UDP-encapsulated 4500 -> ${o_ed:-none}" \
  sh -c "[ '$o_dst' = '$NAT_OUT_IP' ] && [ '$o_es' = 4500 ] && [ '$o_ed' = '${remote##*:}' ]"
check "(a) gw's in SA expects the same port (${i_es:-none} -> ${i_ed:-none})" \
  sh -c "[ '$i_src' = '$NAT_OUT_IP' ] && [ '$i_es' = '$o_ed' ] && [ '$i_ed' = 4500 ]"
lab_gw python3 "$here/wire_count.py" "$LAB_GW_DEVICE_IF2" 6 >"$work/wire_a" &
cap=$!
lab_gw python3 "$here/wire_count.py" "$LAB_GW_DEVICE_IF" 6 >"$work/wire_a0" &
cap0=$!
until_ok 10 grep -q '^listening' "$work/wire_a"
until_ok 10 grep -q '^listening' "$work/wire_a0"
lab_device ping -4 -n -c 10 -i 0.2 -W 2 -I "$vip" "$LAB_CORP_IP" >"$work/ping_a" 2>&1
wait "$cap" "$cap0"
indent <"$work/wire_a"
echo "    gw's first link ($LAB_GW_DEVICE_IF, unused by the device now):"
indent <"$work/wire_a0"
echo "    the NAT's connection tracking:"
ip netns exec "$NS_NAT" conntrack -L 2>/dev/null | indent
check "(a) 10/10 pings $vip -> $LAB_CORP_IP through the tunnel" test "$(received "$work/ping_a")" = 10
n_udp=$(awk '$1 == "espinudp" { print $2 }' "$work/wire_a")
n_esp=$(awk '$1 == "esp" { print $2 }' "$work/wire_a")
check "(a) on gw's link: ESP in UDP (${n_udp:-0} packets, >= 20), no plain ESP (${n_esp:-?})" \
  test "${n_udp:-0}" -ge 20 -a "${n_esp:-1}" = 0
check "(a) ... between gw:4500 and the NAT's port $o_ed" grep -q "^pair $LAB_GW_IP:4500>$NAT_OUT_IP:$o_ed " "$work/wire_a"

# --- (b) the NAT mapping changes with a ping running -----------------------------------------
moves0=$(grep -c 'tunnel moved' "$mg/iked.log")
ping_bg "$work/ping_b" 60
sleep 3
check "(b) NAT now MASQUERADEs to 41000-41999, its connection tracking flushed" \
  sh -c "$(declare -f nat_rule); NS_NAT=$NS_NAT; nat_rule 41000-41999 && ip netns exec $NS_NAT conntrack -F 2>/dev/null"
t_change=$(now)
out_port_new() { local p; read -r _ _ _ p <<<"$(gw_sa out)"; in_range "$p" 41000 41999; }
if until_ok 15 out_port_new; then
  ok "(b) gw's out SA follows the new mapping within $(secs_since "$t_change") s"
else
  bad "(b) gw's out SA did not follow the new mapping"
  dump
fi
wait "$PING_PID"
read -r o_src o_dst o_es o_ed <<<"$(gw_sa out)"
read -r i_src i_dst i_es i_ed <<<"$(gw_sa in)"
echo "    gw out SA: $o_src -> $o_dst encap $o_es -> $o_ed; in SA: $i_src -> $i_dst encap $i_es -> $i_ed"
check "(b) gw's out SA: 4500 -> ${o_ed:-none} (41000-41999)" in_range "$o_ed" 41000 41999
check "(b) gw's in SA expects the device from the same port (${i_es:-none})" test "$i_es" = "$o_ed"
remote=$(ike_list | jq -r '.[0].remote')
check "(b) gw's IKE SA follows too ($remote)" test "$remote" = "$NAT_OUT_IP:$o_ed"
check "(b) still the one IKE SA ($spi_a)" test "$(ike_list | jq -r '[.[].spi_i] | join(" ")')" = "$spi_a"
check "(b) iked logged the move" test "$(grep -c 'tunnel moved' "$mg/iked.log")" -gt "$moves0"
grep -E 'NAT mapping changed|tunnel moved|could not move' "$mg/iked.log" | tail -n 4 | indent
got_b=$(received "$work/ping_b") gap_b=$(longest_gap "$work/ping_b" 60)
echo "    (b) pings: ${got_b:-0}/60 answered, $((60 - ${got_b:-0})) lost, longest gap $gap_b"
check "(b) pings resumed after the change (the last 10 answered)" answered_from "$work/ping_b" 51 60
check "(b) gw never saw the device's private address" sh -c "! grep -q 'from $NAT_IN\.' $mg/iked.log"
sw_terminate device nat >/dev/null 2>&1
n_ike0() { [[ $(n_ike) == 0 ]]; }
check "(b) the device's DELETE ends the tunnel at gw" until_ok 5 n_ike0

# --- (d) the same without MOBIKE and without traffic: RFC 7296 §2.23 ---------------------------
# The device's next IKE request (a liveness check, dpd_delay 2s) comes from the new
# mapping; authenticated, it moves the IKE SA and the CHILD SAs.
if ! sw_initiate device natdpd; then
  bad "(d) the device (mobike = no) did not connect through the NAT"
  dump
else
  ok "(d) the device (mobike = no) connected through the NAT"
  vip=$(sw_vip device natdpd) && vip=${vip%%$'\n'*}
  reqs0=$(grep -c 'authenticated request from' "$mg/iked.log")
  check "(d) NAT now MASQUERADEs to 42000-42999, its connection tracking flushed" \
    sh -c "$(declare -f nat_rule); NS_NAT=$NS_NAT; nat_rule 42000-42999 && ip netns exec $NS_NAT conntrack -F 2>/dev/null"
  t_change=$(now)
  ike_port_new() { local r; r=$(ike_list | jq -r '.[0].remote'); in_range "${r##*:}" 42000 42999; }
  if until_ok 15 ike_port_new; then
    ok "(d) gw's IKE SA follows the device's next request within $(secs_since "$t_change") s"
  else
    bad "(d) gw's IKE SA did not follow"
    dump
  fi
  check "(d) iked: an authenticated request from the new mapping" \
    test "$(grep -c 'authenticated request from' "$mg/iked.log")" -gt "$reqs0"
  read -r o_src o_dst o_es o_ed <<<"$(gw_sa out)"
  check "(d) gw's out SA moved with it (4500 -> ${o_ed:-none})" test "$(ike_list | jq -r '.[0].remote')" = "$o_dst:$o_ed"
  lab_device ping -4 -n -c 5 -i 0.2 -W 2 -I "$vip" "$LAB_CORP_IP" >"$work/ping_d" 2>&1
  check "(d) 5/5 pings through the moved tunnel" test "$(received "$work/ping_d")" = 5
  sw_terminate device natdpd >/dev/null 2>&1
  until_ok 5 n_ike0
fi
nat_down
lab_device ip route del "$LAB_GW_IP/32" 2>/dev/null
check "the device's first link is back (gw0 up, default route)" \
  sh -c "ip -n $LAB_NS_DEVICE link set $LAB_DEVICE_IF up && ip -n $LAB_NS_DEVICE route replace default via $LAB_GW_IP dev $LAB_DEVICE_IF"

# --- (c) MOBIKE: the device moves to its second link -----------------------------------------
check "second device link up (device $LAB_DEVICE_IP2, gw $LAB_GW_IP2)" lab_add_device_link "$prefix"
auths0=$(grep -c 'IKE_AUTH ok' "$mg/iked.log")
if ! sw_initiate device roam; then
  bad "(c) the device did not connect on its first link"
  dump
  exit 1
fi
ok "(c) connected on the first link ($LAB_DEVICE_IP) in $SW_SECONDS s"
vip=$(sw_vip device roam) && vip=${vip%%$'\n'*}
json=$(ike_list)
spis=$(jq -r '[.[] | .spi_i + "/" + .spi_r] | join(" ")' <<<"$json")
check "(c) gw's IKE SA: the device at $LAB_DEVICE_IP, no NAT" \
  test "$(jq -r '.[0].remote | split(":")[0]' <<<"$json")" = "$LAB_DEVICE_IP" -a "$(jq -r '.[0].natt' <<<"$json")" = false
read -r o_src o_dst _ <<<"$(gw_sa out)"
check "(c) gw's out SA goes to $LAB_DEVICE_IP ($o_dst)" test "$o_dst" = "$LAB_DEVICE_IP"
moves0=$(grep -c 'tunnel moved' "$mg/iked.log")
ping_bg "$work/ping_c" 75
sleep 3
check "(c) the device's first link goes down" lab_device ip link set "$LAB_DEVICE_IF" down
t_change=$(now)
moved() { local d; read -r _ d _ <<<"$(gw_sa out)"; [[ $d == "$LAB_DEVICE_IP2" ]]; }
if until_ok 20 moved; then
  ok "(c) gw's kernel SAs moved to $LAB_DEVICE_IP2 within $(secs_since "$t_change") s"
else
  bad "(c) gw's kernel SAs did not move"
  dump
fi
wait "$PING_PID"
read -r o_src o_dst _ <<<"$(gw_sa out)"
read -r i_src i_dst _ <<<"$(gw_sa in)"
echo "    gw out SA: $o_src -> $o_dst; in SA: $i_src -> $i_dst"
check "(c) gw's out SA: $LAB_GW_IP -> $LAB_DEVICE_IP2" test "$o_src $o_dst" = "$LAB_GW_IP $LAB_DEVICE_IP2"
check "(c) gw's in SA: $LAB_DEVICE_IP2 -> $LAB_GW_IP" test "$i_src $i_dst" = "$LAB_DEVICE_IP2 $LAB_GW_IP"
lab_gw ip xfrm policy >"$work/pol_c"
check "(c) gw's in/fwd policies' templates moved to $LAB_DEVICE_IP2" \
  test "$(grep -c "tmpl src $LAB_DEVICE_IP2 dst $LAB_GW_IP" "$work/pol_c")" = 2
check "(c) gw's out policy's template too" grep -q "tmpl src $LAB_GW_IP dst $LAB_DEVICE_IP2" "$work/pol_c"
check "(c) no template names $LAB_DEVICE_IP any more" sh -c "! grep -qw '$LAB_DEVICE_IP' $work/pol_c"
json=$(ike_list)
check "(c) the same IKE SA, SPIs unchanged ($spis): no new handshake" \
  test "$(jq -r '[.[] | .spi_i + "/" + .spi_r] | join(" ")' <<<"$json")" = "$spis"
check "(c) ... iked counted one IKE_AUTH in (c)" test "$(grep -c 'IKE_AUTH ok' "$mg/iked.log")" = $((auths0 + 1))
check "(c) gw's IKE SA now talks to $LAB_DEVICE_IP2" test "$(jq -r '.[0].remote | split(":")[0]' <<<"$json")" = "$LAB_DEVICE_IP2"
check "(c) iked: UPDATE_SA_ADDRESSES from $LAB_DEVICE_IP2" grep -q "UPDATE_SA_ADDRESSES from $LAB_DEVICE_IP2" "$mg/iked.log"
check "(c) iked: return routability check answered" grep -q 'return routability check answered' "$mg/iked.log"
check "(c) iked: tunnel moved" test "$(grep -c 'tunnel moved' "$mg/iked.log")" -gt "$moves0"
grep -E 'UPDATE_SA_ADDRESSES|return routability|tunnel moved' "$mg/iked.log" | tail -n 4 | indent
got_c=$(received "$work/ping_c") gap_c=$(longest_gap "$work/ping_c" 75)
echo "    (c) pings: ${got_c:-0}/75 answered, $((75 - ${got_c:-0})) lost, longest gap $gap_c"
check "(c) the ping went on over the new link (the last 10 answered)" answered_from "$work/ping_c" 66 75
sw_terminate device roam >/dev/null 2>&1
((FAIL)) && dump
note "done"
check_summary
