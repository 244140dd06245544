"""The calls table is vacuumed after every 1,000 new calls, on PostgreSQL.

A newest-first search finds the edge of its window of recent calls by walking the start-time
index past the newest few thousand (calls.search.newest_ids). PostgreSQL answers that from
the index alone only for table pages its visibility map marks all-visible, which vacuum
sets. By default autovacuum vacuums a table for inserts only once a fifth of it is new:
at a million calls, the newest 200,000 could wait, and the walk would visit the table
for each of them (2.3 ms of a 2.7 ms search, measured). Vacuuming pages that only received
inserts is cheap: it reads just the pages not yet marked.
"""

from django.db import migrations

TUNED = (
    "ALTER TABLE calls_call SET ("
    "autovacuum_vacuum_insert_threshold = 1000, autovacuum_vacuum_insert_scale_factor = 0)"
)
DEFAULT = (
    "ALTER TABLE calls_call RESET ("
    "autovacuum_vacuum_insert_threshold, autovacuum_vacuum_insert_scale_factor)"
)


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("calls", "0009_escalation_raised_idx")]

    operations = [migrations.RunPython(_on_postgresql(TUNED), _on_postgresql(DEFAULT))]
