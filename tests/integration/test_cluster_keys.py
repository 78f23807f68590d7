"""Cluster nodes share their secrets: a node with DANGAN_CLUSTER=1 never makes its own.

Two apps stand for two nodes (separate data dirs) pointed at one keys dir made with
``python -m server.keys init``; they must sign with the same session key, log key and local TSA.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ports import Ports
from ports.blobstore import LocalBlobStore
from ports.clock import FakeClock
from ports.shared_keys import SharedKeyMissing
from server import create_app
from services.stamping_env import env_for
from tests.helpers.live import ROOT
from verifier.timestamps import load_certificates

CLUSTER_ENV = ("DANGAN_CLUSTER", "DANGAN_KEYS_DIR", "SECRET_KEY", "TSA_URL")


@pytest.fixture
def node_env(monkeypatch):
    """Start each test with none of the cluster variables set."""
    for name in CLUSTER_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _node(database_url: str, redis_url: str, data_dir: Path):
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(data_dir),
            "PORTS": Ports(clock=FakeClock(), blobs=LocalBlobStore(data_dir / "blobs")),
        }
    )


def _keys(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.keys", *args], cwd=ROOT, capture_output=True, text=True)


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_a_cluster_node_without_shared_keys_refuses_to_start_and_names_the_command(
    node_env, database_url, redis_url, tmp_path
):
    node_env.setenv("DANGAN_CLUSTER", "1")
    node_env.setenv("DANGAN_KEYS_DIR", str(tmp_path / "keys"))
    node_env.setenv("DANGAN_DATA_DIR", str(tmp_path / "node"))
    with pytest.raises(SharedKeyMissing, match=r"python -m server\.keys init"):
        _node(database_url, redis_url, tmp_path / "node")

    node_env.setenv("SECRET_KEY", "from-the-environment")  # the session key alone is not enough
    with pytest.raises(SharedKeyMissing, match="evidence log key"):
        _node(database_url, redis_url, tmp_path / "node")
    assert not (tmp_path / "keys").exists()  # nothing was made on the node


def test_two_cluster_nodes_sign_with_the_keys_made_once_and_make_none_of_their_own(
    node_env, database_url, redis_url, tmp_path
):
    made = _keys("init", str(tmp_path / "keys"))
    assert made.returncode == 0, made.stderr
    node_env.setenv("DANGAN_CLUSTER", "1")
    node_env.setenv("DANGAN_KEYS_DIR", str(tmp_path / "keys"))
    before = _tree(tmp_path / "keys")

    nodes = []
    for name in ("node-a", "node-b"):
        node_env.setenv("DANGAN_DATA_DIR", str(tmp_path / name))
        nodes.append(_node(database_url, redis_url, tmp_path / name))
    envs = [env_for(node) for node in nodes]

    assert nodes[0].config["SECRET_KEY"] == nodes[1].config["SECRET_KEY"]
    assert envs[0].signer.public_key_raw() == envs[1].signer.public_key_raw()
    tokens = [env.tsa.stamp(bytes(32)) for env in envs]
    assert envs[0].tsa.roots_pem() == envs[1].tsa.roots_pem()
    serials = {load_certificates(envs[0].tsa.certificate_pem())[0].serial_number}
    assert tokens[0].serial != tokens[1].serial and serials  # random serials: two nodes never collide
    for token in tokens:
        envs[0].tsa.verify(token.response, bytes(32))  # node A accepts node B's token: one authority

    for name in ("node-a", "node-b"):  # no node made a secret of its own
        leftovers = [p.name for p in (tmp_path / name).rglob("*") if p.name in ("secret_key", "tsa", "keys")]
        assert leftovers == []
    assert _tree(tmp_path / "keys") == before  # stamping wrote nothing into the shared directory


def test_keys_check_exits_1_naming_what_is_missing_and_0_when_complete(tmp_path):
    missing = _keys("check", str(tmp_path / "keys"))
    assert missing.returncode == 1 and '"secret_key"' in missing.stdout
    assert _keys("init", str(tmp_path / "keys")).returncode == 0
    again = _keys("init", str(tmp_path / "keys"))  # idempotent: the same keys
    complete = _keys("check", str(tmp_path / "keys"))
    assert complete.returncode == 0 and complete.stdout.replace("\n", "") == again.stdout.replace("\n", "")


def test_a_single_machine_still_makes_its_keys_under_the_data_dir(node_env, database_url, redis_url, tmp_path):
    node_env.setenv("DANGAN_DATA_DIR", str(tmp_path / "one"))
    app = _node(database_url, redis_url, tmp_path / "one")
    env = env_for(app)
    env.signer.public_key_raw()
    env.tsa.roots_pem()
    assert (tmp_path / "one" / "secret_key").exists()
    assert (tmp_path / "one" / "keys" / "evidence-log.ed25519.pem").exists()
    assert (tmp_path / "one" / "tsa" / "ca.pem").exists()
