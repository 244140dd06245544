from django.db import migrations


def create_default_business(apps, schema_editor):
    Business = apps.get_model("callers", "Business")
    if not Business.objects.exists():
        Business.objects.create(name="Front desk", time_zone="UTC")


def remove_default_business(apps, schema_editor):
    Business = apps.get_model("callers", "Business")
    Business.objects.filter(name="Front desk", callers__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("callers", "0001_initial")]

    operations = [migrations.RunPython(create_default_business, remove_default_business)]
