"""An escalation keeps its call's business (Escalation.business), filled in for every
escalation already raised, with an index for a business's escalations newest first."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Checked now, not at commit: ALTER TABLE below refuses to run with checks pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    schema_editor.execute(
        "UPDATE calls_escalation SET business_id = "
        "(SELECT business_id FROM calls_call WHERE calls_call.id = calls_escalation.call_id)"
    )
    schema_editor.execute(
        "UPDATE calls_historicalescalation SET business_id = "
        "(SELECT business_id FROM calls_call WHERE calls_call.id = "
        "calls_historicalescalation.call_id)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("callers", "0009_business_message_text_in_email"),
        ("calls", "0011_call_messages"),
    ]

    operations = [
        migrations.AddField(
            model_name="escalation",
            name="business",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="callers.business",
            ),
        ),
        migrations.AddField(
            model_name="historicalescalation",
            name="business",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="callers.business",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="escalation",
            name="business",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="callers.business",
            ),
        ),
        migrations.AddIndex(
            model_name="escalation",
            index=models.Index(
                fields=["business", "-raised_at", "-id"], name="escalation_business_raised_idx"
            ),
        ),
    ]
