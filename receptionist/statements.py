"""Queries whose SQL is compiled once per process: `Statement`.

Django turns a QuerySet into SQL anew for every request, and for the queries of a record's
page (a caller with their counts, phones and open promises; a call with its caller and
whether it has escalations and callbacks) compiling took longer than PostgreSQL took to
answer: a fifth of the caller page's time (README, "How it stays fast"). Those queries
have one shape whatever the record: only the values differ. A `Statement` builds its
QuerySet once per database connection alias with stand-in values, keeps the SQL Django
compiled and where each stand-in landed among the parameters, and from then on runs that
SQL with the real values, turning the rows into model instances as the QuerySet would
(select_related, annotations and prefetch_related included).

    CALL = Statement(lambda pk: Call.objects.select_related("caller").filter(pk=pk), pk=int)
    call = CALL.first(pk=42)

Only values named in the Statement may vary; anything else that shapes the query (a
filter applied for some people only, a list of ids of varying length) must not be in it.
A run may give only some of the values named (a list's filters, of which a request uses a
few): which ones it gives is part of the shape, and `build` is called with those alone.
A value Django writes into the SQL text instead of sending it apart (a slice's LIMIT) is
part of the shape: name it in `shape`, and each different value is compiled once.
Building a Statement whose stand-in ends up in the text fails at once, but for one kind:
a list of ids (kind `list`), which calls.search.AmongIds writes into the text as one array
literal on PostgreSQL (PostgreSQL checks a constant array of 1,500 ids by hashing it, a
parameter one by one: 0.7 ms against 3 ms); each run writes its ids, each made an int,
in place of the stand-in's.

A text value compared with LIKE (`contains`, `icontains`, `startswith`, ...) is sent as a
pattern: Django escapes the value's %, _ and backslash and adds the % around it. Such a
parameter is found by the stand-in inside it, and each run makes the pattern the same way
from the real value. A stand-in changed any other way on its way to the parameters (a
regular expression built from it, say) is not found: the Statement refuses to build.
"""

import copy
import itertools
from datetime import UTC, datetime, timedelta

from django.db import connections
from django.db.models import prefetch_related_objects
from django.db.models.query import get_related_populators
from django.db.models.sql.constants import MULTI
from django.http import Http404

from receptionist.pagination import after_cursor

_serial = itertools.count(1)


def _stand_in(kind):
    """A value of `kind` no real row or request holds."""
    number = next(_serial)
    if kind is int:
        return -7_000_000_000_000_000_000 - number
    if kind is str:
        return f"\ue000stand-in {number}\ue000"
    if kind is datetime:
        return datetime(1001, 1, 1, tzinfo=UTC) + timedelta(seconds=number)
    if kind is list:
        # Ids written into the SQL as one array literal (calls.search.AmongIds).
        return [-7_000_000_000_000_000_000 - number]
    raise TypeError(f"A Statement's values are int, str, datetime or list, not {kind!r}.")


class _Compiled:
    def __init__(self, compiler, sql, params, places, patterns, literals, kinds, prefetch, names):
        self.compiler = compiler
        self.sql = sql
        self.params = params
        self.places = places  # [(index among the parameters, value's name)]
        self.patterns = patterns  # [(index, value's name, text before it, text after it)]
        self.literals = literals  # {value's name: its stand-in's array literal in the SQL}
        self.kinds = kinds
        self.prefetch = prefetch
        self.names = names  # a values() QuerySet's names, in the SQL's order


class Statement:
    def __init__(self, build, *, shape: tuple[str, ...] = (), **kinds):
        """`build(**values)` returns the QuerySet; `kinds` names each value's type (int,
        str or datetime); `shape` names the values given to `build` as they are (a page's
        size), each different one compiled apart."""
        self.build = build
        self.kinds = kinds
        self.shape = shape
        self._compiled: dict[tuple, _Compiled] = {}
        self.values_only = False

    def _compile(self, alias: str, shape: dict, names: tuple[str, ...]) -> _Compiled:
        unknown = set(names) - self.kinds.keys()
        if unknown:
            raise TypeError(f"The Statement has no value {', '.join(sorted(unknown))}.")
        stand_ins = {name: _stand_in(self.kinds[name]) for name in names}
        queryset = self.build(**shape, **stand_ins)
        iterable = queryset._iterable_class.__name__
        if queryset._known_related_objects or iterable not in ("ModelIterable", "ValuesIterable"):
            raise TypeError("A Statement runs a QuerySet of model instances or values() only.")
        # A values() QuerySet (a count by group, say) is read with rows() only.
        self.values_only = iterable == "ValuesIterable"
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        connection = connections[alias]
        adapted = {}
        literals = {}
        for name, value in stand_ins.items():
            if isinstance(value, list):
                # The one kind written into the text: an array of ids, made of ints only
                # (calls.search.AmongIds, on PostgreSQL), replaced in the text on each run.
                literal = f"'{{{value[0]}}}'"
                if literal not in sql:
                    raise ValueError(f"{name} is not written into the SQL as an array of ids.")
                literals[name] = literal
                continue
            adapted[self._adapt(connection, self.kinds[name], value)] = name
            if str(value) in sql or (isinstance(value, int) and str(-value) in sql):
                raise ValueError(f"{name} is written into the SQL, not sent as a parameter.")
        places = [(index, adapted[value]) for index, value in enumerate(params) if value in adapted]
        patterns = [
            (index, name, *pattern)
            for index, value in enumerate(params)
            if value not in adapted
            for name, stand_in in stand_ins.items()
            if (pattern := self._like_pattern(connection, value, stand_in))
        ]
        missing = (
            set(stand_ins)
            - {name for _, name in places}
            - {name for _, name, *_ in patterns}
            - literals.keys()
        )
        if missing:
            raise ValueError(f"The query does not use {', '.join(sorted(missing))}.")
        return _Compiled(
            compiler,
            sql,
            tuple(params),
            places,
            patterns,
            literals,
            self.kinds,
            queryset._prefetch_related_lookups,
            list(queryset.query.selected or ()) if self.values_only else None,
        )

    @staticmethod
    def _like_pattern(connection, param, stand_in) -> tuple[str, str] | None:
        """(before, after) when `param` is the LIKE pattern Django makes of `stand_in`
        ("%" around or after it; the stand-in holds nothing LIKE escapes)."""
        if not isinstance(param, str) or not isinstance(stand_in, str) or stand_in == param:
            return None
        escaped = connection.ops.prep_for_like_query(stand_in)
        before, found, after = param.partition(escaped)
        if found and before in ("", "%") and after in ("", "%") and (before or after):
            return before, after
        return None

    @staticmethod
    def _adapt(connection, kind, value):
        if kind is datetime:
            return connection.ops.adapt_datetimefield_value(value)
        return kind(value)

    def all(self, *, using: str = "default", **values) -> list:
        compiler, results, compiled = self._execute(using, values)
        prefetch = compiled.prefetch
        if self.values_only:
            raise TypeError("A Statement of a values() QuerySet is read with rows().")
        # As django.db.models.query.ModelIterable turns rows into instances.
        select, klass_info = compiler.select, compiler.klass_info
        annotations = compiler.annotation_col_map
        model = klass_info["model"]
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, using)
        instances = []
        for row in compiler.results_iter(results):
            instance = model.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            for name, position in annotations.items():
                setattr(instance, name, row[position])
            instances.append(instance)
        if prefetch and instances:
            prefetch_related_objects(instances, *prefetch)
        return instances

    def column(self, *, using: str = "default", **values) -> list:
        """The first column of each row (the ids of a QuerySet of `.only("pk")`, say),
        without making model instances: for a list of thousands of ids."""
        compiler, results, _ = self._execute(using, values)
        return [row[0] for row in compiler.results_iter(results)]

    def rows(self, *, using: str = "default", **values) -> list[tuple]:
        """Each row as a tuple of its columns, in the SQL's order (the fields, then the
        annotations: the id and the relevance of a QuerySet of `.only("pk")` annotated;
        the values() and then the annotations of a values() QuerySet), without model
        instances."""
        compiler, results, _ = self._execute(using, values)
        return [tuple(row) for row in compiler.results_iter(results)]

    def dicts(self, *, using: str = "default", **values) -> list[dict]:
        """Each row of a values() QuerySet as a dict, as the QuerySet gives it (each
        annotation read through its field: a list, JSON), without building the QuerySet."""
        compiler, results, compiled = self._execute(using, values)
        if compiled.names is None:
            raise TypeError("dicts() reads a Statement of a values() QuerySet.")
        names = compiled.names
        return [dict(zip(names, row, strict=True)) for row in compiler.results_iter(results)]

    def _execute(self, using: str, values: dict):
        """(compiler, results, the _Compiled) of a run with these values."""
        shape = {name: values.pop(name) for name in self.shape}
        names = tuple(sorted(values))
        key = (using, names, *shape.values())
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(using, shape, names)
        connection = connections[using]
        params = list(compiled.params)
        for index, name in compiled.places:
            params[index] = self._adapt(connection, compiled.kinds[name], values[name])
        for index, name, before, after in compiled.patterns:
            params[index] = before + connection.ops.prep_for_like_query(values[name]) + after
        sql = compiled.sql
        for name, literal in compiled.literals.items():
            # int() of each: nothing but digits and a sign reaches the text.
            ids = ",".join(str(int(pk)) for pk in values[name])
            sql = sql.replace(literal, f"'{{{ids}}}'")
        # A copy per run: the compiled one is shared by every thread of the process.
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connection
        compiler.as_sql = lambda *args, **kwargs: (sql, tuple(params))
        return compiler, compiler.execute_sql(MULTI), compiled

    def first(self, **values):
        """The first instance, or None."""
        found = self.all(**values)
        return found[0] if found else None


class KeysetStatement(Statement):
    """A Statement of one page of a list (receptionist.pagination.keyset_read):
    `narrowed(**values)` (the list's QuerySet, narrowed by the values given) ordered by
    (`key`, pk), after a cursor's (key, pk) when one is given, `size` rows."""

    def __init__(self, narrowed, *, key: str, descending: bool, key_kind=datetime, **kinds):
        order = (f"-{key}", "-pk") if descending else (key, "pk")

        def build(*, size, after_key=None, after_pk=None, **values):
            after = after_cursor(key, after_key, after_pk, descending=descending)
            return narrowed(**values).filter(after).order_by(*order)[:size]

        shape = kinds.pop("shape", ())
        super().__init__(build, shape=("size", *shape), after_key=key_kind, after_pk=int, **kinds)
        self.key = key

    def reader(self, **values):
        """`read_rows` for keyset_read: `read_rows(n, after=None)`."""

        def read_rows(size, after=None):
            return self.all(size=size, **values, **cursor_values(after))

        return read_rows


def cursor_values(after: tuple | None) -> dict:
    """A cursor's (key's value, pk), as the values `after_key` and `after_pk` of a
    statement built with pagination.after_cursor; none for the first page."""
    return {} if after is None else {"after_key": after[0], "after_pk": after[1]}


class RowsStatement(Statement):
    """The rows of some ids, in the order of the ids: `rows(**values)` (a QuerySet)
    narrowed to them, compiled once per number of ids (up to `most`). For a list whose
    page is found as ids first (a search, sorted before the limit) and then read with
    its joins."""

    def __init__(self, rows, *, most: int, **kinds):
        def build(**values):
            ids = [values.pop(f"id_{place}") for place in range(most) if f"id_{place}" in values]
            return rows(**values).filter(pk__in=ids)

        super().__init__(build, **{f"id_{place}": int for place in range(most)}, **kinds)
        self.most = most

    def of(self, ids: list[int], **values) -> list:
        """The rows of `ids` (at most `most`; the same id twice is read once), in that
        order; an id with no row is left out."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        if len(ids) > self.most:
            raise ValueError(f"At most {self.most} ids, not {len(ids)}.")
        found = self.all(**{f"id_{place}": pk for place, pk in enumerate(ids)}, **values)
        by_id = {row.pk: row for row in found}
        return [by_id[pk] for pk in ids if pk in by_id]


def record_or_404(statement: Statement, scoped, *, every_business: bool, **values):
    """A page's record: from `statement` (compiled once, with no business filter) for a
    person who may see every business, else from `scoped()` (the same query with the
    business filter, and the record's id: built only then, as building it took a sixth of
    the caller page); Http404 when there is none."""
    found = statement.first(**values) if every_business else scoped().first()
    if found is None:
        raise Http404("Nothing here: it does not exist, or is not yours to see.")
    return found
