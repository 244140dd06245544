"""Template filters about people, available in every template (a builtin in settings)."""

from django import template

from receptionist.roles import display_name

register = template.Library()


@register.filter
def person(user) -> str:
    """{{ call.taken_by|person }}: the full name, else the username (the same as messages)."""
    return display_name(user, "")
