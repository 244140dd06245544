"""Which statements PostgreSQL may plan once per connection, and which it plans for each
request's values.

The app's connections keep PostgreSQL's default `plan_cache_mode=auto` (settings): a
statement a connection has run twice is prepared (psycopg's prepare_threshold), and after
five runs PostgreSQL keeps one generic plan for it when that costs no more than planning
each time. Planning was the dearer half of most pages' queries (the escalation queue's
took 1.1 ms to plan and 0.5 ms to run; planned once, every list page was about 1.5 ms
faster at a million calls, README "How it stays fast").

A plan made once is made for values unknown. That is right for a list read by its
status, its day or its page, and wrong where the values decide how the rows are best
found: a search (a rare word is read through its index, a common one by walking the
newest calls), a name or a number typed (LIKE), and one caller's calls (the busiest
caller has 6,000 calls, the usual one a handful). A generic plan walked the log for the
search with filters (33 ms instead of 12) and the busiest caller's calls (18 ms instead
of 9). Those statements are sent unprepared (psycopg prepares nothing while its
connection's prepare_threshold is None): PostgreSQL plans an unnamed statement for the
values it comes with, every time. Other lists whose rows depend much on a value (one
person's calls, one business's) measured the same either way (README, the benchmark).

`choose_plans` is installed on each new PostgreSQL connection (receptionist.apps). It
lets the statement through the other wrappers as it is: only whether psycopg prepares it
changes.
"""

import re

# What makes a statement's best plan depend on its values: a full-text match or rank, a
# LIKE pattern, a caller's rows.
_PLANNED_EACH_TIME = re.compile(
    r'@@|ts_rank|\bLIKE\b|"caller_id" = %s|"caller_id" IN \(|caller_id"? = ANY',
    re.IGNORECASE,
)


def planned_each_time(sql: str) -> bool:
    """Whether `sql` is planned for its values each time it runs (never prepared)."""
    return _PLANNED_EACH_TIME.search(sql) is not None


def choose_plans(execute, sql, params, many, context):
    """An execute wrapper (Django's connection.execute_wrappers): a statement whose plan
    depends on its values goes unprepared (psycopg prepares nothing while the connection's
    prepare_threshold is None); any other as psycopg decides."""
    if many or params is None or not planned_each_time(sql):
        return execute(sql, params, many, context)
    driver = context["connection"].connection
    kept = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        return execute(sql, params, many, context)
    finally:
        driver.prepare_threshold = kept


def install(sender, connection, **kwargs):
    """connection_created's receiver: PostgreSQL connections get choose_plans."""
    if connection.vendor == "postgresql" and choose_plans not in connection.execute_wrappers:
        connection.execute_wrappers.append(choose_plans)
