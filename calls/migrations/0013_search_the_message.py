"""On PostgreSQL the stored search document takes in the message for the business too,
weighted as what the caller wants and what was promised (B): a word written in the message
finds the call, as one written in the notes did before messages had a field of their own.

The column is generated: it is dropped and added again with the new expression (PostgreSQL
rewrites the table once, about a minute at a million calls), its GIN index built again and
its statistics gathered (calls.search.few_matches reads them). The expression must stay
identical to calls.search's description of the document.
"""

from django.db import migrations

DOCUMENT = (
    "(setweight(to_tsvector('english'::regconfig, COALESCE(summary, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, "
    "COALESCE(wants, '') || ' ' || COALESCE(promised, '') || ' ' || COALESCE(message, '')), "
    "'B') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(notes, '')), 'C'))"
)
BEFORE = (
    "(setweight(to_tsvector('english'::regconfig, COALESCE(summary, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, "
    "COALESCE(wants, '') || ' ' || COALESCE(promised, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(notes, '')), 'C'))"
)


def _document(schema_editor, document: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS call_search_vector_idx")
    schema_editor.execute("ALTER TABLE calls_call DROP COLUMN IF EXISTS search_vector")
    schema_editor.execute(
        "ALTER TABLE calls_call ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({document}) STORED"
    )
    schema_editor.execute(
        "CREATE INDEX call_search_vector_idx ON calls_call USING gin (search_vector)"
    )
    schema_editor.execute("ANALYZE calls_call")


def forwards(apps, schema_editor):
    _document(schema_editor, DOCUMENT)


def backwards(apps, schema_editor):
    _document(schema_editor, BEFORE)


class Migration(migrations.Migration):
    dependencies = [("calls", "0012_escalation_business")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
