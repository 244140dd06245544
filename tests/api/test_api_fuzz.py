"""Schemathesis against the API's own schema: generated requests to every operation, a
bounded number each; none may be answered with a server error."""

import json
from urllib.parse import urlencode, urlsplit

import pytest
import schemathesis
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings

from calls.services import escalation_raise
from receptionist.tokens import token_create
from tests.factories import CallbackFactory, CallerFactory, CallFactory

pytestmark = pytest.mark.django_db

# Examples per operation: enough to reach odd values, bounded for CI.
EXAMPLES = 12


def send(client: Client, kwargs: dict, token: str):
    url = urlsplit(kwargs["url"])
    params = kwargs.get("params") or {}
    path = url.path + ("?" + urlencode(params, doseq=True) if params else "")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    method = kwargs["method"].lower()
    if "json" in kwargs:
        return client.generic(
            method.upper(), path, json.dumps(kwargs["json"]), "application/json", **headers
        )
    if kwargs.get("data") is not None:
        data = kwargs["data"]
        data = data if isinstance(data, bytes | str) else json.dumps(data)
        content_type = (kwargs.get("headers") or {}).get("Content-Type", "application/json")
        return client.generic(method.upper(), path, data, content_type, **headers)
    return client.generic(method.upper(), path, **headers)


@pytest.mark.parametrize("role", ["manager", "receptionist"])
def test_no_generated_request_gets_a_server_error(request, role):
    person = request.getfixturevalue(role)
    call = CallFactory(caller=CallerFactory(phone="+12125550147"), taken_by=person)
    CallbackFactory(call=call)
    escalation_raise(call=call, user=person, playbook_steps=[])
    token = token_create(user=person, name="fuzz")[1]
    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    client = Client(raise_request_exception=False)
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            response = send(client, kwargs, token)
            if response.status_code >= 500:
                failures.append((case.operation.label, kwargs, response.status_code))

        check()
    assert not failures, failures[:3]
