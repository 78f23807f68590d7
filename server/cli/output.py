"""Shared helpers for CLI output: JSON lines on stdout, clear errors on stderr."""

import json
import sys

import click

from core import errors


def emit(obj) -> None:
    """Print one JSON object on its own line (UTF-8, Chinese kept readable)."""
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def fail(exc: errors.DomainError, exit_code: int = 1):
    """Print a domain error on stderr and exit non-zero."""
    click.echo(f"error: {exc.message} [{exc.code}]", err=True)
    if exc.details:
        click.echo(json.dumps(exc.details, ensure_ascii=False, default=str), err=True)
    sys.exit(exit_code)
