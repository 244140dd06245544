"""Managers add and change the businesses whose phones are answered (/businesses/)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MANAGER_PERMISSIONS = [
    "add_business",
    "change_business",
]


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
            content_type__app_label="callers", codename__in=MANAGER_PERMISSIONS
        )
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="callers", codename__in=MANAGER_PERMISSIONS
    )
    for group in Group.objects.filter(name="Managers"):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("receptionist", "0007_permission_ids_function"),
        ("callers", "0008_business_profile"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
