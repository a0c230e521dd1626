#!/bin/sh
# Check a safeguarding-exchange offline evidence pack (format 1) with OpenSSL 3 and coreutils.
# Run it in the pack's folder:  sh check.sh
# It checks every file against SHA256SUMS, that the .signing-input and .sig are exactly the
# parts of offline-receipt.jws, its Ed25519 signature by the sending school, and its key id.
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

FILES="README.txt SHA256SUMS check.sh offline-receipt.jws offline-receipt.sig offline-receipt.signing-input sender-signing.pem"
LISTED="README.txt check.sh offline-receipt.jws offline-receipt.sig offline-receipt.signing-input sender-signing.pem"

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
part() {
    cut -d. -f"$2" "$1" | tr -d '\n'
}
field() {
    sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p"
}
key_id() {
    openssl pkey -pubin -in "$1" -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1
}

# 2. The signing input and signature are exactly the parts of the JWS, and verify.
name=offline-receipt
[ "$(tr -d '\n' <"$name.jws" | tr -cd '.' | wc -c)" -eq 2 ] || fail "$name.jws is not a compact JWS"
part "$name.jws" 1-2 >"$work/input"
cmp -s "$work/input" "$name.signing-input" || fail "$name.signing-input is not the signing input"
part "$name.jws" 3 | b64url_decode >"$work/sig"
cmp -s "$work/sig" "$name.sig" || fail "$name.sig is not the signature of $name.jws"
part "$name.jws" 1 | b64url_decode >"$work/header"
part "$name.jws" 2 | b64url_decode >"$work/payload"
grep -Eq '"alg" *: *"(Ed25519|EdDSA)"' "$work/header" || fail "$name.jws is not signed with Ed25519"
grep -q '"typ" *: *"sgx-offline-receipt+jws"' "$work/header" || fail "$name.jws is not an offline receipt"
openssl pkeyutl -verify -rawin -pubin -inkey sender-signing.pem \
    -in "$name.signing-input" -sigfile "$name.sig" >/dev/null ||
    fail "the offline receipt's signature does not verify with sender-signing.pem"

# 3. The key id: the JWS header names this key.
sender_kid=$(key_id sender-signing.pem)
[ "$(field kid <"$work/header")" = "$sender_kid" ] || fail "the receipt names another signing key"

echo "transfer:          $(field transfer_id <"$work/payload")"
echo "sending school:    $(field sender <"$work/payload")   key id $sender_kid"
echo "received by:       $(field recipient <"$work/payload")"
echo "zip sha256:        $(field zip_sha256 <"$work/payload")"
echo "method:            $(field method <"$work/payload")"
echo "confirmed by:      $(field confirmed_by <"$work/payload") at $(field confirmed_at <"$work/payload")"
echo "Compare the key id with the sending school's published key id."
echo "VERIFIED: the offline receipt record verifies, and every file is as exported"
