"""Form fields drawn by hand, for the Jinja2 templates (the call form, its promise preview,
the filter bars): as crispy-forms' Bootstrap 5 pack drew them, without its cost.

These were Jinja macros. A macro call costs about ten microseconds before it draws anything,
and a field took five of them (label, widget, attributes, errors, help): the call log's
filter bar alone spent 1.6 ms in macro calls, a third of a page's budget (README, "Speed").
The same HTML is built here with f-strings, every value escaped.

The widget's attributes are Django's own (BoundField.build_widget_attrs: required,
aria-invalid, aria-describedby pointing at the ids below) plus those the form set (class
from calls.forms.with_bootstrap_classes, hx-*, ...); a field with an error also gets
Bootstrap's is-invalid.
"""

from collections import OrderedDict
from contextlib import suppress

from django.utils import translation
from jinja2 import pass_context
from markupsafe import Markup, escape

from receptionist.roles import staff_choices_generation


def _attrs(bf, skip=()) -> str:
    drawn = []
    for name, value in bf.build_widget_attrs(bf.field.widget.attrs).items():
        if name in skip:
            continue
        if name == "class" and bf.errors:
            drawn.append(f' class="{escape(value)} is-invalid"')
        elif value is True:
            drawn.append(f" {escape(name)}")
        elif value is not False and value is not None:
            drawn.append(f' {escape(name)}="{escape(value)}"')
    return "".join(drawn)


def errors(bf) -> Markup:
    if not bf.errors:
        return Markup("")
    text = " ".join(str(escape(error)) for error in bf.errors)
    auto_id = escape(bf.auto_id)
    return Markup(f'<div class="invalid-feedback d-block" id="{auto_id}_error">{text}</div>')


def help(bf) -> Markup:
    if not bf.help_text:
        return Markup("")
    return Markup(
        f'<div class="form-text" id="{escape(bf.auto_id)}_helptext">{escape(bf.help_text)}</div>'
    )


def widget(bf) -> Markup:
    w = bf.field.widget
    raw = bf.value()
    name, auto_id = escape(bf.html_name), escape(bf.auto_id)
    input_type = getattr(w, "input_type", None)
    if input_type == "select":
        current = "" if raw is None else str(raw)
        options = "".join(
            f'<option value="{escape(key)}"{" selected" if str(key) == current else ""}>'
            f"{escape(text)}</option>"
            for key, text in bf.field.choices
        )
        return Markup(f'<select name="{name}" id="{auto_id}"{_attrs(bf)}>{options}</select>')
    value = w.format_value(raw)
    if w.template_name.endswith("textarea.html"):
        return Markup(
            f'<textarea name="{name}" id="{auto_id}"{_attrs(bf)}>\n{escape(value or "")}</textarea>'
        )
    if input_type == "checkbox":
        checked = " checked" if w.check_test(raw) else ""
        return Markup(f'<input type="checkbox" name="{name}" id="{auto_id}"{checked}{_attrs(bf)}>')
    shown = f' value="{escape(value)}"' if value not in (None, "") else ""
    kind = escape(w.attrs.get("type", input_type))
    return Markup(
        f'<input type="{kind}" name="{name}"{shown} id="{auto_id}"{_attrs(bf, skip=("type",))}>'
    )


def hidden(bf) -> Markup:
    """A field as a hidden input, whatever its widget (a select's value is a list of one)."""
    value = bf.field.widget.format_value(bf.value())
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    shown = f' value="{escape(value)}"' if value not in (None, "") else ""
    return Markup(
        f'<input type="hidden" name="{escape(bf.html_name)}"{shown} id="{escape(bf.auto_id)}">'
    )


def field(bf) -> Markup:
    """Label, widget, errors, help text."""
    mark = '<span class="required-mark" aria-hidden="true">*</span>' if bf.field.required else ""
    return Markup(
        f'<label for="{escape(bf.id_for_label)}" class="form-label">{escape(bf.label)}{mark}'
        f"</label>\n{widget(bf)}{errors(bf)}{help(bf)}"
    )


def check(bf, label_class: str = "form-check-label") -> Markup:
    """A checkbox with its label after it, and its help text on the same line."""
    helptext = (
        f' <span class="form-text ms-1" id="{escape(bf.auto_id)}_helptext">'
        f"{escape(bf.help_text)}</span>"
        if bf.help_text
        else ""
    )
    return Markup(
        f'{widget(bf)}<label class="{escape(label_class)}" for="{escape(bf.id_for_label)}">'
        f"{escape(bf.label)}</label>{helptext}{errors(bf)}"
    )


def key_radio(bf) -> Markup:
    """A row of radio buttons, each picked with one key while the group has the focus (the
    keys are calls.forms.KeyRadioSelect's; static/js/app.js handles the presses). A group
    asked to take the focus takes it on its chosen button, or its first one."""
    w = bf.field.widget
    raw = bf.value()
    current = "" if raw is None else str(raw)
    focus = w.attrs.get("autofocus")
    choices = list(bf.field.choices)
    keys = [str(key) for key, _ in choices]
    focused = current if current in keys else (keys[0] if keys else "")
    name, auto_id = escape(bf.html_name), escape(bf.auto_id)
    described = f' aria-describedby="{auto_id}_error"' if bf.errors else ""
    required = " required" if bf.field.required else ""
    invalid = ' aria-invalid="true"' if bf.errors else ""
    buttons = []
    for index, (key, text) in enumerate(choices):
        shortcut = w.shortcuts.get(key, "")
        checked = " checked" if str(key) == current else ""
        autofocus = " autofocus" if focus and str(key) == focused else ""
        kbd = f'<kbd class="me-1">{escape(shortcut.upper())}</kbd>' if shortcut else ""
        buttons.append(
            f'\n    <input type="radio" class="btn-check" name="{name}" id="{auto_id}_{index}" '
            f'value="{escape(key)}" data-key="{escape(shortcut)}" autocomplete="off"'
            f"{checked}{required}{invalid}{autofocus}>"
            f'\n    <label class="btn btn-outline-primary btn-sm" for="{auto_id}_{index}">'
            f"{kbd}{escape(text)}</label>"
        )
    return Markup(
        f'<fieldset class="key-field" id="fieldset_{name}"{described}>\n'
        f'  <legend class="form-label">{escape(bf.label)}</legend>\n'
        f'  <div class="btn-group flex-wrap key-radio" role="radiogroup" data-key-radio '
        f'id="{auto_id}">{"".join(buttons)}\n  </div>{errors(bf)}\n</fieldset>'
    )


def boxes(bf) -> Markup:
    """The playbook's steps: boxes in two even columns."""
    chosen = [str(value) for value in (bf.value() or [])]
    auto_id = escape(bf.auto_id)
    described = f' aria-describedby="{auto_id}_error"' if bf.errors else ""
    steps = _choice_inputs(bf, "checkbox", "form-check mb-0", lambda key: key in chosen)
    return Markup(
        f"<fieldset{described}>"
        f'<legend class="form-label small fw-bold mb-0">{escape(bf.label)}</legend>\n'
        f'  <div class="playbook-steps">{steps}</div>{errors(bf)}\n</fieldset>'
    )


def _choice_inputs(bf, input_type: str, box_class: str, is_checked, extra: str = "") -> str:
    """A checkbox or radio button with its label after it, for each of the field's choices."""
    name, auto_id = escape(bf.html_name), escape(bf.auto_id)
    invalid = ' aria-invalid="true"' if bf.errors else ""
    return "".join(
        f'<div class="{box_class}"><input type="{input_type}" class="form-check-input" '
        f'name="{name}" id="{auto_id}_{index}" value="{escape(key)}"{extra}'
        f"{' checked' if is_checked(key) else ''}{invalid}>"
        f'<label class="form-check-label" for="{auto_id}_{index}">{escape(text)}</label></div>'
        for index, (key, text) in enumerate(bf.field.choices)
    )


def radios(bf) -> Markup:
    """Radio buttons one under the other in a fieldset, the field's label as its legend."""
    raw = bf.value()
    current = "" if raw is None else str(raw)
    auto_id = escape(bf.auto_id)
    mark = '<span class="required-mark" aria-hidden="true">*</span>' if bf.field.required else ""
    described = f' aria-describedby="{auto_id}_error"' if bf.errors else ""
    choices = _choice_inputs(
        bf,
        "radio",
        "form-check",
        lambda key: str(key) == current,
        " required" if bf.field.required else "",
    )
    return Markup(
        f'<fieldset id="{auto_id}"{described}><legend class="form-label fs-6">'
        f"{escape(bf.label)}{mark}</legend>{choices}</fieldset>{errors(bf)}{help(bf)}"
    )


# Filter bars drawn, by what they were drawn from; the most recently used are kept.
_bars: OrderedDict = OrderedDict()
BARS_KEPT = 256


@pass_context
def filter_bar(context, template_name: str, form) -> Markup:
    """{{ filter_bar("calls/call-filters.html", filter.form) }}: a filter bar (the template,
    given `form`), drawn once per process for each set of values it shows.

    A valid filter form's HTML follows from its fields, the values sent and the choices
    offered (fixed, or the pickers' people, receptionist.roles.staff_choices), in the
    language of the page: those are the key. Drawing the call log's bar was a tenth of its
    page. A form with errors is drawn each time (whether a person sent exists is asked of
    the database)."""
    template = context.environment.get_template(template_name)
    if not form.is_bound or form.errors:
        return Markup(template.render(form=form))
    data = form.data
    sent = tuple(
        (name, tuple(data.getlist(key) if hasattr(data, "getlist") else [data.get(key)]))
        for name in form.fields
        for key in [form.add_prefix(name)]
        if key in data
    )
    key = (template_name, translation.get_language(), staff_choices_generation(), sent)
    drawn = _bars.get(key)
    if drawn is None:
        drawn = _bars[key] = Markup(template.render(form=form))
    # Threads of one process share the dict: one may drop a key another just read.
    with suppress(KeyError):
        _bars.move_to_end(key)
        while len(_bars) > BARS_KEPT:
            _bars.popitem(last=False)
    return drawn


FIELD_GLOBALS = {
    "filter_bar": filter_bar,
    "field": field,
    "widget": widget,
    "errors": errors,
    "help": help,
    "hidden": hidden,
    "check": check,
    "key_radio": key_radio,
    "boxes": boxes,
    "radios": radios,
}
