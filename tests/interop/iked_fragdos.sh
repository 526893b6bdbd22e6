#!/usr/bin/env bash
# mgate-iked with a real strongSwan 5.9.8 client (runs inside tests/vm/vm-run):
#
#   device: charon + swanctl ==IKEv2/ESP== gw: mgate-xfrmd + mgate-iked --- corp
#
# (a) RFC 7383 both ways: RSA-4096 keys and a chain with an intermediate CA
#     (frag_pki.sh) make IKE_AUTH ~4 KB each way; charon's fragment_size and iked's
#     are 576. The tunnel comes up and pings corp; nftables counters in gw count the
#     IKE datagrams whose first payload is SKF (53), in and out, on port 500 and 4500
#     (after the non-ESP marker), and those over 576 octets (none); iked's status
#     counts them too.
# (b) A half-open flood from inside the lab (ike_initiator --init-only, 15 requests
#     from a second device address) passes cookie_threshold (10): iked's status says
#     cookies are on; the strongSwan client is asked for a COOKIE, comes back with it,
#     connects and pings corp.
# Exit 77 (skip) without root, strongSwan, nft or an ESP-capable kernel.
#
# Knobs: MGATE_BUILD=BUILD_DIR (required), MGATE_FRAG_PKI=DIR (frag_pki.sh's output,
# made on the host by the ctest fixture; default: made here, slow under TCG),
# SWT_KEEP=DIR (copy logs there).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lab/lab.sh
. "$here/../lab/lab.sh"
# shellcheck source=strongswan.sh
. "$here/strongswan.sh"

fails=0
pass() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
die() { printf 'FAIL %s\n' "$*"; exit 1; }
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
indent() { sed 's/^/    | /'; }
wait_until() { # wait_until SEC CMD...: bounded poll
  local end=$((${EPOCHREALTIME%[.,]*} + $1))
  shift
  until "$@"; do
    ((${EPOCHREALTIME%[.,]*} < end)) || return 1
    sleep 0.2
  done
}

[[ $(id -u) == 0 ]] || skip "needs root"
for tool in ip ping unshare swanctl openssl nft jq; do
  command -v "$tool" >/dev/null || skip "$tool not installed"
done
[[ -x /usr/lib/ipsec/charon ]] || skip "/usr/lib/ipsec/charon missing: apt-get install strongswan-charon"
B=${MGATE_BUILD:?MGATE_BUILD=the build directory}

prefix=swf-
work=$(mktemp -d /tmp/sw-fragdos.XXXXXX) || die "mktemp failed"
export SW_RUNDIR_BASE=$work/run
mg=$work/mgate
xfrmd_pid='' iked_pid=''
finish() {
  sw_stop_all
  [[ -n $iked_pid ]] && kill -TERM "$iked_pid" 2>/dev/null && wait "$iked_pid" 2>/dev/null
  [[ -n $xfrmd_pid ]] && kill -TERM "$xfrmd_pid" 2>/dev/null && wait "$xfrmd_pid" 2>/dev/null
  if [[ -n ${SWT_KEEP:-} ]]; then
    mkdir -p "$SWT_KEEP" && cp -r "$work/conf" "$work/run" "$mg" "$SWT_KEEP/" 2>/dev/null
  fi
  rm -rf "$work"
}
trap finish EXIT
lab_cleanup_on_exit "$prefix"
lab_down "$prefix"
lab_up "$prefix" || die "lab_up failed"

if ! probe=$(lab_gw ip xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x100 \
     mode tunnel aead 'rfc4106(gcm(aes))' "0x$(printf '%040d' 0)" 128 2>&1); then
  [[ ${MGATE_VM:-0} == 1 ]] && die "the VM kernel cannot install an ESP SA: $probe"
  skip "this kernel has no ESP ($probe); run under tests/vm/vm-run"
fi
lab_gw ip xfrm state flush

pki=${MGATE_FRAG_PKI:-$work/pki}
"$here/frag_pki.sh" "$pki" || die "frag_pki.sh failed"
gw_der=$(openssl x509 -in "$pki/gw-leaf.crt" -outform DER | wc -c)
dev_der=$(openssl x509 -in "$pki/device.crt" -outform DER | wc -c)
inter_der=$(openssl x509 -in "$pki/inter.crt" -outform DER | wc -c)
echo "PKI: RSA-4096 root -> intermediate ($inter_der octets) -> gw ($gw_der), device ($dev_der)"

# --- SKF on the wire, counted by gw's kernel ------------------------------------------
# The IKE header's Next Payload is octet 16: after the UDP header (8) on port 500,
# after the non-ESP marker too (12) on port 4500.
lab_gw nft -f - <<'EOF' || die "nft rules for the SKF counters"
table inet skf {
  counter skf_in { }
  counter skf_out { }
  counter skf_big_in { }
  counter skf_big_out { }
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport 500 @th,192,8 53 counter name "skf_in"
    udp dport 4500 @th,224,8 53 counter name "skf_in"
    udp dport 500 @th,192,8 53 ip length > 576 counter name "skf_big_in"
    udp dport 4500 @th,224,8 53 ip length > 576 counter name "skf_big_in"
  }
  chain output {
    type filter hook output priority 0; policy accept;
    udp sport 500 @th,192,8 53 counter name "skf_out"
    udp sport 4500 @th,224,8 53 counter name "skf_out"
    udp sport 500 @th,192,8 53 ip length > 576 counter name "skf_big_out"
    udp sport 4500 @th,224,8 53 ip length > 576 counter name "skf_big_out"
  }
}
EOF
skf() { lab_gw nft list counter inet skf "skf_$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

# --- the gateway: mgate-xfrmd + mgate-iked --------------------------------------------
mkdir -p "$mg"
cat >"$mg/mgate.conf" <<EOF
[global]
run_dir = $mg/run
state_dir = $mg/state
log_level = debug
[xfrmd]
ike_listen = $LAB_GW_IP
[iked]
cert = $pki/gw.crt
key = $pki/gw.key
ca = $pki/root.crt
local_id = gw.mgate.test
ike_proposals = aes128gcm16-prfsha256-ecp256
esp_proposals = aes128gcm16
pool = $LAB_POOL
subnets = $LAB_CORP_NET
fragment_size = 576
cookie_threshold = 10
EOF
MGCTL() { "$B/tools/mgatectl" -c "$mg/mgate.conf" "$@"; }
detail() { MGCTL --json status iked | jq -r '.[0].detail'; }
ip netns exec "$LAB_NS_GW" "$B/xfrmd/mgate-xfrmd" -c "$mg/mgate.conf" 2>>"$mg/xfrmd.log" &
xfrmd_pid=$!
wait_until 20 MGCTL status xfrmd >/dev/null || die "xfrmd did not come up"
lab_gw_route_pool "$prefix"
ip netns exec "$LAB_NS_GW" "$B/iked/mgate-iked" -c "$mg/mgate.conf" 2>>"$mg/iked.log" &
iked_pid=$!
wait_until 30 grep -q 'listening for IKE on' "$mg/iked.log" ||
  { tail -20 "$mg/iked.log"; die "iked did not start listening"; }
pass "gw: mgate-iked with the RSA-4096 chain, fragment_size 576, cookie_threshold 10"

# --- the device: strongSwan with fragment_size 576 --------------------------------------
conf=$work/conf
sw_conf_new "$conf/device" || die "sw_conf_new"
sw_conf_client "$conf/device" frag "$pki" aes128gcm16-prfsha256-ecp256 aes128gcm16 cert=device \
  ca=root remote_id=gw.mgate.test || die "sw_conf_client"
# charon sends the intermediate with its own certificate (it completes the chain).
cp "$pki/inter.crt" "$conf/device/swanctl/x509ca/inter.crt"
sw_conf_charon "$conf/device" <<'EOF'
charon {
  fragment_size = 576
}
EOF
sw_start "$LAB_NS_DEVICE" device "$conf/device" || die "charon did not start in device"
sw_load device || die "swanctl --load-all failed"

connect_and_ping() { # connect_and_ping WHAT
  local vip out got
  if ! sw_initiate device frag; then
    fail "$1: swanctl --initiate failed after $SW_SECONDS s"
    indent <"$SW_OUT"
    tail -30 "$mg/iked.log" | indent
    return 1
  fi
  pass "$1: connected in $SW_SECONDS s"
  vip=$(sw_vip device frag) && vip=${vip%%$'\n'*}
  out=$(lab_device ping -4 -n -c 3 -i 0.2 -W 5 -I "$vip" "$LAB_CORP_IP" 2>&1)
  got=$(awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /^received/) print $(i-1) }' <<<"$out")
  if [[ $got == 3 ]]; then
    pass "$1: 3/3 pings $vip -> $LAB_CORP_IP through the tunnel"
  else
    fail "$1: ${got:-0}/3 pings $vip -> $LAB_CORP_IP"
    indent <<<"$out"
  fi
}

# --- (a) IKE_AUTH in fragments, both ways ------------------------------------------------
connect_and_ping "fragmented IKE_AUTH"
n_in=$(skf in) n_out=$(skf out)
echo "SKF datagrams seen by gw's kernel: ${n_in:-?} in, ${n_out:-?} out"
if ((${n_in:-0} >= 3)); then
  pass "the device's IKE_AUTH came in $n_in SKF fragments"
else
  fail "only ${n_in:-0} SKF datagrams from the device (want >= 3)"
fi
if ((${n_out:-0} >= 3)); then
  pass "iked's IKE_AUTH response went out in $n_out SKF fragments"
else
  fail "only ${n_out:-0} SKF datagrams from iked (want >= 3)"
fi
sleep 1.2 # iked's status line is refreshed every second
st=$(detail)
echo "iked status: $st"
if [[ $st =~ fragments\ ([0-9]+)\ in,\ ([0-9]+)\ out ]] &&
   ((BASH_REMATCH[1] == n_in && BASH_REMATCH[2] == n_out)); then
  pass "iked's status counts the same fragments"
else
  fail "iked's status does not count ${n_in:-?} in, ${n_out:-?} out"
fi
big_in=$(skf big_in) big_out=$(skf big_out)
if [[ $big_in == 0 && $big_out == 0 ]]; then
  pass "every SKF datagram, either way, fits in 576 octets (IP total length)"
else
  fail "SKF datagrams over 576 octets: ${big_in:-?} in, ${big_out:-?} out"
fi
sw_terminate device frag >/dev/null 2>&1 || fail "terminating the first tunnel failed"
wait_until 10 test "$(MGCTL --json ike list | jq length)" -eq 0 || fail "gw kept an IKE SA"

# --- (b) a half-open flood turns cookies on; the real client still connects -------------
flood_ip=${LAB_DEVICE_IP%.*}.3
lab_device ip addr add "$flood_ip/24" dev "$LAB_DEVICE_IF"
flood=$(lab_device "$B/tests/ike_initiator" --gw "$LAB_GW_IP" --ca "$pki/root.crt" \
  --cert "$pki/device.crt" --key "$pki/device.key" --src "$flood_ip" --init-only \
  --count 15 --parallel 5 --timeout 3000 --tries 2 2>&1)
echo "$flood" | tail -1
half=$(MGCTL --json ike list | jq '[.[] | select(.state == "half-open")] | length')
if ((half >= 10 && half <= 15)); then
  pass "the flood from $flood_ip left $half half-open IKE SAs (bounded: 15 sent)"
else
  fail "the flood left $half half-open IKE SAs (want 10..15)"
fi
sleep 1.2
st=$(detail)
echo "iked status: $st"
if [[ $st == *"(cookies on)"* ]]; then
  pass "iked's status says cookies are on"
else
  fail "iked's status does not say cookies are on"
fi
mark=$(wc -l <"$mg/iked.log")
connect_and_ping "during the flood"
new=$(tail -n +"$((mark + 1))" "$mg/iked.log")
if grep -q "IKE_SA_INIT from $LAB_DEVICE_IP\[[0-9]*\]: COOKIE required, asked for" <<<"$new" &&
   grep -q "IKE_SA_INIT from $LAB_DEVICE_IP\[[0-9]*\]: valid COOKIE" <<<"$new"; then
  pass "strongSwan was asked for a COOKIE and came back with a valid one"
else
  fail "no COOKIE round trip with $LAB_DEVICE_IP in iked's log"
  grep -i cookie <<<"$new" | tail -5 | indent
fi
sw_terminate device frag >/dev/null 2>&1

kill -TERM "$iked_pid"
wait "$iked_pid"
rc=$?
iked_pid=
((rc == 0)) && pass "iked exits 0 on SIGTERM" || fail "iked exited $rc"
if grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$mg/iked.log"; then
  fail "sanitizer reports in iked's log"
fi
if ((fails)); then
  echo "--- iked.log (last 40 lines)"
  grep -v '<7>' "$mg/iked.log" | tail -40 | indent
  echo "--- device charon log (last 30 lines)"
  sw_log device | tail -30 | indent
fi
echo "$fails failure(s)"
((fails == 0))
