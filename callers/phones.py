"""Reading phone numbers the way receptionists type them."""

import re

import phonenumbers
from django.conf import settings

_DIGITS = re.compile(r"\d")


def parse(text: str, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    """A valid number from any common format ("(212) 555-0147", "+1 212 555 0147"), or None."""
    text = (text or "").strip()
    if not text:
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
    text = (text or "").strip()
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
