"""Chinese labels for evidence flags and estimate bases (stamped copies, pages, reports)."""

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
