"""Writes on calls. `call_log` is the one flow that composes callers, calls and callbacks."""

from django.db import transaction
from django.utils import timezone

from callers.models import Business, Caller
from callers.services import caller_add_phone, caller_create
from calls.models import Call


class CallConflict(Exception):
    """Someone else saved the call after this person opened it."""

    def __init__(self, current: Call):
        super().__init__(f"Call {current.pk} is at version {current.version}")
        self.current = current


@transaction.atomic
def call_log(
    *,
    user,
    caller: Caller | None = None,
    caller_name: str = "",
    phone=None,
    business: Business | None = None,
    **fields,
) -> Call:
    """Log a call: pick the caller (creating one from name + number if new) and save the call."""
    if caller is None:
        if not caller_name.strip():
            raise ValueError("A new caller needs a name.")
        business = business or Business.objects.default()
        caller = caller_create(business=business, name=caller_name, phone=phone)
    elif phone:
        caller_add_phone(caller=caller, phone=phone)
    if fields.get("ended_at") is None:
        # The form's timer stops when the call is saved.
        fields["ended_at"] = max(timezone.now(), fields.get("started_at") or timezone.now())
    call = Call(
        business_id=caller.business_id, caller=caller, phone=phone or "", taken_by=user, **fields
    )
    call.full_clean(exclude=["caller", "business", "taken_by"])
    call.save()
    return call


@transaction.atomic
def call_update(*, call_id: int, expected_version: int, user, changes: dict) -> Call:
    """Save an edit, unless someone else saved the call since `expected_version` was read.

    The row lock (held until the transaction ends) makes check-and-bump atomic: two people
    saving at once both read the same version, and only the first one through the lock wins.
    """
    call = Call.objects.select_for_update().get(pk=call_id)
    if call.version != expected_version:
        raise CallConflict(call)
    for name, value in changes.items():
        setattr(call, name, value)
    call.version += 1
    call._change_reason = "Edited"
    call.full_clean(exclude=["caller", "business", "taken_by"])
    call.save()
    return call
