"""Keyset ("seek") pagination: pages stay as fast on row 1,000,000 as on row 1.

OFFSET pagination makes the database walk past every skipped row; a keyset page asks
for the rows after the last one shown, which an index on (key, id) answers directly.
"""

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import BadRequest, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict

from receptionist import bounds


class BadCursor(BadRequest):
    """The cursor in the URL was not made by this page: Django answers 400 with the reason."""


@dataclass
class KeysetPage:
    items: list
    next_cursor: str | None
    # The query string of the next page: the current one with the next cursor.
    next_query: str = ""

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _encode(value: Any, pk: int) -> str:
    raw = json.dumps([value.isoformat() if hasattr(value, "isoformat") else value, pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# A cursor this page makes is well under this; a longer one was made by someone else.
MAX_CURSOR_LENGTH = 1000


def _decode(cursor: str, field) -> tuple[Any, int]:
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("a cursor is short")
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.b64decode(padded.encode(), altchars=b"-_", validate=True))
        # Only what _encode writes: a string or a number, and an id a database can hold.
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise TypeError("the key in a cursor is a string or a number")
        # No NUL, no lone surrogate: neither reaches a database (encode raises ValueError).
        if "\x00" in str(value):
            raise ValueError("no NUL characters in a cursor")
        str(value).encode()
        if type(pk) is not int or not 0 < pk < 2**63:
            raise TypeError("the id in a cursor is a positive integer")
        value = field.to_python(value)
        if value is None:
            raise TypeError("a cursor has a key")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("the key in a cursor is a finite number")
        # Year 1 or 9999 in a far time zone cannot be put in UTC (OverflowError); no page
        # of the app has a row outside this century (receptionist.bounds).
        if isinstance(value, datetime) and not (
            bounds.EARLIEST <= value.astimezone(UTC) < bounds.LATEST
        ):
            raise ValueError("the key in a cursor is a time of this century")
        return value, pk
    except (
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
        binascii.Error,
        ValidationError,
        UnicodeDecodeError,
    ) as exc:
        raise BadCursor("This page link is not valid; start again from the first page.") from exc


def after_cursor(key: str, value, pk, *, descending: bool) -> Q:
    """The rows after a cursor's (key's value, pk) in a list ordered by (key, pk); Q() when
    there is no cursor (`value` None). The one condition every list pages by.

    The key at or past the cursor's comes first, alone: PostgreSQL starts an index walk
    there. From "key past, or the same key and id past" alone it walked the index from its
    start to the cursor (a later page of the callers who match "smith": 35 ms)."""
    if value is None:
        return Q()
    op = "lt" if descending else "gt"
    return Q(**{f"{key}__{op}e": value}) & (Q(**{f"{key}__{op}": value}) | Q(**{f"pk__{op}": pk}))


def keyset_paginate(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    key: str,
    descending: bool,
    size: int,
    ids_first: bool | Callable[[QuerySet, Q, int], list[int]] = False,
    rows: QuerySet | Callable[[list[int]], list] | None = None,
) -> KeysetPage:
    """One page of `queryset` ordered by (key, pk), after the request's `cursor` parameter.

    `ids_first`: for a page whose rows must be found and sorted before the limit applies
    (a search), ask for the page's ids on the bare table first, then for those rows with
    their joins. Otherwise PostgreSQL joins every match to its related rows before sorting
    (half the time of a search at a million calls). One more query. A function in place
    of True finds those ids itself: it is given the ordered queryset (after the cursor),
    the condition "after the cursor" alone (Q() on the first page) and how many ids.
    `rows` (with ids_first): where the rows of those ids are read, with their joins; by
    default `queryset` itself, whose conditions (a search's) would then be tested again.
    A function in place of a QuerySet reads them itself (a RowsStatement's `of`), given
    the ids, and returns the rows in their order. The key of each id is read with the
    ids: `rows` need not compute it.

    The rows may be model instances or values() rows (dicts holding "pk" and the key:
    an API's, which writes no instance).

    A cursor this page did not make raises BadCursor, which Django turns into a 400.
    """
    cursor = request.GET.get("cursor")
    after = Q()
    if key in queryset.query.annotations:
        # A computed key (a search's relevance): its cursor is read by its output field.
        field = queryset.query.annotations[key].output_field
    else:
        field = queryset.model._meta.get_field(key)
    queryset = queryset.order_by(f"-{key}", "-pk") if descending else queryset.order_by(key, "pk")
    if cursor:
        value, pk = _decode(cursor, field)
        after = after_cursor(key, value, pk, descending=descending)
        queryset = queryset.filter(after)
    # One extra row tells whether there is a next page without a COUNT(*).
    keys = {}
    if ids_first:
        if callable(ids_first):
            ids = ids_first(queryset, after, size + 1)
        else:
            keys = dict(queryset.values_list("pk", key)[: size + 1])
            ids = list(keys)
        if callable(rows):
            items = rows(ids)
        else:
            found = {
                _value(item, "pk"): item
                for item in (queryset if rows is None else rows).filter(pk__in=ids)
            }
            items = [found[pk] for pk in ids if pk in found]
    else:
        items = list(queryset[: size + 1])
    return _page(request, items, key=key, size=size, keys=keys)


def keyset_read(
    request: HttpRequest,
    read_rows: Callable[..., list],
    *,
    model,
    key: str,
    size: int,
    field=None,
) -> KeysetPage:
    """keyset_paginate for rows read by a function rather than from a QuerySet (a
    receptionist.statements.Statement, compiled once): `read_rows(n)` on the first page,
    `read_rows(n, after=(key's value, pk))` on the next ones, gives the next n rows in the
    page's order (descending or ascending: `read_rows` knows which, the cursor does not).
    `field` reads the cursor's key when it is no field of `model` (a search's relevance)."""
    cursor = request.GET.get("cursor")
    if cursor:
        field = model._meta.get_field(key) if field is None else field
        items = read_rows(size + 1, after=_decode(cursor, field))
    else:
        items = read_rows(size + 1)
    return _page(request, items, key=key, size=size)


def _value(row, name: str):
    """A row's value: an instance's attribute, or a values() row's key ("pk" among them)."""
    return row[name] if isinstance(row, dict) else getattr(row, name)


def _page(request, items: list, *, key: str, size: int, keys: dict | None = None) -> KeysetPage:
    """The page of the first `size` of `items` (one more than that says there is a next
    page, whose cursor is the last row's key and id; `keys` holds keys not on the rows)."""
    if len(items) > size:
        items = items[:size]
        last = items[-1]
        pk = _value(last, "pk")
        value = keys[pk] if keys and pk in keys else _value(last, key)
        next_cursor = _encode(value, pk)
        return KeysetPage(
            items=items,
            next_cursor=next_cursor,
            next_query=query_with(request.GET, cursor=next_cursor),
        )
    return KeysetPage(items=items, next_cursor=None)


def query_with(params: QueryDict, **changes) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    query = params.copy()
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return query.urlencode()
