"""Managers read the dashboard and the reports and export them as CSV."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MANAGER_PERMISSIONS = ["view_reports", "export_data"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Managers")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="followups", codename__in=MANAGER_PERMISSIONS
        )
    )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="followups", codename__in=MANAGER_PERMISSIONS
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("receptionist", "0010_clients_role"),
        ("followups", "0008_tally"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
