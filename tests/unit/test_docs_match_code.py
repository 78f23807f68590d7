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
