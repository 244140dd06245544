"""The zero-setup SQLite database with several people saving at once: they take turns."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from calls.models import Call
from tests.calls.test_views import form_data
from tests.factories import receptionist_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_three_people_saving_calls_at_once_all_succeed():
    if connection.vendor != "sqlite":
        pytest.skip("about SQLite's single writer")
    people = [receptionist_user(username=f"r{i}") for i in range(3)]
    barrier = threading.Barrier(len(people))
    statuses = []

    def save(user, index):
        client = Client()
        client.force_login(user)
        try:
            barrier.wait()
            response = client.post(
                "/calls/new/", form_data(caller_name=f"Caller {index}", phone=f"212555010{index}")
            )
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save, args=(u, i)) for i, u in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302, 302, 302]
    assert Call.objects.count() == 3
