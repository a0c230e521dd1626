"""The response as an AES-256 zip (as the offline transfer route): one PDF, a neutral name.

The passphrase is generated here, shown once to whoever sends it, and given to the requester
by another channel (a phone call); it is never stored. The receipt code is in the letter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pyzipper

from exchange.instance import Instance
from exchange.packaging.offline import generate_passphrase
from exchange.subject_access.models import SubjectAccessRequest

RESPONSE_NAME = "response.pdf"


@dataclass(frozen=True)
class ResponsePackage:
    """The zip written, and its passphrase to give the requester separately (shown once)."""

    path: Path
    passphrase: str
    zip_sha256: str

    def __repr__(self) -> str:
        return f"ResponsePackage(path={self.path}, passphrase=<hidden>)"


def package_path(instance: Instance, request: SubjectAccessRequest) -> Path:
    """Return where the request's zip waits until the requester acknowledges it."""
    return instance.home / "outbox" / f"sar-{request.request_uid}.zip"


def write_package(instance: Instance, request: SubjectAccessRequest, pdf: bytes) -> ResponsePackage:
    """Write the response PDF into a new AES-256 zip with a generated passphrase."""
    path = package_path(instance, request)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    passphrase = generate_passphrase()
    try:
        with pyzipper.AESZipFile(
            path, "x", compression=pyzipper.ZIP_STORED, encryption=pyzipper.WZ_AES
        ) as archive:
            archive.setpassword(passphrase.encode("utf-8"))
            archive.setencryption(pyzipper.WZ_AES, nbits=256)
            info = archive.zipinfo_cls(RESPONSE_NAME, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = pyzipper.ZIP_STORED
            info.external_attr = 0o600 << 16
            archive.writestr(info, pdf)
        path.chmod(0o600)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ResponsePackage(path, passphrase, hashlib.sha256(path.read_bytes()).hexdigest())
