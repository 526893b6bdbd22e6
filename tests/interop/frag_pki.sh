#!/usr/bin/env bash
# frag_pki.sh DIR: the PKI of the fragmentation test (vm_interop_fragdos), made with
# the openssl CLI: a chain long enough that IKE_AUTH does not fit a small datagram.
#
#   root.key root.crt        "O=mgate test, CN=mgate frag root CA" (RSA-4096, self-signed)
#   inter.key inter.crt      "O=mgate test, CN=mgate frag intermediate CA" (RSA-4096, by root)
#   gw.key gw.crt            the gateway (RSA-4096, by inter): CN and SAN DNS gw.mgate.test,
#                            SAN IP 192.0.2.1, EKU serverAuth + ikeIntermediate;
#                            gw.crt holds the gateway's certificate, then inter's
#   gw-leaf.crt              the gateway's certificate alone
#   device.key device.crt    "O=mgate test, CN=device-1" (RSA-4096, by inter), SAN email
#                            device-1@mgate.test and DNS device-1.mgate.test, EKU clientAuth
#
# RSA-4096 key generation takes seconds on the host and minutes under the VM's TCG:
# the host-side ctest fixture makes DIR once and the VM test reuses it. A complete DIR
# is reused as it is.
set -euo pipefail
dir=${1:?usage: frag_pki.sh DIR}
mkdir -p "$dir"
cd "$dir"
[[ -s device.crt && -s gw.crt && -s root.crt && -s gw.key && -s device.key ]] && exit 0
umask 077
key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$1.key" 2>/dev/null; }
for k in root inter gw device; do key "$k"; done
umask 022
ext=$(mktemp)
trap 'rm -f "$ext"' EXIT
openssl req -new -x509 -key root.key -out root.crt -days 3650 -subj "/O=mgate test/CN=mgate frag root CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
sign() { # sign NAME SUBJ ISSUER EXT
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf '%s\n' "$4" >"$ext"
  openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 365 \
    -extfile "$ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr"
}
sign inter "/O=mgate test/CN=mgate frag intermediate CA" root \
  "basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign"
sign gw "/O=mgate test/CN=gw.mgate.test" inter \
  "subjectAltName=DNS:gw.mgate.test,IP:192.0.2.1
extendedKeyUsage=serverAuth,1.3.6.1.5.5.8.2.2
keyUsage=critical,digitalSignature"
sign device "/O=mgate test/CN=device-1" inter \
  "subjectAltName=email:device-1@mgate.test,DNS:device-1.mgate.test
extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
cp gw.crt gw-leaf.crt
cat gw-leaf.crt inter.crt >gw.crt
rm -f ./*.srl
