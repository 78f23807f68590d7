"""Masking of customer personal data (phone, ID numbers) for lists, pages and logs."""

from __future__ import annotations


def mask_phone(value: str | None) -> str:
    """Keep the first 3 and last 4 digits of a phone number: 138****8001."""
    if not value:
        return ""
    digits = value.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(value: str | None) -> str:
    """Keep the first 3 and last 2 characters of an identity or licence number."""
    if not value:
        return ""
    text = value.strip()
    if len(text) <= 5:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 5) + text[-2:]


def init_app(app) -> None:
    """Make the masks available in templates as filters ``mask_phone`` and ``mask_id``."""
    app.add_template_filter(mask_phone, "mask_phone")
    app.add_template_filter(mask_id_number, "mask_id")
