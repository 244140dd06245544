"""On PostgreSQL, the call's weighted search document is stored in a generated column,
`search_vector`, with its GIN index in place of the expression index of 0006.

Stored, the vector costs nothing to read: the planner may walk the calls newest first
and check each call's vector (a common word fills a page within a few hundred calls), or
use the GIN index for a rare word and sort its few matches; the column's statistics
(most common lexemes) tell it which. Ranking reads the stored vector too.

The expression must stay identical to calls.search.SEARCH_DOCUMENT (without the table
name). Other databases (SQLite) have no column: they search with regular expressions.
"""

from django.db import migrations

DOCUMENT = (
    "(setweight(to_tsvector('english'::regconfig, COALESCE(summary, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, "
    "COALESCE(wants, '') || ' ' || COALESCE(promised, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(notes, '')), 'C'))"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE calls_call ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({DOCUMENT}) STORED"
    )
    schema_editor.execute("DROP INDEX IF EXISTS call_search_idx")
    schema_editor.execute(
        "CREATE INDEX call_search_vector_idx ON calls_call USING gin (search_vector)"
    )
    # The planner's choice (walk newest first, or GIN and sort) rests on the column's
    # statistics: gather them now rather than at autovacuum's next pass.
    schema_editor.execute("ANALYZE calls_call")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS call_search_vector_idx")
    schema_editor.execute("ALTER TABLE calls_call DROP COLUMN IF EXISTS search_vector")
    schema_editor.execute(f"CREATE INDEX call_search_idx ON calls_call USING gin ({DOCUMENT})")


class Migration(migrations.Migration):
    dependencies = [("calls", "0007_call_withheld_idx")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
