"""The groups Receptionists and Managers, with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen here on purpose: later permissions arrive in later migrations.
RECEPTIONISTS = "Receptionists"
MANAGERS = "Managers"
RECEPTIONIST_PERMISSIONS = [
    "callers.view_caller",
    "callers.add_caller",
    "callers.change_caller",
    "callers.view_callerphone",
    "callers.add_callerphone",
    "callers.change_callerphone",
    "callers.view_business",
    "calls.view_call",
    "calls.add_call",
    "calls.change_call",
]
MANAGER_PERMISSIONS = [*RECEPTIONIST_PERMISSIONS, "callers.merge_caller", "callers.flag_caller"]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in (
        (RECEPTIONISTS, RECEPTIONIST_PERMISSIONS),
        (MANAGERS, MANAGER_PERMISSIONS),
    ):
        group, _ = Group.objects.get_or_create(name=name)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permissions.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)


def remove_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=[RECEPTIONISTS, MANAGERS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("callers", "0001_initial"),
        ("calls", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
