"""The systemd units in deploy/ start the same processes as ``make run`` (server.runner)."""

from __future__ import annotations

import configparser

from server import runner
from sync.uploads import UploadSettings
from tests.helpers.live import ROOT

DEPLOY = ROOT / "deploy"


def _service(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(DEPLOY / name)
    return parser["Service"]


def test_the_web_unit_runs_gunicorn_with_the_serving_model_of_make_run():
    service = _service("dangan-web.service")
    assert service["ExecStart"].split()[1:] == runner.web_command()[1:]
    assert service["Restart"] == "always"


def test_the_worker_unit_runs_the_worker_of_make_run_and_lets_a_job_finish_on_stop():
    service = _service("dangan-worker.service")
    assert service["ExecStart"].split()[1:] == ["-m", "workers.run"]
    assert service["Restart"] == "always"
    assert int(service["TimeoutStopSec"]) > 600  # STAMPING_JOB_TIMEOUT


def test_the_nginx_site_passes_a_whole_upload_of_tus_max_size():
    text = (DEPLOY / "nginx.conf").read_text()
    uploads = text.split("location /api/v1/uploads", 1)[1]
    limit_mib = int(uploads.split("client_max_body_size", 1)[1].split(";")[0].strip().rstrip("m"))
    assert limit_mib * 1024 * 1024 > UploadSettings().max_size
    assert "proxy_request_buffering off;" in uploads


def test_the_example_environment_names_what_the_units_need():
    names = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "dangan.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert {"DATABASE_URL", "REDIS_URL", "DANGAN_DATA_DIR", "SECRET_KEY", "WEB_BIND"} <= names
