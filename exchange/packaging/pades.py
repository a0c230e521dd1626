"""Sign a PDF as PAdES (ETSI.CAdES.detached) with a school's Ed25519 key, using pyHanko.

The certificate is self-signed and derived from the key and the school's name and URN alone,
so the same key always gives the same certificate and nothing has to be stored.  Trust comes
from the key fingerprint the schools already exchanged (shown in the certificate as its
dnQualifier), not from a certificate authority.
"""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from exchange.packaging.keys import SigningKey

with warnings.catch_warnings():
    # pyHanko imports cryptography's DSA module, which warns on import; we never use DSA.
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter

FIELD_NAME = "SendingSchool"
NOT_BEFORE = datetime(2024, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)  # RFC 5280: no expiry date.
_MAX_NAME = 64  # The X.520 upper bound for common and organisation names.


def school_certificate(key: SigningKey, school_name: str, urn: str) -> x509.Certificate:
    """Return the self-signed certificate of a school key (the same every time)."""
    private = _private(key)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, school_name[:_MAX_NAME] or "School"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, school_name[:_MAX_NAME] or "School"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"URN {urn}"),
            x509.NameAttribute(NameOID.DN_QUALIFIER, key.key_id),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    public = private.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(int(key.key_id[:30], 16) | 1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(private, None)  # Ed25519 signs the message itself: no separate digest.
    )


def certificate_pem(certificate: x509.Certificate) -> bytes:
    """Return the certificate as PEM, for a receiver to use as the trust root."""
    return certificate.public_bytes(serialization.Encoding.PEM)


def sign_pdf(pdf: bytes, key: SigningKey, certificate: x509.Certificate, reason: str) -> bytes:
    """Return the PDF with an invisible PAdES B-B signature by the key over the whole file."""
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(
            certificate.public_bytes(serialization.Encoding.DER)
        ),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            _private(key).private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=None,
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
        name=certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
    return signers.sign_pdf(writer, metadata, signer=signer).getvalue()


def _private(key: SigningKey) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(key.private_raw())
