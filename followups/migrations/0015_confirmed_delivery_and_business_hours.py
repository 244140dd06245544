"""The delivery ladder of urgent messages (deliveries and their steps), and callbacks kept
within business hours (the policy's choice; each callback's at-risk and reminder moments,
the at-risk moment in the queue counts' index)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("callers", "0012_on_call_and_closed_days"),
        ("calls", "0014_call_delivery_state"),
        ("followups", "0014_webhook_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DeliveryStep",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField()),
                ("name", models.CharField(max_length=200)),
                ("channel", models.CharField(blank=True, max_length=20)),
                ("address", models.CharField(blank=True, max_length=254)),
                ("notified_at", models.DateTimeField()),
                ("ends_at", models.DateTimeField(blank=True, null=True)),
                (
                    "notice",
                    models.CharField(
                        choices=[
                            ("pending", "To be sent"),
                            ("sending", "Being sent"),
                            ("sent", "Sent"),
                            ("failed", "Failed"),
                            ("not_sent", "Not sent"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("error", models.CharField(blank=True, max_length=300)),
                (
                    "result",
                    models.CharField(
                        choices=[
                            ("waiting", "Waiting for a confirmation"),
                            ("confirmed", "Confirmed"),
                            ("timed_out", "Not confirmed in time"),
                            ("failed", "Could not be sent"),
                            ("unreachable", "Not reachable: no address for any channel"),
                            ("stopped", "No longer needed: someone else confirmed"),
                        ],
                        default="waiting",
                        max_length=12,
                    ),
                ),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["delivery", "position"],
            },
        ),
        migrations.CreateModel(
            name="MessageDelivery",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("sent", "Sent: waiting for someone on call to confirm"),
                            ("confirmed", "Confirmed"),
                            ("escalated", "Nobody confirmed: escalated to the managers"),
                        ],
                        default="sent",
                        max_length=10,
                    ),
                ),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("window_minutes", models.PositiveSmallIntegerField()),
                ("ladder", models.JSONField(default=list)),
                ("scheduled", models.BooleanField(default=True)),
                ("next_rung", models.PositiveSmallIntegerField(default=0)),
                ("next_at", models.DateTimeField(blank=True, null=True)),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                ("confirmed_by_name", models.CharField(blank=True, max_length=200)),
                (
                    "confirmed_via",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("link", "the link in the e-mail"),
                            ("portal", "the client portal"),
                        ],
                        max_length=10,
                    ),
                ),
                ("escalated_at", models.DateTimeField(blank=True, null=True)),
                ("escalation_reason", models.CharField(blank=True, max_length=300)),
            ],
            options={
                "ordering": ["-started_at", "-pk"],
            },
        ),
        migrations.RemoveIndex(
            model_name="callback",
            name="callback_counts_idx",
        ),
        migrations.AddField(
            model_name="callback",
            name="at_risk_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="callback",
            name="remind_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="promisekeeping",
            name="within_business_hours",
            field=models.BooleanField(
                default=False,
                help_text="The minutes to call back within run only while the business is open (its opening hours, less its closed days): a 30-minute promise made ten minutes before closing is due twenty minutes after it opens again.",
                verbose_name="within business hours",
            ),
        ),
        migrations.AddIndex(
            model_name="callback",
            index=models.Index(
                condition=models.Q(("status__in", ["open", "claimed"])),
                fields=["due_at"],
                include=("id", "status", "assigned_to", "claimed_by", "at_risk_at"),
                name="callback_counts_idx",
            ),
        ),
        migrations.AddField(
            model_name="deliverystep",
            name="contact",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="callers.businesscontact",
            ),
        ),
        migrations.AddField(
            model_name="messagedelivery",
            name="business",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="callers.business"
            ),
        ),
        migrations.AddField(
            model_name="messagedelivery",
            name="call",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="delivery",
                to="calls.call",
            ),
        ),
        migrations.AddField(
            model_name="messagedelivery",
            name="confirmed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="messagedelivery",
            name="escalation",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="calls.escalation",
            ),
        ),
        migrations.AddField(
            model_name="deliverystep",
            name="delivery",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="steps",
                to="followups.messagedelivery",
            ),
        ),
        migrations.AddIndex(
            model_name="messagedelivery",
            index=models.Index(
                condition=models.Q(("state", "sent")),
                fields=["next_at", "id"],
                name="message_delivery_due_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="messagedelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(("state__in", ["sent", "confirmed", "escalated"])),
                name="message_delivery_state_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="messagedelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("state", "confirmed"), _negated=True),
                    models.Q(
                        ("confirmed_at__isnull", False),
                        models.Q(("confirmed_via", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="message_delivery_confirmed_has_when_and_how",
            ),
        ),
        migrations.AddConstraint(
            model_name="messagedelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(("state", "sent"), ("next_at__isnull", True), _connector="OR"),
                name="message_delivery_waits_only_while_sent",
            ),
        ),
        migrations.AddConstraint(
            model_name="messagedelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(("window_minutes__gte", 1)),
                name="message_delivery_window_positive",
            ),
        ),
        migrations.AddConstraint(
            model_name="deliverystep",
            constraint=models.UniqueConstraint(
                fields=("delivery", "position"), name="delivery_step_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="deliverystep",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "result__in",
                        ["waiting", "confirmed", "timed_out", "failed", "unreachable", "stopped"],
                    )
                ),
                name="delivery_step_result_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="deliverystep",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("notice__in", ["pending", "sending", "sent", "failed", "not_sent"])
                ),
                name="delivery_step_notice_valid",
            ),
        ),
    ]
