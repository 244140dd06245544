"""render(): django.shortcuts.render, asking straight away the template engine that holds
the template.

Django looks a template up in each engine in turn (TEMPLATES: Django's first, then Jinja2
for the hot pages). For a Jinja2 page the first engine raises TemplateDoesNotExist, which
Django catches; the exception's traceback holds every frame of the request and, through
them, the page's rows and context. That is a reference cycle: those objects are freed
only by the garbage collector, which then had some 44,000 objects to free at each
collection, a pause of about 28 ms every few requests (the benchmark's p95 spikes). Which
engine holds a template does not change while the process runs: it is found once and
remembered.
"""

from django import shortcuts
from django.template.loader import get_template

_engine_of: dict[str, str] = {}


def engine_of(template_name: str) -> str:
    """The alias of the engine that holds this template (found once per process)."""
    alias = _engine_of.get(template_name)
    if alias is None:
        alias = _engine_of[template_name] = get_template(template_name).backend.name
    return alias


def render(request, template_name, context=None, content_type=None, status=None):
    using = engine_of(template_name) if isinstance(template_name, str) else None
    return shortcuts.render(request, template_name, context, content_type, status, using=using)
