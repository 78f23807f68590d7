"""Stamping settings: app config keys, each overridable by a ``DANGAN_<KEY>`` environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from core import time_analysis


@dataclass(frozen=True)
class StampingSettings:
    """How the pipeline runs, retries and signs."""

    lease_s: float = 30  # a run not renewed for this long belongs to a dead worker (renewed every lease_s / 3)
    max_attempts: int = 5
    retry_backoff_s: tuple = (10, 60, 300, 900)
    dispatch_interval_s: float = 2
    checkpoint_interval_s: float = 300
    tsa_max_attempts: int = 50
    job_timeout_s: int = 600
    log_name: str = "dangan-evidence-log"
    time: time_analysis.Settings = field(default_factory=time_analysis.Settings)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before the attempt after ``attempt``."""
        return self.retry_backoff_s[min(attempt - 1, len(self.retry_backoff_s) - 1)]


def _pick(config: Mapping, key: str, default, cast):
    value = os.environ.get(f"DANGAN_{key}")
    if value is None:
        value = config.get(key)
    return default if value in (None, "") else cast(value)


def from_config(config: Mapping) -> StampingSettings:
    """Settings from an app config mapping (keys such as ``STAMPING_LEASE_SECONDS``)."""
    base = StampingSettings()
    time_base = time_analysis.Settings()
    return StampingSettings(
        lease_s=_pick(config, "STAMPING_LEASE_SECONDS", base.lease_s, float),
        max_attempts=_pick(config, "STAMPING_MAX_ATTEMPTS", base.max_attempts, int),
        retry_backoff_s=_pick(
            config,
            "STAMPING_RETRY_BACKOFF",
            base.retry_backoff_s,
            lambda v: tuple(float(x) for x in (v.split(",") if isinstance(v, str) else v)),
        ),
        dispatch_interval_s=_pick(config, "DISPATCH_INTERVAL_SECONDS", base.dispatch_interval_s, float),
        checkpoint_interval_s=_pick(config, "CHECKPOINT_INTERVAL_SECONDS", base.checkpoint_interval_s, float),
        tsa_max_attempts=_pick(config, "TSA_MAX_ATTEMPTS", base.tsa_max_attempts, int),
        job_timeout_s=_pick(config, "STAMPING_JOB_TIMEOUT", base.job_timeout_s, int),
        log_name=_pick(config, "EVIDENCE_LOG_NAME", base.log_name, str),
        time=time_analysis.Settings(
            exif_device_tolerance_s=_pick(
                config, "EXIF_DEVICE_TOLERANCE_SECONDS", time_base.exif_device_tolerance_s, float
            ),
            gps_exif_tolerance_s=_pick(config, "GPS_EXIF_TOLERANCE_SECONDS", time_base.gps_exif_tolerance_s, float),
            clock_skew_tolerance_s=_pick(
                config, "CLOCK_SKEW_TOLERANCE_SECONDS", time_base.clock_skew_tolerance_s, float
            ),
            site_radius_m=_pick(config, "GPS_SITE_RADIUS_METRES", time_base.site_radius_m, float),
            default_offset=_pick(config, "DEFAULT_CAPTURE_UTC_OFFSET", time_base.default_offset, str),
        ),
    )
