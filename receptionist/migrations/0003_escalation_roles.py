"""Escalation permissions: receptionists see their own, managers run the queue."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

RECEPTIONIST_PERMISSIONS = ["calls.view_escalation", "calls.add_escalation"]
MANAGER_PERMISSIONS = [
    *RECEPTIONIST_PERMISSIONS,
    "calls.change_escalation",
    "calls.manage_escalation",
]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in (
        ("Receptionists", RECEPTIONIST_PERMISSIONS),
        ("Managers", MANAGER_PERMISSIONS),
    ):
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [dotted.split(".")[1] for dotted in MANAGER_PERMISSIONS]
    permissions = Permission.objects.filter(content_type__app_label="calls", codename__in=codenames)
    for group in Group.objects.filter(name__in=["Receptionists", "Managers"]):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("receptionist", "0002_staffprofile"),
        ("calls", "0003_escalations"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
