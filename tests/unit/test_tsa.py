"""RFC 3161 tokens: the built-in local TSA, the HTTP client, and verification by ``openssl ts -verify``."""

import hashlib
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ports.tsa import HttpTsa, LocalTsa, TokenInvalid, TsaUnavailable, build_request, from_config
from server.config import Config
from tests.helpers.tools import require_command
from verifier.timestamps import certificate_fingerprint, load_certificates, verify_response

DATA = "现场照片 bytes".encode()
DIGEST = hashlib.sha256(DATA).digest()


def _openssl() -> str:
    return require_command("openssl")


@pytest.fixture
def local_tsa(tmp_path):
    _openssl()
    return LocalTsa(tmp_path / "tsa")


def test_local_tokens_verify_with_openssl_ts_verify_as_a_separate_process(local_tsa, tmp_path):
    token = local_tsa.stamp(DIGEST)
    assert token.kind == "local" and "LOCAL" in token.tsa_name and token.chain_checked
    (tmp_path / "photo.jpg").write_bytes(DATA)
    (tmp_path / "token.tsr").write_bytes(token.response)
    done = _verify_with_openssl(local_tsa, tmp_path / "token.tsr", "-data", str(tmp_path / "photo.jpg"))
    assert done.returncode == 0, done.stderr
    assert "Verification: OK" in done.stdout
    (tmp_path / "other.jpg").write_bytes(DATA + b"x")
    tampered = _verify_with_openssl(local_tsa, tmp_path / "token.tsr", "-data", str(tmp_path / "other.jpg"))
    assert tampered.returncode != 0


def test_local_authority_is_created_once_and_gives_every_token_its_own_random_serial(local_tsa):
    # random serials, not a counter file: nodes sharing one authority never repeat a serial
    tokens = [local_tsa.stamp(DIGEST) for _ in range(8)]
    first = tokens[0]
    assert len({t.serial for t in tokens}) == 8
    assert all(1 << 126 <= int(t.serial, 16) < 1 << 127 for t in tokens)
    assert sorted(p.name for p in local_tsa.directory.iterdir() if p.name.startswith(".new-")) == []
    assert local_tsa.verify(first.response, DIGEST).serial == first.serial
    with pytest.raises(TokenInvalid):
        local_tsa.verify(first.response, hashlib.sha256(b"other").digest())


def test_tsa_certificate_has_the_single_critical_timestamping_usage(local_tsa):
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    local_tsa.stamp(DIGEST)
    cert = x509.load_pem_x509_certificate(local_tsa.certificate_pem())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


class _Relay(BaseHTTPRequestHandler):
    tsa = None

    def do_POST(self):  # noqa: N802 - http.server naming
        from asn1crypto import tsp

        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = tsp.TimeStampReq.load(body)
        digest = request["message_imprint"]["hashed_message"].native
        # sign with the local authority, but for the nonce the client sent
        import subprocess as sp
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as work:
            Path(work, "q.tsq").write_bytes(body)
            sp.run(
                [
                    "openssl",
                    "ts",
                    "-reply",
                    "-config",
                    str(self.tsa.directory / "openssl.cnf"),
                    "-queryfile",
                    str(Path(work, "q.tsq")),
                    "-out",
                    str(Path(work, "r.tsr")),
                ],
                check=True,
                capture_output=True,
            )
            answer = Path(work, "r.tsr").read_bytes()
        assert len(digest) == 32
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_http_client_gets_and_verifies_a_token_from_an_rfc3161_server(local_tsa):
    local_tsa.stamp(DIGEST)  # creates the authority the relay signs with
    _Relay.tsa = local_tsa
    server = HTTPServer(("127.0.0.1", 0), _Relay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = HttpTsa(f"http://127.0.0.1:{server.server_port}/tsa", roots_pem=local_tsa.roots_pem())
        token = client.stamp(DIGEST)
        assert token.kind == "external" and token.chain_checked
        assert client.verify(token.response, DIGEST).gen_time == token.gen_time
    finally:
        server.shutdown()


def test_unreachable_tsa_raises_tsa_unavailable():
    with pytest.raises(TsaUnavailable):
        HttpTsa("http://127.0.0.1:9/unreachable", timeout=1).stamp(DIGEST)


def test_requests_carry_the_sha256_imprint_a_nonce_and_cert_req():
    from asn1crypto import tsp

    body, nonce = build_request(DIGEST)
    request = tsp.TimeStampReq.load(body)
    assert request["message_imprint"]["hashed_message"].native == DIGEST
    assert request["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert request["nonce"].native == nonce and request["cert_req"].native is True


def test_a_refusal_or_an_unparseable_token_is_token_invalid_not_a_crash():
    refusal = bytes.fromhex("30053003020102")  # TimeStampResp { status { rejection } }, no token
    with pytest.raises(TokenInvalid, match="refused"):
        verify_response(refusal, DIGEST, None)
    with pytest.raises(TokenInvalid):
        verify_response(b"\x30\x03\x02\x01\x00", DIGEST, None)


def test_an_external_token_records_its_url_chain_and_the_configured_anchor_it_verified_against(local_tsa, tmp_path):
    other = LocalTsa(tmp_path / "other")
    both = other.roots_pem() + local_tsa.roots_pem()
    token = local_tsa.stamp(DIGEST)
    issued = HttpTsa("http://tsa.example/tsa", roots_pem=both).verify(token.response, DIGEST)
    assert issued.url == "http://tsa.example/tsa" and issued.chain_checked
    assert issued.anchor_pem == local_tsa.roots_pem()  # the one root among the configured ones it chains to
    assert certificate_fingerprint(load_certificates(issued.chain_pem)[0]) == certificate_fingerprint(
        load_certificates(local_tsa.certificate_pem())[0]
    )  # signer first
    with pytest.raises(TokenInvalid):
        HttpTsa("http://tsa.example/tsa", roots_pem=other.roots_pem()).verify(token.response, DIGEST)


def test_tsa_ca_file_is_read_from_the_environment_and_anchors_the_external_tsa(local_tsa, tmp_path, monkeypatch):
    (tmp_path / "root.pem").write_bytes(local_tsa.roots_pem())
    monkeypatch.setenv("DANGAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("TSA_URL", "http://tsa.example/tsa")
    monkeypatch.setenv("TSA_CA_FILE", str(tmp_path / "root.pem"))
    config = Config()
    assert config.TSA_CA_FILE == str(tmp_path / "root.pem")
    tsa = from_config(config.DANGAN_DATA_DIR, config.TSA_URL, config.TSA_CA_FILE)
    assert tsa.kind == "external" and tsa.roots_pem() == local_tsa.roots_pem()
    (tmp_path / "not-pem.txt").write_text("not a certificate")
    with pytest.raises(TokenInvalid):
        from_config(config.DANGAN_DATA_DIR, config.TSA_URL, str(tmp_path / "not-pem.txt"))


def _verify_with_openssl(tsa, token_path, *data_or_digest):
    return subprocess.run(
        [
            _openssl(),
            "ts",
            "-verify",
            *data_or_digest,
            "-in",
            str(token_path),
            "-CAfile",
            str(tsa.directory / "ca.pem"),
            "-untrusted",
            str(tsa.directory / "tsa.pem"),
        ],
        capture_output=True,
        text=True,
    )


def test_local_stamping_starts_no_process(local_tsa, monkeypatch):
    import os

    local_tsa.roots_pem()  # the authority exists, as it does after the first start

    def no_process(*args, **kwargs):
        raise AssertionError("the local TSA started a process")

    for module, name in (
        (subprocess, "run"),
        (subprocess, "Popen"),
        (os, "posix_spawn"),
        (os, "posix_spawnp"),
        (os, "fork"),
        (os, "system"),
    ):
        monkeypatch.setattr(module, name, no_process, raising=False)
    token = local_tsa.stamp(DIGEST)
    assert token.chain_checked and local_tsa.verify(token.response, DIGEST).serial == token.serial


def test_local_token_fields_as_openssl_and_rfc3161_client_read_them(local_tsa, tmp_path, monkeypatch):
    import re

    from asn1crypto import cms
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from rfc3161_client import VerifierBuilder, decode_timestamp_response

    import ports.tsa
    from ports.tsa import LOCAL_POLICY_OID

    nonces = []

    def remembering(digest):
        body, nonce = build_request(digest)
        nonces.append(nonce)
        return body, nonce

    monkeypatch.setattr(ports.tsa, "build_request", remembering)
    token = local_tsa.stamp(DIGEST)
    (tmp_path / "token.tsr").write_bytes(token.response)
    shown = subprocess.run(
        [_openssl(), "ts", "-reply", "-in", str(tmp_path / "token.tsr"), "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Status: Granted." in shown
    assert f"Policy OID: {LOCAL_POLICY_OID}" in shown
    assert "Hash Algorithm: sha256" in shown
    assert int(re.search(r"Nonce: 0x([0-9A-F]+)", shown).group(1), 16) == nonces[0]
    assert int(re.search(r"Serial number: 0x([0-9A-F]+)", shown).group(1), 16) == int(token.serial, 16)
    assert "TSA: DirName:/O=Dangan/CN=Dangan LOCAL TSA" in shown
    assert "Accuracy: 0x01 seconds" in shown and "Ordering: no" in shown

    certificate = x509.load_pem_x509_certificate(local_tsa.certificate_pem())
    root = x509.load_pem_x509_certificate(local_tsa.roots_pem())
    decoded = decode_timestamp_response(token.response)
    # the signer is named by issuer and serial, and that is the TSA certificate, which is included
    (signer,) = decoded.signed_data.signer_infos
    assert (signer.issuer, signer.serial_number) == (certificate.issuer, certificate.serial_number)
    assert decoded.signed_data.certificates == {certificate.public_bytes(Encoding.DER)}
    verifier = (
        VerifierBuilder()
        .add_root_certificate(root)
        .tsa_certificate(certificate)
        .nonce(nonces[0])
        .policy_id(x509.ObjectIdentifier(LOCAL_POLICY_OID))
        .common_name(certificate.subject.rfc4514_string())
        .build()
    )
    assert verifier.verify(decoded, DIGEST)
    assert verify_response(token.response, DIGEST, local_tsa.roots_pem(), nonces[0])[2]
    with pytest.raises(TokenInvalid, match="nonce"):
        verify_response(token.response, DIGEST, local_tsa.roots_pem(), nonces[0] + 1)

    # the signed attributes bind the certificate (ESS signing-certificate-v2, SHA-256) and the content
    signed = cms.ContentInfo.load(decoded.time_stamp_token())["content"]
    attributes = {a["type"].native: a["values"][0] for a in signed["signer_infos"][0]["signed_attrs"]}
    assert attributes["content_type"].native == "tst_info"
    content = signed["encap_content_info"]["content"].contents
    assert attributes["message_digest"].native == hashlib.sha256(content).digest()
    (ess,) = attributes["signing_certificate_v2"]["certs"]
    assert ess["hash_algorithm"]["algorithm"].native == "sha256"
    assert ess["cert_hash"].native == hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()
    assert signed["version"].native == "v3"
    assert signed["signer_infos"][0]["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"


def test_local_tokens_verify_with_openssl_over_the_data_and_over_the_digest(local_tsa, tmp_path):
    token = local_tsa.stamp(DIGEST)
    (tmp_path / "photo.jpg").write_bytes(DATA)
    (tmp_path / "token.tsr").write_bytes(token.response)
    by_data = _verify_with_openssl(local_tsa, tmp_path / "token.tsr", "-data", str(tmp_path / "photo.jpg"))
    assert by_data.returncode == 0 and "Verification: OK" in by_data.stdout, by_data.stderr
    by_digest = _verify_with_openssl(local_tsa, tmp_path / "token.tsr", "-digest", DIGEST.hex())
    assert by_digest.returncode == 0 and "Verification: OK" in by_digest.stdout, by_digest.stderr
    other = _verify_with_openssl(local_tsa, tmp_path / "token.tsr", "-digest", hashlib.sha256(b"other").hexdigest())
    assert other.returncode != 0


def test_the_certificate_is_left_out_only_when_a_request_does_not_ask_for_it(local_tsa, tmp_path):
    from asn1crypto import tsp

    body, _ = build_request(DIGEST)
    request = tsp.TimeStampReq.load(body)
    request["cert_req"] = False
    response = local_tsa._reply(request.dump())
    (tmp_path / "bare.tsr").write_bytes(response)
    assert tsp.TimeStampResp.load(response)["time_stamp_token"]["content"]["certificates"].native is None
    # a verifier given the TSA certificate still accepts it
    done = _verify_with_openssl(local_tsa, tmp_path / "bare.tsr", "-digest", DIGEST.hex())
    assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stderr
