#!/usr/bin/env bash
# VM test (runs inside tests/vm/vm-run): tunnels programmed through the xfrm
# library between the lab's device and gw namespaces carry real ESP traffic.
#
#   device (virtual IPs 198.18.0.x, 2001:db8:100::2) ==ESP== gw --- corp
#
#   1. IPv4 in IPv4, AES-GCM-256 with ESN: pings to corp, SA counters move on
#      both ends, and the library's counters equal `ip -s xfrm state`'s.
#   2. IPv6 in IPv6, AES-CBC-256 + HMAC-SHA2-384: pings, counters.
#   3. A small byte lifetime on the device's outbound SA: soft then hard
#      expire events arrive, and the SA is gone after the hard one.
#   4. NAT-T: ChaCha20-Poly1305 in UDP 4500, the device sending from port 4501
#      as if behind a NAT: pings pass, counters move, gw reports the mapping.
# Usage: vm-tunnel.sh PATH/TO/xfrm_tunnel_tool. Exit 77 outside the VM.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lab/lab.sh
. "$here/../lab/lab.sh"

tool=${1:?usage: vm-tunnel.sh xfrm_tunnel_tool}
fails=0
pass() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
die() { printf 'FAIL %s\n' "$*"; exit 1; }

[[ $(id -u) == 0 ]] || { echo "SKIP: needs root"; exit 77; }
command -v ping >/dev/null || die "ping not installed"
[[ -x $tool ]] || die "$tool is not executable"

prefix=xt$$-
lab_cleanup_on_exit "$prefix"
lab_up "$prefix" || die "lab_up failed"
D=$LAB_NS_DEVICE
G=$LAB_NS_GW
dev() { ip netns exec "$D" "$@"; }
gw() { ip netns exec "$G" "$@"; }

if ! probe=$(dev ip xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x100 mode tunnel \
     aead 'rfc4106(gcm(aes))' "0x$(printf '%040d' 0)" 128 2>&1); then
  [[ ${MGATE_VM:-0} == 1 ]] && die "the VM kernel cannot install an ESP SA: $probe"
  echo "SKIP: this kernel has no ESP ($probe); run under tests/vm/vm-run"
  exit 77
fi
dev ip xfrm state flush

# vip FAMILY ADDR: the virtual IP on the device, routed to it on gw.
vip() {
  local plen=32 via=$LAB_DEVICE_IP
  [[ $1 == 6 ]] && { plen=128; via=$LAB_DEVICE_IP6; }
  dev ip addr add "$2/$plen" dev lo && gw ip route add "$2/$plen" via "$via" dev "$LAB_GW_DEVICE_IF"
}

# tunnel VIP NET DEV_OUTER GW_OUTER SPI_IN SPI_OUT REQID [device-opts] -- [gw-opts]
tunnel() {
  local v=$1 net=$2 d=$3 g=$4 si=$5 so=$6 r=$7 dopts=() gopts=()
  shift 7
  while (($#)) && [[ $1 != -- ]]; do dopts+=("$1"); shift; done
  (($#)) && shift
  gopts=("$@")
  dev "$tool" tunnel device "$v" "$net" "$d" "$g" "$si" "$so" "$r" "${dopts[@]}" &&
    gw "$tool" tunnel gw "$v" "$net" "$g" "$d" "$si" "$so" "$r" "${gopts[@]}"
}

# pings FAMILY FROM TO COUNT [SIZE] -> number of replies
pings() {
  local out
  out=$(dev ping "-$1" -n -c "$4" -i 0.3 -W 5 -s "${5:-56}" -I "$2" "$3" 2>&1)
  printf '%s\n' "$out" | sed 's/^/    | /' >&2
  printf '%s\n' "$out" | awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /^received/) print $(i-1); n = 1 }
                               END { if (!n) print 0 }'
}

# ip_counters NS SRC DST SPI -> "bytes packets" as iproute2 reports them
ip_counters() {
  ip -n "$1" -s xfrm state get src "$2" dst "$3" proto esp spi "$4" 2>/dev/null |
    awk '/lifetime current:/ { getline; gsub(/[(),a-z]/, " "); print $1, $2; found = 1; exit }
         END { if (!found) print "none" }'
}

# check_sa WHAT NS SRC DST SPI MINPACKETS: library counters moved and match ip's
check_sa() {
  local what=$1 ns=$2 src=$3 dst=$4 spi=$5 min=$6 lib ipc
  lib=$(ip netns exec "$ns" "$tool" counters "$src" "$dst" "$spi") || { fail "$what: no SA $spi"; return; }
  ipc=$(ip_counters "$ns" "$src" "$dst" "$spi")
  if [[ ${lib#* } -ge $min && ${lib% *} -gt 0 ]]; then
    pass "$what: SA $spi counted ${lib#* } packets, ${lib% *} bytes (>= $min)"
  else
    fail "$what: SA $spi counted ${lib#* } packets, ${lib% *} bytes (want >= $min)"
  fi
  if [[ $lib == "$ipc" ]]; then pass "$what: library counters equal ip -s xfrm state ($ipc)"
  else fail "$what: library says '$lib', ip -s xfrm state says '$ipc'"; fi
}

# wait_ready FILE: a background helper printed "ready" (bounded wait)
wait_ready() {
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q '^ready' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lab_cleanup_on_exit "$prefix"

# --- 1. IPv4, AES-GCM-256, ESN ---------------------------------------------------------
v4=198.18.0.2
vip 4 "$v4" || die "virtual IP $v4"
tunnel "$v4" "$LAB_CORP_NET" "$LAB_DEVICE_IP" "$LAB_GW_IP" 0x1001 0x2001 1 --alg aes256gcm16 --esn --window 128 \
  -- --alg aes256gcm16 --esn --window 128 || die "IPv4 tunnel setup"
got=$(pings 4 "$v4" "$LAB_CORP_IP" 3)
[[ $got == 3 ]] && pass "IPv4/GCM: 3/3 pings $v4 -> $LAB_CORP_IP" || fail "IPv4/GCM: $got/3 pings"
check_sa "IPv4 device out" "$D" "$LAB_DEVICE_IP" "$LAB_GW_IP" 0x1001 3
check_sa "IPv4 gw in" "$G" "$LAB_DEVICE_IP" "$LAB_GW_IP" 0x1001 3
check_sa "IPv4 gw out" "$G" "$LAB_GW_IP" "$LAB_DEVICE_IP" 0x2001 3
check_sa "IPv4 device in" "$D" "$LAB_GW_IP" "$LAB_DEVICE_IP" 0x2001 3
state=$(gw ip xfrm state get src "$LAB_DEVICE_IP" dst "$LAB_GW_IP" proto esp spi 0x1001)
if grep -q 'flag.* esn' <<<"$state" && grep -q 'replay_window 128' <<<"$state"; then
  pass "IPv4: ESN with a 128-packet window on gw's inbound SA"
else fail "IPv4: ESN flag or window missing"; fi

# --- 2. IPv6, AES-CBC-256 + HMAC-SHA2-384 ----------------------------------------------
v6=$LAB_POOL6_FIRST
vip 6 "$v6" || die "virtual IP $v6"
tunnel "$v6" "$LAB_CORP_NET6" "$LAB_DEVICE_IP6" "$LAB_GW_IP6" 0x1002 0x2002 2 --alg aes256+sha384 \
  -- --alg aes256+sha384 || die "IPv6 tunnel setup"
got=$(pings 6 "$v6" "$LAB_CORP_IP6" 3)
[[ $got == 3 ]] && pass "IPv6/CBC+SHA384: 3/3 pings $v6 -> $LAB_CORP_IP6" || fail "IPv6/CBC+SHA384: $got/3 pings"
check_sa "IPv6 device out" "$D" "$LAB_DEVICE_IP6" "$LAB_GW_IP6" 0x1002 3
check_sa "IPv6 gw out" "$G" "$LAB_GW_IP6" "$LAB_DEVICE_IP6" 0x2002 3
if gw ip xfrm state get src "$LAB_GW_IP6" dst "$LAB_DEVICE_IP6" proto esp spi 0x2002 | grep -q 'hmac(sha384).* 192$'; then
  pass "IPv6: HMAC-SHA2-384 truncated to 192 bits"
else fail "IPv6: auth-trunc hmac(sha384) 192 not found"; fi

# --- 3. byte lifetime -> soft and hard expire -----------------------------------------
v4e=198.18.0.3
vip 4 "$v4e" || die "virtual IP $v4e"
tunnel "$v4e" "$LAB_CORP_NET" "$LAB_DEVICE_IP" "$LAB_GW_IP" 0x1003 0x2003 3 --alg aes128gcm16 \
  --soft-bytes 3000 --hard-bytes 6000 -- --alg aes128gcm16 || die "expiry tunnel setup"
dev "$tool" watch 60 soft:0x1003 hard:0x1003 >"$tmp/expire" 2>&1 &
watcher=$!
wait_ready "$tmp/expire" || die "event watcher did not start"
# ~1 KB per ping: soft after 3, hard after 6; pings after that have no SA.
got=$(pings 4 "$v4e" "$LAB_CORP_IP" 9 1000)
if wait "$watcher"; then
  pass "expiry: soft and hard expire events for SA 0x1003 ($got/9 pings answered before the SA died)"
else
  fail "expiry: expire events missing"
fi
sed 's/^/    | /' "$tmp/expire"
if dev "$tool" counters "$LAB_DEVICE_IP" "$LAB_GW_IP" 0x1003 >/dev/null 2>&1; then
  fail "expiry: SA 0x1003 still exists after its hard expiry"
else pass "expiry: SA 0x1003 removed by the kernel at the hard limit"; fi
((got >= 2 && got <= 6)) && pass "expiry: traffic stopped at the hard limit ($got/9)" ||
  fail "expiry: $got/9 pings answered, want 2..6"

# --- 4. NAT-T ---------------------------------------------------------------------------
v4n=198.18.0.4
vip 4 "$v4n" || die "virtual IP $v4n"
dev "$tool" encap-socket 4500 60 >"$tmp/dsock" 2>&1 &
gw "$tool" encap-socket 4500 60 >"$tmp/gsock" 2>&1 &
wait_ready "$tmp/dsock" && wait_ready "$tmp/gsock" || die "encap sockets did not start"
gw "$tool" watch 60 mapping:0x1004 >"$tmp/mapping" 2>&1 &
watcher=$!
wait_ready "$tmp/mapping" || die "mapping watcher did not start"
# The device sends from 4501 (a NAT rewrote its port); gw expects 4500 until told.
tunnel "$v4n" "$LAB_CORP_NET" "$LAB_DEVICE_IP" "$LAB_GW_IP" 0x1004 0x2004 4 --alg chacha20poly1305 \
  --encap 4501:4500 -- --alg chacha20poly1305 --encap 4500:4500 || die "NAT-T tunnel setup"
got=$(pings 4 "$v4n" "$LAB_CORP_IP" 3)
[[ $got == 3 ]] && pass "NAT-T/ChaCha20: 3/3 pings $v4n -> $LAB_CORP_IP" || fail "NAT-T/ChaCha20: $got/3 pings"
check_sa "NAT-T device out" "$D" "$LAB_DEVICE_IP" "$LAB_GW_IP" 0x1004 3
check_sa "NAT-T gw out" "$G" "$LAB_GW_IP" "$LAB_DEVICE_IP" 0x2004 3
if gw ip xfrm state get src "$LAB_DEVICE_IP" dst "$LAB_GW_IP" proto esp spi 0x1004 | grep -q 'encap type espinudp sport 4500 dport 4500'; then
  pass "NAT-T: gw's inbound SA is UDP-encapsulated"
else fail "NAT-T: encapsulation missing on gw's inbound SA"; fi
if wait "$watcher"; then pass "NAT-T: gw reported the mapping change of SA 0x1004"
else fail "NAT-T: no mapping event"; fi
sed 's/^/    | /' "$tmp/mapping"
grep -q 'mapping spi 0x00001004 ours 1 192.0.2.2:4500 -> 192.0.2.2:4501' "$tmp/mapping" &&
  pass "NAT-T: mapping event names the new port 4501" || fail "NAT-T: mapping event content"

echo "--- device: mgate SAs (library dump)"
dev "$tool" show | sed 's/^/    /'
echo "--- gw: mgate SAs (library dump)"
gw "$tool" show | sed 's/^/    /'

if ((fails)); then
  echo "vm-tunnel: $fails check(s) failed"
  exit 1
fi
echo "vm-tunnel: all checks passed"
