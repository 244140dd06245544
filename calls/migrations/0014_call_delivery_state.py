"""A call keeps where the confirmed delivery of its urgent message stands (the call log's
badge). The column has a database default: adding it rewrites no row."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0013_search_the_message"),
    ]

    operations = [
        migrations.AddField(
            model_name="call",
            name="delivery_state",
            field=models.CharField(
                blank=True,
                choices=[
                    ("sent", "Sent: waiting for someone on call to confirm"),
                    ("confirmed", "Confirmed"),
                    ("escalated", "Nobody confirmed: escalated to the managers"),
                ],
                db_default="",
                default="",
                editable=False,
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="call",
            constraint=models.CheckConstraint(
                condition=models.Q(("delivery_state__in", ["", "sent", "confirmed", "escalated"])),
                name="call_delivery_state_valid",
            ),
        ),
    ]
