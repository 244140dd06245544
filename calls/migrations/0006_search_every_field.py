"""On PostgreSQL, the full-text index covers what the caller wants and what was promised
too, weighted (summary, then wants and promised, then notes) for ranking.

The expression must stay identical to calls.search.SEARCH_DOCUMENT.
"""

from django.db import migrations

DOCUMENT = (
    "(setweight(to_tsvector('english'::regconfig, COALESCE(summary, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, "
    "COALESCE(wants, '') || ' ' || COALESCE(promised, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(notes, '')), 'C'))"
)
OLD_DOCUMENT = (
    "(to_tsvector('english'::regconfig, COALESCE(summary, '') || ' ' || COALESCE(notes, '')))"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS call_search_idx")
    schema_editor.execute(f"CREATE INDEX call_search_idx ON calls_call USING gin ({DOCUMENT})")
    # Calls found by their caller's number: "contains" lookups on the numbers.
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS callerphone_number_trgm_idx ON callers_callerphone "
        "USING gin ((number::text) gin_trgm_ops)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS callerphone_number_trgm_idx")
    schema_editor.execute("DROP INDEX IF EXISTS call_search_idx")
    schema_editor.execute(f"CREATE INDEX call_search_idx ON calls_call USING gin ({OLD_DOCUMENT})")


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0005_escalation_resolved_idx"),
        ("callers", "0004_caller_version"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
