"""On PostgreSQL, a GIN index for full-text search over summary and notes.

The expression must stay identical to calls.models.SEARCH_DOCUMENT.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS call_search_idx ON calls_call USING gin "
        "((to_tsvector('english'::regconfig, "
        "COALESCE(summary, '') || ' ' || COALESCE(notes, ''))))"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS call_search_idx")


class Migration(migrations.Migration):
    dependencies = [("calls", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
