"""The documents integrators read list what the code does."""

import re
from pathlib import Path

from core.errors import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]


def test_every_error_code_is_documented_with_its_status():

    import importlib
    import pkgutil

    # modules that register their own problems do so at import time
    for package in ("sync", "workers", "services"):
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            importlib.import_module(f"{package}.{info.name}")
    documented = dict(re.findall(r"^\| `([a-z_.0-9]+)` \| (\d{3}) \|", (ROOT / "docs/errors.md").read_text(), re.M))
    missing = {code: p.status for code, p in CATALOGUE.items() if documented.get(code) != str(p.status)}
    assert not missing, f"docs/errors.md lacks or misstates: {missing}"


def test_the_sync_protocol_lists_exactly_the_reject_reasons_the_product_sends():
    from services.review import REJECT_REASONS

    text = (ROOT / "docs/sync-protocol.md").read_text()
    quoted = set(re.findall(r'"reason_code": "([a-z_]+)"', text))
    table = dict(re.findall(r"^\| `([a-z_]+)` \| ([^|]+?) \|$", text, re.M))
    assert quoted and quoted <= set(REJECT_REASONS), quoted - set(REJECT_REASONS)
    assert {code: table.get(code) for code in REJECT_REASONS} == REJECT_REASONS


def test_every_error_an_office_page_can_show_has_a_chinese_message():
    from core.errors import DEVICE_ONLY_PREFIXES, ZH_CN

    office = {code for code in CATALOGUE if not code.startswith(DEVICE_ONLY_PREFIXES)}
    assert office - set(ZH_CN) == set()
    assert all(re.search(r"[\u4e00-\u9fff]", text) for text in ZH_CN.values())
