"""Words and formats of the review and dossier pages: Beijing times, Chinese messages for error codes."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import BinaryIO, Iterator

from markupsafe import Markup

from core import errors
from core.beijing_time import BEIJING
from core.labels import TAG_LABELS, basis_detail, duration_text  # noqa: F401 (the pages' helpers)
from services.review import STATE_LABELS
from services.site_plan import format_distance

CHUNK = 64 * 1024

MESSAGES = {
    errors.REVIEW_NOT_PENDING.code: "该采集已不在待审核状态（{state}），无需再处理。",
    errors.REVIEW_UNLINKED.code: "该采集尚未关联客户，请先关联客户再通过。",
    errors.REVIEW_INCOMPLETE.code: "还有应交照片尚未上传完成，暂不能归档。",
    errors.UNKNOWN_DOC_TYPE.code: "请选择归档范围表中的文件类型。",
    errors.UNKNOWN_REJECT_REASON.code: "请从列表中选择退回原因。",
    errors.REASON_TEXT_REQUIRED.code: "请填写具体说明。",
    errors.EMPTY_COMMENT.code: "备注不能为空。",
    errors.ALREADY_LINKED.code: "该采集已关联客户。",
    errors.UNKNOWN_CUSTOMER.code: "请选择一个客户。",
    errors.UNKNOWN_BUSINESS_EVENT.code: "所选业务事项不属于该客户。",
    errors.BULK_TOO_LARGE.code: "一次批量通过最多 {max} 条。",
    errors.UNKNOWN_CAPTURE.code: "找不到该采集。",
    errors.DOSSIER_DESTROYED.code: "该客户档案已销毁（销毁记录第 {record_id} 号，{destroyed_on}），不能再归档或关联。",
}


def local_time(value: datetime | None, seconds: bool = False) -> str:
    """An instant as Beijing wall-clock time (the archive works on Beijing time)."""
    if value is None:
        return "—"
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def beijing_time(value: datetime | None, seconds: bool = True) -> str:
    """An instant as Beijing time with its label: 2026-11-30 14:29:34（北京时间）."""
    if value is None:
        return "—"
    return f"{local_time(value, seconds)}（北京时间）"


def utc_time(value: datetime | None) -> str:
    """An instant in UTC, labelled, for the places a court needs it: 2026-11-30 06:29:34.375 UTC."""
    if value is None:
        return "—"
    moment = value.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"


def duration_html(seconds: float | int | None) -> Markup:
    """``duration_text`` of the size of a difference, with the exact signed seconds in a tooltip."""
    if seconds is None:
        return Markup("—")
    exact = f"{float(seconds):.3f}".rstrip("0").rstrip(".")
    return Markup('<span class="duration" title="精确值 {} 秒">{}</span>').format(exact, duration_text(seconds))


def local_day(value: datetime | date | None) -> str:
    """A date (or the Beijing date of an instant)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(BEIJING).date()
    return value.isoformat()


def message_for(exc: errors.DomainError) -> str:
    """A Chinese sentence for a refused review step; conflicts say who acted first and when."""
    if exc.code == errors.REVIEW_CONFLICT.code:
        who = exc.details.get("decided_by") or "其他档案员"
        when = exc.details.get("decided_at")
        when_text = local_time(datetime.fromisoformat(when), seconds=True) if when else "刚才"
        state = STATE_LABELS.get(exc.details.get("state", ""), exc.details.get("state", ""))
        return f"操作未生效：{who} 已于 {when_text} 处理了该采集（当前状态：{state}）。请查看最新状态后再决定。"
    template = MESSAGES.get(exc.code)
    if template is None:
        return f"操作未完成：{errors.zh_message(exc)}（{exc.code}）"
    details = dict(exc.details)
    if "state" in details:
        details["state"] = STATE_LABELS.get(details["state"], details["state"])
    try:
        return template.format(**details)
    except (KeyError, IndexError):
        return template


PLACE_SOURCES = {"EXIF GPS": "照片 EXIF GPS", "tablet location": "平板定位"}
_INSTANTS = ("exif_utc", "gps_time_utc", "device_captured_at", "device_corrected", "received_at")
_DURATIONS = ("device_clock_offset_s", "exif_vs_device_s", "gps_vs_exif_s", "modified_after_capture_s")
_ZONES = ("exif_offset", "offset_inferred_from_gps", "offset_assumed")


def _instant(raw) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def stored_time(raw) -> str | Markup:
    """A stored ISO instant (records, manifests) in Beijing time, the exact UTC in a tooltip."""
    moment = _instant(raw) if raw else None
    if moment is None:
        return "—" if not raw else str(raw)
    return Markup('<span title="{}">{}</span>').format(utc_time(moment), beijing_time(moment))


def source_value(key: str, raw) -> str | Markup:
    """One value of a photo's time analysis in words: Beijing times, durations, zones, places."""
    if key in _INSTANTS and (moment := _instant(raw)) is not None:
        return Markup('<span title="{}">{}</span>').format(utc_time(moment), beijing_time(moment))
    if key in _DURATIONS:
        try:
            return duration_html(float(raw))
        except (TypeError, ValueError):
            return str(raw)
    if key in _ZONES:
        return f"UTC{raw}"
    if key == "exif_local":
        return f"{str(raw).replace('T', ' ')}（照片记录的本地时间）"
    if key == "exif_source":
        return TAG_LABELS.get(str(raw), str(raw))
    if key == "distance_to_site_m":
        try:
            return format_distance(float(raw))
        except (TypeError, ValueError):
            return str(raw)
    if key == "distance_source":
        return PLACE_SOURCES.get(str(raw), str(raw))
    return str(raw)


MEDIA_TYPES = {"image/jpeg": "JPEG 图像", "image/png": "PNG 图像", "image/webp": "WebP 图像", "image/heic": "HEIC 图像"}


def media_type(value: str | None) -> str:
    """A file's media type as people name it (JPEG 图像)."""
    return MEDIA_TYPES.get(value or "", "其他格式" if value else "")


LOCAL_TSA_STATEMENT = "本服务器的本地时间戳服务（使用本服务器时钟，并非可信第三方）"


def tsa_statement(name: str | None, kind: str | None) -> str:
    """Who issued a photo's RFC 3161 timestamp, in Chinese."""
    if kind == "local" or (name or "").startswith("Dangan LOCAL TSA"):
        return LOCAL_TSA_STATEMENT
    return f"外部时间戳服务：{name}" if name else "外部时间戳服务"


def approved_message(outcome) -> str:
    """What the archivist is told after an approval."""
    item = outcome.item
    return f"已通过，归入卷内目录第 {item.seq} 号：{item.title}。"


def parse_selection(values: list[str]) -> list[tuple[str, int | None]]:
    """Queue checkboxes carry ``<capture id>:<review version>``; malformed values are dropped."""
    out = []
    for value in values:
        capture_id, _, version = value.partition(":")
        if capture_id and len(capture_id) <= 36:
            out.append((capture_id, int(version) if version.isdigit() else None))
    return out


def bulk_messages(results: list[dict]) -> list[tuple[str, str]]:
    """Flash messages summarising a bulk approval."""
    done = [r for r in results if r["ok"]]
    failed = [r for r in results if not r["ok"]]
    out = []
    if done:
        out.append(("info", f"已批量通过 {len(done)} 条，并归入各自客户的卷内目录。"))
    if not results:
        out.append(("error", "请先勾选要通过的采集。"))
    for row in failed:
        exc = errors.DomainError(errors.CATALOGUE[row["code"]], row["message"], row.get("details"))
        out.append(("error", f"{row['capture_id'][:8]}…：{message_for(exc)}"))
    return out


def safe_back(target: str | None, default: str) -> str:
    """Only queue URLs of this site are followed back to."""
    if target and target.startswith("/review/queue") and "//" not in target:
        return target
    return default


def chunks(stream: BinaryIO) -> Iterator[bytes]:
    """Read a blob stream in chunks and close it at the end."""
    with stream:
        while True:
            block = stream.read(CHUNK)
            if not block:
                return
            yield block
