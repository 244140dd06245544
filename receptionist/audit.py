"""Reading the audit trail that django-simple-history keeps."""


def audit_trail(instance, limit: int = 20) -> list[dict]:
    """The latest changes of a record with what each one changed, in one query."""
    # One record more than shown, so that the oldest shown one can be diffed too.
    records = list(
        instance.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : limit + 1
        ]
    )
    changes = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        delta = record.diff_against(previous).changes if previous is not None else []
        changes.append({"record": record, "changes": delta})
    return changes
