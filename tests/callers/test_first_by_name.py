"""The callers list's search, page by page (CallerQuerySet.first_by_name): on PostgreSQL a
window of callers walked by name, then the matches beyond it found and sorted."""

import time

import pytest
from django.db.models import Q

from callers import models as callers_models
from callers.models import Caller
from receptionist.pagination import after_cursor
from tests.factories import CallerFactory

pytestmark = pytest.mark.django_db

NAMES = [
    "Olivia Park",
    "Ann Smith",
    "Olivia Park",
    "Bob Olivia",
    "Zed Olivetti",
    "olivia a",
    "Carl",
    "Dora Smithers",
    "Eve",
    "OLIVIA Zee",
    "Mia Smith",
]


def pages(found, size: int, few: bool = False) -> list[int]:
    """Every id first_by_name gives, `size` at a time, following the cursors as a page
    does."""
    seen, after = [], Q()
    while True:
        ids = found.first_by_name(after, size + 1, few=few)
        seen += ids[:size]
        if len(ids) <= size:
            return seen
        last = Caller.objects.get(pk=ids[size - 1])
        after = after_cursor("name", last.name, last.pk, descending=False)


@pytest.mark.parametrize(
    ("window", "kept"), [(1, None), (3, None), (3, "M"), (7, "A"), (1000, None)]
)
def test_a_search_of_the_callers_reads_the_plain_order_page_after_page(monkeypatch, window, kept):
    # `kept`: a first page's edge kept from earlier (stale): any edge answers the same.
    monkeypatch.setattr(callers_models, "NAME_WINDOW", window)
    edges = {} if kept is None else {"default": (time.monotonic(), kept)}
    monkeypatch.setattr(callers_models, "_name_edge_kept", edges)
    for name in NAMES:
        CallerFactory(name=name)
    CallerFactory(name="Frank", organisation="Olivia & Co")
    for text in ("olivia", "smith", "oliv", "a", "nobody"):
        found = Caller.objects.search(text)
        expected = list(found.order_by("name", "pk").values_list("pk", flat=True))
        assert expected or text == "nobody"
        for size in (1, 2, 3, 50):
            assert pages(found, size) == expected, (text, size)


def test_the_callers_list_pages_a_search_through_first_by_name(manager_client, monkeypatch):
    monkeypatch.setattr(callers_models, "NAME_WINDOW", 2)
    monkeypatch.setattr(callers_models, "_name_edge_kept", {})
    monkeypatch.setattr("django.conf.settings.CALLERS_PAGE_SIZE", 2)
    for name in NAMES:
        CallerFactory(name=name)
    expected = [c.name for c in Caller.objects.search("olivia").order_by("name", "pk")]
    response = manager_client.get("/callers/", {"q": "olivia"})
    shown = [c.name for c in response.context["page"].items]
    while response.context["page"].next_cursor:
        cursor = response.context["page"].next_cursor
        response = manager_client.get("/callers/", {"q": "olivia", "cursor": cursor})
        shown += [c.name for c in response.context["page"].items]
    assert shown == expected and len(shown) == 5


def test_a_number_few_callers_have_is_read_at_once_in_the_same_order(monkeypatch):
    """finds_few (six digits or more of a number): first_by_name sorts the matches at once,
    page after page, in the plain query's order; fewer digits, or a name, walk the
    window."""
    from callers.models import finds_few

    monkeypatch.setattr(callers_models, "NAME_WINDOW", 2)
    for n, name in enumerate(NAMES):
        caller = CallerFactory(name=name)
        caller.phones.create(number=f"+1212555{n:04d}")
    assert finds_few("(212) 555") and finds_few("212555") and finds_few("+1 212 555 0003")
    assert not finds_few("212 55") and not finds_few("olivia") and not finds_few("555")
    for text in ("(212) 555", "555 0003", "212555000"):
        found = Caller.objects.search(text)
        expected = list(found.order_by("name", "pk").values_list("pk", flat=True))
        assert expected, text
        for size in (1, 3, 50):
            assert pages(found, size, few=True) == expected, (text, size)
