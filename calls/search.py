"""Searching the call log: by what was said and by who called, the same on every database.

A call matches when every word typed is found in the call (summary, what the caller wants,
what was promised, notes) or in its caller (name, organisation; a word of 4 digits or more
also in the caller's numbers). Text that is a phone number in any format ("617 840 8318",
"(617) 840-8318", "+1 617…", or 4 digits or more of it) also finds the calls of every
caller with a number that contains it. Common words ("the", "and": PostgreSQL's English stop
words) are left out. The last word is matched as the start of a word: "overs" finds
"oversized", as it is typed.

PostgreSQL uses full-text search (English stemming: "invoices" finds "invoice"), a GIN
index on SEARCH_DOCUMENT, and ranks matches for "Best match first". Other databases
(SQLite) match words from their start with a light suffix stripping in place of stemming,
and rank by which field matched: the same calls for the cases the tests cover.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Case, ExpressionWrapper, F, Q, Value, When
from django.db.models.expressions import RawSQL

from callers import phones
from callers.models import Caller, CallerPhone

# The weighted document. The GIN index of migration 0006 is built on exactly this
# expression (without the table name), so the planner can use it for every word.
SEARCH_DOCUMENT = (
    "(setweight(to_tsvector('english'::regconfig, "
    "COALESCE(\"calls_call\".\"summary\", '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, "
    'COALESCE("calls_call"."wants", \'\') || \' \' || COALESCE("calls_call"."promised", \'\')), '
    "'B') || "
    "setweight(to_tsvector('english'::regconfig, "
    "COALESCE(\"calls_call\".\"notes\", '')), 'C'))"
)

# PostgreSQL's English stop words (tsearch_data/english.stop): full-text search ignores
# them, so every database does.
_ENGLISH_STOP = (
    "i me my myself we our ours ourselves you your yours yourself yourselves he him his "
    "himself she her hers herself it its itself they them their theirs themselves what "
    "which who whom this that these those am is are was were be been being have has had "
    "having do does did doing a an the and but if or because as until while of at by for "
    "with about against between into through during before after above below to from up "
    "down in out on off over under again further then once here there when where why how "
    "all any both each few more most other some such no nor not only own same so than too "
    "very s t can will just don should now"
)
STOP_WORDS = frozenset(_ENGLISH_STOP.split())

MAX_WORDS = 8
MAX_WORD_LENGTH = 50
_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")
# Suffixes other databases strip from a word, in place of PostgreSQL's stemmer.
_SUFFIXES = ("ies", "ing", "es", "ed", "s", "y")


@dataclass(frozen=True)
class Word:
    text: str
    # The last word typed: matched as the start of a word (it may not be finished).
    is_prefix: bool

    @property
    def is_number(self) -> bool:
        return self.text.isdigit() and len(self.text) >= phones.MIN_PARTIAL_DIGITS

    def tsquery(self) -> str:
        """The to_tsquery text of this word on PostgreSQL (English configuration).

        A word being typed is a prefix. Stemming shortens what is stored ("appointment" is
        stored as "appoint"), so a half-typed "appointm" would start no stored word: the
        prefix is also tried up to 3 letters shorter (never under 4)."""
        if not self.is_prefix:
            return f"'{self.text}'"
        n = len(self.text)
        starts = [self.text[:k] for k in range(n, max(min(3, n - 1), n - 4), -1)]
        return "(" + " | ".join(f"'{start}':*" for start in starts) + ")"

    def pattern(self) -> str:
        """The regular expression other databases match this word with."""
        stem = self.text
        for suffix in _SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= 3:
                stem = stem[: -len(suffix)]
                break
        return r"\b" + re.escape(stem)


def words_of(text: str) -> list[Word]:
    """The words of a search, lowercased, without stop words: the last is a prefix."""
    found = [w.lower()[:MAX_WORD_LENGTH] for w in _WORD.findall(text or "")][:MAX_WORDS]
    # (validate refuses more words; a longer word is still matched by its start.)
    kept = [w for w in found if w not in STOP_WORDS]
    return [Word(text=w, is_prefix=i == len(kept) - 1) for i, w in enumerate(kept)]


def is_number(text: str) -> bool:
    """Text typed as a phone number: no letters and at least 4 digits."""
    return not _LETTER.search(text) and bool(phones.digit_runs(text))


def _callers_with(word: Word):
    """Callers whose name or organisation contains the word (or whose number, for a
    number)."""
    found = Caller.objects.name_contains(word.text)
    if word.is_number:
        found |= Q(pk__in=CallerPhone.objects.containing(word.text).values("caller_id"))
    return Caller.objects.filter(found)


# A search that matches more callers than this filters calls by a join instead of a list.
MAX_CALLER_IDS = 5000


def calls_of(callers) -> Q:
    """The call's caller is one of these. Most searches match a few callers: their ids are
    read first and the calls are asked for by a list, which the call index on caller
    answers and the planner can weigh (and OR with the full-text index). A search that
    matches very many callers (a common name) asks by a subquery instead."""
    ids = list(callers.order_by().values_list("pk", flat=True)[: MAX_CALLER_IDS + 1])
    if len(ids) <= MAX_CALLER_IDS:
        return Q(caller_id__in=ids)
    return Q(caller_id__in=callers.order_by().values("pk"))


def _said(word: Word) -> Q:
    """The word is in what the call says."""
    if connection.vendor == "postgresql":
        return Q(
            RawSQL(
                f"{SEARCH_DOCUMENT} @@ to_tsquery('english'::regconfig, %s)",
                [word.tsquery()],
                output_field=models.BooleanField(),
            )
        )
    pattern = word.pattern()
    return (
        Q(summary__iregex=pattern)
        | Q(wants__iregex=pattern)
        | Q(promised__iregex=pattern)
        | Q(notes__iregex=pattern)
    )


def _matching(text: str, words: list[Word], callers: list[Q]) -> Q:
    """Every word in the call or its caller (`callers`: calls_of each word's callers);
    or, for a number, a caller with a number that contains it."""
    found = Q()
    for word, caller in zip(words, callers, strict=True):
        found &= _said(word) | caller
    if is_number(text):
        numbers = CallerPhone.objects.containing(text).values("caller_id")
        found |= calls_of(Caller.objects.filter(pk__in=numbers))
    return found


def search(queryset, text: str):
    """The calls of `queryset` that match the search (see the module's docstring)."""
    text = (text or "").strip()
    words = words_of(text)
    if not words:
        return queryset
    callers = [calls_of(_callers_with(word)) for word in words]
    return queryset.filter(_matching(text, words, callers))


# What a word found in the caller (name, organisation, number) adds to a call's relevance:
# less than the word in the summary (0.6), more than in what was wanted or promised.
CALLER_WEIGHT = 0.3


def ranked(queryset, text: str):
    """The search, annotated with `relevance` (higher is better): on PostgreSQL the
    full-text rank (summary counts most, then wants and promised, then notes) plus
    CALLER_WEIGHT for each word the caller's name, organisation or number matched;
    elsewhere the same idea by which field matched. Equal matches: newest logged first."""
    text = (text or "").strip()
    words = words_of(text)
    callers = [calls_of(_callers_with(word)) for word in words]  # read once, used twice
    if words:
        queryset = queryset.filter(_matching(text, words, callers))
    score = Value(0.0)
    for word, caller in zip(words, callers, strict=True):
        score = score + Case(
            When(caller, then=Value(CALLER_WEIGHT)),
            default=Value(0.0),
            output_field=models.FloatField(),
        )
        if connection.vendor == "postgresql":
            score = score + RawSQL(
                f"ts_rank({SEARCH_DOCUMENT}, to_tsquery('english'::regconfig, %s))::float8",
                [word.tsquery()],
                output_field=models.FloatField(),
            )
        else:
            pattern = word.pattern()
            for field, weight in (("summary", 0.6), ("wants", 0.25), ("promised", 0.25)):
                score = score + Case(
                    When(**{f"{field}__iregex": pattern}, then=Value(weight)),
                    default=Value(0.0),
                    output_field=models.FloatField(),
                )
            score = score + Case(
                When(notes__iregex=pattern, then=Value(0.1)),
                default=Value(0.0),
                output_field=models.FloatField(),
            )
    return queryset.annotate(relevance=ExpressionWrapper(score, models.FloatField()))


def newest_first(queryset) -> tuple[models.QuerySet, str]:
    """A search's calls for newest-first keyset pages: (queryset, key to page on).

    On PostgreSQL the key is the start time plus nothing, which no index serves: the
    planner must find the matches through the full-text and caller indexes and sort them,
    a cost bounded by the number of matches. Left to itself it may walk the whole call
    index newest first, computing each call's text vector, to find a word that is nowhere
    (seconds at a million calls)."""
    if connection.vendor != "postgresql":
        return queryset, "started_at"
    key = ExpressionWrapper(F("started_at") + Value(timedelta(0)), models.DateTimeField())
    return queryset.annotate(found_at=key), "found_at"


def validate(text: str) -> None:
    """A search the log can answer: at most MAX_WORDS words (more would be cut)."""
    if len(_WORD.findall(text or "")) > MAX_WORDS:
        raise ValidationError(f"Search with at most {MAX_WORDS} words.", code="too_many_words")
