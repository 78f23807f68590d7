"""A simple plan of where photos were taken relative to the customer's site, drawn as SVG data.

No map tiles: the site is the centre, distance rings at a round scale, north up, each GPS fix a
dot with its accuracy circle. Pure functions; the template turns the result into ``<svg>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
FAR_FROM_SITE_M = 500.0  # the stamping pipeline's default site radius
SIZE = 320
MARGIN = 24
MIN_RING_PX = 1.0  # a site ring smaller than this is not drawn (and said so)
NICE = (
    10,
    20,
    50,
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def format_distance(metres: float) -> str:
    """A distance as people say it: 35 米, 1.2 公里."""
    if metres < 1000:
        return f"{metres:.0f} 米"
    return f"{metres / 1000:.1f} 公里" if metres < 100_000 else f"{metres / 1000:.0f} 公里"


def _nice_radius(metres: float) -> int:
    return next((n for n in NICE if n >= metres), NICE[-1])


@dataclass(frozen=True)
class Fix:
    """A GPS position to place on the plan."""

    label: str
    latitude: float
    longitude: float
    accuracy_m: float | None = None
    source: str = ""  # 照片 EXIF GPS or 平板定位


@dataclass(frozen=True)
class PlacedFix:
    """A fix placed on the plan."""

    label: str
    x: float
    y: float
    accuracy_px: float
    source: str
    accuracy_m: float | None
    distance_m: float
    distance_text: str
    bearing: float
    far: bool
    clipped: bool


@dataclass(frozen=True)
class Plan:
    """Everything the template needs to draw the plan."""

    size: int
    centre: float
    scale_m: int
    scale_text: str
    rings: list[tuple[float, str]]
    fixes: list[PlacedFix]
    far_threshold_m: float
    threshold_px: float | None = None
    far_count: int = 0
    # the two sentences under the plan, computed together so that they cannot contradict each other
    verdict: str = ""
    ring_note: str = ""


def make_plan(site_lat: float, site_lon: float, fixes: list[Fix], far_threshold_m: float = FAR_FROM_SITE_M) -> Plan:
    """Place the fixes around the site at a round scale that shows all of them (and the threshold)."""
    centre = SIZE / 2
    outer_px = centre - MARGIN
    measured = [
        (
            f,
            distance_m(site_lat, site_lon, f.latitude, f.longitude),
            bearing_deg(site_lat, site_lon, f.latitude, f.longitude),
        )
        for f in fixes
    ]
    # the scale follows the photos (so near ones stay apart); the site radius is drawn when it fits
    farthest = max([d for _, d, _ in measured] + [40.0])
    scale = _nice_radius(farthest)
    px_per_m = outer_px / scale
    rings = [(outer_px * k / 4, format_distance(scale * k / 4)) for k in (1, 2, 3, 4)]
    placed = []
    for fix, dist, bearing in measured:
        r = min(dist * px_per_m, outer_px)
        x = centre + r * math.sin(math.radians(bearing))
        y = centre - r * math.cos(math.radians(bearing))
        accuracy = min((fix.accuracy_m or 0) * px_per_m, outer_px)
        placed.append(
            PlacedFix(
                fix.label,
                round(x, 1),
                round(y, 1),
                round(accuracy, 1),
                fix.source,
                fix.accuracy_m,
                dist,
                format_distance(dist),
                round(bearing),
                dist > far_threshold_m,
                dist * px_per_m > outer_px,
            )
        )
    radius = format_distance(far_threshold_m)
    threshold_px: float | None
    threshold_px = round(far_threshold_m * px_per_m, 1)
    if far_threshold_m > scale:
        threshold_px, ring_note = None, f"现场范围 {radius}大于外圈，未画出"
    elif threshold_px < MIN_RING_PX:
        threshold_px, ring_note = None, f"现场范围 {radius}在此比例下不足 1 像素，未画出"
    else:
        ring_note = f"绿色虚线为现场范围 {radius}"
    far_count = sum(1 for p in placed if p.far)
    verdict = f"{far_count} 张照片超出现场范围 {radius}" if far_count else f"全部照片在现场范围 {radius}以内"
    return Plan(
        SIZE,
        centre,
        scale,
        format_distance(scale),
        [(round(r, 1), text) for r, text in rings],
        placed,
        far_threshold_m,
        threshold_px,
        far_count,
        verdict,
        ring_note,
    )
