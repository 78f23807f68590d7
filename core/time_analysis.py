"""Comparing a photo's time sources and estimating when it was taken; pure, no database.

Sources: EXIF/XMP capture time (with or without its UTC offset), GPS time (UTC from the
satellites), the capture time the tablet declared, the tablet's clock offset measured at sync,
and the server's receipt time. The estimate always names its basis; disagreements become flags
that inform reviewers and never change the stored bytes or raw values.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from core.exif import Metadata, local_to_utc

# Software names that mark an editing program rather than the camera firmware.
EDITORS = (
    "photoshop",
    "lightroom",
    "gimp",
    "snapseed",
    "picsart",
    "meitu",
    "美图",
    "vsco",
    "pixelmator",
    "affinity",
    "paint.net",
    "capture one",
    "darktable",
    "luminar",
    "faceapp",
    "facetune",
    "canva",
    "polarr",
    "醒图",
    "美颜",
    "lightx",
    "fotor",
    "acdsee",
    "xnview",
)

# Formats of screenshots and scanned documents, which rarely carry camera metadata.
SCREENSHOT_FORMATS = ("PNG", "WEBP")


@dataclass(frozen=True)
class Settings:
    """Tolerances of the comparison (from the app config)."""

    exif_device_tolerance_s: float = 120
    gps_exif_tolerance_s: float = 120
    clock_skew_tolerance_s: float = 120
    receipt_grace_s: float = 60
    site_radius_m: float = 500
    default_offset: str = "+08:00"  # China Standard Time: what an unlabelled camera clock most likely shows


@dataclass
class DeviceFacts:
    """What the tablet and the server know about a photo besides its bytes."""

    device_captured_at: datetime | None = None
    device_latitude: float | None = None
    device_longitude: float | None = None
    clock_offset_s: float | None = None  # device clock minus server clock, measured at sync
    received_at: datetime | None = None
    site_latitude: float | None = None
    site_longitude: float | None = None


@dataclass
class TimeAnalysis:
    """The estimate, its basis and the flags, with every compared value kept for the report."""

    estimated_capture_at: datetime | None
    basis: str
    basis_code: str
    flags: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-ready dict (datetimes as ISO strings)."""
        out = asdict(self)
        out["estimated_capture_at"] = _iso(self.estimated_capture_at)
        return out


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else None


def _parse_utc(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _offset_text(seconds: float) -> str:
    sign = "-" if seconds < 0 else "+"
    minutes = int(round(abs(seconds) / 60))
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _infer_offset(local: str, gps_utc: datetime) -> tuple[str, float] | None:
    """The camera's zone from local time minus GPS UTC, rounded to 15 minutes; None if implausible."""
    naive_gps = gps_utc.astimezone(timezone.utc).replace(tzinfo=None)
    diff = (datetime.fromisoformat(local) - naive_gps).total_seconds()
    quarter = round(diff / 900) * 900
    if abs(quarter) > 14 * 3600:
        return None
    return _offset_text(quarter), diff - quarter


def is_editor(software: str | None) -> bool:
    """True when the Software tag names an editing program."""
    return software is not None and any(name in software.lower() for name in EDITORS)


def no_camera_metadata(meta: Metadata) -> bool:
    """A readable screenshot-type picture (PNG, WebP) that carries no camera fields at all."""
    return (
        meta.status != "unreadable"
        and meta.format in SCREENSHOT_FORMATS
        and not meta.capture_local
        and not meta.make
        and not meta.model
        and meta.gps_latitude is None
        and not meta.gps_time_utc
    )


def analyse(meta: Metadata, facts: DeviceFacts, settings: Settings = Settings()) -> TimeAnalysis:
    """Estimate the capture time, say on what basis, and flag inconsistencies between sources."""
    flags: list[str] = []
    details: dict = {
        "exif_local": meta.capture_local,
        "exif_source": meta.capture_source,
        "exif_offset": meta.offset,
        "gps_time_utc": meta.gps_time_utc,
        "device_captured_at": _iso(facts.device_captured_at),
        "device_clock_offset_s": facts.clock_offset_s,
        "received_at": _iso(facts.received_at),
    }
    gps_utc = _parse_utc(meta.gps_time_utc)
    exif_utc, offset_note = None, None
    if meta.status == "unreadable":
        flags.append("metadata_unreadable")
    if not meta.capture_local:
        flags.append("no_camera_metadata" if no_camera_metadata(meta) else "exif_missing")
    elif meta.offset:
        exif_utc = local_to_utc(meta.capture_local, meta.offset)
        offset_note = f"offset {meta.offset} recorded in {meta.offset_source}"
    elif gps_utc is not None and (inferred := _infer_offset(meta.capture_local, gps_utc)):
        zone, residual = inferred
        exif_utc = local_to_utc(meta.capture_local, zone)
        offset_note = f"offset {zone} inferred from GPS time (no offset recorded)"
        details["offset_inferred_from_gps"] = zone
        if abs(residual) > settings.gps_exif_tolerance_s:
            flags.append("gps_vs_exif_mismatch")
            details["gps_vs_exif_s"] = round(residual, 3)
    else:
        exif_utc = local_to_utc(meta.capture_local, settings.default_offset)
        reason = (
            "no GPS time"
            if gps_utc is None
            else f"GPS time {meta.gps_time_utc} is too far from the EXIF time to infer one"
        )
        offset_note = f"offset {settings.default_offset} assumed (none recorded, {reason})"
        details["offset_assumed"] = settings.default_offset
    details["exif_utc"] = _iso(exif_utc)

    if exif_utc is not None and gps_utc is not None and "offset_inferred_from_gps" not in details:
        gap = (exif_utc - gps_utc).total_seconds()
        details["gps_vs_exif_s"] = round(gap, 3)
        if abs(gap) > settings.gps_exif_tolerance_s:
            flags.append("gps_vs_exif_mismatch")

    device_corrected = None
    if facts.device_captured_at is not None:
        device_corrected = facts.device_captured_at
        if facts.clock_offset_s is not None:
            device_corrected = facts.device_captured_at - timedelta(seconds=facts.clock_offset_s)
        details["device_corrected"] = _iso(device_corrected)
    if facts.clock_offset_s is not None and abs(facts.clock_offset_s) > settings.clock_skew_tolerance_s:
        flags.append("device_clock_skew")
    if exif_utc is not None and device_corrected is not None:
        gap = (exif_utc - device_corrected).total_seconds()
        details["exif_vs_device_s"] = round(gap, 3)
        if abs(gap) > settings.exif_device_tolerance_s:
            flags.append("exif_vs_device_mismatch")

    offset_known = "device clock offset measured at sync: " + (
        f"{facts.clock_offset_s:+.0f} s" if facts.clock_offset_s is not None else "unknown"
    )
    if exif_utc is not None:
        estimate, code = exif_utc, "exif"
        basis = f"{meta.capture_source}, {offset_note}"
    elif gps_utc is not None:
        estimate, code = gps_utc, "gps"
        basis = "GPS time (UTC from satellites); no capture time in EXIF/XMP"
    elif device_corrected is not None:
        estimate, code = device_corrected, "device"
        basis = (
            "capture time declared by the tablet, corrected by its clock offset; " + offset_known
            if facts.clock_offset_s is not None
            else "capture time declared by the tablet, uncorrected; " + offset_known
        )
    elif facts.received_at is not None:
        estimate, code = facts.received_at, "receipt"
        basis = "server receipt time (an upper bound: no capture time recorded anywhere)"
    else:
        estimate, code, basis = None, "none", "no time source"
    if code == "exif":
        basis += f"; {offset_known}"

    if (
        estimate is not None
        and facts.received_at is not None
        and estimate > facts.received_at + timedelta(seconds=settings.receipt_grace_s)
    ):
        flags.append("capture_after_receipt")
    if is_editor(meta.software):
        flags.append("edited_by_software")
        details["software"] = meta.software
    elif meta.modify_local and meta.capture_local and meta.modify_local[:19] > meta.capture_local[:19]:
        modify_gap = (
            datetime.fromisoformat(meta.modify_local[:19]) - datetime.fromisoformat(meta.capture_local[:19])
        ).total_seconds()
        if modify_gap > 2:
            flags.append("edited_by_software")
            details["modified_after_capture_s"] = modify_gap

    lat, lon, place_source = meta.gps_latitude, meta.gps_longitude, meta.gps_source
    if lat is None and facts.device_latitude is not None and facts.device_longitude is not None:
        lat, lon, place_source = facts.device_latitude, facts.device_longitude, "tablet location"
    if lat is not None and lon is not None and facts.site_latitude is not None and facts.site_longitude is not None:
        distance = haversine_m(lat, lon, facts.site_latitude, facts.site_longitude)
        details["distance_to_site_m"] = round(distance, 1)
        details["distance_source"] = place_source
        if distance > settings.site_radius_m:
            flags.append("gps_far_from_site")
    return TimeAnalysis(estimate, basis, code, sorted(set(flags)), details)
