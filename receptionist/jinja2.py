"""The Jinja2 environment of the pages people use most (jinja/...).

The call log, the callers list and caller page, the lookup panel, the escalation and callback
pages are drawn wholly by Jinja2 (layout jinja/base.html), which renders a table of rows
about six times faster than Django's engine: `make bench` showed the rows alone cost more
than a whole page may (README, "How it stays fast"). Other pages are Django templates and
draw hot parts with `{% jinja "calls/call-form.html" %}`; the navigation and <head> are
Jinja templates both engines use. Autoescaping is on, as in Django templates; the filters
and globals are the Django ones these pages need.
"""

from functools import lru_cache

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import ordinal
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from jinja2 import Environment, pass_eval_context
from markupsafe import Markup, escape

from receptionist.formfields import FIELD_GLOBALS
from receptionist.idle import idle_seconds, ping_seconds
from receptionist.navigation import nav_link_attrs
from receptionist.roles import display_name
from receptionist.templatetags.words import due_in, duration, phone, span, tel

# A number no URL holds by chance: the place of the id in a reversed URL.
_PLACEHOLDER = 9_876_543_210


@lru_cache(maxsize=256)
def _url_parts(name: str, script_prefix: str) -> tuple[str, str]:
    url = reverse(name, args=[_PLACEHOLDER])
    before, after = url.split(str(_PLACEHOLDER))
    return before, after


@lru_cache(maxsize=256)
def _reversed(name: str, script_prefix: str) -> str:
    return reverse(name)


@lru_cache(maxsize=256)
def _static(path: str, static_url: str, storages: str) -> str:
    return static(path)


def static_url(path: str) -> str:
    """static(): the address of a static file, looked up once per process and path (and
    per static files setting). Hashed names come from a manifest read at start; each
    look-up still cost every page's <head> a fifth of a millisecond."""
    return _static(path, settings.STATIC_URL, repr(settings.STORAGES.get("staticfiles")))


def url(name: str, *args, **kwargs) -> str:
    """reverse(); a URL without arguments (the navigation's, a form's action) is reversed
    once per name and script prefix."""
    if args or kwargs:
        return reverse(name, *args, **kwargs)
    return _reversed(name, get_script_prefix())


@pass_eval_context
def url_with_pk(eval_ctx, name: str, pk) -> str:
    """reverse(name, args=[pk]) for a URL that takes one id, without reversing per row:
    the URL is reversed once (per name and script prefix) and the id put in its place."""
    before, after = _url_parts(name, _per_render(eval_ctx)[2])
    return f"{before}{int(pk)}{after}"


@lru_cache(maxsize=64)
def _labels(model, field_name: str, language: str) -> dict:
    return {key: str(label) for key, label in model._meta.get_field(field_name).flatchoices}


def _per_render(eval_ctx) -> tuple[str, object, str]:
    """The language, time zone and script prefix of this render, looked up once per render
    rather than per cell (each lookup goes through asgiref's context-local storage, and a
    list of 25 rows asks hundreds of times). Jinja makes a new evaluation context for every
    render."""
    known = getattr(eval_ctx, "_language_zone_prefix", None)
    if known is None:
        known = eval_ctx._language_zone_prefix = (
            translation.get_language(),
            timezone.get_current_timezone(),
            get_script_prefix(),
        )
    return known


@pass_eval_context
def label(eval_ctx, instance, field_name: str) -> str:
    """{{ call|label("nature") }}: what get_nature_display() says, from a dict built once."""
    value = getattr(instance, field_name)
    language = _per_render(eval_ctx)[0]
    return _labels(type(instance), field_name, language).get(value, value)


@lru_cache(maxsize=8)
def _month_and_day_names(language: str) -> tuple[list[str], list[str]]:
    months = [""] + [str(MONTHS_3[m]).title() for m in range(1, 13)]
    days = [str(WEEKDAYS_ABBR[d]) for d in range(7)]
    return months, days


@pass_eval_context
def when(eval_ctx, value, style: str = "date") -> str:
    """A time as the lists show it, in the current time zone, in one of Django's formats:
    "date" "M j, Y H:i" (Mar 4, 2026 14:05), "weekday" "D M j, H:i" (Wed Mar 4, 14:05),
    "day" "D H:i" (Wed 14:05), "month" "M j, H:i" (Mar 4, 14:05), "time" "H:i" (14:05),
    "seconds" "M j, Y H:i:s" (Mar 4, 2026 14:05:09: the audit trail), "long" "D M j, Y H:i:s"
    (Wed Mar 4, 2026 14:05:09: a call's start and end)."""
    if value is None:
        return ""
    language, zone, _ = _per_render(eval_ctx)
    local = timezone.localtime(value, zone)
    months, days = _month_and_day_names(language)
    if style == "time":
        return f"{local:%H:%M}"
    if style == "day":
        return f"{days[local.weekday()]} {local:%H:%M}"
    if style == "month":
        return f"{months[local.month]} {local.day}, {local:%H:%M}"
    if style == "weekday":
        return f"{days[local.weekday()]} {months[local.month]} {local.day}, {local:%H:%M}"
    if style == "long":
        return (
            f"{days[local.weekday()]} {months[local.month]} {local.day}, {local.year} "
            f"{local:%H:%M:%S}"
        )
    if style == "seconds":
        return f"{months[local.month]} {local.day}, {local.year} {local:%H:%M:%S}"
    return f"{months[local.month]} {local.day}, {local.year} {local:%H:%M}"


@pass_eval_context
def time_since(eval_ctx, earlier, later) -> str:
    """{{ then|timesince(now) }}: Django's timesince, worded once per span (words.span)."""
    return span(earlier, later, _per_render(eval_ctx)[0])


@pass_eval_context
def due_in_now(eval_ctx, due, now) -> str:
    """{{ cb.due_at|due_in(now) }}: words.due_in, with the language of this render."""
    return due_in(due, now, _per_render(eval_ctx)[0])


def truncatechars(value, length: int) -> str:
    """Django's truncatechars for plain text, at a fraction of its cost: at most `length`
    characters, the last one an ellipsis when the text was cut."""
    text = str(value)
    return text if len(text) <= length else text[: length - 1] + "…"


def linebreaksbr(value) -> Markup:
    """Django's linebreaksbr for Jinja2: the text escaped, each line break a <br>. Django's
    filter (string coercion, then autoescape, then the replacements) cost "My escalations"
    a twentieth of its page for debriefs that mostly have no line break."""
    text = str(escape(value))  # a Markup's replace() would escape the <br> too
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Markup(text.replace("\n", "<br>"))


def environment(**options):
    env = Environment(**options, extensions=["jinja2.ext.do"])
    env.globals.update(
        static=static_url,
        url=url,
        url_with_pk=url_with_pk,
        nav_link_attrs=nav_link_attrs,
        idle_seconds=idle_seconds,
        ping_seconds=ping_seconds,
        **FIELD_GLOBALS,
    )
    env.filters.update(
        phone=phone,
        tel=tel,
        person=lambda user: display_name(user, ""),
        label=label,
        when=when,
        due_in=due_in_now,
        timesince=time_since,
        truncatechars=truncatechars,
        linebreaksbr=linebreaksbr,
        ordinal=ordinal,
        duration=duration,
    )
    return env
