"""What the server would extract from a photo file (steps 1–3), as one JSON-ready dict; no database."""

from __future__ import annotations

from core import exif, hashing, time_analysis

DEFAULT_SETTINGS = time_analysis.Settings()


def inspect_bytes(data: bytes, name: str, settings: time_analysis.Settings = DEFAULT_SETTINGS) -> dict:
    """Hashes, capture time and its source, offset, GPS, device fields and flags of one file."""
    digests = hashing.digest_bytes(data)
    meta = exif.read_metadata(data)
    analysis = time_analysis.analyse(meta, time_analysis.DeviceFacts(), settings)
    capture = None
    if meta.capture_local:
        capture = meta.capture_local + (meta.offset or "")
    out = {
        "file": name,
        "sha256": digests.sha256,
        "sm3": digests.sm3,
        "size": digests.size,
        "metadata_status": meta.status,
        "reader": meta.reader,
        "format": meta.format,
        "width": meta.width,
        "height": meta.height,
        "capture_time": capture,
        "capture_time_source": meta.capture_source,
        "offset": meta.offset,
        "offset_source": meta.offset_source,
        "gps": None
        if meta.gps_latitude is None
        else {
            "latitude": meta.gps_latitude,
            "longitude": meta.gps_longitude,
            "altitude": meta.gps_altitude,
            "source": meta.gps_source,
        },
        "gps_time_utc": meta.gps_time_utc,
        "modify_time": meta.modify_local,
        "make": meta.make,
        "model": meta.model,
        "body_serial": meta.body_serial,
        "software": meta.software,
        "image_unique_id": meta.image_unique_id,
        "orientation": meta.orientation,
        "estimated_capture_at": analysis.as_dict()["estimated_capture_at"],
        "estimate_basis": analysis.basis,
        "flags": analysis.flags,
    }
    if meta.status == "unreadable":
        out["error"] = {"code": "metadata.unreadable", "reason": meta.reason}
    return out
