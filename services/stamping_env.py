"""The ports and settings the stamping use cases run with, derived once per app."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_app_context

from ports import tsa as tsa_port
from services import stamping_settings as settings_module
from services.translog import LogSigner

@dataclass
class Env:
    """The ports and settings the stamping jobs use."""

    blobs: object
    clock: object
    tsa: object
    settings: object
    signer: object
    data_dir: str


def env_for(app) -> Env:
    """Stamping environment of an app: its ports, the configured TSA, settings and the log key."""
    cached = app.extensions.get("dangan.stamping_env")
    if cached is not None:
        return cached
    ports = app.extensions["dangan.ports"]
    settings = settings_module.from_config(app.config)
    tsa = ports.tsa or tsa_port.from_config(app.config["DANGAN_DATA_DIR"], app.config.get("TSA_URL"),
                                            app.config.get("TSA_CA_FILE"))
    env = Env(blobs=ports.blobs, clock=ports.clock, tsa=tsa, settings=settings,
              signer=LogSigner(app.config["DANGAN_DATA_DIR"], settings.log_name),
              data_dir=app.config["DANGAN_DATA_DIR"])
    app.extensions["dangan.stamping_env"] = env
    return env


def current_app_or_none():
    """The app of the active app context, if any (the commit hook runs inside requests and CLI commands)."""
    return current_app._get_current_object() if has_app_context() else None
