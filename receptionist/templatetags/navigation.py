"""The navigation's links: the current page is marked for the eye and for screen readers."""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link_attrs(context, name: str):
    """`class` (and `aria-current` on the current page) of a navigation link.

    `name` is a view name ("calls:new"), or a namespace ("callers") for every page in it.
    """
    match = getattr(context.get("request"), "resolver_match", None)
    if match is None:
        current = False
    elif ":" in name:
        current = match.view_name == name
    else:
        current = match.namespace == name
    if current:
        return mark_safe('class="nav-link active" aria-current="page"')
    return mark_safe('class="nav-link"')
