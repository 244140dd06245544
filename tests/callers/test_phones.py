import pytest

from callers.phones import e164_prefix, parse, to_e164


@pytest.mark.parametrize(
    "typed",
    [
        "(212) 555-0147",
        "212.555.0147",
        "+1 212 555 0147",
        "2125550147",
        "001 212 555 0147",
        "1-212-555-0147",
    ],
)
def test_common_formats_give_the_same_number(typed, settings):
    settings.PHONE_REGION = "US"
    assert to_e164(typed) == "+12125550147"


@pytest.mark.parametrize("typed", ["", "abc", "12", "555-01", "+99 123"])
def test_invalid_or_partial_numbers_are_not_numbers(typed, settings):
    settings.PHONE_REGION = "US"
    assert parse(typed) is None


def test_region_decides_numbers_without_country_code(settings):
    settings.PHONE_REGION = "GB"
    assert to_e164("020 7946 0958") == "+442079460958"


@pytest.mark.parametrize(
    ("typed", "region", "prefix"),
    [
        ("(212) 55", "US", "+121255"),
        ("212.555.01", "US", "+121255501"),
        ("+44 20 79", "US", "+442079"),
        ("020 79", "GB", "+442079"),
        ("1 (212) 555-0147", "US", "+12125550147"),
        ("Smith", "US", None),
        ("21", "US", None),
    ],
)
def test_prefix_of_a_partly_typed_number(typed, region, prefix):
    assert e164_prefix(typed, region) == prefix
