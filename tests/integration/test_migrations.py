"""The schema is created only by migrations, from an empty database, on SQLite and PostgreSQL."""

import os

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from server import create_app

EXPECTED = {
    "users",
    "devices",
    "customers",
    "dossiers",
    "dossier_items",
    "business_events",
    "captures",
    "capture_revisions",
    "photos",
    "blobs",
    "audit_log",
    "outbox",
    "counters",
}


def _empty_database(database_factory, tmp_path):
    if os.environ.get("TEST_DATABASE_URL"):
        name = f"dangan_empty_{os.getpid()}"
        with database_factory.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return database_factory._url(name)
    return f"sqlite:///{tmp_path / 'empty.sqlite3'}"


def test_migrations_build_the_schema_from_an_empty_database_and_take_it_down_again(database_factory, tmp_path):
    url = _empty_database(database_factory, tmp_path)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "DANGAN_DATA_DIR": str(tmp_path),
            "REDIS_URL": "redis://unused",
        }
    )
    with app.app_context():
        from models.database import db

        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert EXPECTED <= tables
        counter = db.session.execute(sa.text("SELECT value FROM counters WHERE name='archive_no'")).scalar()
        assert counter == 0
        db.session.remove()
        downgrade(revision="base")
        assert not (EXPECTED & set(sa.inspect(db.engine).get_table_names()))
        upgrade()
        assert EXPECTED <= set(sa.inspect(db.engine).get_table_names())
        db.session.remove()
        db.engine.dispose()
    if os.environ.get("TEST_DATABASE_URL"):
        database_factory.drop(url)


def test_models_and_migrations_agree(app):
    """Autogenerate finds nothing to do: every model change came with a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from models import Base
    from models.database import db

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrations_form_one_line_of_history():
    """One head, each revision building on the previous one: every database upgrades the same way."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from server.app import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1
    chain = [rev.revision for rev in script.walk_revisions()]
    assert chain == sorted(chain, reverse=True)


def test_the_database_refuses_a_state_outside_its_enum_and_upgrading_keeps_existing_rows(database_factory, tmp_path):
    """The state CHECK constraints arrive on a database that already holds linked rows (the demo data of an
    earlier version): every row survives the table copy SQLite needs, and a bad state is refused after."""
    url = _empty_database(database_factory, tmp_path)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "DANGAN_DATA_DIR": str(tmp_path),
            "REDIS_URL": "redis://unused",
        }
    )
    with app.app_context():
        from models.database import db

        upgrade(revision="0012")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO customers (account_no, name, voltage_class, usage_category, status, created_at, "
                    "updated_at) VALUES ('3100000001', '测试', 'low', 'residential', 'active', '2026-01-01', "
                    "'2026-01-01')"
                )
            )
            customer_id = conn.execute(sa.text("SELECT id FROM customers")).scalar()
            conn.execute(
                sa.text(
                    "INSERT INTO dossiers (customer_id, archive_no, opened_at) "
                    "VALUES (:c, 'KH-2026-000001', '2026-01-01')"
                ),
                {"c": customer_id},
            )
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM dossiers")).scalar() == 1
            assert conn.execute(sa.text("SELECT status FROM customers")).scalar() == "active"
        try:
            with db.engine.begin() as conn:
                conn.execute(sa.text("UPDATE customers SET status = 'sleeping'"))
            refused = False
        except sa.exc.IntegrityError:
            refused = True
        assert refused
        db.session.remove()
        db.engine.dispose()
    if os.environ.get("TEST_DATABASE_URL"):
        database_factory.drop(url)
