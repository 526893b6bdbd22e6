#!/bin/bash
# policyd's groups, policies, compliance and authorization for the gateway,
# through mgatectl and ipc_probe (Authorize as iked sends it; a subscriber
# on topic "access"): effective policy with its sources, values out of
# range, unknown devices and groups, allow / quarantine / deny with their
# selectors, and an AccessChanged event for every change that alters a
# device's access (policy edit, link, group membership, compliance, state,
# revocation), each with the new grant and a greater generation. Reports
# (assets, policies, compliance) as tables, JSON and CSV.
# Usage: access.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
. "$(dirname "${BASH_SOURCE[0]}")/policyd_env.sh"
pdenv_enter mgate-access -- "$@"

write_conf() {
    pdenv_conf <<CONF
grant_cache = 2m
noncompliant_action = $1
quarantine_subnets = 10.99.0.0/24
quarantine_dns = 10.99.0.53
compliance_min_os = android:13 ios:16.0
CONF
}
write_conf quarantine
pdenv_start

# --- three enrolled devices -------------------------------------------------
$CTL ca init > /dev/null 2>&1
declare -A ID FP SERIAL
for d in 1 2 3; do
    plat=ios; [[ $d == 3 ]] && plat=android
    pw=$($CTL --json device pre-enroll --hwid "HW-$d" --owner o$d --name n$d --platform $plat | jq -r '.[0].password')
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/d$d.key" \
        -subj /CN=x -out "$T/d$d.csr" 2>/dev/null
    $CTL device enroll --hwid "HW-$d" --password "$pw" --csr "$T/d$d.csr" --os-version 16.1 \
        > "$T/d$d.crt" 2>/dev/null || bad "enrollment of HW-$d"
    ID[$d]=$(sql "SELECT id FROM devices WHERE hardware_id = 'HW-$d'")
    FP[$d]=$(openssl x509 -in "$T/d$d.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
    SERIAL[$d]=$(openssl x509 -in "$T/d$d.crt" -noout -serial | cut -d= -f2)
done
D1=${ID[1]} D2=${ID[2]} D3=${ID[3]}
auth() { "$PROBE" policyd "$SOCK" authorize "${FP[$1]}" "${SERIAL[$1]}"; }
# auth_has DEVICE PATTERN: the device's grant matches.
auth_has() { auth "$1" | grep -q -- "$2"; }

"$PROBE" policyd "$SOCK" access 1000 60000 > "$T/events" 2>&1 &
SUB=$!
until_ok 5 has "$T/events" subscribed || bad "the subscriber did not subscribe"
nev() { grep -c "^event serial=$1 " "$T/events"; }
lastev() { grep "^event serial=$1 " "$T/events" | tail -1; }
# wait_ev DEVICE COUNT: until COUNT events for the device's serial.
wait_ev() { until_ok 5 test "$(nev "${SERIAL[$1]}")" -ge "$2"; }

# --- groups -------------------------------------------------------------------
$CTL group create corp/sales/emea > "$T/g.out"; rc=$?
check "group create corp/sales/emea: exit 0, creates the missing ancestors" \
    bash -c "test $rc -eq 0 && grep -q 'created corp corp/sales corp/sales/emea' '$T/g.out'"
$CTL group create corp/it > /dev/null
check "groups are in the database" test "$(sql 'SELECT group_concat(path, " ") FROM (SELECT path FROM groups ORDER BY path)')" = "corp corp/it corp/sales corp/sales/emea"
$CTL group create corp/it 2> "$T/gdup.err"; rc=$?
check "group create of an existing group: exit 1, says so" \
    bash -c "test $rc -eq 1 && grep -q \"group 'corp/it' already exists\" '$T/gdup.err'"
$CTL group create 'corp//x' 2> "$T/gbad.err"; rc=$?
check "group create with a bad path: exit 1, says what a path is" \
    bash -c "test $rc -eq 1 && grep -q 'is not a group path' '$T/gbad.err'"

# --- policies -------------------------------------------------------------------
$CTL policy create base > /dev/null && $CTL policy create sales > /dev/null && $CTL policy create it > /dev/null
$CTL policy set base password.min_length 41 2> "$T/range.err"; rc=$?
cat "$T/range.err"
check "value out of range: exit 1" test $rc -eq 1
check "value out of range: the error names the setting and its range" \
    has "$T/range.err" "password.min_length must be a whole number from 1 to 40"
check "value out of range: nothing stored" test "$(sql 'SELECT count(*) FROM policy_settings')" = 0
check "value out of range: the refusal is audited" \
    test "$(sql "SELECT count(*) FROM audit WHERE action = 'policy-set-refused' AND detail LIKE '%from 1 to 40%'")" = 1
$CTL policy set base vpn.ports tcp/1-100 2> "$T/wide.err"; rc=$?
check "a port range over 64 ports: refused, says why" \
    bash -c "test $rc -eq 1 && grep -q 'vpn.ports: .* at most 64 ports' '$T/wide.err'"
$CTL policy set base vpn.subnets 10.1.0.1/24 2> "$T/host.err"; rc=$?
check "a prefix with host bits: refused" bash -c "test $rc -eq 1 && grep -q 'host bits zero' '$T/host.err'"
$CTL policy set base no.such 1 2> "$T/nosuch.err"; rc=$?
check "an unknown setting: refused, the settings are listed" \
    bash -c "test $rc -eq 1 && grep -q \"no setting 'no.such'; the settings are password.required\" '$T/nosuch.err'"
$CTL policy set ghost password.history 3 2> "$T/ghost.err"; rc=$?
check "a setting on an unknown policy: refused" bash -c "test $rc -eq 1 && grep -q \"no policy 'ghost'\" '$T/ghost.err'"

$CTL policy set base password.required yes > /dev/null
$CTL policy set base password.min_length 8 > /dev/null
$CTL policy set base vpn.subnets 10.1.0.0/24 10.2.0.0/24 > /dev/null
$CTL policy set base vpn.ports tcp/443 udp/53 tcp/8000-8002 > /dev/null
$CTL policy set base vpn.dns 10.0.0.53 > /dev/null
$CTL policy set sales password.min_length 12 > /dev/null
$CTL policy set sales restrict.camera block > /dev/null
$CTL policy set it vpn.tunnel full > /dev/null
check "settings are stored in canonical form" \
    test "$(sql "SELECT value FROM policy_settings WHERE setting = 'vpn.subnets'")" = "10.1.0.0/24 10.2.0.0/24"
$CTL policy link base corp > /dev/null && $CTL policy link sales corp/sales > /dev/null
$CTL policy link it corp/it > /dev/null
$CTL policy link base corp 2> "$T/relink.err"; rc=$?
check "linking twice: refused" bash -c "test $rc -eq 1 && grep -q 'already linked' '$T/relink.err'"
$CTL policy delete base 2> "$T/pdel.err"; rc=$?
check "deleting a linked policy: refused, names the group" \
    bash -c "test $rc -eq 1 && grep -q 'linked to corp' '$T/pdel.err'"
$CTL group delete corp/sales 2> "$T/gdel.err"; rc=$?
check "deleting a group in use: refused, says why" \
    bash -c "test $rc -eq 1 && grep -q 'in use: 1 subgroup' '$T/gdel.err'"

# --- device groups and the effective policy -----------------------------------
$CTL device groups "$D1" corp/sales/emea > /dev/null
$CTL device groups "$D3" corp/it > /dev/null
$CTL device groups "$D2" corp/nowhere 2> "$T/nogroup.err"; rc=$?
check "device groups with an unknown group: refused" \
    bash -c "test $rc -eq 1 && grep -q \"no group 'corp/nowhere'\" '$T/nogroup.err'"
$CTL device groups 9999 corp 2> "$T/nodev.err"; rc=$?
check "device groups of an unknown device: refused" \
    bash -c "test $rc -eq 1 && grep -q 'no device 9999' '$T/nodev.err'"
$CTL device policy "$D1" > "$T/eff.out"; rc=$?
cat "$T/eff.out"
check "device policy: exit 0" test $rc -eq 0
check "device policy: min_length 12 from corp/sales (nearest group wins)" \
    bash -c "grep -Eq '^password.min_length +12 +corp/sales +sales$' '$T/eff.out'"
check "device policy: vpn.subnets from corp, policy base" \
    bash -c "grep -Eq '^vpn.subnets +10.1.0.0/24 10.2.0.0/24 +corp +base$' '$T/eff.out'"
check "device policy: unset settings say not configured" \
    bash -c "grep -Eq '^password.history +not configured +- +-$' '$T/eff.out'"
$CTL --json device policy "$D1" > "$T/eff.json"
check "device policy --json: every setting of the catalogue, with its source" \
    test "$(jq -r '[(.settings | length), (.settings[] | select(.setting == "restrict.camera") | .value + "@" + .group + "/" + .policy)] | join(",")' "$T/eff.json")" = "18,block@corp/sales/sales"
$CTL device policy 9999 2> "$T/nodev2.err"; rc=$?
check "device policy of an unknown device: refused" \
    bash -c "test $rc -eq 1 && grep -q 'no device 9999' '$T/nodev2.err'"
# An explicit order among the policies of one group.
$CTL policy create strict > /dev/null
$CTL policy set strict password.min_length 14 > /dev/null
$CTL policy link strict corp/sales --position 1 > /dev/null
check "a policy linked first in the group wins over the one linked before" \
    bash -c "$CTL device policy $D1 | grep -Eq '^password.min_length +14 +corp/sales +strict$'"
check "positions in the database: strict 1, sales 2" \
    test "$(sql "SELECT group_concat(p.name || l.position, ' ') FROM (SELECT * FROM policy_links ORDER BY position) l JOIN policies p ON p.id = l.policy_id JOIN groups g ON g.id = l.group_id WHERE g.path = 'corp/sales'")" = "strict1 sales2"
$CTL policy unlink strict corp/sales > /dev/null
check "after unlink: back to the sales policy" \
    bash -c "$CTL device policy $D1 | grep -Eq '^password.min_length +12 +corp/sales +sales$'"
$CTL group list > "$T/glist.out"
check "group list: members and policies in order" \
    bash -c "grep -Eq '^corp/sales/emea +1 +-$' '$T/glist.out' && grep -Eq '^corp +0 +base$' '$T/glist.out'"
check "policy show --json: settings and links" \
    test "$($CTL --json policy show base | jq -r '.[0] | .settings["password.min_length"] + "," + .links[0].group')" = "8,corp"

# --- authorization ----------------------------------------------------------------
auth 1 > "$T/a1.out"; cat "$T/a1.out"
check "authorize an enrolled device: allow" has "$T/a1.out" "decision=allow device=$D1 "
SEL='10.1.0.0/24:6:443,10.1.0.0/24:17:53,10.1.0.0/24:6:8000,10.1.0.0/24:6:8001,10.1.0.0/24:6:8002,10.2.0.0/24:6:443,10.2.0.0/24:17:53,10.2.0.0/24:6:8000,10.2.0.0/24:6:8001,10.2.0.0/24:6:8002'
check "allow: subnets x ports, the range expanded one selector per port" has "$T/a1.out" "sel=$SEL dns=10.0.0.53 "
check "allow: cache_seconds is grant_cache (120), split tunnel" has "$T/a1.out" "cache=120 full=0"
seen_now() { test "$(sql "SELECT abs(last_seen - strftime('%s','now')) < 10 FROM devices WHERE id = $D1")" = 1; }
audited() { test "$(sql "SELECT count(*) FROM audit WHERE device_id = $D1 AND action = 'authorize' AND detail LIKE 'allow from 192.0.2.1%'")" = 1; }
check "authorize records last seen (within the 1 s batch)" until_ok 3 seen_now
check "authorize is in the device's history with the peer address and iked's uid" until_ok 3 audited
GEN1=$(sed -n 's/.* gen=\([0-9]*\) .*/\1/p' "$T/a1.out")
auth 3 > "$T/a3.out"
check "full tunnel: one selector 0.0.0.0/0, full=1" has "$T/a3.out" "decision=allow device=$D3 .* full=1 sel=0.0.0.0/0:0:0 "
auth 2 > "$T/a2.out"
check "a device in no group: deny, no VPN access in its policy" \
    bash -c "grep -q 'decision=deny device=$D2 .*sel= .*reason=the effective policy gives no VPN access' '$T/a2.out'"
"$PROBE" policyd "$SOCK" authorize 00ff00ff "" > "$T/unknown.out"
check "an unknown certificate: deny, device 0" has "$T/unknown.out" "decision=deny device=0 .*reason=unknown certificate"
"$PROBE" policyd "$SOCK" authorize "${FP[1]}" 0BADSERIAL > "$T/mismatch.out"
check "a serial that is not the registered certificate's: deny" has "$T/mismatch.out" "decision=deny .*does not match"

# --- events: policy edit, link, group membership ------------------------------------
N3=$(nev "${SERIAL[3]}")
check "D3's membership of corp/it was an access change: one event" test "$N3" = 1
$CTL policy set base password.history 5 > "$T/edit0.out"
check "an edit that changes no grant: no access event" bash -c "! grep -q 'access changed' '$T/edit0.out'"
$CTL policy set base vpn.subnets 10.1.0.0/24 > "$T/edit.out"
check "a policy edit sends AccessChanged only where the grant changed (D1, not D3's full tunnel)" \
    has "$T/edit.out" "access changed for 1 device)"
check "no new event for D3" test "$(nev "${SERIAL[3]}")" = "$N3"
wait_ev 1 1
lastev "${SERIAL[1]}" > "$T/ev1"; cat "$T/ev1"
check "policy edit: AccessChanged for D1 with the narrower selectors" \
    has "$T/ev1" "decision=allow device=$D1 .*sel=10.1.0.0/24:6:443,10.1.0.0/24:17:53,10.1.0.0/24:6:8000,10.1.0.0/24:6:8001,10.1.0.0/24:6:8002 "
GEN2=$(sed -n 's/.* gen=\([0-9]*\) .*/\1/p' "$T/ev1")
check "the generation grew ($GEN1 -> $GEN2)" test "$GEN2" -gt "$GEN1"
check "no event for D2 (in no group)" test "$(nev "${SERIAL[2]}")" = 0
$CTL device groups "$D2" corp/sales > /dev/null
wait_ev 2 1
check "group membership: D2 now allowed, event carries its selectors" \
    bash -c "grep '^event serial=${SERIAL[2]} ' '$T/events' | tail -1 | grep -q 'decision=allow .*sel=10.1.0.0/24:6:443'"
$CTL policy link it corp/sales --position 1 > /dev/null
wait_ev 1 2
check "a link on a parent group: event for D1 (below it), full tunnel now" \
    bash -c "grep '^event serial=${SERIAL[1]} ' '$T/events' | tail -1 | grep -q 'full=1 sel=0.0.0.0/0:0:0'"
$CTL policy unlink it corp/sales > /dev/null
wait_ev 1 3

# --- compliance ---------------------------------------------------------------------
$CTL device report "$D1" --password-set yes --encrypted yes --os-version 16.2 \
    --result password.min_length=ok --result restrict.camera=ok > "$T/c1.out"; rc=$?
cat "$T/c1.out"
check "a good report: compliant, access allow" \
    bash -c "test $rc -eq 0 && grep -q 'device $D1: compliant' '$T/c1.out' && grep -q 'access: allow' '$T/c1.out'"
check "the report is stored" test "$(sql "SELECT encryption_on || os_version FROM device_reports WHERE device_id = $D1")" = "116.2"
check "the OS version goes to the registry" test "$(sql "SELECT os_version FROM devices WHERE id = $D1")" = "16.2"
N1=$(nev "${SERIAL[1]}")
$CTL --json device report "$D1" --password-set no --encrypted no --os-version 15.7 --jailbroken yes \
    --result "restrict.camera=failed:MDM profile refused" > "$T/c2.json"; rc=$?
cat "$T/c2.json"
check "a bad report: non-compliant" test "$(jq -r .compliance "$T/c2.json")" = non-compliant
check "reasons: OS, encryption, jailbreak, password, failed setting" \
    test "$(jq -r '.reasons | join("|")' "$T/c2.json")" = "OS version 15.7 is older than the minimum 16.0|storage encryption is off|the device is jailbroken or rooted|no password set, policy 'base' requires one|required setting restrict.camera = block failed to apply: MDM profile refused"
check "non-compliant with noncompliant_action = quarantine: access quarantine" \
    test "$(jq -r .access "$T/c2.json")" = quarantine
wait_ev 1 $((N1 + 1))
check "compliance change: AccessChanged with the quarantine subnets and DNS" \
    bash -c "grep '^event serial=${SERIAL[1]} ' '$T/events' | tail -1 | grep -q 'decision=quarantine .*sel=10.99.0.0/24:0:0 dns=10.99.0.53 reason=non-compliant, quarantined: OS version 15.7'"
auth 1 > "$T/a1q.out"
check "authorize a non-compliant device: quarantine" has "$T/a1q.out" "decision=quarantine .*sel=10.99.0.0/24:0:0 "
check "device list shows compliance and reasons" \
    test "$($CTL --json device list | jq -r ".[] | select(.id == $D1) | .compliance + \",\" + (.compliance_reasons | length | tostring) + \",\" + .groups[0]")" = "non-compliant,5,corp/sales/emea"
check "the verdict is in the audit log" \
    test "$(sql "SELECT count(*) FROM audit WHERE device_id = $D1 AND action = 'compliance' AND detail LIKE 'non-compliant: OS version%'")" = 1
$CTL device report "$D1" --password-set yes --encrypted yes --os-version 16.2 --result restrict.camera=ok > /dev/null
wait_ev 1 $((N1 + 2))
check "compliant again: AccessChanged back to allow" \
    bash -c "grep '^event serial=${SERIAL[1]} ' '$T/events' | tail -1 | grep -q 'decision=allow'"
N1=$(nev "${SERIAL[1]}")
$CTL device report "$D1" --password-set yes --encrypted yes --os-version 16.2 > /dev/null
sleep 0.5
check "the same verdict again: no event" test "$(nev "${SERIAL[1]}")" = "$N1"
$CTL device report "$D1" --password-set yes --encrypted yes --result "restrict.camera=failed:busy" > /dev/null
$CTL device report "$D1" --password-set yes --encrypted yes --result password.min_length=ok > "$T/c4.out"
check "a report without a setting keeps its last result (the failure stands)" \
    has "$T/c4.out" "required setting restrict.camera = block failed to apply: busy"
$CTL device report --fingerprint "${FP[1]}" --password-set yes --encrypted yes --result restrict.camera=ok > "$T/c5.out"
check "the setting applied at last (reported by fingerprint, as check-in will): compliant" \
    has "$T/c5.out" "device $D1: compliant"
$CTL device report --fingerprint 00ff --encrypted yes 2> "$T/fp404.err"; rc=$?
check "a report for an unknown fingerprint: refused" bash -c "test $rc -eq 1 && grep -q 'no such device' '$T/fp404.err'"
$CTL device report "$D1" --os-version "$(printf '16\001')" 2> "$T/ctl.err"; rc=$?
check "a report with a control character in the OS version: refused" \
    bash -c "test $rc -eq 1 && grep -q 'not printable' '$T/ctl.err'"
N1=$(nev "${SERIAL[1]}")
$CTL device report "$D3" --password-set yes --encrypted yes --os-version 12 > "$T/c3.out"
check "per-platform minimum: android 12 < 13" has "$T/c3.out" "OS version 12 is older than the minimum 13"
$CTL device report "$D3" --password-set yes --encrypted yes --os-version 13.0.1 > /dev/null
$CTL device report 9999 --encrypted yes 2> "$T/rnodev.err"; rc=$?
check "a report for an unknown device: refused" bash -c "test $rc -eq 1 && grep -q 'no such device' '$T/rnodev.err'"
$CTL device report "$D1" --result bogus=ok 2> "$T/rbad.err"; rc=$?
check "a report with an unknown setting: refused, names it" bash -c "test $rc -eq 1 && grep -q \"no setting 'bogus'\" '$T/rbad.err'"

# --- reports ---------------------------------------------------------------------------
$CTL device report "$D2" --password-set yes --encrypted yes --result "restrict.camera=failed:no camera API" \
    --result password.min_length=ok > /dev/null
# Authorizations reach the history in a batch a second: let the last one land
# so the JSON and CSV reports below see the same history.
sleep 1.2
$CTL report policies > "$T/rp.out"; rc=$?
cat "$T/rp.out"
check "report policies: exit 0" test $rc -eq 0
check "report policies: sales restrict.camera applied on 2, succeeded 1, failed 1" \
    bash -c "grep -Eq '^sales +restrict.camera +block +2 +1 +1$' '$T/rp.out'"
check "report policies: sales min_length applied on 2, both succeeded" \
    bash -c "grep -Eq '^sales +password.min_length +12 +2 +2 +0$' '$T/rp.out'"
check "report policies: base min_length reaches only D3 (corp/sales overrides it)" \
    bash -c "grep -Eq '^base +password.min_length +8 +1 +0 +0$' '$T/rp.out'"
check "report policies: an unlinked policy applies nowhere" \
    bash -c "grep -Eq '^strict +password.min_length +14 +0 +0 +0$' '$T/rp.out'"
check "report policies --json" \
    test "$($CTL --json report policies | jq -r '.[] | select(.policy == "it" and .setting == "vpn.tunnel") | [.applied, .succeeded, .failed] | join(",")')" = "1,0,0"
check "report policies --csv" \
    bash -c "$CTL report policies --csv | grep -qx 'sales,restrict.camera,block,2,1,1'"
$CTL --json report compliance > "$T/rc.json"; cat "$T/rc.json"; echo
check "report compliance: 3 enrolled, 2 compliant, 1 non-compliant" \
    test "$(jq -r '[.devices, .compliant, .non_compliant, .unknown] | join(",")' "$T/rc.json")" = "3,2,1,0"
check "report compliance: the reason counted, the device listed" \
    test "$(jq -r '(.reasons["required setting restrict.camera = block failed to apply: no camera API"] | tostring) + "," + (.non_compliant_devices[0].id | tostring)' "$T/rc.json")" = "1,$D2"
check "report compliance (table)" \
    bash -c "$CTL report compliance | grep -q 'enrolled devices: 3  compliant: 2  non-compliant: 1'"
check "report compliance --csv: totals and the device's reason" \
    bash -c "$CTL report compliance --csv > '$T/rc.csv' && grep -qx 'total,,non-compliant,1' '$T/rc.csv' && grep -qx 'device,$D2,required setting restrict.camera = block failed to apply: no camera API,1' '$T/rc.csv'"
$CTL --json report assets > "$T/ra.json"
check "report assets --json: every device with its history in order" \
    test "$(jq -r ".[] | select(.id == $D1) | [.history[].action] | unique | map(select(. == \"pre-enroll\" or . == \"enroll\" or . == \"device-groups\" or . == \"authorize\" or . == \"compliance\")) | length" "$T/ra.json")" = 5
check "report assets: the first entry of D1's history is its pre-enrollment" \
    test "$(jq -r ".[] | select(.id == $D1) | .history[0].action" "$T/ra.json")" = pre-enroll
$CTL report assets --csv > "$T/ra.csv"
check "report assets --csv: one row per history entry, plus the header" \
    test "$(python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1]))))' "$T/ra.csv")" = "$(( $(jq '[.[].history | length] | add' "$T/ra.json") + 1 ))"
check "report assets --csv: fields with commas are quoted" \
    bash -c "grep -q ',\"hardware id HW-1, owner o1, name n1, platform ios\"$' '$T/ra.csv'"
check "report assets (table)" bash -c "$CTL report assets | grep -q '^device $D1  HW-1'"
$CTL report nonsense 2> /dev/null; rc=$?
check "report of an unknown kind: usage error" test $rc -eq 2
$CTL device report "$D2" --password-set yes --encrypted yes --result restrict.camera=ok > /dev/null

# --- states and revocation ------------------------------------------------------------
N3=$(nev "${SERIAL[3]}")
$CTL device state "$D3" wiped > /dev/null
wait_ev 3 $((N3 + 1))
check "wiped: AccessChanged deny" \
    bash -c "grep '^event serial=${SERIAL[3]} ' '$T/events' | tail -1 | grep -q 'decision=deny .*sel= .*reason=the device is wiped'"
check "authorize a wiped device: deny" auth_has 3 'decision=deny .*the device is wiped'
$CTL device state "$D3" enrolled 2> "$T/unwipe.err"; rc=$?
check "wiped -> enrolled: refused" bash -c "test $rc -eq 1 && grep -q 'only a blocked device' '$T/unwipe.err'"
$CTL device state "$D3" disenrolled > /dev/null
check "authorize a disenrolled device: deny" auth_has 3 'decision=deny .*the device is disenrolled'
$CTL device state "$D2" blocked > /dev/null
check "authorize a blocked device: deny" auth_has 2 'decision=deny .*the device is blocked'
N2=$(nev "${SERIAL[2]}")
$CTL device state "$D2" enrolled > /dev/null
wait_ev 2 $((N2 + 1))
check "blocked -> enrolled: allowed again, with an event" \
    bash -c "grep '^event serial=${SERIAL[2]} ' '$T/events' | tail -1 | grep -q 'decision=allow'"
check "blocked -> enrolled: authorize allows" auth_has 2 'decision=allow'

$CTL device state "$D2" lost 2> "$T/badstate.err"; rc=$?
check "an unknown state: refused" bash -c "test $rc -eq 1 && grep -q \"state 'lost' is not\" '$T/badstate.err'"
N1=$(nev "${SERIAL[1]}")
$CTL device revoke "$D1" > /dev/null
wait_ev 1 $((N1 + 1))
check "revoke: AccessChanged deny" \
    bash -c "grep '^event serial=${SERIAL[1]} ' '$T/events' | tail -1 | grep -q 'decision=deny'"
$CTL device state "$D1" enrolled 2> "$T/unrevoke.err"; rc=$?
check "a revoked device cannot go back to enrolled" \
    bash -c "test $rc -eq 1 && grep -q 'certificate revoked' '$T/unrevoke.err'"
check "authorize by a revoked serial alone: deny" \
    bash -c "'$PROBE' policyd '$SOCK' authorize '' '${SERIAL[1]}' | grep -q 'decision=deny'"
check "every generation in the events grows per device" \
    bash -c "for s in ${SERIAL[1]} ${SERIAL[2]} ${SERIAL[3]}; do grep \"^event serial=\$s \" '$T/events' | sed 's/.* gen=\([0-9]*\) .*/\1/' | sort -c -n || exit 1; done"

# --- noncompliant_action = deny; a bad access config -----------------------------------
$CTL device report "$D2" --password-set yes --encrypted no > /dev/null
pdenv_stop
write_conf deny
pdenv_start
check "noncompliant_action = deny: a non-compliant device is denied" \
    auth_has 2 'decision=deny .*reason=non-compliant: storage encryption is off'
check "after a restart: schema 4, groups and policies kept" \
    bash -c "test \"\$($CTL --json status policyd | jq -r '.[0].schema_version')\" = 4 && $CTL device policy $D2 | grep -q '^password.min_length *12'"
auth 2 > /dev/null
pdenv_stop
check "an authorization just before SIGTERM is in the database (the batch is flushed at stop)" \
    test "$(sql "SELECT count(*) FROM audit WHERE device_id = $D2 AND action = 'authorize' AND detail LIKE 'deny from 192.0.2.1: non-compliant%'")" -ge 2
sed -i '/quarantine_subnets/d; s/noncompliant_action = deny/noncompliant_action = quarantine/' "$CONF"
"$B/policyd/mgate-policyd" -c "$CONF" --check-config > "$T/badconf.out" 2>&1; rc=$?
cat "$T/badconf.out"
check "quarantine without quarantine_subnets: --check-config fails, says why" \
    bash -c "test $rc -ne 0 && grep -q 'noncompliant_action = quarantine needs quarantine_subnets' '$T/badconf.out'"
sed -i 's/^noncompliant_action = quarantine/noncompliant_action = maybe/' "$CONF"
"$B/policyd/mgate-policyd" -c "$CONF" --check-config > "$T/badconf2.out" 2>&1; rc=$?
check "a bad noncompliant_action: --check-config fails, names it" \
    bash -c "test $rc -ne 0 && grep -q \"noncompliant_action: 'maybe' is not deny or quarantine\" '$T/badconf2.out'"
check "no sanitizer report in policyd's log" bash -c "! grep -q 'Sanitizer' '$T/policyd.log'"
check_summary
