"""The default callback policy, as rows managers can edit in the admin."""

from django.db import migrations

# Minutes to call back within, by nature and urgency (copied here: a migration must not
# change when the code's defaults do).
DEFAULTS = {
    "urgent": {"low": 60, "normal": 30, "high": 15, "emergency": 5},
    "appointment": {"low": 1440, "normal": 240, "high": 60, "emergency": 15},
    "sales": {"low": 1440, "normal": 480, "high": 120, "emergency": 30},
    "other": {"low": 1440, "normal": 480, "high": 120, "emergency": 30},
}


def create(apps, schema_editor):
    Business = apps.get_model("callers", "Business")
    CallbackPolicy = apps.get_model("followups", "CallbackPolicy")
    for business in Business.objects.all():
        for nature, by_urgency in DEFAULTS.items():
            for urgency, minutes in by_urgency.items():
                CallbackPolicy.objects.get_or_create(
                    business=business,
                    nature=nature,
                    urgency=urgency,
                    defaults={"due_within_minutes": minutes},
                )


def remove(apps, schema_editor):
    apps.get_model("followups", "CallbackPolicy").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0001_callbacks"),
        ("callers", "0002_default_business"),
    ]

    operations = [migrations.RunPython(create, remove)]
