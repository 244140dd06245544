"""Fixtures shared by the whole suite."""

import pytest
from django.test import Client

from tests.factories import UserFactory, manager_user, receptionist_user


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests render templates without running collectstatic first.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


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
