"""Phone and ID numbers are masked wherever they are listed."""

from server.masking import mask_id_number, mask_phone


def test_mobile_numbers_keep_prefix_and_last_four():
    assert mask_phone("13800138001") == "138****8001"


def test_landline_numbers_are_masked_in_the_middle():
    assert mask_phone("0571-86001234") == "057******1234"


def test_short_values_are_fully_masked():
    assert mask_phone("12345") == "*****" and mask_id_number("1234") == "****"


def test_identity_numbers_keep_only_three_and_two_characters():
    assert mask_id_number("330106199001011234") == "330*************34"


def test_empty_values_stay_empty():
    assert mask_phone(None) == "" and mask_id_number("") == ""
