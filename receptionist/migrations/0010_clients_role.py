"""The Clients group: people at a client business, who see their business in the portal."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CLIENT_PERMISSIONS = ["read_messages"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Clients")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="calls", codename__in=CLIENT_PERMISSIONS)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name="Clients").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("receptionist", "0009_staff_business"),
        ("calls", "0011_call_messages"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
