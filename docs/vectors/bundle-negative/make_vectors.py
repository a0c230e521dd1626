"""Regenerate or check the negative bundle vectors: one hostile bundle per rejection rule.

    python docs/vectors/bundle-negative/make_vectors.py            # check the committed files
    python docs/vectors/bundle-negative/make_vectors.py --write    # regenerate them

Every vector is built deterministically (age file keys, nonces and ephemeral keys are
derived from the vector's name) with the TEST-ONLY keys of ../bundle/, which come from
public strings: never use them for real data. index.json gives, for each file, the rule it
breaks, the step that must refuse it and this reader's exact message.
"""

# The VECTORS table keeps one vector per line, however long (E501), and every builder takes
# the vector's label whether it uses it or not (ARG005).
# ruff: noqa: E501, ARG005

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from exchange.jws import b64url
from exchange.packaging import _tar, age_format
from exchange.packaging.bundle import Bundle
from exchange.packaging.errors import InvalidBundle
from exchange.packaging.keys import EncryptionKey, SigningKey
from exchange.packaging.manifest import JWS_TYPE

HERE = Path(__file__).resolve().parent
RECIPIENT_URN = "900002"
MTIME = 1_751_365_860
FILES = {
    "chronology.json": b'{"format":"sgx-chronology","version":1}',
    "chronology.pdf": b"%PDF-1.7\n% fictional chronology\n%%EOF\n",
    "conversation.json": b'{"format":"sgx-conversation","version":1}',
    "vault/0001.pdf": b"%PDF-1.7\n% fictional vault document\n%%EOF\n" * 20,
}


def _seed(label: str) -> bytes:
    return hashlib.sha256(f"safeguarding-exchange TEST VECTOR ONLY: {label}".encode()).digest()


SENDER = SigningKey.from_raw(_seed("sender signing"))  # the keys of ../bundle/
RECIPIENT = EncryptionKey(_seed("recipient age"))
OTHER_SENDER = SigningKey.from_raw(_seed("other school signing"))
OTHER_RECIPIENT = EncryptionKey(_seed("other school age"))


def manifest(content: dict[str, bytes] = FILES, **overrides: Any) -> dict[str, Any]:
    """Return the valid manifest of content, with overrides on top."""
    listed = [
        {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in content.items()
    ]
    value: dict[str, Any] = {
        "format": "sgx-bundle",
        "version": 1,
        "transfer_id": "tr-negative-0001",
        "created_at": "2025-07-01T10:31:00Z",
        "sender": {"urn": "900001", "signing_key_id": SENDER.key_id},
        "recipient": {"urn": RECIPIENT_URN, "encryption_key_id": RECIPIENT.key_id},
        "pupil_ref": "0123456789abcdef0123456789abcdef",
        "file_count": len(listed),
        "files": listed,
        "redaction": {"names_replaced": 0},
    }
    value.update(overrides)
    return value


def signed(raw: bytes, key: SigningKey = SENDER) -> bytes:
    """Return the compact JWS of raw (Ed25519 is deterministic)."""
    from exchange.packaging.jws import sign_compact

    return sign_compact(raw, key, JWS_TYPE).encode()


def forged(header: dict[str, Any], raw: bytes, key: SigningKey = SENDER) -> bytes:
    """Return a JWS with any protected header, signed by key."""
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    signing_input = f"{head}.{b64url(raw)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}".encode()


def entry(name: str, data: bytes) -> bytes:
    """Return one tar entry: header, data, padding."""
    return b"".join(_tar.entry_chunks(name, data, MTIME))


def patch(block: bytes, offset: int, value: bytes) -> bytes:
    """Overwrite bytes of a header block and fix its checksum."""
    block = bytearray(block[:offset] + value + block[offset + len(value) :])
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block)


def tar(
    raw: bytes | None = None,
    token: bytes | None = None,
    files: dict[str, bytes] = FILES,
    end: bytes = _tar.end_of_archive(),
) -> bytes:
    """Return the inner archive: manifest.json, manifest.jws, files, end."""
    raw = rfc8785.dumps(manifest(files)) if raw is None else raw
    token = signed(raw) if token is None else token
    head = entry("manifest.json", raw) + entry("manifest.jws", token)
    return head + b"".join(entry(name, data) for name, data in files.items()) + end


def with_manifest(value: dict[str, Any] | bytes, files: dict[str, bytes] = FILES) -> bytes:
    """Return the archive of files under this (signed) manifest."""
    raw = value if isinstance(value, bytes) else rfc8785.dumps(value)
    return tar(raw, files=files)


def age(plaintext: bytes, label: str, to: EncryptionKey = RECIPIENT) -> bytes:
    """Encrypt with age v1 to one X25519 recipient, deterministically from label."""
    secret = _seed(f"age {label}")
    file_key, nonce = secret[:16], secret[16:]
    ephemeral = X25519PrivateKey.from_private_bytes(_seed(f"age ephemeral {label}"))
    head = age_format.header(to.public.raw, file_key, ephemeral)
    sealer = age_format.PayloadSealer(file_key, nonce)
    size = age_format.CHUNK_SIZE
    chunks = [plaintext[at : at + size] for at in range(0, len(plaintext), size)] or [b""]
    body = b"".join(sealer.seal(c, last=i == len(chunks) - 1) for i, c in enumerate(chunks))
    return head + nonce + body


def _after_header(data: bytes) -> int:
    mac = data.index(b"\n---")
    return data.index(b"\n", mac + 1) + 1


def _stanza(label: str) -> bytes:
    return (
        b"-> X25519 "
        + b64url(_seed(label)).encode()
        + b"\n"
        + b64url(_seed(label + "b")).encode()
        + b"\n"
    )


def _plain(label: str) -> bytes:
    return age(tar(), label)


def _flip(data: bytes, position: int) -> bytes:
    out = bytearray(data)
    out[position] ^= 1
    return bytes(out)


def _file_header(name: str, data: bytes) -> bytes:
    return _tar.entry_header(name, len(data), MTIME)


def _tar_with_last_header(edit: Callable[[bytes], bytes]) -> bytes:
    """Return the valid archive whose last file's header is edited."""
    files = dict(FILES)
    name, data = "vault/0001.pdf", files.pop("vault/0001.pdf")
    body = tar(rfc8785.dumps(manifest()), files=files, end=b"")
    block = edit(_file_header(name, data))
    return body + block + data + _tar.padding(len(data)) + _tar.end_of_archive()


def _files_plus(name: str, data: bytes) -> dict[str, bytes]:
    return {**FILES, name: data}


def _listed(files: dict[str, bytes], archive: dict[str, bytes]) -> bytes:
    return tar(rfc8785.dumps(manifest(files)), files=archive)


def _vault_of(**changes: bytes) -> dict[str, bytes]:
    return {**FILES, **changes}


# Each vector: (file stem, rule, builder).  The builder returns the whole bundle file.
Builder = Callable[[str], bytes]
VECTORS: list[tuple[str, str, Builder]] = [
    ("s1-empty", "the file is empty", lambda label: b""),
    ("s1-not-age", "the first line is not age-encryption.org/v1", lambda label: b"PK\x03\x04 a zip"),
    ("s1-too-many-stanzas", "more than 16 recipient stanzas",
     lambda label: (lambda d: d[:22] + b"".join(_stanza(f"{label}{n}") for n in range(17)) + d[22:])(_plain(label))),
    ("s1-no-stanza", "no recipient stanza",
     lambda label: (lambda d: d[:22] + d[d.index(b"---"):])(_plain(label))),
    ("s1-header-too-long", "the header is longer than 64 KiB (16 stanzas of 64 lines)",
     lambda label: _plain(label)[:22] + (b"-> X25519 " + b"A" * 43 + b"\n" + (b"A" * 64 + b"\n") * 63) * 16),
    ("s1-stanza-too-long", "a stanza is longer than 64 lines",
     lambda label: _plain(label)[:22] + b"-> X25519 " + b"A" * 43 + b"\n" + (b"A" * 64 + b"\n") * 800 + _plain(label)[22:]),
    ("s1-ends-in-header", "the file ends inside the age header", lambda label: _plain(label)[:60]),
    ("s2-other-recipient", "not encrypted to the reader's key", lambda label: age(tar(), label, OTHER_RECIPIENT)),
    ("s2-header-mac", "the header MAC does not verify",
     lambda label: (lambda d: _flip(d, d.index(b"\n---") + 6))(_plain(label))),
    ("s2-malformed-mac-line", "the age header is malformed (a bad MAC line)",
     lambda label: (lambda d: d.replace(b"\n--- ", b"\n---\t", 1))(_plain(label))),
    ("s2-flipped-payload", "a changed ciphertext byte",
     lambda label: (lambda d: _flip(d, _after_header(d) + 40))(_plain(label))),
    ("s2-truncated", "the ciphertext is truncated", lambda label: _plain(label)[:-20]),
    ("s2-extended", "bytes follow the last chunk", lambda label: _plain(label) + b"\x00"),
    ("s3-gzip", "the inner archive is compressed",
     lambda label: age(b"\x1f\x8b\x08\x00" + bytes(1020), label)),
    ("s3-bad-checksum", "a header checksum is wrong",
     lambda label: age(_tar_with_last_header(lambda b: b[:148] + b"0000000\x00" + b[156:]), label)),
    ("s3-not-ustar", "the magic is GNU's, not POSIX ustar",
     lambda label: age(_tar_with_last_header(lambda b: patch(b, 257, b"ustar  \x00")), label)),
    ("s3-base256-uid", "a numeric field is base-256",
     lambda label: age(_tar_with_last_header(lambda b: patch(b, 108, b"\x80" + bytes(7))), label)),
    ("s3-garbage-mtime", "a numeric field is not octal",
     lambda label: age(_tar_with_last_header(lambda b: patch(b, 136, b"9999zzzz999\x00")), label)),
    ("s3-symlink", "an entry is a symbolic link",
     lambda label: age(_tar_with_last_header(lambda b: patch(b, 156, b"2")), label)),
    ("s3-directory", "an entry is a directory",
     lambda label: age(_tar_with_last_header(lambda b: patch(b, 156, b"5")), label)),
    ("s3-pax", "an entry is a pax extended header",
     lambda label: age(_tar_with_last_header(lambda b: patch(b, 156, b"x")), label)),
    ("s3-link-name", "a regular file has a link name",
     lambda label: age(_tar_with_last_header(lambda b: patch(b, 157, b"chronology.pdf")), label)),
    ("s3-prefix", "the ustar prefix field is used",
     lambda label: age(_tar_with_last_header(lambda b: patch(b, 345, b"vault")), label)),
    ("s3-bytes-after-name-nul", "bytes follow the NUL that ends a name",
     lambda label: age(_tar_with_last_header(lambda b: patch(b, 20, b"evil")), label)),
    ("s3-padding", "entry padding is not zero",
     lambda label: age(tar(end=b"")[:-1] + b"\x01" + _tar.end_of_archive(), label)),
    ("s3-lone-zero-block", "a zero block in the middle of the archive",
     lambda label: age(tar(rfc8785.dumps(manifest()), files={}, end=bytes(512)) + entry("chronology.json", b"x") + _tar.end_of_archive(), label)),
    ("s4-manifest-not-first", "entry 1 is not manifest.json",
     lambda label: age(entry("chronology.json", FILES["chronology.json"]) + _tar.end_of_archive(), label)),
    ("s4-signature-not-second", "entry 2 is not manifest.jws",
     lambda label: age(entry("manifest.json", rfc8785.dumps(manifest())) + entry("chronology.json", b"{}") + _tar.end_of_archive(), label)),
    ("s4-empty-manifest", "manifest.json is empty",
     lambda label: age(entry("manifest.json", b"") + entry("manifest.jws", signed(b"")) + _tar.end_of_archive(), label)),
    ("s4-manifest-over-cap", "manifest.json declares more than 12 MiB",
     lambda label: age(_tar.entry_header("manifest.json", 12 * 1024 * 1024 + 1, MTIME), label)),
    ("s4-no-entries", "the archive holds no entries", lambda label: age(_tar.end_of_archive(), label)),
    ("s5-whitespace", "manifest.jws ends with a newline",
     lambda label: age(tar(token=signed(rfc8785.dumps(manifest())) + b"\n"), label)),
    ("s5-two-parts", "manifest.jws has two parts",
     lambda label: age(tar(token=signed(rfc8785.dumps(manifest())).rsplit(b".", 1)[0]), label)),
    ("s5-alg-none", "alg is none",
     lambda label: age(tar(token=forged({"alg": "none", "kid": SENDER.key_id, "typ": JWS_TYPE}, rfc8785.dumps(manifest())).rsplit(b".", 1)[0] + b"."), label)),
    ("s5-duplicate-header-key", "a header key is given twice",
     lambda label: age(tar(token=b64url(b'{"alg":"Ed25519","alg":"Ed25519"}').encode() + b"." + signed(rfc8785.dumps(manifest())).split(b".", 1)[1]), label)),
    ("s5-header-not-json", "the header is not JSON",
     lambda label: age(tar(token=b64url(b"alg=Ed25519").encode() + b"." + signed(rfc8785.dumps(manifest())).split(b".", 1)[1]), label)),
    ("s5-x5u", "the header names a key URL (x5u)",
     lambda label: age(tar(token=forged({"alg": "Ed25519", "kid": SENDER.key_id, "typ": JWS_TYPE, "x5u": "https://example.invalid/k"}, rfc8785.dumps(manifest()))), label)),
    ("s5-b64-false", "the header sets b64 (RFC 7797)",
     lambda label: age(tar(token=forged({"alg": "Ed25519", "b64": False, "kid": SENDER.key_id, "typ": JWS_TYPE}, rfc8785.dumps(manifest()))), label)),
    ("s5-crit", "the header has crit",
     lambda label: age(tar(token=forged({"alg": "Ed25519", "crit": ["exp"], "exp": 1, "kid": SENDER.key_id, "typ": JWS_TYPE}, rfc8785.dumps(manifest()))), label)),
    ("s5-wrong-typ", "typ is not sgx-manifest+jws",
     lambda label: age(tar(token=forged({"alg": "Ed25519", "kid": SENDER.key_id, "typ": "JWT"}, rfc8785.dumps(manifest()))), label)),
    ("s5-unknown-kid", "kid is not a known signing key of the sender",
     lambda label: age(tar(rfc8785.dumps(manifest(sender={"urn": "900001", "signing_key_id": OTHER_SENDER.key_id})), token=signed(rfc8785.dumps(manifest(sender={"urn": "900001", "signing_key_id": OTHER_SENDER.key_id})), OTHER_SENDER)), label)),
    ("s5-non-canonical-base64url", "the signature's unused bits are not zero",
     lambda label: age(tar(token=(lambda t: t[:-1] + (b"B" if t[-1:] == b"A" else bytes([t[-1] ^ 1])))(signed(rfc8785.dumps(manifest())))), label)),
    ("s5-bad-signature", "signed with another key under the sender's kid",
     lambda label: age(tar(token=forged({"alg": "Ed25519", "kid": SENDER.key_id, "typ": JWS_TYPE}, rfc8785.dumps(manifest()), OTHER_SENDER)), label)),
    ("s6-payload-differs", "manifest.json is not the signed payload",
     lambda label: age(tar(rfc8785.dumps(manifest(transfer_id="tr-forged")), token=signed(rfc8785.dumps(manifest()))), label)),
    ("s7-not-object", "the manifest is a JSON array", lambda label: age(with_manifest(b"[]"), label)),
    ("s7-not-json", "the manifest is not JSON", lambda label: age(with_manifest(b"{format"), label)),
    ("s7-duplicate-key", "a manifest key is given twice",
     lambda label: age(with_manifest(b'{"format":"sgx-bundle","format":"sgx-bundle"}'), label)),
    ("s7-unknown-version", "version 2", lambda label: age(with_manifest(manifest(version=2)), label)),
    ("s7-unknown-field", "an unknown top-level field", lambda label: age(with_manifest(manifest(note="x")), label)),
    ("s7-missing-field", "a field is missing",
     lambda label: age(with_manifest({k: v for k, v in manifest().items() if k != "pupil_ref"}), label)),
    ("s7-file-extra-field", "a files entry has an extra field",
     lambda label: age(with_manifest(manifest(files=[{**f, "mode": 420} for f in manifest()["files"]])), label)),
    ("s7-files-not-array", "files is not an array", lambda label: age(with_manifest(manifest(files={})), label)),
    ("s7-negative-size", "a size is negative",
     lambda label: age(with_manifest(manifest(files=[{**f, "size": -1} for f in manifest()["files"]])), label)),
    ("s7-negative-redaction", "a redaction count is negative",
     lambda label: age(with_manifest(manifest(redaction={"names_replaced": -3})), label)),
    ("s7-impossible-date", "created_at is 30 February", lambda label: age(with_manifest(manifest(created_at="2025-02-30T10:00:00Z")), label)),
    ("s7-urn-number", "the sender URN is a JSON number",
     lambda label: age(with_manifest(manifest(sender={"urn": 900001, "signing_key_id": SENDER.key_id})), label)),
    ("s7-pupil-ref-form", "pupil_ref is not 32 lower-case hex digits",
     lambda label: age(with_manifest(manifest(pupil_ref="JohnSmith")), label)),
    ("s7-not-canonical", "the manifest has insignificant whitespace",
     lambda label: age(with_manifest(json.dumps(manifest(), sort_keys=True).encode()), label)),
    ("s8-other-recipient-key", "the manifest names another encryption key",
     lambda label: age(with_manifest(manifest(recipient={"urn": RECIPIENT_URN, "encryption_key_id": OTHER_RECIPIENT.key_id})), label)),
    ("s8-other-recipient-urn", "the manifest names another school",
     lambda label: age(with_manifest(manifest(recipient={"urn": "900003", "encryption_key_id": RECIPIENT.key_id})), label)),
    ("s8-sender-key-not-kid", "sender.signing_key_id is not the JWS kid",
     lambda label: age(with_manifest(manifest(sender={"urn": "900001", "signing_key_id": "0" * 64})), label)),
    ("s9-file-count", "file_count differs from the list", lambda label: age(with_manifest(manifest(file_count=3)), label)),
    ("s9-not-a-vault-name", "a name that is neither required nor vault/NNNN.ext",
     lambda label: age(_listed(_files_plus("notes.txt", b"x"), _files_plus("notes.txt", b"x")), label)),
    ("s9-traversal", "a listed name climbs out with ..",
     lambda label: age(_listed(_files_plus("../evil.pdf", b"x"), FILES), label)),
    ("s9-trailing-dot", "a listed name ends with a dot",
     lambda label: age(_listed(_files_plus("vault/0002.pdf.", b"x"), FILES), label)),
    ("s9-device-name", "a listed name is a Windows device name",
     lambda label: age(_listed(_files_plus("vault/con.pdf", b"x"), FILES), label)),
    ("s9-reserved", "manifest.json is listed", lambda label: age(_listed(_files_plus("manifest.json", b"x"), FILES), label)),
    ("s9-duplicate", "a name is listed twice",
     lambda label: age(with_manifest(manifest(files=[*manifest()["files"], manifest()["files"][-1]], file_count=5)), label)),
    ("s9-required-missing", "conversation.json is not listed",
     lambda label: age(_listed({k: v for k, v in FILES.items() if k != "conversation.json"}, FILES), label)),
    ("s9-per-file-cap", "a listed size is over 256 MiB",
     lambda label: age(with_manifest(manifest(files=[*manifest()["files"][:3], {**manifest()["files"][3], "size": 256 * 1024 * 1024 + 1}])), label)),
    ("s10-unlisted", "an archive entry is not listed",
     lambda label: age(_listed(FILES, _files_plus("vault/0099.pdf", b"smuggled")), label)),
    ("s10-out-of-order", "the archive is not in manifest order",
     lambda label: age(_listed(FILES, dict(reversed(FILES.items()))), label)),
    ("s10-duplicate", "an entry appears twice",
     lambda label: age(_listed(FILES, FILES)[:-1024] + entry("vault/0001.pdf", FILES["vault/0001.pdf"]) + _tar.end_of_archive(), label)),
    ("s10-case-twin", "an entry differs only by case from a listed name",
     lambda label: age(_listed(FILES, {**{k: v for k, v in FILES.items() if k != "vault/0001.pdf"}, "VAULT/0001.pdf": FILES["vault/0001.pdf"]}), label)),
    ("s10-size-differs", "an entry's header size is not the listed size",
     lambda label: age(_listed(FILES, _vault_of(**{"vault/0001.pdf": FILES["vault/0001.pdf"] + b"x"})), label)),
    ("s10-changed-file", "an entry's SHA-256 is not the listed one",
     lambda label: age(_listed(FILES, _vault_of(**{"vault/0001.pdf": FILES["vault/0001.pdf"].replace(b"PDF", b"PDX", 1)})), label)),
    ("s11-missing-file", "a listed file is not in the archive",
     lambda label: age(_listed(FILES, {k: v for k, v in FILES.items() if k != "vault/0001.pdf"}), label)),
    ("s11-data-after-end", "non-zero bytes follow the end of the archive", lambda label: age(tar() + b"trailing", label)),
    ("s11-no-end-marker", "the archive has no end-of-archive marker", lambda label: age(tar(end=b""), label)),
]  # fmt: skip


def _refusal(data: bytes) -> str:
    try:
        with Bundle.from_bytes(data, [RECIPIENT], [SENDER.public], RECIPIENT_URN):
            return ""
    except InvalidBundle as exc:
        return str(exc)


def generate() -> dict[str, bytes]:
    """Return every vector file and the index, by file name."""
    out: dict[str, bytes] = {}
    index = []
    for stem, rule, build in VECTORS:
        data = build(stem)
        message = _refusal(data)
        step = int(message.split(":", 1)[0].removeprefix("step ")) if message else 0
        out[f"{stem}.age"] = data
        index.append({"file": f"{stem}.age", "rule": rule, "step": step, "message": message})
    header = {
        "note": "TEST VECTORS ONLY: the keys (../bundle/) are public. Never use them for real data.",
        "identity": "../bundle/TEST-ONLY-recipient-identity.txt",
        "sender_public_key": "../bundle/sender-signing-public.pem",
        "recipient_urn": RECIPIENT_URN,
        "vectors": index,
    }
    out["index.json"] = (json.dumps(header, indent=2, ensure_ascii=False) + "\n").encode()
    return out


def check() -> list[str]:
    """Return the problems found in the committed vectors (empty when they are sound)."""
    problems = []
    fresh = generate()
    committed = {path.name for path in HERE.iterdir() if path.suffix in (".age", ".json")}
    for name in sorted(committed - set(fresh)):
        problems.append(f"{name} is not a vector any more")
    for name, data in fresh.items():
        path = HERE / name
        if not path.exists() or path.read_bytes() != data:
            problems.append(f"{name} differs from what make_vectors.py builds")
    for item in json.loads(fresh["index.json"])["vectors"]:
        if not item["message"].startswith(f"step {item['step']}: ") or item["step"] == 0:
            problems.append(f"{item['file']} is not refused: {item['message']!r}")
    return problems


def main() -> int:
    """Check or write the vectors."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="regenerate the vectors")
    if parser.parse_args().write:
        for name, data in generate().items():
            (HERE / name).write_bytes(data)
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
