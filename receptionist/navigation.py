"""The navigation's links: the current page is marked for the eye and for screen readers."""

from markupsafe import Markup


def nav_link_attrs(request, name: str) -> Markup:
    """`class` (and `aria-current` on the current page) of a navigation link.

    `name` is one or more view names ("calls:list calls:detail"), or namespaces
    ("callers") for every page in them.
    """
    match = getattr(request, "resolver_match", None)
    current = match is not None and any(
        match.view_name == each if ":" in each else match.namespace == each for each in name.split()
    )
    if current:
        return Markup('class="nav-link active" aria-current="page"')
    return Markup('class="nav-link"')
