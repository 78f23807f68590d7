"""The one cursor codec: keyset positions round-trip, anything altered or foreign is refused."""

from datetime import datetime, timezone

import pytest

from core import cursors

MOMENT = datetime(2026, 11, 30, 6, 29, 34, 375260, tzinfo=timezone.utc)


def test_a_keyset_cursor_round_trips_for_its_own_order_only():
    token = cursors.keyset_encode("received_desc", MOMENT, "c-1")
    assert cursors.keyset_decode(token, "received_desc") == (MOMENT, "c-1")
    with pytest.raises(cursors.CursorInvalid):
        cursors.keyset_decode(token, "received_asc")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x",
        "%%%",
        "W10",
        "a" * (cursors.MAX_LENGTH + 1),
        None,
        7,
        cursors.keyset_encode("s", MOMENT.replace(tzinfo=None), "c"),
    ],
)
def test_malformed_keyset_cursors_are_refused(token):
    with pytest.raises(cursors.CursorInvalid):
        cursors.keyset_decode(token, "s")


def test_a_signed_cursor_is_bound_to_its_holder_and_cannot_be_edited():
    token = cursors.signed_encode({"s": 41, "e": 1}, b"secret", "device-a")
    assert cursors.signed_decode(token, b"secret", "device-a") == {"s": 41, "e": 1}
    with pytest.raises(cursors.CursorInvalid):
        cursors.signed_decode(token, b"secret", "device-b")
    body, mac = token.split(".")
    forged = cursors.signed_encode({"s": 99, "e": 1}, b"other-secret", "device-a").split(".")[0] + "." + mac
    with pytest.raises(cursors.CursorInvalid):
        cursors.signed_decode(forged, b"secret", "device-a")
    with pytest.raises(cursors.CursorInvalid):
        cursors.signed_decode(token + "." + mac, b"secret", "device-a")
