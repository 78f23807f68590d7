"""Legal pages in Chinese: a recorded search shows its filters in the use register, refused filters
and the 403 page speak the catalogue's zh-CN messages."""

from datetime import datetime, timezone

from models import EvidenceUse
from models.database import db
from tests.helpers.api_client import ApiClient
from tests.helpers.factories import PASSWORD, make_user


def _login(client, name, role):
    make_user(name, role)
    api = ApiClient(client)
    assert api.login(name, PASSWORD).status_code == 302
    return api


def test_the_use_register_shows_the_filters_of_a_recorded_search(client):
    api = _login(client, "lawyer", "legal")
    db.session.add(
        EvidenceUse(
            at=datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc),
            user_label="李律师（lawyer）",
            action="search",
            details={
                "filters": {
                    "account_no": "3100012345",
                    "review_state": "approved",
                    "flag": "gps_far_from_site",
                    "captured_from": "2026-11-01T00:00:00+08:00",
                    "sort": "received",
                },
                "results": 3,
                "page": False,
            },
        )
    )
    db.session.commit()
    html = api.get("/legal/uses").get_data(as_text=True)
    assert (
        "户号 3100012345；审核状态 已通过；标记 拍摄地点远离客户登记位置；"
        "拍摄时间从 2026-11-01 00:00:00（北京时间）；排序 按接收时间"
    ) in html
    assert "3 条结果" in html and "gps_far_from_site" not in html


def test_a_refused_search_filter_and_a_forbidden_page_are_explained_in_chinese(client):
    api = _login(client, "lawyer", "legal")
    response = api.get("/legal/?captured_from=not-a-date")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "检索条件的取值无效。（legal.bad_filter）" in html and "A search filter" not in html
    forbidden = api.get("/review/queue")
    page = forbidden.get_data(as_text=True)
    assert forbidden.status_code == 403
    assert "您的角色无权进行此操作。" in page and "Your role may not do this" not in page
