#!/bin/bash
# Authorization by policyd: mgate-iked with authorization = policyd against
# fake_policyd (Authorize answered from a grants file, AccessChanged pushed
# on SIGUSR1), mgate-xfrmd and ike_initiator, in a network namespace of its
# own. Checks real outcomes: the notify the initiator gets, the selectors
# and DNS it is given, the kernel policies (`ip xfrm policy`) and SAs,
# `mgatectl ike list`, iked's log lines.
#
# The CHILD SA needs ESP SAs in the kernel. On a kernel without ESP (this
# host's), the allow cases run childless and the checks of kernel policies
# and of AccessChanged narrowing are skipped (said in the output); in the
# VM (ctest vm_iked_authz, Debian's kernel) everything runs.
# Usage: iked_authz.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
. "$(dirname "${BASH_SOURCE[0]}")/iked_env.sh"
ikenv_enter mgate-authz -- "$@"

# Does this kernel take ESP SAs? (The host's has no CONFIG_INET_ESP.)
ESP=0
if ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 reqid 1 mode tunnel \
    aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128 2>/dev/null; then
    ESP=1
    ip xfrm state flush
fi
echo "# kernel $(uname -r): ESP SAs $([[ $ESP == 1 ]] && echo yes || echo 'no: childless, kernel-policy checks skipped')"

# --- PKI: device-1 (pki.sh) and device-2 from the same CA ---------------------------
ikenv_pki ecdsa
openssl req -x509 -CA "$P/ca.crt" -CAkey "$P/ca.key" -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -nodes -subj "/O=mgate test/CN=device-2" -days 30 -addext keyUsage=digitalSignature \
    -keyout "$T/d2.key" -out "$T/d2.crt" 2>/dev/null || { echo "FAIL - device-2 certificate"; exit 1; }
fpr() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }
F1=$(fpr "$P/device.crt") F2=$(fpr "$T/d2.crt")

ikenv_conf <<CONF
# what ca-only would give; with policyd the grant replaces it
subnets = 10.0.0.0/8
dns = 192.0.2.53
authorization = policyd
authorization_timeout = 1s
authorization_cache_max = 5m
CONF
GRANTS=$T/grants EVENTS=$T/events
: > "$GRANTS"
ikenv_ini --timeout 2500 --tries 1
CHILD=()
[[ $ESP == 1 ]] || CHILD=(--childless)
dev1() { $INI --cert "$P/device.crt" --key "$P/device.key" "${CHILD[@]}" "$@"; }
dev2() { $INI --cert "$T/d2.crt" --key "$T/d2.key" "${CHILD[@]}" "$@"; }
spi_of() { sed -n 's/^established spi_i=\([0-9a-f]*\) .*/\1/p' <<<"$1"; }
rc_says() { [[ $rc == "$1" ]] && grep -q -- "$2" <<<"$out"; }
# The kernel's policies as "dir src dst proto port" lines, sorted (socket
# policies left out).
pols() {
    ip xfrm policy | awk '/^src/ {s=$2; d=$4; p=""; pt=""
        for (i = 5; i <= NF; i++) { if ($i == "proto") p=$(i+1); if ($i == "sport" || $i == "dport") pt=$i" "$(i+1) }
        getline; if ($1 == "dir") print $2, s, d, p, pt}' | sed 's/ *$//' | sort
}
nstates() { ip xfrm state | grep -c '^src'; }
# (xfrmd's per-socket bypass policies of the IKE sockets are not counted)
npols() { ip xfrm policy | grep -c '^[[:space:]]*dir '; }
hold() { # hold FILE ARGS...: a device holding its IKE SA, output in FILE
    local f=$1; shift
    "$@" --hold 20000 > "$f" & HOLD=$!
    until_ok 8 grep -q '^holding\|^IKE_AUTH: refused\|no answer' "$f"
}
# ms since $1 (date +%s%N)
since_ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

ikenv_start_xfrmd || bad "xfrmd did not come up"
start_fake() {
    FAKE_POLICYD_GRANTS=$GRANTS FAKE_POLICYD_EVENTS=$EVENTS \
        "$B/tests/fake_policyd" -c "$CONF" 2>>"$T/fake.log" & FPID=$!
    until_ok 5 $CTL status policyd >/dev/null
}
check "fake policyd starts" start_fake
check "iked starts (authorization: policyd) and gets its sockets" ikenv_start_iked
check "... says authorization is policyd" grep -q 'authorization: policyd' "$T/iked.log"
subscribed() { grep -q 'subscribe' "$T/fake.log" || $CTL --json status policyd | jq -e '.[0].peers >= 1' >/dev/null; }
until_ok 5 subscribed

# --- deny ------------------------------------------------------------------------------
echo "$F1 deny cache=60 reason=blocked by the admin" > "$GRANTS"
out=$(dev1); rc=$?; echo "$out"
check "deny: AUTHENTICATION_FAILED (exit 2)" rc_says 2 'notify AUTHENTICATION_FAILED'
check "... policyd was asked with the certificate's fingerprint and serial" \
    grep -q "Authorize subject=CN=device-1,O=mgate test serial=[0-9A-Fa-f]* fpr=$F1 peer=127.0.0.1" "$T/fake.log"
check "... one log line with policyd's reason" \
    test "$(nlog 'refused: AUTHENTICATION_FAILED: denied by policyd: blocked by the admin')" -eq 1
check "... no IKE SA kept" test "$(nsas)" -eq 0
check "... no kernel state (no SA, no policy)" test "$(nstates)" -eq 0 -a "$(npols)" -eq 0

out=$(dev2); rc=$?
check "a device policyd does not know: AUTHENTICATION_FAILED" rc_says 2 'notify AUTHENTICATION_FAILED'
check "... logged with policyd's reason" grep -q 'CN=device-2.*denied by policyd: unknown device' "$T/iked.log"

# --- allow, narrowed --------------------------------------------------------------------
# Granted: 10.1.0.0/24 any, 10.2.0.0/24 TCP 443, 10.9.0.0/16 any. The device
# proposes 10.0.0.0-10.2.255.255 only: 10.9.0.0/16 falls outside.
# Two selectors make no sense (host bits set; a port with ICMP): left out,
# one log line each.
echo "$F1 allow cache=60 sel=10.1.0.0/24,10.2.0.0/24:6:443,10.9.0.0/16,10.5.0.1/24,10.6.0.0/24:1:80 dns=10.1.0.53 reason=policy corp" > "$GRANTS"
hold "$T/h1.out" dev1 --tsr 10.0.0.0-10.2.255.255
HOLDOUT=$T/h1.out
out=$(cat "$T/h1.out"); echo "$out"
spi1=$(spi_of "$out")
vip=$(sed -n 's/^vip=\([0-9.]*\) .*/\1/p' <<<"$out")
check "allow: established ($spi1, vip $vip)" test -n "$spi1" -a -n "$vip"
check "... the grant's DNS server in the CFG_REPLY, not [iked] dns" \
    test "$(grep '^dns:' <<<"$out")" = "dns: 10.1.0.53"
json=$(list); echo "$json"
check "ike list: access allow" test "$(jq -r '.[0].access' <<<"$json")" = allow
check "... the two senseless selectors left out, each logged" \
    test "$(nlog "selector '10.5.0.1/24' proto 0 port 0 left out: address bits set beyond")" -eq 1 \
    -a "$(nlog "selector '10.6.0.0/24' proto 1 port 80 left out: a port without TCP")" -eq 1
check "... with policyd's reason, not from the cache" \
    test "$(jq -r '.[0].access_reason + " " + (.[0].access_cached|tostring)' <<<"$json")" = "policy corp false"
if [[ $ESP == 1 ]]; then
    check "... TSr narrowed to grant ∩ proposal (initiator's view)" \
        test "$(grep '^tsr:' <<<"$out")" = "tsr: 10.1.0.0-10.1.0.255 proto 0 ports 0-65535 10.2.0.0-10.2.0.255 proto 6 ports 443-443"
    check "... ike list: the CHILD SA's selectors" \
        test "$(jq -c '.[0].children[0].local_ts' <<<"$json")" = '["10.1.0.0/24","10.2.0.0/24 tcp/443"]'
    want=$(printf '%s\n' "fwd $vip/32 10.1.0.0/24" "fwd $vip/32 10.2.0.0/24 tcp dport 443" \
        "in $vip/32 10.1.0.0/24" "in $vip/32 10.2.0.0/24 tcp dport 443" \
        "out 10.1.0.0/24 $vip/32" "out 10.2.0.0/24 $vip/32 tcp sport 443" | sort)
    pols | sed 's/^/  policy: /'
    check "kernel policies: exactly the narrowed selectors (6: in/fwd/out x 2, TCP 443 with ports)" \
        test "$(pols)" = "$want"
    check "... and the CHILD SA's two ESP SAs" test "$(nstates)" -eq 2

    # --- AccessChanged: narrower (quarantine) ---------------------------------------------
    echo "$F1 quarantine sel=10.1.0.0/24:6:80 reason=non-compliant: OS too old" > "$EVENTS"
    want=$(printf '%s\n' "fwd $vip/32 10.1.0.0/24 tcp dport 80" "in $vip/32 10.1.0.0/24 tcp dport 80" \
        "out 10.1.0.0/24 $vip/32 tcp sport 80" | sort)
    pols_are() { [[ $(pols) == "$want" ]]; }
    t0=$(date +%s%N); kill -USR1 "$FPID"
    until_ok 3 pols_are; ms=$(since_ms "$t0")
    pols | sed 's/^/  policy: /'
    # The time is reported, not asserted: speed is the benchmarks' job, and
    # a TCG guest on a busy host is no measure (docs/performance.md).
    check "AccessChanged (quarantine, TCP 80 only): kernel policies replaced (in ${ms} ms)" \
        test "$(pols)" = "$want"
    echo "TIMING AccessChanged quarantine -> kernel policies replaced: $ms ms"
    json=$(list)
    check "... same IKE SA, no reconnect; its ESP SAs stay" \
        test "$(jq -r '.[0].spi_i' <<<"$json")" = "$spi1" -a "$(nstates)" -eq 2
    check "... ike list: access quarantine, selectors 10.1.0.0/24 tcp/80" \
        test "$(jq -c '[.[0].access, .[0].children[0].local_ts]' <<<"$json")" = '["quarantine",["10.1.0.0/24 tcp/80"]]'
    check "... logged" grep -q 'access now quarantine (was allow): kernel policies replaced by 10.1.0.0/24 tcp/80' "$T/iked.log"
    $CTL ike list

    # --- the device reconnects with another grant: the old tunnel's other
    # policies go with it (the shared ones stay, updated in place) ----------------
    echo "$F1 allow cache=60 sel=10.3.0.0/24,10.1.0.0/24:6:80 reason=policy corp v2" > "$GRANTS"
    kill $HOLD 2>/dev/null; wait $HOLD 2>/dev/null
    hold "$T/h2.out" dev1
    HOLDOUT=$T/h2.out
    want=$(printf '%s\n' "fwd $vip/32 10.1.0.0/24 tcp dport 80" "fwd $vip/32 10.3.0.0/24" \
        "in $vip/32 10.1.0.0/24 tcp dport 80" "in $vip/32 10.3.0.0/24" \
        "out 10.1.0.0/24 $vip/32 tcp sport 80" "out 10.3.0.0/24 $vip/32" | sort)
    until_ok 3 pols_are
    pols | sed 's/^/  policy: /'
    check "a new connection with another grant replaces the old one: policies exactly the new grant's" \
        test "$(pols)" = "$want"
    two_states() { [[ $(nstates) == 2 ]]; }
    check "... and only its two ESP SAs" until_ok 3 two_states
else
    echo "# SKIP (no ESP on this kernel): kernel policies and AccessChanged narrowing"
fi

# --- AccessChanged: deny -------------------------------------------------------------------
echo "$F1 deny reason=device reported stolen" > "$EVENTS"
kgone() { [[ $(nstates) == 0 && $(npols) == 0 ]]; }
gone() { kgone && [[ $(nsas) == 0 ]]; }
t0=$(date +%s%N); kill -USR1 "$FPID"
until_ok 3 kgone; ms=$(since_ms "$t0")
check "AccessChanged (deny): kernel SAs and policies gone (in ${ms} ms)" kgone
echo "TIMING AccessChanged deny -> kernel state gone: $ms ms"
check "... and the IKE SA" gone
wait $HOLD; rc=$?; HOLD=
check "... the device got a DELETE" grep -q '^DELETE received' "$HOLDOUT"
check "... logged with the reason" grep -q 'access withdrawn by policyd: device reported stolen' "$T/iked.log"

# --- policyd down: the cache ------------------------------------------------------------------
echo "$F1 allow cache=600 sel=10.1.0.0/24 reason=policy corp" > "$GRANTS"
out=$(dev1 --retransmit); rc=$?
check "allowed again (grant cached for min(600 s, 5 m))" test $rc -eq 0
check "... a retransmitted IKE_AUTH gets the same answer, byte for byte" \
    grep -q '^retransmit IKE_AUTH: identical' <<<"$out"
kill -TERM "$FPID"; wait "$FPID"; FPID=
check "fake policyd stopped; iked notices" until_ok 5 grep -q 'policyd is stopping\|policyd.*disconnect\|policyd.*closed' "$T/iked.log"
out=$(dev1); rc=$?; echo "$out"
check "policyd down: device-1 served from its cached grant (exit 0)" test $rc -eq 0
check "... logged as such" grep -q 'CN=device-1.*policyd is not connected; its cached grant (allow' "$T/iked.log"
check "... ike list says cached" test "$(list | jq -r '.[0].access_cached')" = true
[[ $ESP == 1 ]] && check "... with the cached selectors" \
    test "$(list | jq -c '.[0].children[0].local_ts')" = '["10.1.0.0/24"]'
out=$(dev2); rc=$?; echo "$out"
check "policyd down: device-2 (no cached grant) refused: AUTHENTICATION_FAILED" \
    rc_says 2 'notify AUTHENTICATION_FAILED'
check "... a clear log line (fail closed)" \
    grep -q 'CN=device-2.*policyd is not connected and no cached grant for its certificate: refused (fail closed)' "$T/iked.log"

# --- policyd up but silent: the timeout ---------------------------------------------------------
printf '%s\n' "$F1 allow hang" "$F2 allow hang" > "$GRANTS"
conns=$(nlog 'connected to policyd')
check "fake policyd again" start_fake
reconnected() { [[ $(nlog 'connected to policyd') -gt $conns ]]; }
check "... iked reconnects" until_ok 10 reconnected
t0=$(date +%s%N); out=$(dev2); rc=$?; ms=$(since_ms "$t0")
check "policyd silent: device-2 refused after the 1 s timeout (${ms} ms)" \
    rc_says 2 'notify AUTHENTICATION_FAILED'
check "... logged" grep -q 'CN=device-2.*policyd did not answer within 1000 ms and no cached grant' "$T/iked.log"
asks=$(grep -c 'Authorize subject=CN=device-1' "$T/fake.log") oks=$(nlog 'IKE_AUTH ok: .*device-1')
# The device retransmits IKE_AUTH every 400 ms while iked waits for policyd.
out=$(dev1 --timeout 400 --tries 5); rc=$?; echo "$out"
check "policyd silent: device-1 served from its cached grant" test $rc -eq 0
check "... logged" grep -q 'CN=device-1.*policyd did not answer within 1000 ms; its cached grant' "$T/iked.log"
check "... its retransmissions meanwhile were dropped: policyd asked once, IKE_AUTH done once" \
    test "$(grep -c 'Authorize subject=CN=device-1' "$T/fake.log")" -eq $((asks + 1)) \
    -a "$(nlog 'IKE_AUTH ok: .*device-1')" -eq $((oks + 1))
echo "$F1 deny gen=100 reason=blocked while policyd was away" > "$EVENTS"
t0=$(date +%s%N); kill -USR1 "$FPID"
until_ok 3 gone; ms=$(since_ms "$t0")
check "iked resubscribed to topic access after the reconnect: a DENY pushed now ends device-1's tunnel (${ms} ms)" \
    gone

# --- end ------------------------------------------------------------------------------------------
check "iked exits 0 on SIGTERM" ikenv_stop_iked
kill -TERM "$FPID"; wait "$FPID"; FPID=
ikenv_stop_xfrmd
[[ $FAIL != 0 ]] && { echo "--- fake.log"; tail -20 "$T/fake.log"; }
ikenv_end
