"""The dates a front desk can mean: a call log starts this century and a promise is kept
within it. Anything outside gets a message on the field, never a server error."""

from datetime import UTC, date, datetime

from django.core.validators import MaxValueValidator, MinValueValidator

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
OUT_OF_RANGE = "Pick a date between 2000 and 2099."


def plausible_date_validators():
    """For date fields (the call log's From and To): this century only."""
    return [
        MinValueValidator(EARLIEST.date(), OUT_OF_RANGE),
        MaxValueValidator(date(LATEST.year - 1, 12, 31), OUT_OF_RANGE),
    ]
