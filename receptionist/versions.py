"""Two people editing one record: what the second one sees when their save comes too late.

An edit form carries, signed, the values it was opened with (its base). From the base,
what this person typed (mine) and what is saved now (theirs), every field gets a value:
the one typed if this person changed it, else the one saved meanwhile. A field both
changed, differently, is a clash: the form keeps this person's value and names the field,
and theirs is shown beside it. So saving again never quietly undoes the other edit.
"""

from datetime import UTC, datetime

from django.core import signing

SALT = "receptionist.versions.base"


def normal(value):
    """A value as the comparison sees it: to the second, in UTC; numbers in E.164."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(microsecond=0).isoformat()
    if hasattr(value, "as_e164"):
        return value.as_e164 if value.is_valid() else str(value)
    if value is None:
        return ""
    return value if isinstance(value, bool) else str(value)


def sign_base(record, names) -> str:
    """The values of `names` on `record`, signed, for the edit form's hidden `base`."""
    return signing.dumps({name: normal(getattr(record, name)) for name in names}, salt=SALT)


def read_base(token: str) -> dict | None:
    """The base an edit form carried, or None when it carried none this server signed."""
    try:
        base = signing.loads(token or "", salt=SALT)
    except signing.BadSignature:
        return None
    return base if isinstance(base, dict) else None


def form_base(request, record, names, *, conflict=None) -> str:
    """The base an edit form is shown with: the record as saved when it is opened; the
    newer record after a conflict (the form now stands on it); and, when a form comes back
    with an error, the base it was sent with, unchanged."""
    if conflict is not None:
        return sign_base(conflict, names)
    if request.method == "POST" and read_base(request.POST.get("base")) is not None:
        return request.POST["base"]
    return sign_base(record, names)


def three_way(*, base: dict | None, mine: dict, theirs) -> tuple[dict, list[str]]:
    """The values to show again (each field's from `mine` or from `theirs`), and the names
    both changed differently. Without a base, every field that differs is named and keeps
    what was typed."""
    merged, clashes = {}, []
    for name, typed in mine.items():
        saved = getattr(theirs, name)
        if base is None or name not in base:
            merged[name] = typed
            if normal(typed) != normal(saved):
                clashes.append(name)
        elif normal(typed) == base[name]:
            merged[name] = saved  # not touched here: what was saved meanwhile stays
        else:
            merged[name] = typed
            if base[name] != normal(saved) != normal(typed):
                clashes.append(name)
    return merged, clashes
