"""A fresh, migrated database for every test: SQLite by default, PostgreSQL with TEST_DATABASE_URL.

The schema is built once per test session by running the Alembic migrations into a template;
each test then gets a copy (a file copy for SQLite, ``CREATE DATABASE … TEMPLATE`` for PostgreSQL).
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def migrate(url: str, data_dir: str) -> None:
    """Run every migration against ``url`` (the only way the schema is ever created)."""
    from flask_migrate import upgrade

    from server import create_app

    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "DANGAN_DATA_DIR": data_dir, "REDIS_URL": "redis://unused"}
    )
    with app.app_context():
        upgrade()
        from models.database import db

        db.engine.dispose()


class SqliteDatabases:
    """Per-test copies of a migrated SQLite template file."""

    def __init__(self, root: Path):
        self.root = root
        self.template = root / "template.sqlite3"
        self.counter = itertools.count()
        migrate(f"sqlite:///{self.template}", str(root))

    def create(self) -> str:
        path = self.root / f"test-{next(self.counter)}.sqlite3"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresDatabases:
    """Per-test databases cloned from a migrated template database on a real PostgreSQL."""

    def __init__(self, admin_url: str, root: Path):
        self.admin_url = make_url(admin_url).set(drivername="postgresql+psycopg")
        self.run_id = uuid.uuid4().hex[:8]
        self.template = f"dangan_tpl_{self.run_id}"
        self.counter = itertools.count()
        self.admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.template}"'))
        migrate(self._url(self.template), str(root))

    def _url(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        name = f"dangan_t_{self.run_id}_{next(self.counter)}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return self._url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
        self.admin.dispose()


def databases(root: Path):
    """Return the database factory selected by TEST_DATABASE_URL (unset: SQLite)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url and url.startswith("postgres"):
        return PostgresDatabases(url, root)
    if url:
        raise RuntimeError(f"unsupported TEST_DATABASE_URL {url!r}")
    return SqliteDatabases(root)
