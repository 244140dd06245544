"""A delivery stopped by an edit of its call (no longer a message to confirm), its step
withdrawn; a step skipped because its contact was deleted from the business meanwhile."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0015_delivery_stopped"),
        ("followups", "0015_confirmed_delivery_and_business_hours"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="deliverystep",
            name="delivery_step_result_valid",
        ),
        migrations.RemoveConstraint(
            model_name="messagedelivery",
            name="message_delivery_state_valid",
        ),
        migrations.AlterField(
            model_name="deliverystep",
            name="result",
            field=models.CharField(
                choices=[
                    ("waiting", "Waiting for a confirmation"),
                    ("confirmed", "Confirmed"),
                    ("timed_out", "Not confirmed in time"),
                    ("failed", "Could not be sent"),
                    ("unreachable", "Not reachable: no address for any channel"),
                    ("stopped", "No longer needed: someone else confirmed"),
                    ("withdrawn", "No longer needed: no longer a message to confirm"),
                    ("removed", "Skipped: no longer one of the business's contacts"),
                ],
                default="waiting",
                max_length=12,
            ),
        ),
        migrations.AlterField(
            model_name="messagedelivery",
            name="state",
            field=models.CharField(
                choices=[
                    ("sent", "Sent: waiting for someone on call to confirm"),
                    ("confirmed", "Confirmed"),
                    ("escalated", "Nobody confirmed: escalated to the managers"),
                    ("stopped", "Stopped: no longer a message to confirm"),
                ],
                default="sent",
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="deliverystep",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "result__in",
                        [
                            "waiting",
                            "confirmed",
                            "timed_out",
                            "failed",
                            "unreachable",
                            "stopped",
                            "withdrawn",
                            "removed",
                        ],
                    )
                ),
                name="delivery_step_result_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="messagedelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(("state__in", ["sent", "confirmed", "escalated", "stopped"])),
                name="message_delivery_state_valid",
            ),
        ),
    ]
