"""The shared step of the sweeps (escalations, callbacks): mark rows, then notify once."""

from collections.abc import Callable

from django.db import transaction
from django.db.models import QuerySet


def mark_and_notify(
    pending: QuerySet,
    *,
    limit: int,
    notify: Callable[[int], object],
    record: Callable[[list[int]], object] | None = None,
    **marks,
):
    """Set `marks` on up to `limit` rows of `pending` and call `notify(pk)` for each after
    commit. Returns how many. `record(pks)`, if given, runs in the same transaction after
    the marks are set (an outbox: what it writes exists if and only if the marks do).

    Safe on several machines at once: rows are taken with SELECT … FOR UPDATE SKIP LOCKED,
    so a row another sweep holds is left to it, and the marks (which `pending` must filter
    on) keep a later run from notifying again.
    """
    with transaction.atomic():
        rows = list(
            pending.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
        )
        pending.model.objects.filter(pk__in=rows).update(**marks)
        if record is not None and rows:
            record(rows)
        for pk in rows:
            transaction.on_commit(lambda pk=pk: notify(pk))
    return len(rows)
