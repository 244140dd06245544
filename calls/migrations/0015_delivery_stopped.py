"""A call's delivery may be stopped: edited to a message that needs no confirming."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0014_call_delivery_state"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="call",
            name="call_delivery_state_valid",
        ),
        migrations.AlterField(
            model_name="call",
            name="delivery_state",
            field=models.CharField(
                blank=True,
                choices=[
                    ("sent", "Sent: waiting for someone on call to confirm"),
                    ("confirmed", "Confirmed"),
                    ("escalated", "Nobody confirmed: escalated to the managers"),
                    ("stopped", "Stopped: no longer a message to confirm"),
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
                condition=models.Q(
                    ("delivery_state__in", ["", "sent", "confirmed", "escalated", "stopped"])
                ),
                name="call_delivery_state_valid",
            ),
        ),
    ]
