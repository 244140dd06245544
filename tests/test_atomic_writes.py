"""Requests that write run in one transaction; pages that only read do not open one."""

import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from callers.models import Business
from receptionist.middleware import AtomicWritesMiddleware

middleware = AtomicWritesMiddleware(lambda request: HttpResponse())


def run(request, view):
    """What Django's handler does: process_view, then the view if it answered nothing."""
    response = middleware.process_view(request, view, (), {})
    return view(request) if response is None else response


@pytest.mark.django_db(transaction=True)
def test_a_post_runs_in_a_transaction_and_a_get_in_none():
    seen = {}

    def view(request):
        seen[request.method] = connection.in_atomic_block
        return HttpResponse()

    run(RequestFactory().get("/"), view)
    run(RequestFactory().post("/"), view)
    assert seen == {"GET": False, "POST": True}


@pytest.mark.django_db(transaction=True)
def test_a_post_that_fails_half_way_leaves_nothing_written():
    def view(request):
        Business.objects.create(name="Half done")
        raise ValueError("the second half failed")

    with pytest.raises(ValueError):
        run(RequestFactory().post("/"), view)
    assert not Business.objects.filter(name="Half done").exists()


@pytest.mark.django_db(transaction=True)
def test_a_view_marked_non_atomic_is_left_alone():
    seen = []

    @transaction.non_atomic_requests
    def view(request):
        seen.append(connection.in_atomic_block)
        return HttpResponse()

    run(RequestFactory().post("/"), view)
    assert seen == [False]
