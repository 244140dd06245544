"""The navigation's links: the current page is marked for the eye and for screen readers."""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link_attrs(context, name: str):
    """`class` (and `aria-current` on the current page) of a navigation link.

    `name` is one or more view names ("calls:list calls:detail"), or namespaces
    ("callers") for every page in them.
    """
    match = getattr(context.get("request"), "resolver_match", None)
    current = match is not None and any(
        match.view_name == each if ":" in each else match.namespace == each for each in name.split()
    )
    if current:
        return mark_safe('class="nav-link active" aria-current="page"')
    return mark_safe('class="nav-link"')
