"""On-call schedules (weekly slots and dated exceptions, each an ordered list of contacts),
closed days (holidays), and how a business's urgent messages are confirmed."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import callers.models


class Migration(migrations.Migration):
    dependencies = [
        ("callers", "0011_business_billing_rule"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClosedDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                (
                    "name",
                    models.CharField(
                        blank=True, max_length=100, validators=[callers.models.validate_one_line]
                    ),
                ),
            ],
            options={
                "ordering": ["business", "day"],
            },
        ),
        migrations.CreateModel(
            name="OnCallPlace",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField()),
            ],
            options={
                "ordering": ["shift", "position"],
            },
        ),
        migrations.CreateModel(
            name="OnCallShift",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "weekday",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        choices=[
                            (0, "Monday"),
                            (1, "Tuesday"),
                            (2, "Wednesday"),
                            (3, "Thursday"),
                            (4, "Friday"),
                            (5, "Saturday"),
                            (6, "Sunday"),
                        ],
                        null=True,
                    ),
                ),
                ("starts_on", models.DateField(blank=True, null=True)),
                ("ends_on", models.DateField(blank=True, null=True)),
                ("starts", models.TimeField()),
                ("ends", models.TimeField()),
                (
                    "note",
                    models.CharField(
                        blank=True, max_length=200, validators=[callers.models.validate_one_line]
                    ),
                ),
            ],
            options={
                "ordering": ["business", "weekday", "starts_on", "starts", "pk"],
            },
        ),
        migrations.AddField(
            model_name="business",
            name="always_confirm",
            field=models.BooleanField(
                default=False,
                help_text="Every message taken for it is delivered until someone on call confirms it; otherwise only messages of high or emergency urgency.",
                verbose_name="confirm every message",
            ),
        ),
        migrations.AddField(
            model_name="business",
            name="confirm_minutes_emergency",
            field=models.PositiveSmallIntegerField(
                default=10,
                help_text="When the person notified has not confirmed an emergency message by then, the next person on call is.",
                validators=[
                    django.core.validators.MinValueValidator(1, "At least one minute."),
                    django.core.validators.MaxValueValidator(
                        1440, "At most a day (1,440 minutes)."
                    ),
                ],
                verbose_name="minutes to confirm an emergency",
            ),
        ),
        migrations.AddField(
            model_name="business",
            name="confirm_minutes_high",
            field=models.PositiveSmallIntegerField(
                default=30,
                help_text="The same for a message of high urgency (or any message, when every one is confirmed).",
                validators=[
                    django.core.validators.MinValueValidator(1, "At least one minute."),
                    django.core.validators.MaxValueValidator(
                        1440, "At most a day (1,440 minutes)."
                    ),
                ],
                verbose_name="minutes to confirm any other",
            ),
        ),
        migrations.AddField(
            model_name="historicalbusiness",
            name="always_confirm",
            field=models.BooleanField(
                default=False,
                help_text="Every message taken for it is delivered until someone on call confirms it; otherwise only messages of high or emergency urgency.",
                verbose_name="confirm every message",
            ),
        ),
        migrations.AddField(
            model_name="historicalbusiness",
            name="confirm_minutes_emergency",
            field=models.PositiveSmallIntegerField(
                default=10,
                help_text="When the person notified has not confirmed an emergency message by then, the next person on call is.",
                validators=[
                    django.core.validators.MinValueValidator(1, "At least one minute."),
                    django.core.validators.MaxValueValidator(
                        1440, "At most a day (1,440 minutes)."
                    ),
                ],
                verbose_name="minutes to confirm an emergency",
            ),
        ),
        migrations.AddField(
            model_name="historicalbusiness",
            name="confirm_minutes_high",
            field=models.PositiveSmallIntegerField(
                default=30,
                help_text="The same for a message of high urgency (or any message, when every one is confirmed).",
                validators=[
                    django.core.validators.MinValueValidator(1, "At least one minute."),
                    django.core.validators.MaxValueValidator(
                        1440, "At most a day (1,440 minutes)."
                    ),
                ],
                verbose_name="minutes to confirm any other",
            ),
        ),
        migrations.AddConstraint(
            model_name="business",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("confirm_minutes_emergency__gte", 1),
                    ("confirm_minutes_emergency__lte", 1440),
                    ("confirm_minutes_high__gte", 1),
                    ("confirm_minutes_high__lte", 1440),
                ),
                name="business_confirm_minutes_within_a_day",
            ),
        ),
        migrations.AddField(
            model_name="closedday",
            name="business",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="closed_days",
                to="callers.business",
            ),
        ),
        migrations.AddField(
            model_name="oncallplace",
            name="contact",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="on_call_places",
                to="callers.businesscontact",
            ),
        ),
        migrations.AddField(
            model_name="oncallshift",
            name="business",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="on_call_shifts",
                to="callers.business",
            ),
        ),
        migrations.AddField(
            model_name="oncallplace",
            name="shift",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="places",
                to="callers.oncallshift",
            ),
        ),
        migrations.AddConstraint(
            model_name="closedday",
            constraint=models.UniqueConstraint(fields=("business", "day"), name="closed_day_once"),
        ),
        migrations.AddIndex(
            model_name="oncallshift",
            index=models.Index(
                condition=models.Q(("weekday__isnull", True)),
                fields=["business", "ends_on"],
                name="on_call_exception_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="oncallshift",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("ends_on__isnull", True),
                        ("starts_on__isnull", True),
                        ("weekday__isnull", False),
                    ),
                    models.Q(
                        ("ends_on__isnull", False),
                        ("starts_on__isnull", False),
                        ("weekday__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="on_call_shift_weekly_or_dated",
            ),
        ),
        migrations.AddConstraint(
            model_name="oncallshift",
            constraint=models.CheckConstraint(
                condition=models.Q(("weekday__isnull", True), ("weekday__lte", 6), _connector="OR"),
                name="on_call_shift_weekday_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="oncallshift",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("starts_on__isnull", True),
                    ("ends_on__gt", models.F("starts_on")),
                    models.Q(("ends__gt", models.F("starts")), ("ends_on", models.F("starts_on"))),
                    _connector="OR",
                ),
                name="on_call_shift_dated_ends_after_it_starts",
            ),
        ),
        migrations.AddConstraint(
            model_name="oncallplace",
            constraint=models.UniqueConstraint(
                fields=("shift", "position"), name="on_call_place_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="oncallplace",
            constraint=models.UniqueConstraint(
                fields=("shift", "contact"), name="on_call_contact_once"
            ),
        ),
    ]
