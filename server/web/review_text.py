"""Words and formats of the review and dossier pages: Beijing times, Chinese messages for error codes."""
from __future__ import annotations

from datetime import date, datetime
from typing import BinaryIO, Iterator
from zoneinfo import ZoneInfo

from core import errors
from services.review import STATE_LABELS

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
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
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def local_day(value: datetime | date | None) -> str:
    """A date (or the Beijing date of an instant)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TZ).date()
    return value.isoformat()


def message_for(exc: errors.DomainError) -> str:
    """A Chinese sentence for a refused review step; conflicts say who acted first and when."""
    if exc.code == errors.REVIEW_CONFLICT.code:
        who = exc.details.get("decided_by") or "其他档案员"
        when = exc.details.get("decided_at")
        when_text = local_time(datetime.fromisoformat(when), seconds=True) if when else "刚才"
        state = STATE_LABELS.get(exc.details.get("state", ""), exc.details.get("state", ""))
        return (f"操作未生效：{who} 已于 {when_text} 处理了该采集（当前状态：{state}）。"
                "请查看最新状态后再决定。")
    template = MESSAGES.get(exc.code)
    if template is None:
        return f"操作未完成：{exc.message}（{exc.code}）"
    details = dict(exc.details)
    if "state" in details:
        details["state"] = STATE_LABELS.get(details["state"], details["state"])
    try:
        return template.format(**details)
    except (KeyError, IndexError):
        return template


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
