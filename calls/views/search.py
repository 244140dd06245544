"""The search box of the navigation (/search/?q=): callers and calls at once.

Callers by name, organisation or number (any format), first by name; calls by their own
words (summary, notes, what the caller wants, what was promised, the message), newest
first: PostgreSQL's full-text search, a plain contains on SQLite (the call log's own
search, calls.search, without the callers' names and numbers: those are the other
group, and a caller's calls are on their page). Each kind shows its first SHOWN and links to its
list with the same search, where the rest are. Scoped, as every page, to the businesses
the person works for.
"""

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import BadRequest
from django.db.models import Q
from django.views.decorators.http import require_GET

from callers.forms import CallerSearchForm
from callers.models import Caller, NumbersOf, business_names, finds_few
from calls.forms import CallFilter
from calls.models import Call
from calls.views.calls import log_page
from receptionist.rendering import render

SHOWN = 8


@require_GET
@permission_required("calls.view_call", raise_exception=True)
def search_everything(request):
    form = CallerSearchForm(request.GET)
    if not form.is_valid():
        raise BadRequest("A search is at most 200 characters.")
    text = form.cleaned_data["q"].strip()
    callers, calls, more_calls = [], [], False
    if text:
        found = Caller.objects.for_user(request.user).search(text)
        ids = found.first_by_name(Q(), SHOWN + 1, few=finds_few(text))
        rows = (
            Caller.objects.filter(pk__in=ids)
            .only(*Caller.LIST_COLUMNS)
            .annotate(numbers=NumbersOf("pk"))
            .in_bulk()
        )
        callers = [rows[pk] for pk in ids if pk in rows]
        # The call log's own first page for this search (its fast paths included).
        visible = Call.objects.for_user(request.user).for_list()
        found_calls = CallFilter({"q": text}, queryset=visible, request=request)
        found_calls.words_only = True
        page = log_page(request, found_calls, visible, SHOWN)
        calls, more_calls = (list(page.items), page.has_next) if page else ([], False)
    return render(
        request,
        "calls/search.html",
        {
            "q": text,
            "callers": callers[:SHOWN],
            "more_callers": len(callers) > SHOWN,
            "calls": calls,
            "more_calls": more_calls,
            "names": business_names(),
        },
    )
