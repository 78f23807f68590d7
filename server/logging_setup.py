"""Structured logging: one JSON object per line on stderr (``DANGAN_LOG_FORMAT=text`` for humans)."""

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

_SECRET_KEYS = ("password", "token", "secret", "authorization")


class RedactSecrets(logging.Filter):
    """Replace values of secret-looking ``extra`` fields so secrets never reach the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key in list(vars(record)):
            if any(s in key.lower() for s in _SECRET_KEYS):
                setattr(record, key, "[redacted]")
        return True


def configure(fmt: str = "json", level: str = "INFO") -> None:
    """Configure the root logger once for the process."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"asctime": "ts", "levelname": "level"}
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
