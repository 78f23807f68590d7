"""The example forms (demo tablets, docs, tests) are valid for their schema version."""

import pytest

from capture_schema import get_schema
from capture_schema.examples import SAMPLE_DATA


@pytest.mark.parametrize("kind,version", sorted(SAMPLE_DATA))
def test_every_example_form_validates_against_its_schema(kind, version):
    assert get_schema(kind, version).validate(SAMPLE_DATA[(kind, version)]) == {}
