"""Health report, the OpenAPI document, and the one error shape."""

from openapi_spec_validator import validate

from ports.job_queue import worker_heartbeat
from ports.redis_connection import get_redis


def test_health_reports_database_redis_queues_and_disk(client):
    worker_heartbeat(get_redis(), 30)  # a stamping worker is running
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["database"]["outbox_backlog"] == 0
    assert body["checks"]["redis"]["ok"] and "stamping" in body["checks"]["redis"]["queues"]
    assert body["checks"]["disk"]["free_bytes"] > 0
    assert body["checks"]["worker"] == {"ok": True, "alive": 1, "ms": body["checks"]["worker"]["ms"]}


def test_health_is_degraded_and_names_the_worker_when_no_worker_is_alive(client):
    body = client.get("/api/v1/health").json
    assert body["status"] == "degraded"
    assert body["checks"]["worker"]["ok"] is False and body["checks"]["worker"]["alive"] == 0
    assert body["checks"]["redis"]["ok"] is True and body["checks"]["database"]["ok"] is True


def test_health_is_degraded_not_down_when_redis_is_unreachable(app, client):
    app.extensions["dangan.redis"]._client = None
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    body = client.get("/api/v1/health").json
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["database"]["ok"] is True


def test_openapi_document_is_valid_openapi_3_and_lists_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    documented = set(spec["paths"])
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api-docs.openapi_json":
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<string:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
                path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<path:{arg}>", f"{{{arg}}}")
            routes.add(path)
    assert routes <= documented, routes - documented


def test_unknown_api_route_gets_the_json_error_shape(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json == {"code": "request.not_found", "message": "No such resource.", "details": {}}


def test_unknown_page_gets_a_chinese_error_page(client):
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert "找不到页面" in response.get_data(as_text=True)


def test_ids_beyond_the_database_range_are_a_clear_4xx_not_a_server_error(client):
    from tests.helpers.api_client import ApiClient
    from tests.helpers.factories import PASSWORD, make_user

    make_user("legal", "legal")
    api = ApiClient(client)
    api.login("legal", PASSWORD)
    path = api.get(f"/api/v1/legal/exports/{2**63}")
    assert path.status_code == 404 and path.json["code"] == "request.not_found"
    query = api.get(f"/api/v1/legal/uses?export_id={2**70}")
    assert query.status_code == 422 and query.json["details"] == {"reason": "out_of_range"}
