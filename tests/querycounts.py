"""Helpers to show that a page's number of queries does not grow with the data."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext


def count_queries(client, url, **extra) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **extra)
    assert response.status_code == 200, response.status_code
    return len(context.captured_queries)


def row_ids(response, attribute: str) -> list[int]:
    """The ids of the rows a list page rendered (works for htmx fragments too)."""
    return [int(pk) for pk in re.findall(rf'{attribute}="(\d+)"', response.content.decode())]


def next_cursor(response) -> str | None:
    """The cursor of the "older / more" link, or None on the last page."""
    found = re.search(r'hx-get="\?[^"]*cursor=([\w-]+)', response.content.decode())
    return found.group(1) if found else None
