"""Writes on callers: create, update, merge."""

from django.db import transaction

from callers.models import Business, Caller, CallerPhone


@transaction.atomic
def caller_create(*, business: Business, name: str, phone: str | None = None, **fields) -> Caller:
    """Create a caller with an optional first phone number."""
    caller = Caller.objects.create(business=business, name=name.strip(), **fields)
    if phone:
        CallerPhone.objects.create(caller=caller, number=phone)
    return caller


def caller_add_phone(*, caller: Caller, phone: str) -> CallerPhone:
    """Give a caller a number they do not have yet (idempotent)."""
    number, _ = CallerPhone.objects.get_or_create(caller=caller, number=phone)
    return number


@transaction.atomic
def caller_merge(*, source: Caller, target: Caller, user) -> Caller:
    """Merge `source` into `target`: calls and numbers move over, then `source` is deleted.

    Nothing is lost: free-text fields are concatenated, flags are OR-ed, and both the
    change to `target` and the deletion of `source` land in the audit trail with a reason.
    """
    if source.pk == target.pk:
        raise ValueError("A caller cannot be merged into itself.")
    # Lock both rows in a fixed order so two merges of the same pair cannot interleave.
    locked = {
        c.pk: c
        for c in Caller.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]

    target_numbers = set(target.phones.values_list("number", flat=True))
    for phone in source.phones.all():
        if phone.number in target_numbers:
            continue
        CallerPhone.objects.create(caller=target, number=phone.number, label=phone.label)

    # Calls, callbacks and whatever else points at a caller belong to other apps: move them
    # through the reverse relations, so that this app imports none of them (and a new one is
    # never forgotten, or left to block the delete below). One UPDATE per relation keeps a
    # merge of a busy caller cheap.
    moved = {}
    for relation in Caller._meta.related_objects:
        if relation.one_to_many and relation.related_model is not CallerPhone:
            name = relation.field.name
            manager = relation.related_model._base_manager
            moved[relation.name] = manager.filter(**{name: source}).update(**{name: target})

    def joined(a: str, b: str) -> str:
        a, b = a.strip(), b.strip()
        if not b or b in a:
            return a
        return f"{a}\n{b}" if a else b

    target.things_to_remember = joined(target.things_to_remember, source.things_to_remember)
    target.caution_note = joined(target.caution_note, source.caution_note)
    target.email = target.email or source.email
    target.organisation = target.organisation or source.organisation
    target.is_vip = target.is_vip or source.is_vip
    target.caution = target.caution or source.caution
    target._history_user = source._history_user = user
    target._change_reason = (
        f"Merged caller #{source.pk} ({source.name}): {moved.get('calls', 0)} call(s) moved"
    )
    target.save()

    source._change_reason = f"Merged into caller #{target.pk} ({target.name})"
    source.delete()
    return target
