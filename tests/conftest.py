"""Fixtures shared by the whole suite."""

import pytest
from django.template.backends import jinja2
from django.test import Client
from django.test.signals import template_rendered
from django.test.utils import override_settings

from receptionist import auth
from tests.factories import UserFactory, manager_user, receptionist_user


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Pages read the staff list each time, so a page's query count does not depend on
    # which test ran before (tests/test_staff_choices.py tests the keeping).
    settings.STAFF_CHOICES_SECONDS = 0
    # Nor the active businesses (a test's rolled-back business is no other test's;
    # tests/calls/test_business_calls.py tests the keeping).
    settings.BUSINESSES_SECONDS = 0
    # The webhook tests' receivers run on loopback (tests/followups/test_webhook_private.py
    # tests the refusal).
    settings.WEBHOOK_PRIVATE_ADDRESSES = True


@pytest.fixture(autouse=True, scope="session")
def _static_files_without_collectstatic():
    """Tests render templates without running collectstatic first. Set once for the whole
    session: switching the storage around every test raced with the live server's thread,
    which could build the manifest storage between one test's restore and the next test's
    override and keep it (a browser test's login page then failed on a missing manifest)."""
    from django.conf import settings

    with override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        yield


@pytest.fixture(autouse=True, scope="session")
def _plain_http():
    """The test client and the browser tests' live server speak plain HTTP, as the app does
    behind its TLS proxy; production's redirect to HTTPS is tested in tests/test_deploy.py.
    Session-wide, before the live server builds its middleware (which reads the setting
    once)."""
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture(autouse=True, scope="session")
def _jinja_pages_report_their_context():
    """Pages drawn by Jinja2 report the template and context they rendered, as Django's own
    test setup makes its template engine do: `response.context` and assertTemplateUsed work
    the same for both engines."""
    original = jinja2.Template.render

    def render(self, context=None, request=None):
        template_rendered.send(sender=self, template=self, context=context or {})
        return original(self, context, request)

    jinja2.Template.render = render
    yield
    jinja2.Template.render = original


@pytest.fixture(autouse=True)
def _permission_names_read(request):
    """The process knows every permission's name before the test, as a serving process does
    after its first page (receptionist/auth.py reads them once): a query counted by a test
    is the page's own. A flush between transactional tests makes new permissions."""
    if request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(
        request.fixturenames
    ):
        request.getfixturevalue("_django_db_helper")
        auth.read_permission_names()


@pytest.fixture
def receptionist(db):
    return receptionist_user(username="rita")


@pytest.fixture
def manager(db):
    return manager_user(username="maya")


@pytest.fixture
def outsider(db):
    """A logged-in user with no front desk role."""
    return UserFactory(username="nobody")


def _client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reception_client(receptionist):
    return _client_for(receptionist)


@pytest.fixture
def manager_client(manager):
    return _client_for(manager)


@pytest.fixture
def outsider_client(outsider):
    return _client_for(outsider)
