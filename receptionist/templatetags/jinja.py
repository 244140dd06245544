"""{% jinja "calls/call-rows.html" %}: a hot part of a page (the rows of a long list, a
filter bar), drawn by Jinja2 (receptionist/jinja2.py says why).

A builtin in settings, so every Django template can use it. The Jinja2 template (under
jinja/) gets the whole context of the page, plus any keyword given to the tag.
"""

from django import template
from django.template import engines
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def jinja(context, template_name: str, **extra):
    part = engines["jinja2"].get_template(template_name)
    # Escaped by Jinja2 as it was drawn (autoescape is on in receptionist/jinja2.py).
    return mark_safe(part.render({**context.flatten(), **extra}, request=context.get("request")))
