#!/bin/sh
# Check a safeguarding-exchange evidence pack (format 2) with OpenSSL 3 and coreutils only.
# Run it in the pack's folder:  sh check.sh
# It checks every file against SHA256SUMS, that each .signing-input and .sig is exactly the
# part of its .jws, both Ed25519 signatures, the key ids, that the countersignature quotes
# this very receipt, and that both are between the same two schools. Exit 0 only if all hold.
set -eu
LC_ALL=C
export LC_ALL
cd "$(dirname "$0")"

fail() {
    echo "NOT VERIFIED: $*" >&2
    exit 1
}

for tool in openssl sha256sum cmp cut tr sed mktemp; do
    command -v "$tool" >/dev/null 2>&1 || fail "this check needs $tool"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT HUP INT TERM

FILES="README.txt SHA256SUMS check.sh countersignature.jws countersignature.sig countersignature.signing-input receipt.jws receipt.pdf receipt.sig receipt.signing-input receiver-signing.pem sender-signing.pem"
LISTED="README.txt check.sh countersignature.jws countersignature.sig countersignature.signing-input receipt.jws receipt.pdf receipt.sig receipt.signing-input receiver-signing.pem sender-signing.pem"

# 1. The pack holds exactly its files, and each is byte for byte as exported.
present=$(ls -A | sort | tr '\n' ' ' | sed 's/ $//')
[ "$present" = "$FILES" ] || fail "the folder holds other files than a pack: $present"
listed=$(cut -c67- SHA256SUMS | sort | tr '\n' ' ' | sed 's/ $//')
[ "$listed" = "$LISTED" ] || fail "SHA256SUMS does not list every file of the pack once"
sha256sum --check --strict --quiet SHA256SUMS || fail "a file differs from SHA256SUMS"

b64url_decode() {
    s=$(tr -d '\n' | tr '_-' '/+')
    case $((${#s} % 4)) in
    0) ;;
    2) s="$s==" ;;
    3) s="$s=" ;;
    *) fail "not base64url" ;;
    esac
    printf '%s' "$s" | openssl base64 -d -A
}
part() { # part FILE N: the Nth dot-separated part of a compact JWS file
    cut -d. -f"$2" "$1" | tr -d '\n'
}
field() { # field NAME: a JSON string field, from canonical JSON on stdin
    sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p"
}
key_id() { # the key id: SHA-256 of the raw 32-byte Ed25519 public key
    openssl pkey -pubin -in "$1" -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1
}

# 2. Each signing input and signature is exactly the part of its JWS, and verifies.
for name in receipt countersignature; do
    [ "$(tr -d '\n' <"$name.jws" | tr -cd '.' | wc -c)" -eq 2 ] || fail "$name.jws is not a compact JWS"
    part "$name.jws" 1-2 >"$work/$name.input"
    cmp -s "$work/$name.input" "$name.signing-input" ||
        fail "$name.signing-input is not the signing input of $name.jws"
    part "$name.jws" 3 | b64url_decode >"$work/$name.sig"
    cmp -s "$work/$name.sig" "$name.sig" || fail "$name.sig is not the signature of $name.jws"
    part "$name.jws" 1 | b64url_decode >"$work/$name.header"
    part "$name.jws" 2 | b64url_decode >"$work/$name.payload"
    grep -Eq '"alg" *: *"(Ed25519|EdDSA)"' "$work/$name.header" ||
        fail "$name.jws is not signed with Ed25519"
done
openssl pkeyutl -verify -rawin -pubin -inkey receiver-signing.pem \
    -in receipt.signing-input -sigfile receipt.sig >/dev/null ||
    fail "the receipt's signature does not verify with receiver-signing.pem"
openssl pkeyutl -verify -rawin -pubin -inkey sender-signing.pem \
    -in countersignature.signing-input -sigfile countersignature.sig >/dev/null ||
    fail "the countersignature's signature does not verify with sender-signing.pem"

# 3. The key ids: the JWS headers name these keys, and the receipt quotes its own.
receiver_kid=$(key_id receiver-signing.pem)
sender_kid=$(key_id sender-signing.pem)
[ "$(field kid <"$work/receipt.header")" = "$receiver_kid" ] ||
    fail "the receipt names another signing key"
[ "$(field kid <"$work/countersignature.header")" = "$sender_kid" ] ||
    fail "the countersignature names another signing key"
[ "$(field signing_key_id <"$work/receipt.payload")" = "$receiver_kid" ] ||
    fail "the receipt quotes another signing key id"

# 4. The countersignature quotes this receipt: its bytes and its SHA-256 (of receipt.jws
#    without its trailing newline), for the same transfer, between the same two schools.
receipt=$(tr -d '\n' <receipt.jws)
receipt_sha256=$(printf '%s' "$receipt" | sha256sum | cut -d' ' -f1)
[ "$(field receipt <"$work/countersignature.payload")" = "$receipt" ] ||
    fail "the countersignature does not quote this receipt"
[ "$(field receipt_sha256 <"$work/countersignature.payload")" = "$receipt_sha256" ] ||
    fail "the countersignature quotes another receipt hash"
grep -q '"verified" *: *true' "$work/countersignature.payload" ||
    fail "the countersignature does not say the receipt was verified"
transfer=$(field transfer_id <"$work/receipt.payload")
[ -n "$transfer" ] && [ "$(field transfer_id <"$work/countersignature.payload")" = "$transfer" ] ||
    fail "the countersignature is for another transfer"
receiver=$(field iss <"$work/receipt.payload")
sender=$(field aud <"$work/receipt.payload")
[ "$(field iss <"$work/countersignature.payload")" = "$sender" ] &&
    [ "$(field aud <"$work/countersignature.payload")" = "$receiver" ] ||
    fail "the receipt and countersignature are not between the same two schools"

echo "transfer:          $transfer"
echo "sending school:    $sender   key id $sender_kid"
echo "receiving school:  $receiver   key id $receiver_kid"
echo "disposition:       $(field disposition <"$work/receipt.payload")"
echo "ciphertext sha256: $(field ciphertext_sha256 <"$work/receipt.payload")"
echo "manifest sha256:   $(field manifest_sha256 <"$work/receipt.payload")"
echo "Compare both key ids with those the two schools' DSLs confirmed by phone."
echo "VERIFIED: the receipt and its countersignature verify, and every file is as exported"
