"""Reading the audit trail that django-simple-history keeps, as a person reads it."""

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.utils import formats, timezone

from receptionist.roles import display_name
from receptionist.statements import Statement


@dataclass
class Change:
    """One field's change, in words: "Claimed by: Sam Okafor → —"."""

    field: str
    old: str
    new: str


def audit_trail(instance, limit: int = 20) -> list[dict]:
    """The latest changes of a record with what each one changed: one query for the trail,
    and one per kind of record its changes point at (people, callers), to name them."""
    # One record more than shown, so that the oldest shown one can be diffed too.
    records = _trail_of(instance._meta.model).all(pk_value=instance.pk, limit=limit + 1)
    deltas = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        deltas.append((record, record.diff_against(previous).changes if previous else []))
    names = _names_of_related(instance._meta.model, [c for _, delta in deltas for c in delta])
    return [
        {
            "record": record,
            "changes": [_in_words(instance._meta.model, change, names) for change in delta],
        }
        for record, delta in deltas
    ]


# The query of each kind of record's trail, compiled once (receptionist/statements.py).
_trails: dict = {}


def _trail_of(model) -> Statement:
    if model not in _trails:
        history = model.history.model
        pk = model._meta.pk.attname
        _trails[model] = Statement(
            lambda pk_value, limit: (
                history._default_manager.filter(**{pk: pk_value})
                .select_related("history_user")
                .order_by("-history_date", "-history_id")[:limit]
            ),
            shape=("limit",),
            pk_value=int,
        )
    return _trails[model]


def _names_of_related(model, changes) -> dict:
    """{(related model, pk): name} for every foreign key value in these changes."""
    wanted: dict = {}
    for change in changes:
        field = model._meta.get_field(change.field)
        if isinstance(field, models.ForeignKey):
            ids = wanted.setdefault(field.related_model, set())
            ids.update(value for value in (change.old, change.new) if value is not None)
    names = {}
    for related, ids in wanted.items():
        for obj in related._base_manager.filter(pk__in=ids):
            names[related, obj.pk] = (
                display_name(obj) if hasattr(obj, "get_full_name") else str(obj)
            )
    return names


def _in_words(model, change, names) -> Change:
    field = model._meta.get_field(change.field)
    return Change(
        field=str(field.verbose_name).capitalize(),
        old=_value(field, change.old, names),
        new=_value(field, change.new, names),
    )


def _value(field, value, names) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(field, models.ForeignKey):
        return names.get((field.related_model, value), f"#{value}")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "M j, Y H:i")
    return str(value)
