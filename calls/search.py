"""Searching the call log: by what was said and by who called, the same on every database.

A call matches when every word typed is found in the call (summary, what the caller wants,
what was promised, the message for the business, notes) or in its caller (name,
organisation; a word of 4 digits or more also in the caller's numbers). Text that is a
phone number in any format ("617 840 8318", "(617) 840-8318", "+1 617…", or 4 digits or
more of it) also finds the calls of every caller with a number that contains it. Common
words ("the", "and": PostgreSQL's English stop words) are left out. The last word is
matched as the start of a word: "overs" finds "oversized", as it is typed.

PostgreSQL uses full-text search (English stemming: "invoices" finds "invoice"), a GIN
index on SEARCH_DOCUMENT, and ranks matches for "Best match first". Other databases
(SQLite) match words from their start with a light suffix stripping in place of stemming,
and rank by which field matched: the same calls for the cases the tests cover.
"""

import bisect
import functools
import operator
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import snowballstemmer
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, models
from django.db.models import Case, ExpressionWrapper, F, Lookup, Q, Subquery, Value, When
from django.db.models.expressions import Col, Expression, Func
from django.db.models.functions import Coalesce

from callers import phones
from callers.models import Caller, CallerPhone
from receptionist.statements import Statement


# The weighted document (summary, then what was wanted and promised and the message, then
# notes), stored by PostgreSQL in a generated column with a GIN index (migration 0013,
# which holds the expression): reading it costs nothing, so a call can be checked as it is
# walked past.
class _VectorField(models.Field):
    """The stored vector's column, known to these queries only (it is not a model field:
    other databases have no such column)."""

    def db_type(self, connection):
        return "tsvector"


_VECTOR = _VectorField()
_VECTOR.set_attributes_from_name("search_vector")


class _StoredVector(Expression):
    """The call's `search_vector` column, named by the alias its query gives the call (a
    subquery renames it), as a model field's column would be."""

    output_field = _VectorField()

    def resolve_expression(self, query=None, *args, **kwargs):
        return Col(query.get_initial_alias(), _VECTOR)


def _matches(tsquery: str):
    """The stored vector matches the to_tsquery text (English configuration)."""
    return Func(
        _StoredVector(),
        Value(tsquery),
        arg_joiner=" @@ to_tsquery('english'::regconfig, ",
        template="(%(expressions)s))",
        output_field=models.BooleanField(),
    )


def _rank(tsquery: str):
    """ts_rank of the stored vector for the to_tsquery text."""
    return Func(
        _StoredVector(),
        Value(tsquery),
        arg_joiner=", to_tsquery('english'::regconfig, ",
        template="ts_rank(%(expressions)s))::float8",
        output_field=models.FloatField(),
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
# Words are letters and digits: "_" parts them, as PostgreSQL's parser does ("book_cancel"
# is two words, both required; as one word, PostgreSQL kept only "book").
_WORD = re.compile(r"[^\W_]+")
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
        return "(" + " | ".join(f"'{start}':*" for start in self.starts()) + ")"

    def starts(self) -> list[str]:
        """The starts a word being typed is tried as (see tsquery)."""
        n = len(self.text)
        return _widest([self.text[:k] for k in range(n, max(min(3, n - 1), n - 4), -1)])

    def share(self, lexemes: "_Lexemes") -> float:
        """The share of calls PostgreSQL's statistics say hold this word: the frequencies
        of the common stored words it is, or starts (a prefix). A word none of them is
        or starts counts 0: it is rarer than the rarest one listed."""
        if not self.is_prefix:
            return lexemes.share_of(_stem(self.text), prefix=False)
        return sum(lexemes.share_of(_stem(start), prefix=True) for start in self.starts())

    def pattern(self) -> str:
        """The regular expression other databases match this word with."""
        stem = self.text
        for suffix in _SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= 3:
                stem = stem[: -len(suffix)]
                break
        return r"\b" + re.escape(stem)


_stemmers = threading.local()


@functools.lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    """The word as PostgreSQL's English configuration stores it (Snowball's English
    stemmer, the one PostgreSQL uses). A stemmer object is not safe to share between
    threads: one per thread. Kept per process: a search stems each of its starts twice or
    three times (1 ms of a page, profiled), and people search for the same words."""
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        stemmer = _stemmers.english = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def _widest(starts: list[str]) -> list[str]:
    """The starts of a word whose stems no other start's stem already covers, as prefixes.

    "invoice" is tried as invoice, invoic, invoi and invo, stemmed to invoic, invoic,
    invoi and invo: every word starting with one of the first three starts with "invo".
    PostgreSQL does not see that: each prefix costs one scan of the full-text index (70 ms
    for the four at a million calls, 19 ms for "invo" alone). A start whose stem does not
    begin with another's is kept: "dying" is stored as "die", which "dyin" does not
    cover."""
    stems = {start: _stem(start) for start in starts}
    kept: list[str] = []
    for start in sorted(starts, key=lambda s: (len(stems[s]), -len(s))):
        if not any(stems[start].startswith(stems[other]) for other in kept):
            kept.append(start)
    return kept


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
    return _callers_found(word.text, _runs(word.text) if word.is_number else [])


def _callers_found(text: str | None, runs: list[str]):
    """Callers whose name or organisation contains `text` (None: no name asked for), or
    who have a number containing one of the `runs` of digits. The one query of a word's
    callers and a number's, for the QuerySet search and for CALLERS."""
    if text is None and not runs:
        return Caller.objects.none()
    found = Q() if text is None else Caller.objects.name_contains(text)
    if runs:
        numbers = CallerPhone.objects.containing_runs(runs).values("caller_id")
        found |= Q(AmongRowsOf(F("pk"), Subquery(numbers)))
    return Caller.objects.filter(found)


def _runs(number: str) -> list[str]:
    """The runs of digits a number typed is matched by (phones.digit_runs), in order."""
    return sorted(phones.digit_runs(number))


class AmongRowsOf(Lookup):
    """`column = ANY(ARRAY(subquery))` on PostgreSQL, `column IN (subquery)` elsewhere.

    OR-ed with the name and organisation matches, `pk IN (subquery)` made PostgreSQL read
    every caller (29 ms for the digits of a number, at 100,000 callers): a subquery in an
    OR cannot be one of a bitmap scan's parts. Its rows as one array can: the three
    indexes are read and their matches joined (0.6 ms)."""

    lookup_name = "among_rows_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]
        return f"{lhs} IN {rhs}", [*lhs_params, *rhs_params]


# A search that matches more callers than this filters calls by a join instead of a list.
MAX_CALLER_IDS = 5000


class AmongIds(Lookup):
    """`column = ANY('{1,2,3}'::bigint[])` on PostgreSQL: the ids written into the SQL as
    one array, instead of one placeholder each.

    A common name ("smith") matches some 1,500 callers. As `IN (%s, %s, ...)` its query
    cost 15 ms of Python (Django prepares, and psycopg splits, each placeholder). Written
    in the SQL, the list stays a constant the planner weighs for these very callers (as a
    parameter, a generic plan made for callers unknown walked the whole log: 180 ms). The
    ids are integers, made here by int(): nothing typed reaches the SQL. Other databases
    get the usual IN list."""

    lookup_name = "among_ids"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(pk) for pk in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        if not self.rhs:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            ids = ",".join(str(int(pk)) for pk in self.rhs)
            return f"{lhs} = ANY('{{{ids}}}'::bigint[])", params
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*params, *self.rhs]


def calls_of(callers) -> Q:
    """The call's caller is one of these. Most searches match a few callers: their ids are
    read first and the calls are asked for by a list, which the call index on caller
    answers and the planner can weigh (and OR with the full-text index). A search that
    matches very many callers asks by a subquery instead."""
    ids = _ids_of(callers)
    if len(ids) <= MAX_CALLER_IDS:
        return Q(AmongIds(F("caller_id"), ids))
    return Q(caller_id__in=callers.order_by().values("pk"))


def _said(word: Word) -> Q:
    """The word is in what the call says."""
    if connection.vendor == "postgresql":
        return Q(_matches(word.tsquery()))
    pattern = word.pattern()
    return (
        Q(summary__iregex=pattern)
        | Q(wants__iregex=pattern)
        | Q(promised__iregex=pattern)
        | Q(message__iregex=pattern)
        | Q(notes__iregex=pattern)
    )


def _matching(text: str, words: list[Word], callers: list[Q]) -> Q:
    """Every word in the call or its caller (`callers`: calls_of each word's callers);
    or, for a number, a caller with a number that contains it."""
    number = calls_of(_callers_numbered(text)) if _numbered_apart(text, words) else None
    return _every_word([_said(word) for word in words], callers, number)


def _numbered_apart(text: str, words: list[Word]) -> bool:
    """Whether the callers with the number typed are asked for apart from the words':
    a number, unless typed as one word (whose callers, those with the number among them,
    are read already)."""
    if not is_number(text):
        return False
    return not (len(words) == 1 and words[0].is_number and _runs(words[0].text) == _runs(text))


def _every_word(said: list[Q], callers: list[Q], number: Q | None) -> Q:
    """Each word said in the call (`said`) or among its callers (`callers`), word by word;
    or, for a number, the calls of the callers with a number that contains it."""
    found = Q()
    for in_call, among_callers in zip(said, callers, strict=True):
        found &= in_call | among_callers
    return found if number is None else found | number


def _callers_numbered(text: str):
    """Callers with a number that contains the number typed."""
    return _callers_found(None, _runs(text))


def _caller_ids_found(text: str | None, runs: list[str]):
    """The ids of _callers_found, as one column: those whose name or organisation contains
    `text`, together (UNION) with those of the numbers that contain a run, read from the
    numbers alone. As `pk = ANY(ARRAY(numbers' callers))` OR-ed with the names, PostgreSQL
    looked each of the numbers' callers up in the callers' index: 3.3 ms of 4.5 for the 900
    numbers six digits typed find."""
    parts = []
    if text is not None:
        parts.append(Caller.objects.filter(Caller.objects.name_contains(text)).values("pk"))
    if runs:
        parts.append(CallerPhone.objects.containing_runs(runs).values("caller_id"))
    first, *rest = [part.order_by() for part in parts]
    if rest:
        return first.union(*rest)
    # A caller with two numbers that match is one id.
    return first.distinct() if runs else first


# The ids of the callers a word finds (or, with no text, a number's): _caller_ids_found
# compiled once per number of digit runs (compiling it took most of the 0.8 ms the
# callers of a word cost).
CALLERS = Statement(
    lambda *, text=None, **runs: _caller_ids_found(text, list(runs.values()))[: MAX_CALLER_IDS + 1],
    text=str,
    **{f"run_{n}": str for n in range(2)},
)


def _ids_found(text: str, number: str | None) -> list[int]:
    """_ids_of the callers whose name or organisation contains `text` (none when empty)
    or who have a number containing `number` typed in any format, through CALLERS."""
    runs = {f"run_{n}": run for n, run in enumerate(_runs(number or ""))}
    if not text and not runs:
        return []
    return CALLERS.column(**({"text": text} if text else {}), **runs)


def compiled_values(text: str, *, callers: bool = True) -> dict | None:
    """What a compiled newest-first search (matching_of) takes on PostgreSQL, by name:
    each word's to_tsquery text (`word_0`, ...) and the ids of the callers it finds
    (`callers_0`, ...), and for a number the ids of the callers with a number containing it
    (`number_callers`); and `window`: whether the search walks the recent calls first
    (few_matches). None when the search has no word, or a word finds more than
    MAX_CALLER_IDS callers (their calls are then asked for by a subquery: `search`).
    `callers` False: the words of the calls alone (no caller is read: every list empty)."""
    words = words_of((text or "").strip())
    if not words or connection.vendor != "postgresql":
        return None
    values: dict = {}
    for place, word in enumerate(words):
        ids = _ids_found(word.text, word.text if word.is_number else None) if callers else []
        if len(ids) > MAX_CALLER_IDS:
            return None
        values[f"word_{place}"] = word.tsquery()
        values[f"callers_{place}"] = ids
    if callers and _numbered_apart(text, words):
        ids = _ids_found("", text)
        if len(ids) > MAX_CALLER_IDS:
            return None
        values["number_callers"] = ids
    values["window"] = not few_matches(
        words,
        [len(values[f"callers_{place}"]) for place in range(len(words))],
        len(values.get("number_callers", ())),
    )
    return values


def _ids_of(callers) -> list[int]:
    """Up to MAX_CALLER_IDS + 1 of these callers' ids (one more tells there are too many)."""
    return list(callers.order_by().values_list("pk", flat=True)[: MAX_CALLER_IDS + 1])


def matching_of(values: dict) -> Q:
    """_matching, made of compiled_values: every word in the call or among its callers;
    or, for a number, a caller with a number that contains it. Empty lists of callers
    match nothing. With `who_callers`, only the calls of those callers."""
    places = range(sum(name.startswith("word_") for name in values))
    number = values.get("number_callers")
    found = _every_word(
        [Q(_matches(values[f"word_{place}"])) for place in places],
        [Q(AmongIds(F("caller_id"), values[f"callers_{place}"])) for place in places],
        None if number is None else Q(AmongIds(F("caller_id"), number)),
    )
    if "who_callers" in values:
        # The callers the "Caller" box found (CallFilter.who_found).
        found &= Q(AmongIds(F("caller_id"), values["who_callers"]))
    return found


def search(queryset, text: str, *, callers: bool = True):
    """The calls of `queryset` that match the search (see the module's docstring);
    `callers` False: every word in the call's own words, whatever its caller."""
    text = (text or "").strip()
    words = words_of(text)
    if not words:
        return queryset
    if not callers:
        return queryset.filter(functools.reduce(operator.and_, [_said(word) for word in words]))
    found = [calls_of(_callers_with(word)) for word in words]
    return queryset.filter(_matching(text, words, found))


# What a word found in the caller (name, organisation, number) adds to a call's relevance:
# less than the word in the summary (0.6), more than in what was wanted or promised.
CALLER_WEIGHT = 0.3
# How many of a search's newest matches "Best match first" ranks, on PostgreSQL: four
# pages. Finding them is walking the log until that many are found (a common word: 1,500
# calls, 2 ms at a million calls; 200 matches took 4 ms, most of the page's database time).
RANKED_MATCHES = 100


def ranked(queryset, text: str, *, among=None):
    """The search, annotated with `relevance` (higher is better): on PostgreSQL the
    full-text rank (summary counts most, then wants, promised and message, then notes) plus
    CALLER_WEIGHT for each word the caller's name, organisation or number matched;
    elsewhere the same idea by which field matched. Equal matches: newest logged first.

    On PostgreSQL only the RANKED_MATCHES newest matches are ranked (see newest_ids): the
    best of them first. Ranking every match of a common word reads and ranks tens of
    thousands of calls; the newest hundred are what a front desk looks for. `among`:
    the calls the newest are walked from (newest_ids), by default `queryset`."""
    text = (text or "").strip()
    words = words_of(text)
    callers = [calls_of(_callers_with(word)) for word in words]  # read once, used twice
    if words:
        matches = queryset.filter(_matching(text, words, callers))
        if connection.vendor == "postgresql":
            newest = _newest(
                matches, Q(), RANKED_MATCHES, among=queryset if among is None else among
            )
            queryset = queryset.filter(pk__in=newest)
        else:
            queryset = matches
    return queryset.annotate(relevance=_relevance(words, callers))


def _relevance(words: list[Word], callers: list[Q], tsqueries: list[str] | None = None):
    """ranked's score of a call: for each word, CALLER_WEIGHT when its caller is among the
    word's callers (`callers`: a condition per word) plus, on PostgreSQL, the full-text
    rank of the word (`tsqueries`: each word's to_tsquery text, by default the words'
    own); elsewhere a weight by which field holds the word."""
    if tsqueries is None:
        tsqueries = [word.tsquery() for word in words] if connection.vendor == "postgresql" else []
    score = Value(0.0)
    for place, caller in enumerate(callers):
        score = score + Case(
            When(caller, then=Value(CALLER_WEIGHT)),
            default=Value(0.0),
            output_field=models.FloatField(),
        )
        if connection.vendor == "postgresql":
            score = score + _rank(tsqueries[place])
            continue
        pattern = words[place].pattern()
        for field, weight in (
            ("summary", 0.6),
            ("wants", 0.25),
            ("promised", 0.25),
            ("message", 0.25),
        ):
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
    return ExpressionWrapper(score, models.FloatField())


def relevance_of(calls, values: dict):
    """`calls` annotated with ranked's `relevance`, made of compiled_values (on
    PostgreSQL): what a compiled "Best match first" ranks the newest matches by."""
    places = range(sum(name.startswith("word_") for name in values))
    return calls.annotate(
        relevance=_relevance(
            [],
            [Q(AmongIds(F("caller_id"), values[f"callers_{place}"])) for place in places],
            [values[f"word_{place}"] for place in places],
        )
    )


# How many of the newest calls a newest-first search walks past, checking each one, before
# it looks for its other matches through the indexes.
RECENT_WINDOW = 5000
# Older than anything in the log: the window's edge when the log is shorter than the window.
_DAWN = datetime(1, 1, 1, tzinfo=UTC)


def newest_ids(queryset, after: Q, n: int, *, among, window: bool = True) -> list[int]:
    """The ids of the first `n` calls of a search (`queryset`, ordered newest first, after
    the cursor: `after`), newest first, in one query. `among`: calls walked by start time
    that hold every call of the search (the log in the same date range, say); its newest
    RECENT_WINDOW after the cursor are the window below. Any such calls give the same
    answer; the fewer conditions they add beyond the start time, the cheaper the window's
    edge is to find.

    On PostgreSQL, in two parts, the second read only when the first does not fill the
    page: the matches among the RECENT_WINDOW newest of `among` after the cursor, found by
    walking the calls newest first and checking each one (a common word fills a page
    within a few hundred calls); then the matches older than those, found through the
    full-text and caller indexes and sorted (a rare word has few), ordered by the start
    time plus nothing so that the planner cannot walk the whole log instead (seconds, for
    a word that is nowhere). The two parts split the calls at a start time, so together
    they are exactly the calls and the order of the plain query. `window` False: through
    the indexes alone (a search that matches few calls)."""
    return list(_newest(queryset, after, n, among=among, window=window))


def _newest(
    queryset, after: Q, n: int, *, among, rows: bool = False, window: bool = True, edge=None
):
    """newest_ids, as a query of the ids (not yet read); `rows`: of calls holding their id
    alone (for a compiled statement, which reads model instances); `window` False: a search
    that matches few calls (few_matches) is read through the indexes alone; `edge`: the
    window's edge when it is known (recent_edge), else it is found in the query."""

    def ids(found):
        return found.only("pk") if rows else found.values_list("pk", flat=True)

    if connection.vendor != "postgresql":
        return ids(queryset.order_by("-started_at", "-pk"))[:n]
    older_key = ExpressionWrapper(F("started_at") + Value(timedelta(0)), models.DateTimeField())
    if not window:
        return ids(queryset.alias(found_at=older_key).order_by("-found_at", "-pk"))[:n]
    if edge is not None:
        # Hidden from the planner as the edge found in the query is: known, it made
        # PostgreSQL AND the full-text index's 70,000 matches of "invo" with the window
        # (30 ms) instead of walking the window (0.4 ms).
        edge = Func(Value(edge), template="(SELECT %(expressions)s)", output_field=_WHEN)
    else:
        edge = Coalesce(
            Subquery(
                among.filter(after)
                .order_by("-started_at", "-pk")
                .values("started_at")[RECENT_WINDOW : RECENT_WINDOW + 1]
            ),
            Value(_DAWN),
        )
    recent = ids(queryset.filter(started_at__gte=edge).order_by("-started_at", "-pk"))[:n]
    older = ids(
        queryset.filter(started_at__lt=edge).alias(found_at=older_key).order_by("-found_at", "-pk")
    )[:n]
    # PostgreSQL reads the parts of UNION ALL in turn and stops at the limit.
    return recent.union(older, all=True)[:n]


def newest_rows(queryset, after: Q, n: int, *, among, window: bool = True, edge=None):
    """newest_ids as a query of calls holding their id alone, not yet read: what a compiled
    statement runs (receptionist.statements reads model instances)."""
    return _newest(queryset, after, n, among=among, rows=True, window=window, edge=edge)


_WHEN = models.DateTimeField()
# How long a process keeps a window's edge (recent_edge), and how many edges it keeps.
EDGE_KEPT = 60.0
EDGES_KEPT = 64
_edges_kept: dict[tuple, tuple[float, datetime]] = {}


def recent_edge(calls, along: tuple[str, object] | None = None) -> datetime:
    """The start time of the call just older than the RECENT_WINDOW newest of `calls`
    (every call: Call.objects), or of those with one column's value (`along`: the filter
    the search walks along, see walk_along): the window's edge for a first page searched
    without a date range, read once a minute per process instead of on every search
    (walking 5,000 index entries took 0.6 ms of a 1 ms search). Any edge gives the same
    calls in the same order (newest_ids): one a minute old only makes the window a
    minute's calls longer."""
    now = time.monotonic()
    kept = _edges_kept.get(along)
    if kept is not None and now - kept[0] < EDGE_KEPT:
        return kept[1]
    among = calls.all() if along is None else calls.filter(**{along[0]: along[1]})
    edge = (
        among.order_by("-started_at", "-pk")
        .values_list("started_at", flat=True)[RECENT_WINDOW : RECENT_WINDOW + 1]
        .first()
    )
    if len(_edges_kept) >= EDGES_KEPT:
        _edges_kept.clear()
    _edges_kept[along] = (now, edge or _DAWN)
    return _edges_kept[along][1]


def walk_along(columns: dict[str, tuple[str, object]]) -> str | None:
    """Which of a search's one-column filters its window walks along: {name: (column,
    value)} of the filters whose column has an index on (column, start time); the one
    whose value PostgreSQL's statistics say the fewest calls have. Walked along it, the
    window is the RECENT_WINDOW newest calls with that value, read through that index;
    walked along the whole log, a search for a common word with a rare urgency and nature
    found 21 matches in its 5,000 calls, and the 5 more a page needed were found through
    the indexes (37 ms at a million calls, against 1 ms)."""
    if not columns:
        return None
    statistics = _Lexemes.current()
    return min(columns, key=lambda name: statistics.value_share(*columns[name]))


# A search PostgreSQL's statistics say matches at most this many calls skips the window of
# recent calls: its matches are read through the indexes and sorted (a few hundred
# microseconds), where the window walked 5,000 calls to find none (7 ms for a phone
# number at a million calls).
FEW_MATCHES = 2000


def few_matches(words: list[Word], callers: list[int], number_callers: int) -> bool:
    """Whether a search matches few calls (FEW_MATCHES at most), on PostgreSQL's estimate:
    every word is found in a call or among its callers, so the search finds at most what
    its least frequent word finds; plus, for a number, the calls of the callers with that
    number. `callers`: how many callers each word finds; `number_callers`: how many callers
    have the number typed. An estimate: it decides only which way the same calls are read."""
    lexemes = _Lexemes.current()
    per_caller = lexemes.calls / max(lexemes.callers, 1)
    estimate = min(
        (word.share(lexemes) * lexemes.calls + found * per_caller)
        for word, found in zip(words, callers, strict=True)
    )
    return estimate + number_callers * per_caller <= FEW_MATCHES


class _Lexemes:
    """The common words of the calls' stored vectors and how often each occurs, from
    PostgreSQL's statistics (pg_stats, as ANALYZE left them), and how many calls and
    callers there are; read once per process every REREAD seconds."""

    REREAD = 600
    _lock = threading.Lock()
    _current: "_Lexemes | None" = None

    # The columns whose most common values are read (walk_along).
    COLUMNS = ("caller_id", "taken_by_id", "nature", "urgency", "mood", "outcome")

    def __init__(
        self,
        shares: dict[str, float],
        calls: float,
        callers: float,
        read_at: float,
        values: dict[str, tuple[dict[str, float], float]] | None = None,
    ):
        self.shares = shares
        self.sorted = sorted(shares)
        self.calls = calls
        self.callers = callers
        self.read_at = read_at
        # {column: ({common value: share of calls}, share of calls of each other value)}
        self.values = values or {}

    @classmethod
    def current(cls) -> "_Lexemes":
        now = time.monotonic()
        found = cls._current
        if found is None or now - found.read_at > cls.REREAD:
            with cls._lock:
                found = cls._current = cls._read(now)
        return found

    @staticmethod
    def _read(now: float) -> "_Lexemes":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats"
                " WHERE schemaname = current_schema() AND tablename = 'calls_call'"
                " AND attname = 'search_vector'"
            )
            row = cursor.fetchone()
            cursor.execute(
                "SELECT relname, GREATEST(reltuples, 0) FROM pg_class"
                " WHERE oid IN ('calls_call'::regclass, 'callers_caller'::regclass)"
            )
            sizes = dict(cursor.fetchall())
            cursor.execute(
                "SELECT attname, most_common_vals::text::text[], most_common_freqs, n_distinct,"
                " null_frac FROM pg_stats WHERE schemaname = current_schema()"
                " AND tablename = 'calls_call' AND attname = ANY(%s)",
                [list(_Lexemes.COLUMNS)],
            )
            columns = cursor.fetchall()
        shares = {}
        if row and row[0]:
            # most_common_elem_freqs ends with three summary figures after the words'.
            shares = dict(zip(row[0], row[1][: len(row[0])], strict=True))
        calls = sizes.get("calls_call", 0.0)
        values = {}
        for column, common, freqs, distinct, nulls in columns:
            common, freqs = common or [], freqs or []
            # As PostgreSQL estimates a value that is not among the most common: what the
            # common ones leave, shared by the other distinct values (n_distinct < 0 is a
            # share of the rows).
            distinct = distinct if distinct >= 0 else -distinct * calls
            rest = max(1.0 - sum(freqs) - (nulls or 0.0), 0.0)
            values[column] = (
                dict(zip(common, freqs, strict=True)),
                rest / max(distinct - len(common), 1.0),
            )
        return _Lexemes(shares, calls, sizes.get("callers_caller", 0.0), now, values)

    def value_share(self, column: str, value) -> float:
        """The share of calls with this value in this column (1 when never analysed)."""
        if column not in self.values:
            return 1.0
        common, other = self.values[column]
        return common.get(str(value), other)

    def share_of(self, lexeme: str, *, prefix: bool) -> float:
        """The share of calls holding this stored word (or, `prefix`, any word it starts)."""
        if not prefix:
            return self.shares.get(lexeme, 0.0)
        total = 0.0
        for found in self.sorted[bisect.bisect_left(self.sorted, lexeme) :]:
            if not found.startswith(lexeme):
                break
            total += self.shares[found]
        return total


def validate(text: str) -> None:
    """A search the log can answer: at most MAX_WORDS words (more would be cut)."""
    if len(_WORD.findall(text or "")) > MAX_WORDS:
        raise ValidationError(f"Search with at most {MAX_WORDS} words.", code="too_many_words")
