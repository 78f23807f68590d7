"""The review page of an amended capture shows its revisions side by side."""

from tests.helpers.api_client import ApiClient
from tests.helpers.captures import INSPECTION_V2, make_capture
from tests.helpers.factories import PASSWORD, make_customer, make_device, make_user


def test_review_page_of_an_amended_capture_shows_every_revision(client):
    make_customer("3100012345")
    device, _ = make_device()
    make_user("archivist", "archivist")
    amended = {**INSPECTION_V2, "meter_number": "3300999999999"}
    capture = make_capture(device, revisions=[dict(INSPECTION_V2), amended])
    ApiClient(client).login("archivist", PASSWORD)
    page = client.get(f"/review/captures/{capture.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "修订对照" in html and "第 2 版" in html
    assert "3300123456781" in html and "3300999999999" in html
