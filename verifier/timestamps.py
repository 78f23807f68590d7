"""Verifying RFC 3161 timestamp responses, and naming certificates by their fingerprints.

The one implementation in the product: the server's TSA port (``ports.tsa``) verifies
every token it receives with it, and the offline verifier of evidence bundles checks the bundled
tokens with it. Depends on ``cryptography``, ``rfc3161-client`` and ``asn1crypto`` only.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone


class TokenInvalid(Exception):
    """A token does not verify for the digest it is supposed to cover."""


def _decode(response: bytes):
    from rfc3161_client import decode_timestamp_response

    try:
        return decode_timestamp_response(response)
    except Exception as exc:  # the Rust parser raises its own error types
        raise TokenInvalid(f"not an RFC 3161 response: {exc}") from exc


def load_certificates(pem: bytes | None) -> list:
    """The X.509 certificates of a PEM file (an empty list for None or no certificate)."""
    from cryptography import x509

    if not pem:
        return []
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TokenInvalid(f"not a PEM certificate file: {exc}") from exc


def certificate_fingerprint(certificate) -> str:
    """SHA-256 over the DER certificate, lower-case hex (``openssl x509 -fingerprint -sha256``)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def pem_of(certificates: list) -> bytes:
    """PEM text of certificates, in order."""
    from cryptography.hazmat.primitives.serialization import Encoding

    return b"".join(c.public_bytes(Encoding.PEM) for c in certificates)


def token_certificates(response: bytes) -> list:
    """The certificates a TSA put into its token (the signer's, and any intermediates), signer first."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    decoded = _decode(response)
    certificates = [x509.load_der_x509_certificate(der) for der in decoded.signed_data.certificates]

    def is_signer(certificate) -> bool:
        try:
            usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            return False
        return ExtendedKeyUsageOID.TIME_STAMPING in usage

    return sorted(certificates, key=lambda c: (not is_signer(c), certificate_fingerprint(c)))


def verify_response(
    response: bytes, digest: bytes, roots_pem: bytes | None, nonce: int | None = None
) -> tuple[datetime, str, bool]:
    """Verify status, imprint, nonce and (given roots) the signature chain; return (genTime, serial, chain_checked)."""
    from rfc3161_client import VerifierBuilder
    from rfc3161_client.errors import VerificationError

    decoded = _decode(response)
    if decoded.status not in (0, 1):
        raise TokenInvalid(f"TSA refused: status {decoded.status} {decoded.status_string}")
    try:
        info = decoded.tst_info
    except ValueError as exc:  # the Rust parser reads the token lazily
        raise TokenInvalid(f"malformed timestamp token: {exc}") from exc
    if info.message_imprint.message != digest:
        raise TokenInvalid("token covers a different digest")
    if nonce is not None and info.nonce != nonce:
        raise TokenInvalid("nonce mismatch")
    chain_checked = False
    if roots_pem:
        builder = VerifierBuilder()
        for cert in load_certificates(roots_pem):
            builder = builder.add_root_certificate(cert)
        try:
            builder.build().verify(decoded, digest)
        except VerificationError as exc:
            raise TokenInvalid(f"token signature does not verify: {exc}") from exc
        chain_checked = True
    gen_time = info.gen_time
    gen_time = gen_time.replace(tzinfo=timezone.utc) if gen_time.tzinfo is None else gen_time.astimezone(timezone.utc)
    return gen_time, format(info.serial_number, "x"), chain_checked


def anchor_of(response: bytes, digest: bytes, roots_pem: bytes | None):
    """The one root certificate among ``roots_pem`` the token's chain ends in (None if none does)."""
    for root in load_certificates(roots_pem):
        try:
            verify_response(response, digest, pem_of([root]))
        except TokenInvalid:
            continue
        return root
    return None
