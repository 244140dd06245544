"""Two people editing one record: what the second one sees when their save comes too late.

Records carry a version, and the audit trail keeps the state each version had. From the
state this person started from (base), what they typed (mine) and what is saved now
(theirs), every field gets a value: the one they typed if they changed it, else the one
saved meanwhile. A field both changed, differently, is a clash: theirs is shown beside the
form, this person's stays in it. So saving again never quietly undoes the other edit.
"""

from datetime import datetime


def state_at(record, version: int):
    """The audit trail's record of `record` at `version`, or None when it has none (rows
    loaded in bulk, or changed before versions were kept in the trail)."""
    return record.history.filter(version=version).order_by("history_date", "history_id").first()


def _same(a, b) -> bool:
    # Forms carry times to the second; the database keeps microseconds.
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.replace(microsecond=0) == b.replace(microsecond=0)
    return (a or "") == (b or "") if not isinstance(a, bool | int) else a == b


def three_way(*, base, mine: dict, theirs) -> tuple[dict, list[str]]:
    """The values to show again (a field's from `mine` or `theirs`), and the names both
    changed differently. Without a base, everything typed is kept and nothing clashes
    that is not different."""
    merged, clashes = {}, []
    for name, typed in mine.items():
        saved = getattr(theirs, name)
        if base is None:
            merged[name] = typed
            if not _same(typed, saved):
                clashes.append(name)
            continue
        started = getattr(base, name)
        if _same(typed, started):
            merged[name] = saved  # not touched here: what was saved meanwhile stays
        else:
            merged[name] = typed
            if not _same(saved, started) and not _same(saved, typed):
                clashes.append(name)
    return merged, clashes
