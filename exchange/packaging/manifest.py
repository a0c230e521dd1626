"""The bundle manifest, version 1: what was sent, by whom, to whom, with every file's hash."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import rfc8785

from exchange.packaging import names
from exchange.packaging.errors import InvalidBundle
from exchange.packaging.jws import strict_json

FORMAT = "sgx-bundle"
VERSION = 1
KNOWN_VERSIONS = (1,)
JWS_TYPE = "sgx-manifest+jws"
MAX_MANIFEST_BYTES = 12 * 1024 * 1024  # manifest.json (step 4)
MAX_SIGNATURE_BYTES = 16 * 1024 * 1024  # manifest.jws (step 4)
MAX_INTEGER = 2**53 - 1  # I-JSON: every integer is exact in a double
FIELDS = frozenset(
    {"format", "version", "transfer_id", "created_at", "sender", "recipient", "pupil_ref"}
    | {"file_count", "files", "redaction"}
)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_URN = re.compile(r"[0-9]{6}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_COUNTER = re.compile(r"[a-z][a-z0-9_]{0,63}")
_STAMP_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class FileEntry:
    """One listed file: neutral name, exact size and SHA-256 (lower-case hex)."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """The parsed manifest of a bundle."""

    transfer_id: str
    created_at: datetime
    sender_urn: str
    sender_key_id: str
    recipient_urn: str
    recipient_key_id: str
    pupil_ref: str
    files: tuple[FileEntry, ...]
    redaction: dict[str, int]
    version: int = VERSION
    declared_count: int | None = field(default=None, compare=False, repr=False)

    @property
    def file_count(self) -> int:
        """Return how many files the manifest lists."""
        return len(self.files)

    @property
    def total_size(self) -> int:
        """Return the sum of the listed files' sizes."""
        return sum(entry.size for entry in self.files)

    @cached_property
    def _by_name(self) -> dict[str, FileEntry]:
        return {entry.name: entry for entry in self.files}

    def entry(self, name: str) -> FileEntry | None:
        """Return the entry of a name, if listed."""
        return self._by_name.get(name)

    def to_json(self) -> dict[str, Any]:
        """Return the manifest as the JSON object the spec describes."""
        return {
            "format": FORMAT,
            "version": self.version,
            "transfer_id": self.transfer_id,
            "created_at": self.created_at.astimezone(UTC).strftime(_STAMP),
            "sender": {"urn": self.sender_urn, "signing_key_id": self.sender_key_id},
            "recipient": {"urn": self.recipient_urn, "encryption_key_id": self.recipient_key_id},
            "pupil_ref": self.pupil_ref,
            "file_count": self.file_count,
            "files": [
                {"name": entry.name, "size": entry.size, "sha256": entry.sha256}
                for entry in self.files
            ],
            "redaction": dict(self.redaction),
        }

    def to_bytes(self) -> bytes:
        """Return the canonical (RFC 8785) UTF-8 bytes of the manifest."""
        return rfc8785.dumps(self.to_json())

    def summary(self) -> dict[str, Any]:
        """Return what a person checking the bundle needs, without file-level detail."""
        return {
            "format": f"{FORMAT} v{self.version}",
            "transfer_id": self.transfer_id,
            "created_at": self.created_at.strftime(_STAMP),
            "sender_urn": self.sender_urn,
            "sender_key_id": self.sender_key_id,
            "recipient_urn": self.recipient_urn,
            "recipient_key_id": self.recipient_key_id,
            "pupil_ref": self.pupil_ref,
            "file_count": self.file_count,
            "total_bytes": self.total_size,
        }


def parse_manifest(raw: bytes) -> Manifest:
    """Parse manifest bytes (already signature-checked) per spec step 7."""
    data = strict_json(raw, "step 7: manifest.json", max_bytes=MAX_MANIFEST_BYTES)
    if not isinstance(data, dict):
        raise InvalidBundle("step 7: manifest.json is not a JSON object")
    if data.get("format") != FORMAT:
        raise InvalidBundle(f"step 7: manifest format {data.get('format')!r} is not {FORMAT!r}")
    version = data.get("version")
    if type(version) is not int or version not in KNOWN_VERSIONS:
        raise InvalidBundle(
            f"step 7: manifest version {version!r} is not known (this reader knows "
            f"{', '.join(map(str, KNOWN_VERSIONS))})"
        )
    _exact_fields(data, FIELDS, "manifest")
    sender = _object(data, "sender", {"urn", "signing_key_id"})
    recipient = _object(data, "recipient", {"urn", "encryption_key_id"})
    files = data["files"]
    if not isinstance(files, list):
        raise InvalidBundle("step 7: manifest files is not a JSON array")
    count = data["file_count"]
    if not _whole(count):
        raise InvalidBundle(f"step 7: manifest file_count {count!r} is not a whole number")
    manifest = Manifest(
        transfer_id=_match(data, "transfer_id", _TOKEN),
        created_at=_stamp(data["created_at"]),
        sender_urn=_match(sender, "urn", _URN, "sender"),
        sender_key_id=_match(sender, "signing_key_id", _HEX64, "sender"),
        recipient_urn=_match(recipient, "urn", _URN, "recipient"),
        recipient_key_id=_match(recipient, "encryption_key_id", _HEX64, "recipient"),
        pupil_ref=_match(data, "pupil_ref", _HEX32),
        files=tuple(_file(item, index) for index, item in enumerate(files)),
        redaction=_redaction(data["redaction"]),
        version=version,
        declared_count=count,
    )
    _check_canonical(raw, data)
    return manifest


def check_file_list(manifest: Manifest) -> None:
    """Check listed names are safe, unique, not colliding and complete (spec step 9)."""
    declared = manifest.declared_count
    if declared is not None and declared != manifest.file_count:
        raise InvalidBundle(
            f"step 9: manifest file_count {declared} does not match the "
            f"{manifest.file_count} files it lists"
        )
    seen: dict[str, str] = {}
    for entry in manifest.files:
        names.check_listed_name(entry.name, "step 9: manifest")
        folded = names.fold(entry.name)
        if folded in seen:
            if seen[folded] == entry.name:
                raise InvalidBundle(f"step 9: manifest lists {entry.name!r} twice")
            raise InvalidBundle(
                f"step 9: manifest lists {seen[folded]!r} and {entry.name!r}, which differ "
                "only by case"
            )
        seen[folded] = entry.name
    _refuse_file_folder_collisions(seen)
    for required in names.REQUIRED:
        if required not in seen:
            raise InvalidBundle(f"step 9: manifest does not list the required file {required!r}")


def _refuse_file_folder_collisions(listed: dict[str, str]) -> None:
    """Step 9: no listed file's name is also the folder of another (`a` and `a/b`)."""
    for folded, name in listed.items():
        folder, separator, _ = folded.partition("/")
        if separator and folder in listed:
            raise InvalidBundle(
                f"step 9: manifest lists {listed[folder]!r} as a file and as the folder of "
                f"{name!r}; one name cannot be both"
            )


def _whole(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_INTEGER


def _exact_fields(data: dict[str, Any], expected: set[str] | frozenset[str], label: str) -> None:
    missing = sorted(expected - set(data))
    if missing:
        raise InvalidBundle(f"step 7: {label} has no {missing[0]!r} field")
    unknown = sorted(set(data) - expected)
    if unknown:
        raise InvalidBundle(
            f"step 7: {label} has the unknown field {unknown[0]!r} (new fields need a new version)"
        )


def _object(data: dict[str, Any], key: str, fields: set[str]) -> dict[str, Any]:
    value = data[key]
    if not isinstance(value, dict):
        raise InvalidBundle(f"step 7: manifest {key} is not a JSON object")
    _exact_fields(value, fields, f"manifest {key}")
    return value


def _match(data: dict[str, Any], key: str, pattern: re.Pattern[str], parent: str = "") -> str:
    value = data[key]
    label = f"{parent}.{key}" if parent else key
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidBundle(f"step 7: manifest {label} {value!r} is malformed")
    return value


def _stamp(value: Any) -> datetime:
    try:
        if not isinstance(value, str) or not _STAMP_FORM.fullmatch(value):
            raise ValueError(value)
        return datetime.strptime(value, _STAMP).replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidBundle(
            f"step 7: manifest created_at {value!r} is not a real UTC time YYYY-MM-DDTHH:MM:SSZ"
        ) from exc


def _file(item: Any, index: int) -> FileEntry:
    where = f"step 7: manifest file {index + 1}"
    if not isinstance(item, dict) or set(item) != {"name", "size", "sha256"}:
        raise InvalidBundle(f"{where} must be an object of exactly name, size and sha256")
    name, size, digest = item["name"], item["size"], item["sha256"]
    if not isinstance(name, str):
        raise InvalidBundle(f"{where} has a name that is not a string")
    if not _whole(size):
        raise InvalidBundle(f"{where} ({name!r}) has a size that is not a whole number")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise InvalidBundle(f"{where} ({name!r}) has a malformed sha256")
    return FileEntry(name=name, size=size, sha256=digest)


def _redaction(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and _COUNTER.fullmatch(k) and _whole(v) for k, v in value.items()
    ):
        raise InvalidBundle(
            "step 7: manifest redaction must map lower-case names to whole numbers (0 or more)"
        )
    return dict(value)


def _check_canonical(raw: bytes, data: dict[str, Any]) -> None:
    try:
        canonical = rfc8785.dumps(data)
    except ValueError:
        canonical = b""
    if canonical != raw:
        raise InvalidBundle(
            "step 7: manifest.json is not canonical JSON (RFC 8785: sorted keys, no spaces)"
        )
