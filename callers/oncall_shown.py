"""Who is on call, as the pages show it (the call form's business panels, the screen pop):
the shifts of the active businesses, read once per process and kept for
settings.BUSINESSES_SECONDS, as the active businesses are (callers.models.active_businesses),
and forgotten in this process when a schedule or a business's contacts are saved. Reading
every business's shifts, places and contacts for each call form took 15 ms at 20
businesses. The ladder of urgent messages reads them fresh (followups.deliveries)."""

import time
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from callers.oncall import OnCall, on_call_of, read_shifts, shifts_since

# [monotonic time read, day read from, {business id: shifts}, whether every shift starts
# and ends on a whole minute, {(business id, minute): OnCall}]
_kept: list = []


def _on_whole_minutes(shifts: dict) -> bool:
    return all(
        not moment.second and not moment.microsecond
        for own in shifts.values()
        for shift in own
        for moment in (shift.starts, shift.ends)
    )


def on_call_shown(businesses, at: datetime | None = None) -> dict[int, OnCall]:
    """on_call_of for these businesses at `at` (now by default), from the kept shifts (read
    again once kept too long, or for a business or a day they do not hold). Who is on call
    changes only where a shift starts or ends: when those are all on whole minutes (as the
    schedule's form takes them), the answer is kept for the minute (working it out walked
    every shift of every business, 0.5 ms a call form at 20 businesses)."""
    at = at or timezone.now()
    businesses = list(businesses)
    since = shifts_since(at)
    now = time.monotonic()
    if (
        not _kept
        or now - _kept[0] >= settings.BUSINESSES_SECONDS
        or _kept[1] != since
        or any(business.pk not in _kept[2] for business in businesses)
    ):
        shifts = read_shifts([business.pk for business in businesses], since)
        _kept[:] = [now, since, shifts, _on_whole_minutes(shifts), {}]
    if not _kept[3]:
        return on_call_of(businesses, at, shifts=_kept[2])
    minute = at.replace(second=0, microsecond=0)
    answers = _kept[4]
    if len(answers) > 10_000:
        answers.clear()
    missing = [business for business in businesses if (business.pk, minute) not in answers]
    if missing:
        for pk, on_call in on_call_of(missing, at, shifts=_kept[2]).items():
            answers[pk, minute] = on_call
    return {business.pk: answers[business.pk, minute] for business in businesses}


def forget_on_call() -> None:
    """Read the shifts again on the next page (a schedule or contacts were saved)."""
    _kept.clear()
