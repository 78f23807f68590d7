"""Pull cursors are opaque, signed per device, and carry only the server's sequence and epoch."""

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.cursor import CursorInvalid, Position, decode, encode

SECRET = b"server-secret"


@given(seq=st.integers(0, 2**62), epoch=st.integers(0, 1000))
def test_a_cursor_round_trips_for_its_device(seq, epoch):
    assert decode(encode(Position(seq, epoch), "dev-1", SECRET), "dev-1", SECRET) == Position(seq, epoch)


def test_a_cursor_holds_no_time_only_the_sequence_and_epoch():
    text = encode(Position(42, 3), "dev-1", SECRET).split(".")[0]
    body = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    assert body == {"v": 1, "s": 42, "e": 3}


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c.replace(".", ""),
        lambda c: "A" + c,
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),
        lambda c: "",
        lambda c: c + "." + c,
    ],
)
def test_a_mangled_cursor_is_refused(mangle):
    with pytest.raises(CursorInvalid):
        decode(mangle(encode(Position(7, 0), "dev-1", SECRET)), "dev-1", SECRET)


def test_another_devices_or_servers_cursor_is_refused():
    cursor = encode(Position(7, 0), "dev-1", SECRET)
    with pytest.raises(CursorInvalid):
        decode(cursor, "dev-2", SECRET)
    with pytest.raises(CursorInvalid):
        decode(cursor, "dev-1", b"other-secret")


def test_a_forged_position_with_a_valid_looking_shape_is_refused():
    body = base64.urlsafe_b64encode(json.dumps({"v": 1, "s": 10**9, "e": 0}).encode()).decode().rstrip("=")
    mac = encode(Position(7, 0), "dev-1", SECRET).split(".")[1]
    with pytest.raises(CursorInvalid):
        decode(f"{body}.{mac}", "dev-1", SECRET)
