"""``flask --app wsgi …`` commands; each module exposes ``commands`` (click commands or groups)."""

from flask import Flask

MODULES = (
    "users",
    "devices",
    "customers",
    "demo",
    "assignments",
    "sync",
    "lifecycle",
    "uploads",
    "photos",
    "log",
    "evidence",
    "scans",
)


def register(app: Flask) -> None:
    """Add every command group to the app's CLI."""
    import importlib

    for name in MODULES:
        for command in importlib.import_module(f"server.cli.{name}").commands:
            app.cli.add_command(command)
