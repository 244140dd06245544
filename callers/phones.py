"""Reading phone numbers the way receptionists type them."""

import re
import unicodedata

import phonenumbers
from django.conf import settings

_DIGITS = re.compile(r"\d")
# What is said of text that `parse` does not read as a number.
NOT_A_NUMBER = (
    "Enter a valid phone number: its digits in any common format, such as (212) 555-0147, "
    "without letters or an extension."
)


def _ascii_digits(text: str) -> str:
    """The text with every decimal digit written in ASCII: 212 in Arabic-Indic or full-width
    digits is the number 212, as phonenumbers reads it, in every function here."""
    if text.isascii():
        return text
    return _DIGITS.sub(lambda found: str(unicodedata.decimal(found.group())), text)


def parse(text: str, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    """A valid number from any common format ("(212) 555-0147", "+1 212 555 0147"), or None.
    Only digits and a number's punctuation (looks_like_number): an extension ("x5", "ext
    5") or letters ("1-800-FLOWERS") make it no number, as the lookup panel says."""
    text = _ascii_digits((text or "").strip())
    if not text or not looks_like_number(text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def to_e164(text: str, region: str | None = None) -> str | None:
    number = parse(text, region)
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def e164_prefix(text: str, region: str | None = None) -> str | None:
    """The E.164 prefix that a partly typed number must start with, or None if it is not a number.

    "(212) 55" in region US gives "+121255"; "020 79" in GB gives "+442079". Used for
    search-as-you-type, where the number is not complete yet; needs at least 3 digits.
    """
    text = _ascii_digits((text or "").strip())
    if not text or re.search(r"[A-Za-z]", text):
        return None
    digits = "".join(_DIGITS.findall(text))
    if len(digits) < 3:
        return None
    if text.startswith("+"):
        return "+" + digits
    if text.startswith("00"):
        return "+" + digits[2:]
    region = region or settings.PHONE_REGION
    country_code = phonenumbers.country_code_for_region(region)
    if not country_code:
        return "+" + digits
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    national_prefix = metadata.national_prefix if metadata else None
    if national_prefix and digits.startswith(national_prefix):
        digits = digits[len(national_prefix) :]
    return f"+{country_code}{digits}"


# A partly typed number finds the numbers that contain it from this many digits on.
MIN_PARTIAL_DIGITS = 4


def looks_like_number(text: str) -> bool:
    """Digits, spaces and the punctuation of phone numbers, and no letters."""
    text = _ascii_digits((text or "").strip())
    return bool(text) and not re.search(r"[^\d\s()+./-]", text) and bool(_DIGITS.search(text))


def digit_runs(text: str, region: str | None = None) -> set[str]:
    """The digit strings that a stored E.164 number must contain to match a number typed in
    any format, whole or in part ("840 8318", "(617) 840-8318", "+1 617…", "00 44 20…",
    "020 7946…"): empty when fewer than MIN_PARTIAL_DIGITS digits were typed."""
    text = _ascii_digits((text or "").strip())
    digits = "".join(_DIGITS.findall(text))
    if len(digits) < MIN_PARTIAL_DIGITS:
        return set()
    if text.startswith("+"):
        return {digits}
    if text.startswith("00"):
        rest = digits[2:]
        return {rest} if len(rest) >= MIN_PARTIAL_DIGITS else set()
    runs = {digits}
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region or settings.PHONE_REGION)
    national_prefix = metadata.national_prefix if metadata else None
    # "020 7946 0018" is stored as +442079460018: without the trunk 0 it is contained.
    if national_prefix and digits.startswith(national_prefix):
        rest = digits[len(national_prefix) :]
        if len(rest) >= MIN_PARTIAL_DIGITS:
            runs.add(rest)
    return runs
