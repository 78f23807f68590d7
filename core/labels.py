"""Chinese labels for evidence flags and estimate bases (stamped copies, pages, reports), and the one
helper that words a length of time (约 18 年, 3 分 12 秒) for pages, PDFs and CSVs."""

FLAG_LABELS = {
    "exif_missing": "无EXIF拍摄时间",
    "exif_vs_device_mismatch": "EXIF时间与平板申报时间不一致",
    "gps_vs_exif_mismatch": "GPS时间与EXIF时间不一致",
    "device_clock_skew": "平板时钟偏差较大",
    "capture_after_receipt": "拍摄时间晚于服务器接收时间",
    "edited_by_software": "疑似经软件编辑",
    "gps_far_from_site": "拍摄地点远离客户登记位置",
    "metadata_unreadable": "元数据无法读取",
    "no_camera_metadata": "无相机元数据（截图或文档图片）",
}

BASIS_LABELS = {
    "exif": "EXIF拍摄时间",
    "gps": "GPS卫星时间",
    "device": "平板申报时间",
    "receipt": "服务器接收时间（上限）",
    "none": "无时间来源",
}

TSA_LABELS = {"pending": "时间戳待取得", "granted": "已取得时间戳", "failed": "时间戳失败"}
TSA_KIND_LABELS = {"local": "本地时间戳服务（非第三方）", "external": "外部时间戳服务"}


def flag_label(flag: str) -> str:
    """Chinese label of a flag (the code itself when unknown)."""
    return FLAG_LABELS.get(flag, flag)


_UNITS = ((365.2425 * 86400, "年"), (30.436875 * 86400, "个月"), (86400, "天"), (3600, "小时"), (60, "分"), (1, "秒"))


def duration_text(seconds: float | int | None) -> str:
    """A length of time as people say it: 约 18 年, 约 3 个月, 2 天 4 小时, 3 分 12 秒, 0.4 秒."""
    if seconds is None:
        return "—"
    value = abs(float(seconds))
    if value < 1:
        return f"{value:.1f} 秒"
    if value >= 30.436875 * 86400:  # a month or more: one rounded unit
        for size, unit in _UNITS[:2]:
            if value >= size:
                return f"约 {value / size:.0f} {unit}"
    rest = int(round(value))
    parts: list[str] = []
    for size, unit in _UNITS[2:]:
        count, rest = divmod(rest, int(size))
        if parts or count:
            if count:
                parts.append(f"{count} {unit}")
            if len(parts) == 2 or (parts and not count):
                break
    return " ".join(parts) or "0 秒"


# names of the metadata tags a capture time was read from
TAG_LABELS = {
    "EXIF DateTimeOriginal": "EXIF 原始拍摄时间（DateTimeOriginal）",
    "EXIF OffsetTimeOriginal": "EXIF 拍摄时区（OffsetTimeOriginal）",
    "XMP exif:DateTimeOriginal": "XMP 原始拍摄时间",
    "XMP photoshop:DateCreated": "XMP 创建时间",
}


def basis_detail(code: str | None, details: dict, stored: str | None = None) -> str:
    """On what the estimated capture time rests, in Chinese, from the stored analysis details."""
    offset_s = details.get("device_clock_offset_s")
    clock = (
        "同步时测得平板时钟偏差 " + duration_text(offset_s) + ("（偏快）" if offset_s > 0 else "（偏慢）")
        if isinstance(offset_s, (int, float)) and offset_s
        else "同步时测得平板时钟无偏差"
        if offset_s == 0
        else "平板时钟偏差未知"
    )
    if code == "exif":
        source = TAG_LABELS.get(details.get("exif_source") or "", "照片元数据中的拍摄时间")
        if details.get("offset_assumed"):
            zone = f"时区假定为 UTC{details['offset_assumed']}（照片未记录时区，也无 GPS 时间）"
        elif details.get("offset_inferred_from_gps"):
            zone = f"时区 UTC{details['offset_inferred_from_gps']} 由 GPS 时间推断（照片未记录时区）"
        elif details.get("exif_offset"):
            where = (stored or "").rpartition("recorded in ")[2].split(";")[0].strip()
            zone = f"时区 UTC{details['exif_offset']}，记录于 {TAG_LABELS.get(where, where or '照片元数据')}"
        else:
            zone = "时区未知"
        return f"{source}；{zone}；{clock}"
    if code == "gps":
        return "GPS 卫星时间（UTC）；照片的 EXIF/XMP 中没有拍摄时间"
    if code == "device":
        corrected = "已按同步时测得的时钟偏差校正" if isinstance(offset_s, (int, float)) else "未校正"
        return f"平板申报的拍摄时间，{corrected}；{clock}"
    if code == "receipt":
        return "服务器接收时间（仅为上限：各处均没有拍摄时间记录）"
    if code == "none":
        return "没有任何时间来源"
    return ""
