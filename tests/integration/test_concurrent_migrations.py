"""Several web nodes start at once and each runs ``db upgrade``: the schema is migrated once.

PostgreSQL only (the clustered configuration); SQLite is the single-machine default.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.helpers.live import ROOT

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL only: set TEST_DATABASE_URL (CI's second run does)"
)


def test_three_nodes_upgrading_an_empty_database_at_once_all_succeed_and_migrate_it_once(tmp_path):
    admin_url = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"dangan_mig_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        nodes = []
        for n in range(3):
            env = {**os.environ, "DATABASE_URL": url, "DANGAN_DATA_DIR": str(tmp_path / f"node-{n}")}
            env["SECRET_KEY"] = "migrations"
            nodes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        outputs = [node.communicate(timeout=300)[0] for node in nodes]
        assert [node.returncode for node in nodes] == [0, 0, 0], outputs
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        engine.dispose()
        heads = sorted(p.name.split("_")[0] for p in (ROOT / "migrations" / "versions").glob("0*.py"))
        assert versions == [heads[-1]]
        assert sum("Running upgrade  -> 0001" in out for out in outputs) == 1  # one node migrated, two waited
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
