"""A webhook cannot be pointed inside the network the app runs in (unless the administrator
allows it: WEBHOOK_PRIVATE_ADDRESSES): neither saved with such an address, nor sent to a
name that leads there."""

import pytest
from django.core.exceptions import ValidationError

from followups.models import DeliveryStatus, WebhookDelivery
from followups.webhooks import PRIVATE_ADDRESS, webhook_endpoint_save, webhooks_send
from tests.factories import manager_user, receptionist_user
from tests.followups.test_webhooks import ALL_EVENTS, log_a_call
from tests.followups.webhook_receiver import start_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def inside_refused(settings):
    settings.WEBHOOK_PRIVATE_ADDRESSES = False
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    return settings


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/api/v1/calls/",
        "http://localhost:5432/",
        "http://app.localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://192.168.1.2/hook",
        "http://0.0.0.0:8011/",
        "http://[::1]:8011/",
        "http://[::ffff:127.0.0.1]:8011/",
        "http://[fe80::1]/",
    ],
)
def test_an_address_inside_the_network_is_refused(inside_refused, url):
    with pytest.raises(ValidationError) as refused:
        webhook_endpoint_save(user=manager_user(), url=url, events=ALL_EVENTS)
    assert refused.value.message_dict["url"] == [PRIVATE_ADDRESS]


def test_an_address_on_the_internet_is_saved(inside_refused):
    hook = webhook_endpoint_save(
        user=manager_user(), url="https://93.184.216.34/hook", events=ALL_EVENTS
    )
    assert hook.pk
    hook = webhook_endpoint_save(
        user=manager_user(username="m2"), url="https://crm.example.com/hook", events=ALL_EVENTS
    )
    assert hook.pk


def test_a_name_that_leads_inside_is_not_sent_to(settings):
    """Saved while allowed (or a name that pointed elsewhere then): each try looks the name
    up, and an address inside the network fails the try without connecting."""
    state, stop = start_receiver()
    try:
        port = state.port
        hook = webhook_endpoint_save(
            user=manager_user(), url=f"http://localhost:{port}/hook", events=ALL_EVENTS
        )
        settings.WEBHOOK_PRIVATE_ADDRESSES = False
        log_a_call(receptionist_user())
        assert webhooks_send()["delivered"] == 0
        assert state.requests == []
        delivery = WebhookDelivery.objects.get(endpoint=hook)
        assert delivery.status != DeliveryStatus.DELIVERED
        assert delivery.last_error == PRIVATE_ADDRESS
    finally:
        stop()
