"""The ports and settings the stamping use cases run with, derived once per app."""

from __future__ import annotations

import os
from dataclasses import dataclass

from flask import current_app, has_app_context

from ports import tsa as tsa_port
from ports.blobstore import BlobStore
from ports.clock import Clock
from services import stamping_settings as settings_module
from services.translog import LogSigner


@dataclass
class Env:
    """The ports and settings the stamping jobs use."""

    blobs: BlobStore
    clock: Clock
    tsa: object
    settings: settings_module.StampingSettings
    signer: LogSigner
    data_dir: str
    exports: object = None  # the export store (ports.exportstore)
    export_bundle_days: int = 30  # how long a built evidence bundle stays on the server


def export_bundle_days(config) -> int:
    """Days a built bundle is kept on the server (``EXPORT_BUNDLE_DAYS``; env ``DANGAN_EXPORT_BUNDLE_DAYS`` wins)."""
    value = os.environ.get("DANGAN_EXPORT_BUNDLE_DAYS") or config.get("EXPORT_BUNDLE_DAYS") or 30
    days = int(value)
    if days < 1:
        raise ValueError("EXPORT_BUNDLE_DAYS must be at least 1")
    return days


def keys_dir(config) -> str:
    """The directory of the shared secrets: ``DANGAN_KEYS_DIR`` as configured, else the data dir."""
    return config.get("DANGAN_KEYS_DIR") or config["DANGAN_DATA_DIR"]


def env_for(app) -> Env:
    """Stamping environment of an app: its ports, the configured TSA, settings and the log key."""
    cached = app.extensions.get("dangan.stamping_env")
    if cached is not None:
        return cached
    ports = app.extensions["dangan.ports"]
    settings = settings_module.from_config(app.config)
    create = not app.config.get("DANGAN_CLUSTER")
    tsa = ports.tsa or tsa_port.from_config(
        keys_dir(app.config), app.config.get("TSA_URL"), app.config.get("TSA_CA_FILE"), create=create
    )
    env = Env(
        blobs=ports.blobs,
        clock=ports.clock,
        tsa=tsa,
        settings=settings,
        signer=LogSigner(keys_dir(app.config), settings.log_name, create=create),
        data_dir=app.config["DANGAN_DATA_DIR"],
        exports=ports.exports,
        export_bundle_days=export_bundle_days(app.config),
    )
    app.extensions["dangan.stamping_env"] = env
    return env


def current_app_or_none():
    """The app of the active app context, if any (the commit hook runs inside requests and CLI commands)."""
    return current_app._get_current_object() if has_app_context() else None
