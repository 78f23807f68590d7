"""``python -m clients.demo_tablets``: the demo inspectors' tablets capture and sync a few forms.

Used by ``make run`` on first start so the archivist queue, the dossiers and the legal search
have real, stamped captures to click through. It goes through the same path as a real tablet:
the reference client's durable outbox, ``POST /api/v1/sync/push`` and tus uploads.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from datetime import datetime, timedelta, timezone

from capture_schema import get_spec, latest_version
from capture_schema.examples import INSPECTED, SAMPLE_DATA
from clients.device_client import DeviceClient, HttpTransport, PhotoFile, TusPhotoUploader
from core.beijing_time import BEIJING

# (inspector, 户号, form kind, minutes before now the form was filled in)
PLAN = (
    ("inspector1", "3100012345", "usage_inspection", 180),
    ("inspector1", "3100012345", "metering_check", 170),
    ("inspector1", "5200098761", "usage_inspection", 120),
    ("inspector1", "5200098763", "defect_notice", 90),
    ("inspector2", "3100012347", "site_survey", 150),
    ("inspector2", "5200098765", "theft_evidence", 60),
    ("inspector2", "3100099999", "usage_inspection", 30),  # a mistyped 户号: lands in 未关联采集
)
SITES = {
    "3100012345": (30.2101, 120.2105),
    "5200098761": (30.2512, 120.1744),
    "5200098763": (30.2832, 120.1541),
    "3100012347": (30.2789, 120.1300),
    "5200098765": (30.2790, 120.1202),
    "3100099999": (30.2600, 120.1600),
}


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round(((value - degrees) * 60 - minutes) * 60, 2)


def site_photo(path: str, label: str, taken: datetime, lat: float, lon: float) -> None:
    """Write a JPEG standing in for a site photo, with EXIF capture time (UTC+8) and GPS."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1600, 1200), (58, 84, 110))
    draw = ImageDraw.Draw(image)
    draw.rectangle((500, 300, 1100, 900), outline=(230, 230, 230), width=12)
    draw.text((540, 330), label, fill=(255, 255, 255))
    exif = Image.Exif()
    local = taken.astimezone(BEIJING)
    exif[0x010F], exif[0x0110] = "Demo", "FieldCam 1"
    exif[0x0132] = local.strftime("%Y:%m:%d %H:%M:%S")
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = local.strftime("%Y:%m:%d %H:%M:%S")
    ifd[0x9011] = "+08:00"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif)
    with open(path, "wb") as fh:
        fh.write(buffer.getvalue())


def run(base_url: str, devices: dict, work_dir: str, now: datetime | None = None) -> dict:
    """Capture the planned forms on each demo tablet and sync them; return what each tablet did."""
    now = now or datetime.now(timezone.utc)
    os.makedirs(work_dir, exist_ok=True)
    report = {}
    for inspector, device in devices.items():
        client = DeviceClient(
            os.path.join(work_dir, f"{inspector}.sqlite3"),
            HttpTransport(base_url, device["token"]),
            uploader=TusPhotoUploader(base_url, device["token"]),
        )
        for number, (owner, account_no, kind, minutes) in enumerate(PLAN):
            if owner != inspector:
                continue
            version = latest_version(kind)
            taken = now - timedelta(minutes=minutes)
            lat, lon = SITES[account_no]
            photos = []
            for slot in get_spec(kind, version).slots:
                if not slot.required:
                    continue
                path = os.path.join(work_dir, f"{inspector}-{number}-{slot.name}.jpg")
                site_photo(path, f"{account_no} {slot.name} #{number}", taken, lat, lon)
                photos.append(
                    PhotoFile(
                        path,
                        slot.name,
                        slot.category,
                        captured_at=taken,
                        gps={"latitude": lat, "longitude": lon, "accuracy_m": 8.0},
                    )
                )
            local = taken.astimezone(BEIJING).isoformat(timespec="seconds")
            data = {
                key: (local if value == INSPECTED else value) for key, value in SAMPLE_DATA[(kind, version)].items()
            }
            if "deadline" in data:  # a defect must be fixed after the notice, not before
                data["deadline"] = (taken + timedelta(days=15)).date().isoformat()
            client.capture(kind, account_no, data, photos, schema_version=version)
        report[inspector] = client.sync()
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--url`` of the running server and the ``--devices`` file written by ``demo``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--devices", required=True, help="demo-devices.json (device ids and tokens)")
    parser.add_argument("--work-dir", required=True, help="where the tablets keep their outbox and photos")
    args = parser.parse_args(argv)
    with open(args.devices, encoding="utf-8") as fh:
        devices = json.load(fh)
    report = run(args.url, devices, args.work_dir)
    print(json.dumps(report, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
