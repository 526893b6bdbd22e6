#!/bin/bash
# policyd's device registry and enrollment with mgate's CA, through mgatectl:
# ca init, pre-enrollment (one and CSV bulk), enrollment with openssl CSRs,
# every refusal (wrong, expired, reused password; bad key type; duplicate or
# unknown hardware id; malformed CSV), revocation and the CRL.
# Usage: policyd.sh BUILD_DIR
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
. "$(dirname "${BASH_SOURCE[0]}")/policyd_env.sh"
pdenv_enter mgate-policyd -- "$@"

pdenv_conf <<CONF
cert_validity = 30d
otp_validity = 1h
crl_validity = 2d
CONF
pdenv_start

# --- the CA -----------------------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/dev1.key" 2>/dev/null
openssl req -new -key "$T/dev1.key" -subj "/CN=anything" -out "$T/dev1.csr"
PW0=$($CTL --json device pre-enroll --hwid IMEI-000 --owner zed --name Z --platform ios | jq -r '.[0].password')
$CTL device enroll --hwid IMEI-000 --password "$PW0" --csr "$T/dev1.csr" 2> "$T/noca.err"; rc=$?
check "enroll before ca init: refused, says to run ca init" \
    bash -c "test $rc -eq 1 && grep -q 'mgatectl ca init' '$T/noca.err'"
$CTL ca init > "$T/ca.out" 2> "$T/ca.err"; rc=$?
check "ca init exits 0" test $rc -eq 0
check "ca init: the key is mode 0600" test "$(stat -c %a "$T/ca/ca.key")" = 600
check "ca init: openssl reads the CA certificate" openssl x509 -in "$T/ca/ca.crt" -noout
check "ca init: the certificate is a CA (basicConstraints CA:TRUE)" \
    bash -c "openssl x509 -in '$T/ca/ca.crt' -noout -ext basicConstraints | grep -q 'CA:TRUE'"
check "ca init: the key is ECDSA P-256" \
    bash -c "openssl pkey -in '$T/ca/ca.key' -noout -text | grep -q 'prime256v1'"
check "ca init prints the certificate it wrote" cmp -s "$T/ca.out" "$T/ca/ca.crt"
$CTL ca init > /dev/null 2> "$T/ca2.err"; rc=$?
check "ca init again: refused (exit 1)" test $rc -eq 1
check "ca init again: says a CA exists" has "$T/ca2.err" 'already exists'
check "ca init again: the CA is untouched" cmp -s "$T/ca.out" "$T/ca/ca.crt"

# --- pre-enrollment ---------------------------------------------------------
$CTL device pre-enroll --hwid IMEI-001 --owner alice --name "Alice phone" --platform android \
    > "$T/pre1.out"; rc=$?
check "pre-enroll one device exits 0" test $rc -eq 0
cat "$T/pre1.out"
PW1=$(awk '$2 == "IMEI-001" {print $3}' "$T/pre1.out")
ID1=$(awk '$2 == "IMEI-001" {print $1}' "$T/pre1.out")
check "pre-enroll prints a password (XXXX-XXXX-XXXX-XXXX)" \
    bash -c "[[ '$PW1' =~ ^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$ ]]"
check "the device is pre-enrolled in the database" \
    test "$(sql "SELECT state FROM devices WHERE hardware_id = 'IMEI-001'")" = pre-enrolled
check "the database keeps a 32-byte hash and a 16-byte salt, not the password" \
    test "$(sql "SELECT length(hash), length(salt) FROM enroll_secrets WHERE device_id = $ID1")" = "32|16"
check "the password appears nowhere in the database" \
    bash -c "! sqlite3 '$DB' .dump | grep -q -e '$PW1' -e '${PW1//-/}'"
check "the expiry is otp_validity (1h) ahead" \
    test "$(sql "SELECT abs(expires - strftime('%s','now') - 3600) < 10 FROM enroll_secrets WHERE device_id = $ID1")" = 1
check "pre-enroll is in the audit log with the peer's uid" \
    test "$(sql "SELECT uid FROM audit WHERE action = 'pre-enroll' AND device_id = $ID1")" = 0

$CTL device pre-enroll --hwid IMEI-001 --owner bob --name dup --platform ios 2> "$T/dup.err"; rc=$?
check "duplicate hardware id: refused (exit 1)" test $rc -eq 1
check "duplicate hardware id: says so" has "$T/dup.err" "hardware id 'IMEI-001' already exists"
check "duplicate hardware id: nothing added" test "$(sql 'SELECT count(*) FROM devices')" = 2

cat > "$T/bulk.csv" <<'CSV'
hwid,owner,name,platform
IMEI-101, bob, Bob phone, ios
# a comment line
IMEI-102,carol,Carol tablet,android

IMEI-103,dave,Dave phone,windows
CSV
$CTL device pre-enroll --csv "$T/bulk.csv" > "$T/bulk.out"; rc=$?
cat "$T/bulk.out"
check "CSV pre-enroll exits 0" test $rc -eq 0
check "CSV pre-enroll prints one password per device" \
    test "$(grep -cE 'IMEI-10[123] +[A-Z2-9]{4}-' "$T/bulk.out")" = 3
check "CSV pre-enroll: three devices more, fields trimmed" \
    test "$(sql "SELECT owner || '/' || name FROM devices WHERE hardware_id = 'IMEI-101'")" = "bob/Bob phone"
$CTL --json device pre-enroll --csv <(printf 'IMEI-201,erin,E,ios\n') > "$T/json.out"
check "pre-enroll --json gives id, hardware_id, password, expires" \
    test "$(jq -r '.[0] | [.hardware_id, (.password | length), (.id > 0), (.expires | test("Z$"))] | join(",")' "$T/json.out")" = "IMEI-201,19,true,true"

n_before=$(sql 'SELECT count(*) FROM devices')
printf 'IMEI-301,frank,F,ios\nIMEI-302,gina,G,ios\nIMEI-303,harry,H\nIMEI-304,ivy,I,ios\n' > "$T/badline.csv"
$CTL device pre-enroll --csv "$T/badline.csv" > "$T/badline.out" 2> "$T/badline.err"; rc=$?
cat "$T/badline.err"
check "CSV with a malformed line 3: exit 1" test $rc -eq 1
check "CSV with a malformed line 3: the error names line 3" has "$T/badline.err" "badline.csv:3:"
check "CSV with a malformed line 3: nothing imported" test "$(sql 'SELECT count(*) FROM devices')" = "$n_before"
check "CSV with a malformed line 3: no password printed" test ! -s "$T/badline.out"
printf 'IMEI-401,j,J,ios\nIMEI-101,k,K,ios\n' > "$T/dupline.csv"
$CTL device pre-enroll --csv "$T/dupline.csv" 2> "$T/dupline.err"; rc=$?
check "CSV with a known hardware id on line 2: refused, nothing imported" \
    test $rc -eq 1 -a "$(sql 'SELECT count(*) FROM devices')" = "$n_before"
check "CSV with a known hardware id: names the device" has "$T/dupline.err" "device 2: .*IMEI-101"

# A bulk of 1000 devices hashes 1000 passwords (PBKDF2) on a worker: policyd
# keeps answering meanwhile.
for i in $(seq 1000); do echo "BULK-$i,o,n,ios"; done > "$T/bulk1000.csv"
$CTL device pre-enroll --csv "$T/bulk1000.csv" > "$T/bulk1000.out" 2>&1 &
BULK=$!
sleep 0.3
t0=$(date +%s%N)
"$B/tests/daemon_ipc_probe" policyd "$T/run/policyd.sock" status > "$T/during.out"; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
kill -0 $BULK 2>/dev/null; running=$?
check "a status request is answered within 1 s (${ms} ms) while a bulk pre-enrollment hashes" \
    test $rc -eq 0 -a $running -eq 0 -a $ms -lt 1000
wait $BULK
check "the bulk of 1000 is stored, one password each" \
    test "$(sql "SELECT count(*) FROM devices d JOIN enroll_secrets s ON s.device_id = d.id WHERE hardware_id LIKE 'BULK-%'")/$(grep -c '^[0-9].*BULK-' "$T/bulk1000.out")" = 1000/1000

# --- enrollment -------------------------------------------------------------
audit_refused() { sql "SELECT count(*) FROM audit WHERE action = 'enroll-refused' AND detail LIKE '%$1%'"; }
$CTL device enroll --hwid IMEI-001 --password WRONG-WRON-WRON-WRON --csr "$T/dev1.csr" \
    > "$T/wrong.out" 2> "$T/wrong.err"; rc=$?
check "wrong password: refused (exit 1)" test $rc -eq 1
check "wrong password: says so" has "$T/wrong.err" 'wrong password'
check "wrong password: no certificate printed" test ! -s "$T/wrong.out"
check "wrong password: in the audit log with uid and device" \
    test "$(sql "SELECT uid || ',' || device_id FROM audit WHERE action = 'enroll-refused' AND detail LIKE '%wrong password%'")" = "0,$ID1"
check "wrong password: the device stays pre-enrolled" \
    test "$(sql "SELECT state FROM devices WHERE id = $ID1")" = pre-enrolled

$CTL device enroll --hwid IMEI-999 --password "$PW1" --csr "$T/dev1.csr" 2> "$T/unknown.err"; rc=$?
check "unknown hardware id: refused (exit 1)" test $rc -eq 1
check "unknown hardware id: says so" has "$T/unknown.err" 'no pre-enrolled device'
check "unknown hardware id: audited" test "$(audit_refused IMEI-999)" -ge 1

for kt in rsa1024 p192 ed25519; do
    case $kt in
    rsa1024) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$T/$kt.key" 2>/dev/null ;;
    p192) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime192v1 -out "$T/$kt.key" 2>/dev/null ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$T/$kt.key" 2>/dev/null ;;
    esac
    if ! openssl req -new -key "$T/$kt.key" -subj /CN=x -out "$T/$kt.csr" 2>/dev/null; then
        echo "# openssl cannot make a $kt CSR here; skipped"
        continue
    fi
    $CTL device enroll --hwid IMEI-001 --password "$PW1" --csr "$T/$kt.csr" 2> "$T/$kt.err"; rc=$?
    cat "$T/$kt.err"
    check "CSR with a $kt key: refused (exit 1)" test $rc -eq 1
    check "CSR with a $kt key: a clear error" has "$T/$kt.err" 'CSR key type .* is not accepted'
done
check "refused CSRs do not use up the password" \
    test "$(sql "SELECT used FROM enroll_secrets WHERE device_id = $ID1")" = 0
echo garbage > "$T/garbage.csr"
$CTL device enroll --hwid IMEI-001 --password "$PW1" --csr "$T/garbage.csr" 2> "$T/garbage.err"; rc=$?
check "a CSR that is not PEM: refused with a reason" \
    bash -c "test $rc -eq 1 && grep -q 'not a PEM certificate request' '$T/garbage.err'"

$CTL device enroll --hwid IMEI-001 --password "${PW1,,}" --csr "$T/dev1.csr" --os-version 14 \
    > "$T/dev1.crt" 2> "$T/enroll.err"; rc=$?
cat "$T/enroll.err"
check "enroll with a P-256 CSR (password typed in lower case) exits 0" test $rc -eq 0
check "the certificate verifies against the CA" \
    bash -c "openssl verify -CAfile '$T/ca/ca.crt' -purpose sslclient '$T/dev1.crt' | grep -q ': OK'"
check "the certificate's public key is the CSR's" \
    test "$(openssl x509 -in "$T/dev1.crt" -noout -pubkey)" = "$(openssl pkey -in "$T/dev1.key" -pubout)"
check "subject CN = the device id" \
    bash -c "openssl x509 -in '$T/dev1.crt' -noout -subject -nameopt RFC2253 | grep -q 'CN=$ID1\\(,\\|$\\)'"
SERIAL=$(openssl x509 -in "$T/dev1.crt" -noout -serial | cut -d= -f2)
check "the serial is in the database, 128 bits" \
    bash -c "[[ '$(sql "SELECT cert_serial FROM devices WHERE id = $ID1")' == '$SERIAL' && ${#SERIAL} == 32 ]]"
FP=$(openssl x509 -in "$T/dev1.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
check "the SHA-256 fingerprint is in the database" \
    test "$(sql "SELECT cert_fingerprint FROM devices WHERE id = $ID1")" = "$FP"
check "keyUsage digitalSignature, extKeyUsage clientAuth" \
    bash -c "openssl x509 -in '$T/dev1.crt' -noout -ext keyUsage,extendedKeyUsage | tr -d '\n' | grep -q 'Digital Signature.*TLS Web Client Authentication'"
check "validity is cert_validity (30 days)" \
    bash -c "openssl x509 -in '$T/dev1.crt' -noout -checkend $((29 * 86400)) >/dev/null && ! openssl x509 -in '$T/dev1.crt' -noout -checkend $((31 * 86400)) >/dev/null"
check "the device is enrolled, with its OS version" \
    test "$(sql "SELECT state || ',' || os_version FROM devices WHERE id = $ID1")" = "enrolled,14"
check "the enrollment is in the audit log" \
    test "$(sql "SELECT count(*) FROM audit WHERE action = 'enroll' AND device_id = $ID1 AND detail LIKE '%$SERIAL%'")" = 1

$CTL device enroll --hwid IMEI-001 --password "$PW1" --csr "$T/dev1.csr" > "$T/again.out" 2> "$T/again.err"; rc=$?
check "second use of a password: refused (exit 1)" test $rc -eq 1
check "second use of a password: says it was used" has "$T/again.err" 'already used'
check "second use of a password: the serial is unchanged" \
    test "$(sql "SELECT cert_serial FROM devices WHERE id = $ID1")" = "$SERIAL"

# Expired: the expiry moved into the past behind policyd's back.
PW102=$(awk '$2 == "IMEI-102" {print $3}' "$T/bulk.out")
sql "UPDATE enroll_secrets SET expires = strftime('%s','now') - 1 WHERE device_id = (SELECT id FROM devices WHERE hardware_id = 'IMEI-102')"
$CTL device enroll --hwid IMEI-102 --password "$PW102" --csr "$T/dev1.csr" 2> "$T/expired.err"; rc=$?
check "expired password: refused (exit 1)" test $rc -eq 1
check "expired password: says so" has "$T/expired.err" 'expired'
check "expired password: audited" test "$(audit_refused 'has expired')" = 1

# An RSA-2048 and a P-384 device: both accepted, serials differ.
PW101=$(awk '$2 == "IMEI-101" {print $3}' "$T/bulk.out")
PW103=$(awk '$2 == "IMEI-103" {print $3}' "$T/bulk.out")
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/rsa.key" -subj /CN=r -out "$T/rsa.csr" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$T/p384.key" -subj /CN=p -out "$T/p384.csr" 2>/dev/null
check "enroll with an RSA-2048 CSR" \
    bash -c "$CTL device enroll --hwid IMEI-101 --password '$PW101' --csr '$T/rsa.csr' > '$T/rsa.crt' 2>/dev/null"
check "enroll with a P-384 CSR" \
    bash -c "$CTL device enroll --hwid IMEI-103 --password '$PW103' --csr '$T/p384.csr' > '$T/p384.crt' 2>/dev/null"
# Four enrollments at once with one password: the worker threads race, the
# loop commits one.
PW201=$(jq -r '.[0].password' "$T/json.out")
RACE=()
for i in 1 2 3 4; do
    $CTL device enroll --hwid IMEI-201 --password "$PW201" --csr "$T/dev1.csr" \
        > "$T/race$i.crt" 2> "$T/race$i.err" &
    RACE+=($!)
done
wait "${RACE[@]}"
check "four enrollments at once with one password: exactly one certificate" \
    test "$(cat "$T"/race*.crt | grep -c 'BEGIN CERTIFICATE')" = 1
check "the three others are told the password was used" \
    test "$(grep -l 'already used' "$T"/race*.err | wc -l)" = 3
check "one enrollment in the audit log for IMEI-201" \
    test "$(sql "SELECT count(*) FROM audit a JOIN devices d ON d.id = a.device_id WHERE d.hardware_id = 'IMEI-201' AND a.action = 'enroll'")" = 1
check "all issued serials are distinct" \
    test "$(sql 'SELECT count(DISTINCT cert_serial) FROM devices WHERE cert_serial IS NOT NULL')" = 4

# --- revocation and the CRL -------------------------------------------------
$CTL ca crl > "$T/crl0.pem"; rc=$?
check "ca crl before any revocation: an empty, signed CRL" \
    bash -c "test $rc -eq 0 && openssl crl -in '$T/crl0.pem' -noout -text | grep -q 'No Revoked Certificates'"
$CTL device revoke "$ID1" > "$T/revoke.out"; rc=$?
cat "$T/revoke.out"
check "revoke exits 0 and names the serial" bash -c "test $rc -eq 0 && grep -q '$SERIAL' '$T/revoke.out'"
check "revoke: the device is blocked" test "$(sql "SELECT state FROM devices WHERE id = $ID1")" = blocked
$CTL ca crl > "$T/crl.pem"
check "the CRL lists the serial" \
    bash -c "openssl crl -in '$T/crl.pem' -noout -text | grep -q 'Serial Number: $SERIAL'"
check "the CRL is signed by the CA" \
    bash -c "openssl crl -in '$T/crl.pem' -CAfile '$T/ca/ca.crt' -noout 2>&1 | grep -q 'verify OK'"
check "the CRL's nextUpdate is crl_validity (2 days) ahead" \
    bash -c "d=\$(openssl crl -in '$T/crl.pem' -noout -nextupdate | cut -d= -f2); n=\$(date -d \"\$d\" +%s); (( n - \$(date +%s) > 2*86400 - 60 && n - \$(date +%s) <= 2*86400 ))"
check "openssl verify with the CRL: the certificate is revoked" \
    bash -c "! openssl verify -crl_check -CAfile '$T/ca/ca.crt' -CRLfile '$T/crl.pem' '$T/dev1.crt' 2>&1 | grep -q ': OK' && openssl verify -crl_check -CAfile '$T/ca/ca.crt' -CRLfile '$T/crl.pem' '$T/dev1.crt' 2>&1 | grep -q 'revoked'"
check "the CRL file in ca_dir is the published one" cmp -s "$T/crl.pem" "$T/ca/ca.crl"
check "revoke is in the audit log" \
    test "$(sql "SELECT count(*) FROM audit WHERE action = 'revoke' AND device_id = $ID1")" = 1
$CTL device revoke 9999 2> "$T/revoke404.err"; rc=$?
check "revoke of an unknown device: refused" bash -c "test $rc -eq 1 && grep -q 'no device 9999' '$T/revoke404.err'"

# --- the list -----------------------------------------------------------------
$CTL device list > "$T/list.out"; rc=$?
cat "$T/list.out"
check "device list exits 0" test $rc -eq 0
check "device list shows the states" \
    bash -c "grep -q 'IMEI-001 .* blocked' '$T/list.out' && grep -q 'IMEI-101 .* enrolled' '$T/list.out' && grep -q 'IMEI-102 .* pre-enrolled' '$T/list.out'"
check "device list --json" \
    test "$($CTL device list --json | jq -r 'map(select(.hardware_id | test("IMEI-10"))) | map(.state) | join(",")')" = "enrolled,pre-enrolled,enrolled"

# --- restart: the CA is loaded again ---------------------------------------------
check "policyd exits 0 on SIGTERM" pdenv_stop
pdenv_start
check "after a restart the CA is loaded: ca crl still lists the serial" \
    bash -c "$CTL ca crl | openssl crl -noout -text | grep -q 'Serial Number: $SERIAL'"
check "after a restart: schema 4" \
    test "$($CTL --json status policyd | jq -r '.[0].schema_version')" = 4
check "ca init --force replaces the CA" \
    bash -c "$CTL ca init --force > '$T/ca3.out' 2>/dev/null && ! cmp -s '$T/ca3.out' '$T/ca.out' && cmp -s '$T/ca3.out' '$T/ca/ca.crt' && test \$(stat -c %a '$T/ca/ca.key') = 600"
check "ca init --force is audited" test "$(sql "SELECT count(*) FROM audit WHERE action = 'ca-init'")" = 2

check "policyd is still running" kill -0 "$PID"
check "policyd exits 0 on SIGTERM at the end" pdenv_stop
check "no sanitizer report in policyd's log" bash -c "! grep -q 'Sanitizer' '$T/policyd.log'"
check_summary
