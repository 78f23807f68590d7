"""How long evidence bundles stay on the server: EXPORT_BUNDLE_DAYS, overridden by the environment."""

import pytest

from services.stamping_env import export_bundle_days


def test_the_bundle_period_is_configurable(monkeypatch):
    monkeypatch.delenv("DANGAN_EXPORT_BUNDLE_DAYS", raising=False)
    assert export_bundle_days({}) == 30
    assert export_bundle_days({"EXPORT_BUNDLE_DAYS": 14}) == 14
    monkeypatch.setenv("DANGAN_EXPORT_BUNDLE_DAYS", "7")
    assert export_bundle_days({"EXPORT_BUNDLE_DAYS": 14}) == 7
    monkeypatch.setenv("DANGAN_EXPORT_BUNDLE_DAYS", "-1")
    with pytest.raises(ValueError):
        export_bundle_days({})
