import pytest
from django.core.management import call_command


def test_collectstatic_with_the_production_storage(settings, tmp_path):
    """Production serves hashed files through whitenoise; every referenced file must exist."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()
    assert list(tmp_path.glob("vendor/htmx/htmx.min.*.js"))


@pytest.mark.parametrize("name", ["bootstrap.min.css", "bootstrap.bundle.min.js"])
def test_vendored_files_are_committed(name):
    from pathlib import Path

    assert (
        Path(__file__).resolve().parents[1] / "static/vendor/bootstrap" / name
    ).stat().st_size > 10_000
