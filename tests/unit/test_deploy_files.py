"""The production shape in deploy/ agrees with the code and the README it describes."""

from __future__ import annotations

import json
import re
import shlex

import yaml

from tests.helpers.live import ROOT

DEPLOY = ROOT / "deploy"
GUNICORN = "-m gunicorn --config python:server.web_serving wsgi:app"


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
