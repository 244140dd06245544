"""The audit trail's reason for a change names people and callers: long names fit
(PostgreSQL refused reasons over 100 characters: a merge of two long names was a 500)."""

import pytest

from callers.services import caller_merge
from followups.services import callback_assign
from tests.factories import (
    CallbackFactory,
    CallerFactory,
    CallFactory,
    manager_user,
    receptionist_user,
)

pytestmark = pytest.mark.django_db

LONG = "Maximiliana Bartholomew-Featherstonehaugh " * 4  # 168 characters


def test_merging_callers_with_long_names_keeps_the_whole_reason():
    maya = manager_user(username="maya")
    kept, copy = CallerFactory(name=LONG + "A"), CallerFactory(name=LONG + "B")
    CallFactory(caller=copy)
    caller_merge(source=copy, target=kept, user=maya)
    reason = kept.history.latest().history_change_reason
    assert reason.startswith(f"Merged caller #{copy.pk} ({LONG}B)") and len(reason) > 100


def test_assigning_a_callback_between_people_with_long_names():
    maya = manager_user(username="maya", first_name=LONG[:150], last_name=LONG[:150])
    rita = receptionist_user(username="rita", first_name=LONG[:150], last_name=LONG[:150])
    callback = CallbackFactory()
    callback_assign(callback_id=callback.pk, user=maya, assignee=rita)
    assert callback.history.latest().history_change_reason.startswith("Assigned to")
