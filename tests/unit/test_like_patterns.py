"""User text in LIKE patterns matches itself only: %, _ and the escape character are literal."""

import sqlite3

import pytest

from services import like_patterns

VALUES = ["东方钢铁厂", "100%电力", "a_b", "axb", "c:\\temp", "exif_missing", "exifXmissing"]


def matching(pattern: str) -> set[str]:
    db = sqlite3.connect(":memory:")
    db.execute("create table t (v text)")
    db.executemany("insert into t values (?)", [(v,) for v in VALUES])
    return {row[0] for row in db.execute("select v from t where v like ? escape ?", (pattern, like_patterns.ESCAPE))}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("%", {"100%电力"}),
        ("_", {"a_b", "exif_missing"}),
        ("a_b", {"a_b"}),
        ("\\", {"c:\\temp"}),
        ("钢铁", {"东方钢铁厂"}),
    ],
)
def test_contains_matches_the_typed_text_literally(text, expected):
    assert matching(like_patterns.contains(text)) == expected


def test_starts_with_matches_only_the_literal_prefix():
    assert matching(like_patterns.starts_with("a_")) == {"a_b"}
    assert matching(like_patterns.starts_with("%")) == set()


def test_a_json_list_member_pattern_needs_the_exact_quoted_code():
    db = sqlite3.connect(":memory:")
    db.execute("create table t (flags text)")
    db.executemany("insert into t values (?)", [('["exif_missing"]',), ('["exifXmissing"]',), ('["exif_missing_2"]',)])
    rows = db.execute(
        "select flags from t where flags like ? escape ?",
        (like_patterns.json_string_member("exif_missing"), like_patterns.ESCAPE),
    ).fetchall()
    assert rows == [('["exif_missing"]',)]
