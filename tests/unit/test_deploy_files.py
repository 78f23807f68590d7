"""deploy/ agrees with the code: the systemd units start what ``make run`` starts; the compose file
runs the cluster shape on the documented settings."""

from __future__ import annotations

import configparser
import json
import re
import shlex

import yaml

from server import runner
from sync.uploads import UploadSettings
from tests.helpers.live import ROOT

DEPLOY = ROOT / "deploy"
GUNICORN = "-m gunicorn --config python:server.web_serving wsgi:app"


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


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def _readme_variables() -> set[str]:
    table = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))


def test_compose_runs_two_web_nodes_and_two_workers_behind_nginx_on_the_clustered_engines():
    services = _compose()["services"]
    assert {"postgres", "redis", "seaweedfs", "web", "worker", "nginx"} <= set(services)
    assert services["web"]["deploy"]["replicas"] >= 2 and services["worker"]["deploy"]["replicas"] >= 2
    assert services["web"]["environment"]["DANGAN_CLUSTER"] == "1"
    assert services["worker"]["command"][-2:] == ["-m", "workers.run"]


def test_every_variable_the_nodes_get_is_documented_in_the_readme():
    environment = _compose()["services"]["web"]["environment"]
    undocumented = sorted(set(environment) - _readme_variables())
    assert undocumented == []


def test_web_nodes_start_gunicorn_as_the_systemd_unit_does_and_nginx_is_the_shipped_site():
    web = " ".join(_compose()["services"]["web"]["command"])
    unit = (DEPLOY / "dangan-web.service").read_text()
    assert GUNICORN in web and GUNICORN in unit
    assert "db upgrade" in web and "db upgrade" in unit  # concurrent upgrades are serialized (migrations/env.py)
    nginx = " ".join(_compose()["services"]["nginx"]["command"])
    pattern = shlex.split(nginx.split("sed ", 1)[1])[0]
    needle = pattern.split("/")[1].replace("\\.", ".")
    assert (DEPLOY / "nginx.conf").read_text().count(needle) == 1


def test_the_object_store_identity_is_the_one_the_nodes_use():
    environment = _compose()["services"]["web"]["environment"]
    identity = json.loads((DEPLOY / "seaweedfs-s3.json").read_text())["identities"][0]["credentials"][0]
    assert (identity["accessKey"], identity["secretKey"]) == (
        environment["AWS_ACCESS_KEY_ID"],
        environment["AWS_SECRET_ACCESS_KEY"],
    )
