"""The timestamp authority port (RFC 3161): a built-in local TSA, an HTTP client, and a fake.

Requests are built over a SHA-256 digest the caller already has (the photo's, or a checkpoint
body's), with a fresh nonce and ``certReq`` set. Every token is verified before it is kept (with
:mod:`verifier.timestamps`, the offline verifier's code), against ``TSA_CA_FILE`` for an external
TSA and against its own root for the local one, and carries its issuer: URL, chain and that root.
The local TSA uses its own CA and TSA certificate made on first start under the data dir and
builds each token in-process (``asn1crypto`` for the structures, ``cryptography`` for the ECDSA
signature), the token ``openssl ts -reply`` makes with the ``openssl.cnf`` kept beside the keys;
it is labelled ``local`` everywhere, because it proves only this server's clock, not a trusted
third party's.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ports.shared_keys import SharedKeyMissing, tsa_dir
from verifier.timestamps import (
    TokenInvalid,
    anchor_of,
    certificate_fingerprint,
    load_certificates,
    pem_of,
    token_certificates,
    verify_response,
)

if TYPE_CHECKING:
    from asn1crypto.core import Asn1Value
    from asn1crypto.x509 import Certificate as Asn1Certificate
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

# A UUID-derived OID (ITU-T X.667 arc 2.25) naming the local TSA's policy.
LOCAL_POLICY_OID = "2.25.190925348245312963312414718427436745170"
LOCAL_TSA_NAME = "Dangan LOCAL TSA (this server's clock, not a trusted third party)"


class TsaUnavailable(Exception):
    """The TSA could not be reached or refused; the caller marks the timestamp pending and retries."""


@dataclass(frozen=True)
class Token:
    """A verified RFC 3161 response and what it says."""

    response: bytes  # DER TimeStampResp (verify with ``openssl ts -verify -in``)
    gen_time: datetime
    serial: str
    kind: str  # local | external
    tsa_name: str
    chain_checked: bool = True
    url: str | None = None  # where an external TSA was asked; None for the built-in local TSA
    chain_pem: bytes | None = None  # the TSA's signing certificate (and intermediates), signer first
    anchor_pem: bytes | None = None  # the root certificate the token was verified against, if any


def issued_token(
    response: bytes,
    digest: bytes,
    roots: bytes | None,
    nonce: int | None,
    kind: str,
    name: str,
    url: str | None = None,
    extra_chain: bytes | None = None,
) -> Token:
    """Verify a response against the configured roots and record who issued it and what anchors it."""
    gen_time, serial, checked = verify_response(response, digest, roots, nonce)
    chain = token_certificates(response)
    known = {certificate_fingerprint(c) for c in chain}
    chain += [c for c in load_certificates(extra_chain) if certificate_fingerprint(c) not in known]
    anchor = anchor_of(response, digest, roots) if checked else None
    return Token(
        response,
        gen_time,
        serial,
        kind,
        name,
        checked,
        url=url,
        chain_pem=pem_of(chain) if chain else None,
        anchor_pem=pem_of([anchor]) if anchor else None,
    )


def build_request(digest: bytes) -> tuple[bytes, int]:
    """DER TimeStampReq over a SHA-256 digest with a random nonce; returns (bytes, nonce)."""
    from asn1crypto import tsp

    if len(digest) != 32:
        raise ValueError("a SHA-256 digest has 32 bytes")
    nonce = secrets.randbits(63)
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return request.dump(), nonce


class TimestampAuthority:
    """Interface of a TSA."""

    kind = "local"
    name = ""

    def stamp(self, digest: bytes) -> Token:  # pragma: no cover - interface
        """Get a verified token over a SHA-256 digest; raise TsaUnavailable when the TSA fails."""
        raise NotImplementedError

    def verify(self, response: bytes, digest: bytes) -> Token:  # pragma: no cover - interface
        """Verify a stored response against a digest; raise TokenInvalid."""
        raise NotImplementedError

    def roots_pem(self) -> bytes | None:  # pragma: no cover - interface
        """The trust anchors a verifier needs (bundled into evidence exports)."""
        raise NotImplementedError


# --- the built-in local TSA ----------------------------------------------------------------

_OPENSSL_CONFIG = """\
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
serial = {serial}
crypto_device = builtin
signer_cert = {dir}/tsa.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = {policy}
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def create_local_authority(
    directory: Path, now: datetime | None = None, organisation: str = "Dangan", common_name: str = "Dangan LOCAL TSA"
) -> None:
    """Create the local CA, the TSA key and certificate (critical EKU timeStamping) and the config.

    The names default to the built-in local TSA's; tests give other names to stand up independent TSAs.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = now or datetime.now(timezone.utc)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, tsa_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name} root (self-signed)"),
        ]
    )
    tsa_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    start, end = now - timedelta(days=1), now + timedelta(days=365 * 30)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    tsa_cert = (
        x509.CertificateBuilder()
        .subject_name(tsa_name)
        .issuer_name(ca_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    no_password = serialization.NoEncryption()
    _write_private(directory / "ca.key", ca_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, no_password))
    _write_private(directory / "tsa.key", tsa_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, no_password))
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (directory / "tsa.pem").write_bytes(tsa_cert.public_bytes(pem))
    (directory / "serial").write_text("01\n")
    (directory / "openssl.cnf").write_text(
        _OPENSSL_CONFIG.format(dir=directory, serial=directory / "serial", policy=LOCAL_POLICY_OID)
    )


@dataclass(frozen=True)
class _Signer:
    """What signing a local token needs, read once from the authority's files."""

    key: EllipticCurvePrivateKey  # tsa.key
    certificate: Asn1Certificate  # tsa.pem
    # The parts of every token that depend on the certificate only, encoded once: asn1crypto
    # encodes a freshly built ESS attribute alone in ~2.5 ms, more than all the rest of a token.
    tsa_name: Asn1Value  # TSTInfo.tsa: the certificate's subject as a directoryName
    sid: Asn1Value  # SignerInfo.sid: the certificate's issuer and serial
    signing_certificate: Asn1Value  # ESS signing-certificate-v2 attribute: SHA-256 of the certificate


class LocalTsa(TimestampAuthority):
    """The built-in TSA: signs tokens in-process with a key and certificate under the data dir."""

    kind = "local"
    name = LOCAL_TSA_NAME

    def __init__(self, directory: str | os.PathLike, create: bool = True):
        self.directory = Path(directory)
        self.create = create  # a cluster node signs with the shared authority, never one of its own
        self._signer: _Signer | None = None  # loaded on the first stamp
        self._files: dict[str, bytes] = {}

    def _ready(self) -> None:
        if (self.directory / "openssl.cnf").exists():
            return
        if not self.create:
            raise SharedKeyMissing("local TSA (openssl.cnf, ca.pem, tsa.pem, tsa.key)", self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once create one authority
            if not (self.directory / "openssl.cnf").exists():
                building = Path(tempfile.mkdtemp(dir=self.directory, prefix=".new-"))
                create_local_authority(building)
                for name in ("ca.key", "tsa.key", "ca.pem", "tsa.pem", "serial"):
                    os.replace(building / name, self.directory / name)
                # written last, as the marker that the authority is complete, and for running
                # ``openssl ts -reply`` by hand; stamping does not read it
                (self.directory / "openssl.cnf").write_text(
                    _OPENSSL_CONFIG.format(
                        dir=self.directory, serial=self.directory / "serial", policy=LOCAL_POLICY_OID
                    )
                )
                shutil.rmtree(building, ignore_errors=True)

    def _read(self, name: str) -> bytes:
        # Read once per instance: an authority's files never change once it exists, so a token
        # needs no file access (and none of the parsing of the key and certificate below).
        if name not in self._files:
            self._ready()
            self._files[name] = (self.directory / name).read_bytes()
        return self._files[name]

    def _loaded(self) -> _Signer:
        if self._signer is None:
            from asn1crypto import cms, x509
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

            self._ready()
            key = load_pem_private_key((self.directory / "tsa.key").read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise TsaUnavailable(f"{self.directory / 'tsa.key'} is not an EC key")
            der = load_certificates(self.certificate_pem())[0].public_bytes(Encoding.DER)
            certificate = x509.Certificate.load(der)
            # built, encoded, and loaded back: a loaded value is written out as its stored bytes
            tsa_name = x509.GeneralName({"directory_name": certificate.subject})
            sid = cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": certificate.issuer,
                        "serial_number": certificate.serial_number,
                    }
                }
            )
            # certHash only: SHA-256 is ESSCertIDv2's default algorithm, and openssl leaves out
            # issuerSerial too
            signing_certificate = cms.CMSAttribute(
                {
                    "type": "signing_certificate_v2",
                    "values": [{"certs": [{"cert_hash": hashlib.sha256(der).digest()}]}],
                }
            )
            self._signer = _Signer(
                key,
                certificate,
                x509.GeneralName.load(tsa_name.dump()),
                cms.SignerIdentifier.load(sid.dump()),
                cms.CMSAttribute.load(signing_certificate.dump()),
            )
        return self._signer

    def roots_pem(self) -> bytes:
        """The local root certificate."""
        return self._read("ca.pem")

    def certificate_pem(self) -> bytes:
        """The TSA signing certificate (``-untrusted`` for ``openssl ts -verify``)."""
        return self._read("tsa.pem")

    def stamp(self, digest: bytes) -> Token:
        """Sign a token over the digest in-process and verify it before returning it."""
        request, nonce = build_request(digest)
        response = self._reply(request)
        return issued_token(
            response, digest, self.roots_pem(), nonce, self.kind, self.name, extra_chain=self.certificate_pem()
        )

    def _reply(self, request: bytes) -> bytes:
        """The DER TimeStampResp granting a DER TimeStampReq, as ``openssl ts -reply`` with our config."""
        from asn1crypto import cms, core, tsp
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        signer = self._loaded()
        query = tsp.TimeStampReq.load(request)
        imprint = query["message_imprint"]
        if imprint["hash_algorithm"]["algorithm"].native != "sha256" or len(imprint["hashed_message"].native) != 32:
            raise ValueError("the local TSA stamps SHA-256 digests only")
        # whole seconds, as openssl writes genTime; ``accuracy`` says the clock is good to a second
        now = datetime.now(timezone.utc).replace(microsecond=0)
        info = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": LOCAL_POLICY_OID,
                "message_imprint": imprint,
                # A random 127-bit serial per token instead of a counter file: nodes sharing this
                # authority never issue the same serial, and the key directory may be read-only.
                "serial_number": secrets.randbits(127) | 1 << 126,
                "gen_time": now,
                "accuracy": {"seconds": 1},
                "nonce": query["nonce"].native,
                "tsa": signer.tsa_name,
            }
        )
        content = info.dump()
        attributes = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "signing_time", "values": [cms.Time(name="utc_time", value=now)]},
                {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
                signer.signing_certificate,
            ]
        )
        # CMS signs the DER of the attributes as a SET OF (asn1crypto sorts it), not as the
        # [0]-tagged field they are stored in
        signature = signer.key.sign(attributes.dump(), ec.ECDSA(hashes.SHA256()))
        signed = {
            "version": "v3",  # RFC 5652: the encapsulated content is not id-data
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(content)},
            "signer_infos": [
                {
                    "version": "v1",
                    "sid": signer.sid,
                    "digest_algorithm": {"algorithm": "sha256"},
                    "signed_attrs": attributes,
                    "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                    "signature": signature,
                }
            ],
        }
        if query["cert_req"].native:
            signed["certificates"] = [signer.certificate]
        token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed)})
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()

    def verify(self, response: bytes, digest: bytes) -> Token:
        """Verify a token this TSA issued."""
        return issued_token(
            response, digest, self.roots_pem(), None, self.kind, self.name, extra_chain=self.certificate_pem()
        )


# --- an external TSA over HTTP ---------------------------------------------------------------


class HttpTsa(TimestampAuthority):
    """An RFC 3161 TSA at ``url`` (HTTP POST of ``application/timestamp-query``)."""

    kind = "external"

    def __init__(self, url: str, roots_pem: bytes | None = None, timeout: float = 10.0):
        self.url = url
        self.name = url
        load_certificates(roots_pem)  # a TSA_CA_FILE that is not PEM certificates stops the start
        self._roots = roots_pem
        self.timeout = timeout

    def roots_pem(self) -> bytes | None:
        """The configured trust anchors (``TSA_CA_FILE``), if any."""
        return self._roots

    def stamp(self, digest: bytes) -> Token:
        """POST a request; network errors, HTTP errors and refusals raise TsaUnavailable."""
        request, nonce = build_request(digest)
        http = urllib.request.Request(
            self.url,
            data=request,
            method="POST",
            headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"},
        )
        try:
            with urllib.request.urlopen(http, timeout=self.timeout) as answer:
                response = answer.read(1024 * 1024)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise TsaUnavailable(f"TSA at {self.url} unreachable: {exc}") from exc
        try:
            return issued_token(response, digest, self._roots, nonce, self.kind, self.name, url=self.url)
        except TokenInvalid as exc:
            raise TsaUnavailable(f"TSA at {self.url} answered with an unusable token: {exc}") from exc

    def verify(self, response: bytes, digest: bytes) -> Token:
        """Verify a token from this TSA (chain checked only when trust anchors are configured)."""
        return issued_token(response, digest, self._roots, None, self.kind, self.name, url=self.url)


# --- a fake for unit tests ------------------------------------------------------------------


class FakeTsa(TimestampAuthority):
    """An in-memory TSA; set ``down`` to simulate an unreachable one."""

    kind = "local"
    name = "fake TSA (tests)"

    def __init__(self, clock=None):
        self.clock = clock
        self.down = False
        self.requests = 0

    def roots_pem(self) -> None:
        """A fake has no certificates."""
        return None

    def stamp(self, digest: bytes) -> Token:
        """Return a fake token unless ``down``."""
        self.requests += 1
        if self.down:
            raise TsaUnavailable("fake TSA is down")
        now = self.clock.now() if self.clock else datetime.now(timezone.utc)
        return Token(b"FAKE-TSR:" + digest, now, format(self.requests, "x"), self.kind, self.name, False)

    def verify(self, response: bytes, digest: bytes) -> Token:
        """Check the fake token covers the digest."""
        if response != b"FAKE-TSR:" + digest:
            raise TokenInvalid("fake token covers a different digest")
        return Token(response, datetime.now(timezone.utc), "0", self.kind, self.name, False)


def from_config(
    keys_dir: str, tsa_url: str | None, ca_file: str | None = None, create: bool = True
) -> TimestampAuthority:
    """The TSA the configuration asks for: ``TSA_URL`` if set, else the built-in local TSA under the keys dir."""
    if tsa_url:
        roots = Path(ca_file).read_bytes() if ca_file else None
        return HttpTsa(tsa_url, roots)
    return LocalTsa(tsa_dir(keys_dir), create=create)


def digest_of(data: bytes) -> bytes:
    """SHA-256 digest helper for callers stamping bytes they hold."""
    return hashlib.sha256(data).digest()
