"""On PostgreSQL, trigram indexes make "name contains" lookups fast on many callers."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # Django's icontains compiles to UPPER(col::text) LIKE UPPER(%s): index that expression.
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS caller_name_trgm_idx ON callers_caller "
        'USING gin ((UPPER("name"::text)) gin_trgm_ops)'
    )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS caller_org_trgm_idx ON callers_caller "
        'USING gin ((UPPER("organisation"::text)) gin_trgm_ops)'
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS caller_name_trgm_idx")
    schema_editor.execute("DROP INDEX IF EXISTS caller_org_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("callers", "0002_default_business")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
