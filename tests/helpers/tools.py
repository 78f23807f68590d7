"""The one rule for tests that drive an external tool: skip locally when it is missing, fail in CI.

`.ci/run` sets ``CI=1`` and installs every tool the tests need, so a missing tool there is a broken
CI setup, never a reason to pass quietly.
"""

from __future__ import annotations

import os
import shutil

import pytest


def missing(reason: str):
    """Skip the test (on a developer's machine) or fail it (under CI) because ``reason``."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


def require_command(name: str, package: str | None = None) -> str:
    """The path of a command on the PATH; see :func:`missing` when it is not there."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed" + (f" (Debian package {package})" if package else ""))
    return path
