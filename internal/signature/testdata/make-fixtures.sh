#!/usr/bin/env bash
# Makes the GOST signature fixtures with OpenSSL and Debian's gost engine
# (apt-get install libengine-gost-openssl): a CA, keys and certificates
# (valid, expired, not yet valid, wrong key usage; 256- and 512-bit keys) and
# detached CMS signatures over a generated СЭМД (doc.xml). The outputs are
# committed; rerun only to renew them (the tests pin today's validity windows
# by reading the certificates, so a renewal needs no test change).
set -euo pipefail
cd "$(dirname "$0")"
E="-engine gost"
export OPENSSL_CONF=/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

key() { openssl genpkey $E -algorithm "$1" -pkeyopt "paramset:$2" -out "$3" 2>/dev/null; }

# CA: 256-bit CryptoPro-A, ten years.
key gost2012_256 A ca.key
openssl req $E -x509 -new -key ca.key -subj "/CN=emdhub test CA/O=emdhub/C=RU" -days 3650 -out ca.pem 2>/dev/null

cat > "$work/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = $work
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
policy = any
copy_extensions = none
default_md = md_gost12_256
[any]
commonName = supplied
organizationName = optional
[signer]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = emailProtection
[wrongku]
basicConstraints = CA:FALSE
keyUsage = critical, keyEncipherment
CNF
: > "$work/index.txt"
echo 1000 > "$work/serial"

cert() { # name algorithm paramset subject start end extensions
  key "$2" "$3" "$1.key"
  openssl req $E -new -key "$1.key" -subj "$4" -out "$work/$1.csr" 2>/dev/null
  openssl ca $E -batch -config "$work/ca.cnf" -cert ca.pem -keyfile ca.key -in "$work/$1.csr" -out "$1.pem" \
    -startdate "$5" -enddate "$6" -extensions "$7" -notext >/dev/null 2>&1
}
now=$(date -u +%Y%m%d%H%M%SZ)
cert doctor256 gost2012_256 TCA "/CN=Иванов Иван Иванович/O=ГБУЗ ГКБ" 20250101000000Z 20351231235959Z signer
cert org512 gost2012_512 A "/CN=ГБУЗ ГКБ/O=ГБУЗ ГКБ" 20250101000000Z 20351231235959Z signer
cert expired256 gost2012_256 TCA "/CN=Петров Пётр/O=ГБУЗ ГКБ" 20200101000000Z 20250101000000Z signer
cert notyet256 gost2012_256 TCA "/CN=Сидоров Сидор/O=ГБУЗ ГКБ" 20400101000000Z 20450101000000Z signer
cert wrongku256 gost2012_256 TCA "/CN=Кузнецов Кузьма/O=ГБУЗ ГКБ" 20250101000000Z 20351231235959Z wrongku
cert cpb256 gost2012_256 B "/CN=CryptoPro-B signer/O=ГБУЗ ГКБ" 20250101000000Z 20351231235959Z signer
cert org512b gost2012_512 B "/CN=TC26 512-B signer/O=ГБУЗ ГКБ" 20250101000000Z 20351231235959Z signer

sign() { # out signer md
  openssl cms $E -sign -binary -in doc.xml -signer "$2.pem" -inkey "$2.key" -md "$3" -outform DER -out "$1"
}
sign doctor256.p7s doctor256 md_gost12_256
sign org512.p7s org512 md_gost12_512
sign expired256.p7s expired256 md_gost12_256
sign notyet256.p7s notyet256 md_gost12_256
sign wrongku256.p7s wrongku256 md_gost12_256
sign cpb256.p7s cpb256 md_gost12_256
sign org512b.p7s org512b md_gost12_512
openssl cms $E -sign -binary -in doc.xml -signer doctor256.pem -inkey doctor256.key -signer cpb256.pem -inkey cpb256.key \
  -md md_gost12_256 -outform DER -out two-signers.p7s
# Streebog digests as the engine prints them, for cross-checking our hash.
for f in doc.xml ca.pem; do
  printf '%s %s %s\n' "$f" "$(openssl dgst $E -md_gost12_256 -r "$f" 2>/dev/null | cut -d' ' -f1)" "$(openssl dgst $E -md_gost12_512 -r "$f" 2>/dev/null | cut -d' ' -f1)"
done > digests.txt
rm -f *.key.bak
echo "fixtures written"

# Cross-check the other way: signatures made by our Go code (signature.Sign)
# must verify in OpenSSL.
out=$(mktemp -d)
(cd .. && WRITE_GO_SIGNATURES="$out" go test -run TestSignVerifies -count=1 . >/dev/null)
for n in doctor256 org512 cpb256 org512b; do
  openssl cms $E -verify -binary -inform DER -in "$out/$n.p7s" -content doc.xml -CAfile ca.pem -purpose any -out /dev/null 2>/dev/null \
    || { echo "OpenSSL refused the Go signature of $n"; exit 1; }
done
rm -rf "$out"
echo "Go signatures verified by OpenSSL"
