#!/bin/bash
# mgate-xfrmd through its socket on a real ESP kernel (runs inside
# tests/vm/vm-run). Two daemons, one in the lab's device namespace and one in
# gw, each with its own config, run_dir and state_dir; every SA and policy is
# programmed through them with tests/xfrmd_req:
#
#   device (VIP 198.18.0.2 on lo) ==ESP 192.0.2.2 <-> 192.0.2.1== gw --- corp 203.0.113.0/24
#
#   1. a tunnel carries pings; `mgatectl --json xfrm sa` counters equal
#      `ip -s xfrm state` for every SA, and moved
#   2. every algorithm the API offers: add, ping, delete, kernel state empty
#   3. NAT-T: ESP in UDP 4500 after both daemons opened their IKE sockets;
#      nft counts our SPIs inside UDP/4500 on gw's link and no bare ESP
#   4. soft then hard byte-lifetime expire events through xfrmd's socket
#   5. bad input on a real kernel: SPI in use, unknown algorithm, wrong key
#      length, family mismatch, nonsense selectors: an error each, state unchanged
#   6. SIGKILL of gw's xfrmd during a ping: no ping lost; restart, census,
#      reconcile --dry-run, then a real reconcile cuts the tunnel (the ping fails)
#
# Usage: xfrmd_vm.sh BUILD_DIR. Exit 77 outside the VM (no ESP).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
B=$(cd "${1:?usage: xfrmd_vm.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lab/lab.sh
. "$here/../lab/lab.sh"


die() { echo "FAIL - $*"; FAIL=$((FAIL + 1)); finish; }
indent() { sed 's/^/    | /'; }
t0=$(date +%s.%N)
stamp() { echo "--- $* (at $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"; }
# exited PID: the process is gone or a zombie (a child not yet waited for)
exited() { local st; st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null); [[ -z $st || $st == Z ]]; }
# until_ok SECONDS CMD...: bounded poll

[[ $(id -u) == 0 ]] || { echo "SKIP: needs root"; exit 77; }
for t in ip ping jq awk; do command -v $t >/dev/null || { echo "FAIL - $t not installed"; exit 1; }; done
for f in xfrmd/mgate-xfrmd tools/mgatectl tests/xfrmd_req; do
    [[ -x $B/$f ]] || { echo "FAIL - $B/$f not built"; exit 1; }
done

prefix=xd$$-
T=$(mktemp -d /tmp/mgate-xfrmd-vm.XXXXXX)
DPID='' GPID=''
cleanup() {
    [[ -n $DPID ]] && kill -9 "$DPID" 2>/dev/null
    [[ -n $GPID ]] && kill -9 "$GPID" 2>/dev/null
    lab_down "$prefix"
    rm -rf "$T"
}
trap cleanup EXIT
finish() {
    for r in device gw; do
        grep -E 'AddressSanitizer|runtime error' "$T/$r.log" && bad "$r: sanitizer reports in xfrmd's log"
        if ((FAIL)); then echo "--- $r xfrmd.log (no debug lines)"; grep -v '^<7>' "$T/$r.log" | tail -40; fi
    done
    check_summary
    exit
}

lab_up "$prefix" >/dev/null || { echo "FAIL - lab_up"; exit 1; }
D=$LAB_NS_DEVICE G=$LAB_NS_GW
DEV=$LAB_DEVICE_IP GW=$LAB_GW_IP CORP=$LAB_CORP_IP CORPNET=$LAB_CORP_NET VIP=$LAB_POOL_FIRST
if ! probe=$(ip -n "$D" xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x100 mode tunnel \
    aead 'rfc4106(gcm(aes))' "0x$(printf '%040d' 0)" 128 2>&1); then
    [[ ${MGATE_VM:-0} == 1 ]] && { echo "FAIL - the VM kernel cannot install an ESP SA: $probe"; exit 1; }
    echo "SKIP: this kernel has no ESP ($probe); run under tests/vm/vm-run"
    exit 77
fi
ip -n "$D" xfrm state flush
# The virtual IP lives on the device's lo; gw routes it towards the device
# (its out policy then turns that route into the tunnel).
ip -n "$D" addr add "$VIP/32" dev lo
ip -n "$G" route add "$VIP/32" via "$DEV" dev "$LAB_GW_DEVICE_IF"
stamp "lab up, ESP available"

# --- the two daemons --------------------------------------------------------------
for r in device gw; do
    addr=$DEV
    [[ $r == gw ]] && addr=$GW
    mkdir -p "$T/$r"
    cat > "$T/$r.conf" <<CONF
[global]
run_dir = $T/$r/run
state_dir = $T/$r/state
log_level = debug
[xfrmd]
ike_listen = $addr
CONF
done
REQ_device="$B/tests/xfrmd_req $T/device/run/xfrmd.sock"
REQ_gw="$B/tests/xfrmd_req $T/gw/run/xfrmd.sock"
ctl() { local r=$1; shift; "$B/tools/mgatectl" -c "$T/$r.conf" "$@"; }
ns_of() { [[ $1 == gw ]] && echo "$G" || echo "$D"; }
# start ROLE: xfrmd in ROLE's namespace; ready means answering (a SIGKILLed
# xfrmd leaves its socket file behind).
start() {
    local r=$1 pid
    ip netns exec "$(ns_of "$r")" "$B/xfrmd/mgate-xfrmd" -c "$T/$r.conf" 2>>"$T/$r.log" &
    pid=$!
    if [[ $r == gw ]]; then GPID=$pid; else DPID=$pid; fi
    until_ok 20 ctl "$r" status xfrmd >/dev/null
}
check "xfrmd starts in the device namespace" start device
check "xfrmd starts in the gw namespace" start gw
check "device xfrmd's census: nothing of mgate's yet" grep -q 'kernel holds 0 SAs and 0 policies' "$T/device.log"

# req ROLE ARGS...: xfrmd_req against ROLE's daemon, output indented
req() { local r=$1 v; shift; v=REQ_$r; ${!v} "$@" 2>&1 | indent; return "${PIPESTATUS[0]}"; }
# tun ROLE add|del SPI_D2G SPI_G2D REQID [opts]: one end of the tunnel
tun() {
    local r=$1 a=$2 sdg=$3 sgd=$4 rq=$5
    shift 5
    if [[ $r == device ]]; then
        req device tunnel "$a" --local "$DEV" --remote "$GW" --local-net "$VIP/32" --remote-net "$CORPNET" \
            --spi-out "$sdg" --spi-in "$sgd" --reqid "$rq" "$@"
    else
        req gw tunnel "$a" --local "$GW" --remote "$DEV" --local-net "$CORPNET" --remote-net "$VIP/32" \
            --spi-out "$sgd" --spi-in "$sdg" --reqid "$rq" "$@"
    fi
}
# tunnel add|del ...: both ends (a delete goes on at gw when an op failed at the device)
tunnel() {
    local rc=0
    tun device "$@" || rc=1
    [[ $1 == add && $rc != 0 ]] && return 1
    tun gw "$@" || rc=1
    return $rc
}
# pings COUNT [SIZE] [INTERVAL] -> replies received (ping's own report)
pings() {
    local out
    out=$(ip netns exec "$D" ping -n -c "$1" -s "${2:-56}" -i "${3:-0.2}" -W 3 -I "$VIP" "$CORP" 2>&1)
    printf '%s\n' "$out" | tail -3 | indent >&2
    printf '%s\n' "$out" | awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /^received/) print $(i-1); n = 1 }
                                 END { if (!n) print 0 }'
}
# ip_counters NS SRC DST SPI -> "bytes packets" as iproute2 reports them
ip_counters() {
    ip -n "$1" -s xfrm state get src "$2" dst "$3" proto esp spi "$4" 2>/dev/null |
        awk '/lifetime current:/ { getline; gsub(/[(),a-z]/, " "); print $1, $2; found = 1; exit }
             END { if (!found) print "none" }'
}
# ctl_counters ROLE SPI -> "bytes packets" as mgatectl (xfrmd's dump) reports them
ctl_counters() {
    ctl "$1" --json xfrm sa | jq -r --arg s "$(printf '0x%08x' "$2")" \
        '[.[] | select(.spi == $s)] | if length == 1 then "\(.[0].bytes) \(.[0].packets)" else "none" end'
}
nsa() { ip -n "$(ns_of "$1")" xfrm state | grep -c '^src '; }
# SPD policies only: the IKE sockets' bypass policies show as "socket in/out".
npol() { ip -n "$(ns_of "$1")" xfrm policy | grep -cE '^\s+dir '; }
empty() { [[ $(nsa device) == 0 && $(npol device) == 0 && $(nsa gw) == 0 && $(npol gw) == 0 ]]; }

# --- 1. a tunnel, pings, counters ----------------------------------------------------
stamp "1. tunnel through both daemons"
if tunnel add 0x1001 0x2001 0x4d000001 --enc aes256gcm16 --esn --replay 128; then
    ok "tunnel AES-GCM-256+ESN programmed through both daemons (5 ops each)"
else bad "tunnel setup through xfrmd"; fi
got=$(pings 5)
check "5/5 pings $VIP -> $CORP through the tunnel (got $got)" test "$got" = 5
for v in "device $D $DEV $GW 0x1001 device-out" "gw $G $DEV $GW 0x1001 gw-in" \
    "gw $G $GW $DEV 0x2001 gw-out" "device $D $GW $DEV 0x2001 device-in"; do
    read -r r ns src dst spi what <<<"$v"
    c=$(ctl_counters "$r" "$spi")
    i=$(ip_counters "$ns" "$src" "$dst" "$spi")
    check "$what SA $spi: mgatectl says '$c', ip -s xfrm state says '$i'" test "$c" = "$i"
    check "$what SA $spi: counters moved (>= 5 packets)" test "${c#* }" != none -a "${c#* }" -ge 5 -a "${c% *}" -gt 0
done
check "mgatectl lists exactly gw's 2 SAs, both ours" \
    test "$(ctl gw --json xfrm sa | jq '[.[] | select(.ours)] | length')" = 2
check "mgatectl lists gw's 3 policies" test "$(ctl gw --json xfrm policy | jq length)" = 3
st=$(ip -n "$G" xfrm state get src "$DEV" dst "$GW" proto esp spi 0x1001)
check "ESN and a 128-packet window on gw's inbound SA" \
    test "$(grep -cE 'flag.* esn|replay_window 128' <<<"$st")" = 2
ctl gw xfrm sa | indent
tunnel del 0x1001 0x2001 0x4d000001
check "tunnel deleted through both daemons: kernel state empty" empty

# --- 2. every algorithm ----------------------------------------------------------------
stamp "2. every algorithm"
n=0
for alg in aes128gcm16 aes256gcm16 chacha20poly1305 aes128+sha256 aes128+sha384 aes128+sha512 \
    aes256+sha256 aes256+sha384 aes256+sha512; do
    n=$((n + 1))
    opts=(--enc "${alg%+*}")
    [[ $alg == *+* ]] && opts+=(--integ "${alg#*+}")
    sdg=$((0x1100 + n)) sgd=$((0x2100 + n)) rq=$((0x4d000100 + n))
    if ! tunnel add "$sdg" "$sgd" "$rq" "${opts[@]}"; then
        bad "$alg: tunnel add refused"
    else
        got=$(pings 2)
        check "$alg: 2/2 pings through the tunnel (got $got)" test "$got" = 2
        c=$(ip_counters "$G" "$DEV" "$GW" "$sdg")
        check "$alg: gw's inbound SA decrypted them ($c)" test "${c#* }" != none -a "${c#* }" -ge 2
        case $alg in
        aes*gcm16) k='rfc4106\(gcm\(aes\)\)' ;;
        chacha*) k='rfc7539esp\(chacha20,poly1305\)' ;;
        *+sha256) k='hmac\(sha256\).* 128' ;;
        *+sha384) k='hmac\(sha384\).* 192' ;;
        *+sha512) k='hmac\(sha512\).* 256' ;;
        esac
        check "$alg: the kernel holds it as ${k//\\/}" \
            grep -qE "$k" <(ip -n "$G" xfrm state get src "$GW" dst "$DEV" proto esp spi "$sgd")
    fi
    tunnel del "$sdg" "$sgd" "$rq" >/dev/null
    check "$alg: deleted through both daemons, kernel state empty" empty
done

# --- 3. NAT-T ----------------------------------------------------------------------------
stamp "3. NAT-T (ESP in UDP 4500)"
for r in device gw; do
    v=REQ_$r
    out=$(${!v} ike-sockets 2>&1)
    echo "$out" | indent
    check "$r: xfrmd opened and passed its IKE sockets (500 and 4500)" grep -q 'port 4500 natt' <<<"$out"
    check "$r: xfrmd keeps its UDP 4500 ESP-in-UDP socket" \
        grep -q ':4500 .*mgate-xfrmd' <(ip netns exec "$(ns_of "$r")" ss -ulnp)
done
have_nft=0
if command -v nft >/dev/null && ip netns exec "$G" nft -f - <<EOF; then have_nft=1; fi
table inet natt {
  counter udp_in {}
  counter udp_out {}
  counter esp_bare {}
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    iifname "$LAB_GW_DEVICE_IF" udp dport 4500 @th,64,32 0x1201 counter name udp_in
    iifname "$LAB_GW_DEVICE_IF" meta l4proto esp counter name esp_bare
  }
  chain post {
    type filter hook postrouting priority 300; policy accept;
    oifname "$LAB_GW_DEVICE_IF" udp sport 4500 @th,64,32 0x2201 counter name udp_out
    oifname "$LAB_GW_DEVICE_IF" meta l4proto esp counter name esp_bare
  }
}
EOF
nft_count() { ip netns exec "$G" nft list counter inet natt "$1" | awk '/packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i+1); exit }'; }
check "nft counters on gw's device link loaded" test $have_nft = 1
if tunnel add 0x1201 0x2201 0x4d000200 --enc aes128gcm16 --encap 4500:4500; then
    ok "NAT-T tunnel (UDP-encapsulated SAs) programmed"
else bad "NAT-T tunnel setup"; fi
check "gw's inbound SA is ESP-in-UDP 4500:4500 in the kernel" grep -q 'encap type espinudp sport 4500 dport 4500' \
    <(ip -n "$G" xfrm state get src "$DEV" dst "$GW" proto esp spi 0x1201)
check "mgatectl shows it encapsulated" \
    test "$(ctl gw --json xfrm sa | jq -r '.[] | select(.spi == "0x00001201") | "\(.encap) \(.encap_sport) \(.encap_dport)"')" = "true 4500 4500"
got=$(pings 4)
check "NAT-T: 4/4 pings through the tunnel (got $got)" test "$got" = 4
c=$(ip_counters "$G" "$DEV" "$GW" 0x1201)
check "NAT-T: gw's inbound SA counted them ($c)" test "${c#* }" != none -a "${c#* }" -ge 4
if ((have_nft)); then
    ui=$(nft_count udp_in) uo=$(nft_count udp_out) eb=$(nft_count esp_bare)
    check "NAT-T: $ui UDP/4500 datagrams carrying SPI 0x1201 reached gw (>= 4)" test "${ui:-0}" -ge 4
    check "NAT-T: $uo UDP/4500 datagrams carrying SPI 0x2201 left gw (>= 4)" test "${uo:-0}" -ge 4
    check "NAT-T: no bare ESP on gw's link ($eb)" test "${eb:-1}" = 0
fi
tunnel del 0x1201 0x2201 0x4d000200 >/dev/null
check "NAT-T tunnel deleted, kernel state empty" empty

# --- 4. expire events --------------------------------------------------------------------
stamp "4. byte lifetime -> soft and hard expire events"
# Lifetimes on the device's SAs only: its outbound SA 0x1301 goes soft after
# 3,000 bytes and hard after 6,000; ~1 KB pings: soft at the 4th, hard at the 7th.
tun device add 0x1301 0x2301 0x4d000300 --soft-bytes 3000 --hard-bytes 6000 &&
    tun gw add 0x1301 0x2301 0x4d000300 || bad "expiry tunnel setup"
$REQ_device wait-event sa 40 2 0x1301 > "$T/expire.out" 2>&1 &
waiter=$!
check "subscribed to topic sa" until_ok 10 grep -q subscribed "$T/expire.out"
got=$(pings 7 1000 0.3)
if wait "$waiter"; then ok "soft and hard expire events for SA 0x1301 arrived through xfrmd's socket"
else bad "expire events missing"; fi
indent < "$T/expire.out"
check "... soft first, then hard" \
    test "$(grep -o 'spi 0x00001301 .* \(soft\|hard\)' "$T/expire.out" | awk '{print $NF}' | tr '\n' ' ')" = "soft hard "
check "the kernel removed SA 0x1301 at its hard limit" \
    test "$(ip_counters "$D" "$DEV" "$GW" 0x1301)" = none
check "traffic stopped at the hard limit ($got/7 answered, 4..6 expected)" test "$got" -ge 4 -a "$got" -le 6
tunnel del 0x1301 0x2301 0x4d000300 >/dev/null
check "expiry tunnel deleted, kernel state empty" empty

# --- 5. bad input ------------------------------------------------------------------------
stamp "5. bad input on a real kernel"
tunnel add 0x1501 0x2501 0x4d000500 --enc aes256gcm16 || bad "tunnel setup for the bad-input and restart tests"
got=$(pings 2)
check "the tunnel for the bad-input and restart tests passes pings ($got)" test "$got" = 2
st0=$(ip -n "$G" xfrm state) pol0=$(ip -n "$G" xfrm policy)
# refused WHAT PATTERN xfrmd_req-args...: one bad request on gw, refused with a
# message matching PATTERN, and gw's kernel state exactly as before
refused() {
    local what=$1 pat=$2 out rc
    shift 2
    out=$($REQ_gw "$@" 2>&1)
    rc=$?
    echo "$out" | indent
    check "$what: refused" test $rc -ne 0
    check "$what: the reply says why" grep -qE "$pat" <<<"$out"
    check "$what: gw's SAs and policies unchanged" test "$(ip -n "$G" xfrm state)" = "$st0" -a "$(ip -n "$G" xfrm policy)" = "$pol0"
}
G2D=(--local "$GW" --remote "$DEV" --reqid 0x4d000500)
refused "the same tunnel added twice (every op)" 'failed 5' \
    tunnel add --local "$GW" --remote "$DEV" --local-net "$CORPNET" --remote-net "$VIP/32" \
    --spi-out 0x2501 --spi-in 0x1501 --reqid 0x4d000500 --enc aes256gcm16
refused "SPI 0x2501 in use, other key and algorithm" 'op 0 sa: File exists: SA add spi 0x00002501' \
    sa add "${G2D[@]}" --spi 0x2501 --enc aes128gcm16
refused "unknown algorithm 99" 'Invalid argument: unknown algorithm \(enc 99' \
    sa add "${G2D[@]}" --spi 0x2601 --enc 99
refused "AES-GCM-256 key without its salt (32 bytes)" 'needs a 36-byte key \(salt included\), got 32' \
    sa add "${G2D[@]}" --spi 0x2602 --enc aes256gcm16 --enc-key-len 32
refused "HMAC-SHA2-512 key of 32 bytes" 'HMAC-sha512 needs a 64-byte key, got 32 bytes' \
    sa add "${G2D[@]}" --spi 0x2603 --enc aes128 --integ sha512 --integ-key-len 32
refused "IPv4 source, IPv6 destination" 'address family mismatch: source IPv4, destination IPv6' \
    sa add --local "$GW" --remote "$LAB_DEVICE_IP6" --reqid 0x4d000500 --spi 0x2604
refused "selector /33 on IPv4" 'prefix length /33 out of range for IPv4' \
    sa add "${G2D[@]}" --spi 0x2605 --sel-src "$CORPNET" --sel-dst "$VIP/33"
refused "selector with host bits beyond its prefix" 'selector source 203.0.113.10 has bits set beyond /24' \
    sa add "${G2D[@]}" --spi 0x2606 --sel-src "$CORP/24" --sel-dst "$VIP/32"
refused "selector with ports on GRE" 'selector ports given for protocol 47, which has none' \
    sa add "${G2D[@]}" --spi 0x2607 --sel-src "$CORPNET" --sel-dst "$VIP/32" --sel-proto 47 --sel-dport 80
refused "selector mixing IPv6 and IPv4" 'selector family mismatch' \
    sa add "${G2D[@]}" --spi 0x2608 --sel-src "$LAB_CORP_NET6" --sel-dst "$VIP/32"
got=$(pings 2)
check "the tunnel still passes pings after the bad requests ($got)" test "$got" = 2

# --- 6. SIGKILL of gw's xfrmd, restart, reconcile -------------------------------------------
stamp "6. SIGKILL of gw's xfrmd during traffic"
ip netns exec "$D" ping -n -c 40 -i 0.2 -W 3 -I "$VIP" "$CORP" > "$T/ping.out" 2>&1 &
pinger=$!
sleep 2
kill -9 "$GPID"
wait "$GPID" 2>/dev/null
GPID=
check "gw's xfrmd is gone (its socket is left behind)" test -S "$T/gw/run/xfrmd.sock" -a -z "$(ip netns pids "$G")"
wait "$pinger"
tail -2 "$T/ping.out" | indent
check "no ping lost while gw's xfrmd was dead (40 sent, 40 received, 0% loss)" \
    grep -q '40 packets transmitted, 40 received, 0% packet loss' "$T/ping.out"
check "gw's SAs and policies outlived xfrmd" test "$(nsa gw) $(npol gw)" = "2 3"
check "gw's xfrmd restarts" start gw
check "its census counts the 2 SAs and 3 policies it finds" \
    test "$(grep -o 'kernel holds [0-9]* SAs and [0-9]* policies' "$T/gw.log" | tail -1)" = "kernel holds 2 SAs and 3 policies"
out=$($REQ_gw reconcile --dry-run 2>&1)
echo "$out" | indent
check "reconcile --dry-run reports them" grep -q 'would delete 2 SAs 3 policies; present 2 SAs 3 policies' <<<"$out"
check "... and deletes nothing" test "$(nsa gw) $(npol gw)" = "2 3"
got=$(pings 2)
check "the tunnel still passes pings after restart and dry run ($got)" test "$got" = 2
out=$($REQ_gw reconcile 2>&1)
echo "$out" | indent
check "reconcile keeping nothing deletes them" grep -q 'deleted 2 SAs 3 policies; present 0 SAs 0 policies; failed 0' <<<"$out"
check "gw's kernel state is empty" test "$(nsa gw) $(npol gw)" = "0 0"
got=$(pings 3 56 0.2)
check "the tunnel no longer passes pings (got $got of 3)" test "$got" = 0

# --- the end -----------------------------------------------------------------------------
for r in device gw; do
    v=DPID
    [[ $r == gw ]] && v=GPID
    kill -TERM "${!v}"
    # bounded: a daemon that ignores SIGTERM for 10 s is killed and fails
    until_ok 10 exited "${!v}" || kill -9 "${!v}"
    wait "${!v}"
    rc=$?
    printf -v "$v" '%s' ""
    check "$r: xfrmd exits 0 on SIGTERM" test $rc -eq 0
done
stamp "the end"
finish
