"""The capture app's JavaScript unit tests (node's test runner): outbox, search, and form
validation against the schema fixtures the server's own validation produces."""

import subprocess

from tests.helpers.capture_app import APP_DIR, require_app_node, write_schema_fixtures


def test_capture_app_javascript_unit_tests_pass(tmp_path):
    node = require_app_node()
    fixtures = write_schema_fixtures(tmp_path / "schemas.json")
    tests = sorted(str(p) for p in (APP_DIR / "test").glob("*.test.mjs"))
    assert tests
    run = subprocess.run(
        [node, "--test", "--test-reporter=spec", *tests],
        cwd=APP_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "CAPTURE_SCHEMA_FIXTURES": str(fixtures)},
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert "fail 0" in run.stdout and "pass 0" not in run.stdout


def test_the_vendored_libraries_match_the_lockfile():
    node = require_app_node()
    run = subprocess.run([node, "build.mjs", "--check"], cwd=APP_DIR, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
