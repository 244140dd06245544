"""Values as a person reads them."""

from django import template

register = template.Library()


@register.filter
def duration(value) -> str:
    """{{ call.duration|duration }}: "2 min 10 s", "1 h 5 min", "45 s" (never microseconds)."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"
