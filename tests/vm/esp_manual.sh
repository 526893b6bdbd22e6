#!/usr/bin/env bash
# Harness self-test (runs inside tests/vm/vm-run): a manually keyed ESP tunnel between
# two lab namespaces carries traffic, with nothing from mgate involved.
#
#   device (virtual IP 198.18.0.2) ==ESP tunnel 192.0.2.2 <-> 192.0.2.1== gw --- corp
#
# SAs and policies are set by hand with `ip xfrm` using AES-GCM (rfc4106(gcm(aes)),
# 128-bit ICV); the same for IPv6 (2001:db8:100::2 over 2001:db8:1::2 <-> ::1). Checks:
#   - pings from the virtual IP to corp succeed, all of them;
#   - the SA counters (`ip -s xfrm state`) moved on both ends, in both directions, by
#     at least the number of pings;
#   - the packets really were ESP: gw's veth towards the device saw ESP (protocol 50)
#     and no ICMP between the virtual IP and corp (nft counters on gw);
#   - negative: after deleting gw's inbound SA the same ping fails and gw counts
#     XfrmInNoStates (proves the test can fail).
# Exit 77 (skip) outside the VM when the kernel cannot do ESP.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lab/lab.sh
. "$here/../lab/lab.sh"

PINGS=3
fails=0
pass() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
die() { printf 'FAIL %s\n' "$*"; exit 1; }
ts() { date +%s.%N; }
t_start=$(ts)
elapsed() { awk -v a="$t_start" -v b="$(ts)" 'BEGIN { printf "%.2f", b - a }'; }

[[ $(id -u) == 0 ]] || { echo "SKIP: needs root"; exit 77; }
for tool in ip ping; do
  command -v "$tool" >/dev/null || die "$tool not installed (see tests/vm/packages.txt)"
done

prefix=esp-
lab_cleanup_on_exit "$prefix"
lab_down "$prefix"
lab_up "$prefix" || die "lab_up failed"
printf 'lab up at %s s\n' "$(elapsed)"

# Can this kernel do ESP at all? Outside the VM (no CONFIG_INET_ESP) that is a skip;
# inside the VM it is a failure.
if ! probe_msg=$(lab_device ip xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x100 \
     mode tunnel aead 'rfc4106(gcm(aes))' "0x$(printf '%072d' 0)" 128 2>&1); then
  if [[ ${MGATE_VM:-0} == 1 ]]; then
    die "the VM kernel cannot install an ESP SA: $probe_msg"
  fi
  echo "SKIP: this kernel has no ESP ($probe_msg); run under tests/vm/vm-run"
  exit 77
fi
lab_device ip xfrm state flush
printf 'ESP available (first SA install) at %s s\n' "$(elapsed)"

key() { od -An -tx1 -N36 /dev/urandom | tr -d ' \n'; }  # 256-bit key + 32-bit salt

# setup_tunnel FAMILY VIP CORPNET DEV_OUTER GW_OUTER SPI_IN SPI_OUT REQID
# SPI_IN: device -> gw, SPI_OUT: gw -> device (as seen from the gateway).
setup_tunnel() {
  local vip=$2 corpnet=$3 dev=$4 gw=$5 spi_in=$6 spi_out=$7 reqid=$8 k1 k2 ns
  local vnet=$vip/32
  [[ $1 == 6 ]] && vnet=$vip/128
  k1=$(key)
  k2=$(key)
  for ns in "$LAB_NS_DEVICE" "$LAB_NS_GW"; do
    ip -n "$ns" xfrm state add src "$dev" dst "$gw" proto esp spi "$spi_in" reqid "$reqid" \
      mode tunnel aead 'rfc4106(gcm(aes))' "0x$k1" 128 || return 1
    ip -n "$ns" xfrm state add src "$gw" dst "$dev" proto esp spi "$spi_out" reqid "$reqid" \
      mode tunnel aead 'rfc4106(gcm(aes))' "0x$k2" 128 || return 1
  done
  # device: out to corp, in from corp
  ip -n "$LAB_NS_DEVICE" xfrm policy add src "$vnet" dst "$corpnet" dir out \
    tmpl src "$dev" dst "$gw" proto esp reqid "$reqid" mode tunnel || return 1
  ip -n "$LAB_NS_DEVICE" xfrm policy add src "$corpnet" dst "$vnet" dir in \
    tmpl src "$gw" dst "$dev" proto esp reqid "$reqid" mode tunnel || return 1
  # gw: decrypted device traffic is forwarded (fwd; in for local delivery), corp's
  # answers go out through the tunnel.
  ip -n "$LAB_NS_GW" xfrm policy add src "$vnet" dst "$corpnet" dir fwd \
    tmpl src "$dev" dst "$gw" proto esp reqid "$reqid" mode tunnel || return 1
  ip -n "$LAB_NS_GW" xfrm policy add src "$vnet" dst "$corpnet" dir in \
    tmpl src "$dev" dst "$gw" proto esp reqid "$reqid" mode tunnel || return 1
  ip -n "$LAB_NS_GW" xfrm policy add src "$corpnet" dst "$vnet" dir out \
    tmpl src "$gw" dst "$dev" proto esp reqid "$reqid" mode tunnel || return 1
  # The virtual IP lives on the device; gw routes it towards the device (the xfrm
  # policy then turns that route into the tunnel).
  ip -n "$LAB_NS_DEVICE" addr add "$vnet" dev lo || return 1
  ip -n "$LAB_NS_GW" route add "$vnet" via "$dev" dev "$LAB_GW_DEVICE_IF" || return 1
}

# sa_counter NS SRC DST SPI -> "bytes packets" of that SA
sa_counter() {
  ip -n "$1" -s xfrm state get src "$2" dst "$3" proto esp spi "$4" 2>/dev/null |
    awk '/lifetime current:/ { getline; gsub(/[(),a-z]/, " "); print $1, $2; found = 1; exit }
         END { if (!found) print "0 0" }'
}

# check_sa WHAT NS SRC DST SPI MINPACKETS
check_sa() {
  local what=$1 c
  c=$(sa_counter "$2" "$3" "$4" "$5")
  if [[ ${c#* } -ge $6 && ${c% *} -gt 0 ]]; then
    pass "$what: SA spi $5 counted ${c#* } packets, ${c% *} bytes (>= $6)"
  else
    fail "$what: SA spi $5 counted ${c#* } packets, ${c% *} bytes (want >= $6)"
  fi
}

# ping_from_vip FAMILY VIP DST COUNT -> prints packets received
ping_from_vip() {
  local out
  out=$(lab_device ping "-$1" -n -c "$4" -i 0.3 -W 8 -I "$2" "$3" 2>&1)
  printf '%s\n' "$out" | sed 's/^/    | /' >&2
  printf '%s\n' "$out" | awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /^received/) print $(i-1); n = 1 } END { if (!n) print 0 }'
}

# nft counters on gw's device-side veth: ESP packets, and cleartext ICMP between the
# virtual IPs and corp, which must stay 0 while the tunnel is up. Decapsulated packets
# pass prerouting again with the same input device (with a secpath), and outgoing
# inner packets pass postrouting before encryption (on an xfrm route): the ipsec
# qualifiers keep those out of the cleartext counter.
have_nft=0
if command -v nft >/dev/null 2>&1; then
  if lab_gw nft -f - <<EOF
table inet esptest {
  counter esp_in {}
  counter esp_out {}
  counter clear_icmp {}
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    iifname "$LAB_GW_DEVICE_IF" meta l4proto esp counter name esp_in
    iifname "$LAB_GW_DEVICE_IF" meta ipsec missing ip saddr $LAB_POOL meta l4proto icmp counter name clear_icmp
    iifname "$LAB_GW_DEVICE_IF" meta ipsec missing ip6 saddr $LAB_POOL6 meta l4proto ipv6-icmp counter name clear_icmp
  }
  chain post {
    type filter hook postrouting priority 300; policy accept;
    oifname "$LAB_GW_DEVICE_IF" meta l4proto esp counter name esp_out
    oifname "$LAB_GW_DEVICE_IF" rt ipsec missing ip daddr $LAB_POOL meta l4proto icmp counter name clear_icmp
    oifname "$LAB_GW_DEVICE_IF" rt ipsec missing ip6 daddr $LAB_POOL6 meta l4proto ipv6-icmp counter name clear_icmp
  }
}
EOF
  then have_nft=1
  else echo "note: nft rules could not be loaded; skipping the on-the-wire ESP check"
  fi
else
  echo "note: nft not installed; skipping the on-the-wire ESP check"
fi
nft_count() {  # nft_count NAME -> packets
  lab_gw nft list counter inet esptest "$1" | awk '/packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i+1); exit }'
}

vip4=$LAB_POOL_FIRST
vip6=$LAB_POOL6_FIRST
setup_tunnel 4 "$vip4" "$LAB_CORP_NET" "$LAB_DEVICE_IP" "$LAB_GW_IP" 0x1001 0x2001 1 ||
  die "setting up the IPv4 tunnel failed"
setup_tunnel 6 "$vip6" "$LAB_CORP_NET6" "$LAB_DEVICE_IP6" "$LAB_GW_IP6" 0x1002 0x2002 2 ||
  die "setting up the IPv6 tunnel failed"
printf 'SAs and policies installed at %s s\n' "$(elapsed)"
echo "--- device: ip xfrm state / policy"
lab_device ip xfrm state | sed 's/\(aead .* 0x\)[0-9a-f]*/\1<key>/' | sed 's/^/    /'
lab_device ip xfrm policy | sed 's/^/    /'

# --- positive: IPv4 ---------------------------------------------------------------
got=$(ping_from_vip 4 "$vip4" "$LAB_CORP_IP" "$PINGS")
if [[ $got == "$PINGS" ]]; then pass "IPv4: $PINGS/$PINGS pings $vip4 -> $LAB_CORP_IP through the tunnel"
else fail "IPv4: $got/$PINGS pings $vip4 -> $LAB_CORP_IP through the tunnel"; fi
check_sa "IPv4 device out (device->gw)" "$LAB_NS_DEVICE" "$LAB_DEVICE_IP" "$LAB_GW_IP" 0x1001 "$PINGS"
check_sa "IPv4 gw in (device->gw)" "$LAB_NS_GW" "$LAB_DEVICE_IP" "$LAB_GW_IP" 0x1001 "$PINGS"
check_sa "IPv4 gw out (gw->device)" "$LAB_NS_GW" "$LAB_GW_IP" "$LAB_DEVICE_IP" 0x2001 "$PINGS"
check_sa "IPv4 device in (gw->device)" "$LAB_NS_DEVICE" "$LAB_GW_IP" "$LAB_DEVICE_IP" 0x2001 "$PINGS"
printf 'IPv4 tunnel checked at %s s\n' "$(elapsed)"

# --- positive: IPv6 ---------------------------------------------------------------
got=$(ping_from_vip 6 "$vip6" "$LAB_CORP_IP6" "$PINGS")
if [[ $got == "$PINGS" ]]; then pass "IPv6: $PINGS/$PINGS pings $vip6 -> $LAB_CORP_IP6 through the tunnel"
else fail "IPv6: $got/$PINGS pings $vip6 -> $LAB_CORP_IP6 through the tunnel"; fi
check_sa "IPv6 device out (device->gw)" "$LAB_NS_DEVICE" "$LAB_DEVICE_IP6" "$LAB_GW_IP6" 0x1002 "$PINGS"
check_sa "IPv6 gw in (device->gw)" "$LAB_NS_GW" "$LAB_DEVICE_IP6" "$LAB_GW_IP6" 0x1002 "$PINGS"
check_sa "IPv6 gw out (gw->device)" "$LAB_NS_GW" "$LAB_GW_IP6" "$LAB_DEVICE_IP6" 0x2002 "$PINGS"
check_sa "IPv6 device in (gw->device)" "$LAB_NS_DEVICE" "$LAB_GW_IP6" "$LAB_DEVICE_IP6" 0x2002 "$PINGS"
printf 'IPv6 tunnel checked at %s s\n' "$(elapsed)"

# --- on the wire: ESP, not cleartext ------------------------------------------------
if [[ $have_nft == 1 ]]; then
  ein=$(nft_count esp_in)
  eout=$(nft_count esp_out)
  clear=$(nft_count clear_icmp)
  if ((ein >= 2 * PINGS && eout >= 2 * PINGS)); then
    pass "gw's device link carried ESP: $ein packets in, $eout out (>= $((2 * PINGS)) each)"
  else
    fail "gw's device link carried ESP: $ein packets in, $eout out (want >= $((2 * PINGS)) each)"
  fi
  if [[ $clear == 0 ]]; then pass "no cleartext ICMP to/from the virtual IPs on gw's device link"
  else fail "$clear cleartext ICMP packets to/from the virtual IPs on gw's device link"; fi
fi

# --- negative: without gw's inbound SA the same ping must fail -------------------------
nostates() {
  # shellcheck disable=SC2016
  lab_gw awk '$1 == "XfrmInNoStates" { print $2 }' /proc/net/xfrm_stat 2>/dev/null || echo 0
}
before=$(nostates)
ip -n "$LAB_NS_GW" xfrm state delete src "$LAB_DEVICE_IP" dst "$LAB_GW_IP" proto esp spi 0x1001 ||
  fail "deleting gw's inbound IPv4 SA"
got=$(lab_device ping -4 -n -c 2 -i 0.3 -W 2 -I "$vip4" "$LAB_CORP_IP" 2>&1 |
  awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /^received/) print $(i-1) }')
after=$(nostates)
if [[ ${got:-0} == 0 ]]; then pass "negative: no ping gets through once gw's inbound SA is gone"
else fail "negative: $got pings got through although gw's inbound SA is gone"; fi
if ((${after:-0} > ${before:-0})); then
  pass "negative: gw counted XfrmInNoStates ($before -> $after)"
else
  fail "negative: gw's XfrmInNoStates did not move ($before -> $after)"
fi

# --- control: the cleartext counter does see cleartext -------------------------------
# Without any SA or policy the same ping goes through in cleartext (gw routes the
# virtual IP to the device): then the counter that stayed 0 above must move.
if [[ $have_nft == 1 ]]; then
  for ns in "$LAB_NS_DEVICE" "$LAB_NS_GW"; do
    ip -n "$ns" xfrm policy flush
    ip -n "$ns" xfrm state flush
  done
  got=$(lab_device ping -4 -n -c 2 -i 0.3 -W 2 -I "$vip4" "$LAB_CORP_IP" 2>&1 |
    awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /^received/) print $(i-1) }')
  clear=$(nft_count clear_icmp)
  if [[ ${got:-0} == 2 && ${clear:-0} -ge 4 ]]; then
    pass "control: without IPsec the ping is cleartext and the cleartext counter sees it ($clear)"
  else
    fail "control: cleartext ping got ${got:-0}/2 replies, cleartext counter ${clear:-0} (want >= 4)"
  fi
fi

printf 'done at %s s\n' "$(elapsed)"
if ((fails)); then
  echo "esp_manual: $fails check(s) failed"
  exit 1
fi
echo "esp_manual: all checks passed"
