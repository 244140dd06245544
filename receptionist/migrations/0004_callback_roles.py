"""Callback permissions: receptionists work the queue, managers also reassign, cancel and
edit the callback policy in the admin (so managers become staff users)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

RECEPTIONIST_PERMISSIONS = [
    "followups.view_callback",
    "followups.add_callback",
    "followups.change_callback",
    "followups.view_callbackattempt",
    "followups.add_callbackattempt",
]
MANAGER_PERMISSIONS = [
    *RECEPTIONIST_PERMISSIONS,
    "followups.manage_callback",
    "followups.view_callbackpolicy",
    "followups.add_callbackpolicy",
    "followups.change_callbackpolicy",
    "followups.delete_callbackpolicy",
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
    User = apps.get_model("auth", "User")
    User.objects.filter(groups__name="Managers").update(is_staff=True)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [dotted.split(".")[1] for dotted in MANAGER_PERMISSIONS]
    permissions = Permission.objects.filter(
        content_type__app_label="followups", codename__in=codenames
    )
    for group in Group.objects.filter(name__in=["Receptionists", "Managers"]):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("receptionist", "0003_escalation_roles"),
        ("followups", "0002_default_policy"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
