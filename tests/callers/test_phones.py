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


ARABIC = "\u0662\u0661\u0662 \u0665\u0665\u0665 \u0660\u0661\u0664\u0667"  # 212 555 0147
FULL_WIDTH = "".join(chr(0xFF10 + int(d)) if d.isdigit() else d for d in "(212) 555-0147")


@pytest.mark.parametrize("typed", [ARABIC, FULL_WIDTH])
def test_digits_of_any_script_are_the_same_number_everywhere(typed, settings):
    """Every reading of a typed number (saving, the lookup panel's prefix and runs, the
    "is it a number" check) takes digits of any script as the ASCII digits."""
    from callers.phones import digit_runs, looks_like_number

    settings.PHONE_REGION = "US"
    assert to_e164(typed) == "+12125550147"
    assert e164_prefix(typed) == "+12125550147"
    assert digit_runs(typed) == {"2125550147"}
    assert looks_like_number(typed)


@pytest.mark.parametrize(
    "typed", ["212-555-0147 x5", "+1 212 555 0147 ext 5", "1-800-FLOWERS", "212555O147"]
)
def test_an_extension_or_letters_make_no_number(typed, settings):
    """What the lookup panel calls no number is not read as one when the call is saved."""
    from callers.phones import looks_like_number

    settings.PHONE_REGION = "US"
    assert parse(typed) is None and to_e164(typed) is None
    assert not looks_like_number(typed)
