#!/bin/bash
# policyd's external-CA mode through mgatectl: a certificate issued by
# another CA (openssl here) registered for a pre-enrolled device, verified
# against [policyd] external_ca (chain, TLS client purpose, key type), then
# authorized like one of mgate's; refusals (mode off, another CA, weak key,
# device not pre-enrolled, unknown hardware id); revocation blocks the
# device and keeps the serial off mgate's CRL.
# Usage: extca.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
. "$(dirname "${BASH_SOURCE[0]}")/policyd_env.sh"
pdenv_enter mgate-extca -- "$@"

write_conf() { echo "$1" | pdenv_conf; }

# --- an external CA and its device certificates (openssl) --------------------
cd "$T" || exit 1
cat > ext.cnf <<'CNF'
[dev]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
CNF
mkca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -subj "/CN=$1" -days 30 -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign -out "$1.crt" 2>/dev/null
}
# mkdev NAME CA KEYOPTS...: a device certificate signed by CA.
mkdev() {
    local name=$1 ca=$2; shift 2
    openssl req -new -newkey "$@" -nodes -keyout "$name.key" -subj "/CN=$name" -out "$name.csr" 2>/dev/null
    openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 10 \
        -extfile ext.cnf -extensions dev -out "$name.crt" 2>/dev/null
}
mkca extca
mkca other
mkdev good extca ec -pkeyopt ec_paramgen_curve:P-256
mkdev rsa extca rsa:2048
mkdev weak extca rsa:1024
mkdev foreign other ec -pkeyopt ec_paramgen_curve:P-256
openssl verify -CAfile extca.crt good.crt >/dev/null || bad "openssl: the test certificate does not verify"

# --- mode off ---------------------------------------------------------------------
write_conf ""
pdenv_start
$CTL device pre-enroll --hwid EXT-1 --owner a --name A --platform ios > /dev/null
$CTL device pre-enroll --hwid EXT-2 --owner b --name B --platform android > /dev/null
$CTL device register-cert --hwid EXT-1 --cert good.crt 2> off.err; rc=$?
check "external_ca unset: register-cert refused, says how to turn it on" \
    bash -c "test $rc -eq 1 && grep -q 'external-CA mode is off: set \[policyd\] external_ca' off.err"
pdenv_stop
write_conf "external_ca = /nonexistent/bundle.pem"
"$B/policyd/mgate-policyd" -c "$CONF" --check-config > badca.out 2>&1; rc=$?
check "an external_ca that does not load: --check-config fails, names it" \
    bash -c "test $rc -ne 0 && grep -q 'external_ca: cannot load /nonexistent/bundle.pem' badca.out"

write_conf "external_ca = $T/extca.crt"
pdenv_start

# --- refusals -------------------------------------------------------------------------
$CTL device register-cert --hwid EXT-1 --cert foreign.crt 2> foreign.err; rc=$?
cat foreign.err
check "a certificate from another CA: refused, says it does not verify" \
    bash -c "test $rc -eq 1 && grep -q 'does not verify against external_ca' foreign.err"
$CTL device register-cert --hwid EXT-1 --cert weak.crt 2> weak.err; rc=$?
check "an RSA-1024 certificate: refused, key type named" \
    bash -c "test $rc -eq 1 && grep -q 'certificate key type RSA-1024 is not accepted' weak.err"
echo garbage > garbage.crt
$CTL device register-cert --hwid EXT-1 --cert garbage.crt 2> garbage.err; rc=$?
check "not a certificate: refused" bash -c "test $rc -eq 1 && grep -q 'not a PEM certificate' garbage.err"
$CTL device register-cert --hwid NOPE --cert good.crt 2> nope.err; rc=$?
check "an unknown hardware id: refused" bash -c "test $rc -eq 1 && grep -q 'no pre-enrolled device' nope.err"
check "refusals are audited" test "$(sql "SELECT count(*) FROM audit WHERE action = 'register-cert-refused'")" = 4
check "the device is still pre-enrolled" test "$(sql "SELECT state FROM devices WHERE hardware_id = 'EXT-1'")" = pre-enrolled

# --- registration -----------------------------------------------------------------------
$CTL device register-cert --hwid EXT-1 --cert good.crt --os-version 17.1 > reg.out; rc=$?
cat reg.out
SERIAL=$(openssl x509 -in good.crt -noout -serial | cut -d= -f2)
FP=$(openssl x509 -in good.crt -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
check "register-cert: exit 0, the serial as openssl prints it" bash -c "test $rc -eq 0 && grep -q 'serial $SERIAL' reg.out"
check "the device is enrolled with the external certificate" \
    test "$(sql "SELECT state || ',' || cert_source || ',' || cert_fingerprint || ',' || os_version FROM devices WHERE hardware_id = 'EXT-1'")" = "enrolled,external,$FP,17.1"
check "device list --json shows the certificate's source" \
    test "$($CTL --json device list | jq -r '.[] | select(.hardware_id == "EXT-1") | .cert_source')" = external
$CTL device register-cert --hwid EXT-1 --cert rsa.crt 2> twice.err; rc=$?
check "a second registration: refused (the device is enrolled)" \
    bash -c "test $rc -eq 1 && grep -q 'is enrolled, not pre-enrolled' twice.err"
check "an RSA-2048 certificate registers for another device" \
    bash -c "$CTL device register-cert --hwid EXT-2 --cert rsa.crt > /dev/null"

# --- authorization like our own --------------------------------------------------------------
$CTL group create corp > /dev/null
$CTL policy create p > /dev/null
$CTL policy set p vpn.subnets 10.5.0.0/16 > /dev/null
$CTL policy link p corp > /dev/null
ID=$(sql "SELECT id FROM devices WHERE hardware_id = 'EXT-1'")
$CTL device groups "$ID" corp > /dev/null
"$PROBE" policyd "$SOCK" authorize "$FP" "$SERIAL" > auth.out; cat auth.out
check "authorize an external certificate: allow with the policy's selectors" \
    has auth.out "decision=allow device=$ID .*sel=10.5.0.0/16:0:0 "

# --- revocation ----------------------------------------------------------------------------------
$CTL ca init > /dev/null 2>&1
$CTL device revoke "$ID" > revoke.out; rc=$?
cat revoke.out
check "revoke an external certificate: exit 0, the device is blocked" \
    bash -c "test $rc -eq 0 && test \"\$(sqlite3 '$DB' \"SELECT state FROM devices WHERE id = $ID\")\" = blocked"
check "authorize after revocation: deny" \
    bash -c "'$PROBE' policyd '$SOCK' authorize '$FP' '$SERIAL' | grep -q 'decision=deny'"
check "the external serial is not on mgate's CRL (not ours to list)" \
    bash -c "! $CTL ca crl | openssl crl -noout -text | grep -q '$SERIAL'"
check "the revocation is recorded as external" \
    test "$(sql "SELECT external FROM revoked WHERE serial = '$SERIAL'")" = 1
check "schema 4" test "$($CTL --json status policyd | jq -r '.[0].schema_version')" = 4
pdenv_stop
check "no sanitizer report in policyd's log" bash -c "! grep -q 'Sanitizer' '$T/policyd.log'"
check_summary
