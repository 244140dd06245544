"""receptionist.rendering.render: each template asked of the engine that holds it."""

import gc

import pytest

from receptionist.rendering import engine_of
from tests.factories import CallFactory, manager_user

pytestmark = pytest.mark.django_db


def test_each_template_is_found_in_its_own_engine():
    assert engine_of("calls/call_list.html") == "jinja2"
    assert engine_of("callers/caller_form.html") == "django"
    assert engine_of("calls/call_list.html") == "jinja2"  # remembered


def test_drawing_a_jinja_page_leaves_no_traceback_for_the_garbage_collector(client):
    """No engine is asked for a template it does not hold: the exception it raised kept the
    request's frames, and the page's rows with them, in a reference cycle that only the
    garbage collector freed (pauses of some 20 ms)."""
    for _ in range(3):
        CallFactory()
    client.force_login(manager_user())
    assert client.get("/calls/").status_code == 200  # templates found, engines remembered
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        assert client.get("/calls/").status_code == 200
        gc.collect()
        kinds = {type(thing).__name__ for thing in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert "traceback" not in kinds
