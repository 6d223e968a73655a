"""Writing many rows at once: INSERT ... VALUES and UPDATE ... FROM (VALUES ...) statements,
on SQLite of up to MOST_ROWS rows each.

Django's bulk_create and bulk_update compile a statement holding a placeholder (or a CASE
branch) per value through the ORM; for sends of thousands of rows that compilation costs
more than the database. Here the SQL is joined from strings once per statement. On SQLite
not executemany either: Python's sqlite3 gives up the GIL around every row it steps, and
with the provider loop and other requests busy in the same process each row then waited for
the GIL to come back (1,000 rows: 1.5 ms alone, 140-600 ms beside one busy thread, measured)
while the transaction held SQLite's only write lock. On PostgreSQL a statement takes its
rows as one array per column (unnest), in binary (psycopg dumps a text array 5 to 10 times
slower), JSON values as their text: one statement whatever the number of rows, where each
row executed on its own cost the server 75 us (a message's insert) and 140 us (an update of
a delivery's result) against 15 and 20.

Only quoted names from the model go into the SQL; every value is a parameter prepared by
its field, exactly as save() would prepare it.
"""

import json
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import attrgetter, is_, itemgetter
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Field, Model
from django.utils import timezone

_MISSING = object()


# Fields that store a str exactly as given (their subclasses, an encrypted field say, may not).
_TEXT_AS_IS = (models.CharField, models.TextField)


def _preparer(field: Field, connection) -> Callable[[list], list]:
    """field.get_db_prep_save over a column (a statement's values of the field, one per row).

    Rows of one send repeat most values (a status, a timestamp, None, the same small JSON
    object), and preparing a datetime or a JSON value costs more than a look-up: a value
    every row shares (one object) is prepared once, others are remembered by _key(). A str
    for a plain text field is its own prepared value. A JSON value bound for PostgreSQL's
    arrays is its text (see _columns).
    """
    prepare = field.get_db_prep_save
    if _as_text(field, connection):
        adapt = prepare

        def prepare(value, connection):
            adapted = adapt(value, connection)  # None (SQL NULL), or psycopg's JSON wrapper
            return None if adapted is None else (adapted.dumps or json.dumps)(adapted.obj)

    text_as_is = type(field) in _TEXT_AS_IS
    known: dict = {}

    def one(value):
        key = _key(value)
        if key is None:
            return prepare(value, connection)
        result = known.get(key, _MISSING)
        if result is _MISSING:
            known[key] = result = prepare(value, connection)
        return result

    def column(values: list) -> list:
        first = values[0]
        if all(map(is_, values, repeat(first))):
            return [one(first)] * len(values)
        if text_as_is and {*map(type, values)} == _JUST_STR:
            return values
        return list(map(one, values))

    return column


_JUST_STR = {str}


def _key(value):
    """What tells a value apart for preparing it, or None when it is not worth remembering.

    The classes are part of it: 1, 1.0 and True are equal in Python and three values in
    JSON (and in a flat object, list or tuple, so are its items'). A UUID is a row's own; a nested
    object or list is not hashable, and prepared every time.
    """
    kind = value.__class__
    if (kind is dict or kind is list or kind is tuple) and not value:
        return kind  # {} or [], the most common of all
    if kind is dict:
        classes = (*map(type, value), *map(type, value.values()))
        key = (kind, tuple(value.items()), classes)
    elif kind is list or kind is tuple:
        key = (kind, tuple(value), tuple(map(type, value)))
    elif kind is uuid.UUID:
        return None
    else:
        key = (kind, value)
    try:
        hash(key)
    except TypeError:
        return None
    return key


class _Same:
    """The value of a field in every row of a statement: prepared once, not per row."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


@dataclass
class Statement:
    """A write prepared in full before its transaction: inside, only the database works.

    Preparing thousands of values holds the GIL for milliseconds; done inside a transaction,
    that time (and every wait for the GIL) would hold SQLite's only write lock too. It runs
    once: running lets go of its rows, which a send would otherwise hold while it sends.
    """

    head: str
    foot: str
    # The values, prepared: one list per column, a value per row.
    columns: list[list]
    extra: tuple = ()
    # PostgreSQL's form of the whole statement: the rows as one array per column (_columns).
    arrays: str = ""

    def run(self) -> None:
        """Run it: on SQLite as statements of at most MOST_ROWS rows (see _sizes), on
        PostgreSQL as one statement over column arrays."""
        columns, self.columns = self.columns, []
        if not columns or not columns[0]:
            return
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor == "sqlite":
            self._run_on_sqlite(connection, columns)
            return
        with connection.cursor() as cursor:
            cursor.execute(self.arrays, [*columns, *self.extra])

    def _run_on_sqlite(self, connection, columns: list[list]) -> None:
        # sqlite3's own cursor, with its own "?" placeholders: Django's cursor would rewrite
        # every "%s" of each statement's text by regular expression (280 us for 64 rows).
        # Errors still reach callers as Django's (an IntegrityError is how a taken
        # Idempotency-Key shows).
        head, foot = (part.replace("%s", "?") for part in (self.head, self.foot))
        width = len(columns)
        most = min(MOST_ROWS, max(1, (_max_params(connection) - len(self.extra)) // width))
        row = "(" + ", ".join(["?"] * width) + ")"
        start = 0
        with connection.wrap_database_errors:
            cursor = connection.connection.cursor()
            try:
                for size in _sizes(len(columns[0]), most):
                    end = start + size
                    part = zip(*[column[start:end] for column in columns], strict=True)
                    params = list(chain.from_iterable(part))
                    start = end
                    values = ", ".join([row] * size)
                    cursor.execute(head + values + foot, [*params, *self.extra])
            finally:
                cursor.close()


# Rows per statement. SQLite compiles a statement of hundreds of rows to a program of
# hundreds of kilobytes and keeps compiled statements by text, per connection: a few small
# fixed sizes bound both (at 1,000 rows per statement the bench's servers grew 15 MB each).
MOST_ROWS = 64


def _sizes(n: int, most: int):
    """Statement sizes adding up to n: as many of `most` as fit, then powers of two."""
    while n >= most:
        yield most
        n -= most
    size = 1 << (most.bit_length() - 1)
    while n:
        if n >= size:
            yield size
            n -= size
        size >>= 1


def _max_params(connection) -> int:
    """How many parameters one SQLite statement may hold."""
    # Django assumes SQLite's old default of 999; the library in use says its own.
    connection.ensure_connection()
    return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def inserting(objs: Sequence[Model]) -> Statement:
    """INSERT new model instances whose primary keys are already set (UUIDs); no signals.

    Preparing it stamps the instances' auto_now(_add) fields.
    """
    if not objs:
        return Statement("", "", [])
    model = type(objs[0])
    now = timezone.now()
    stamped = _stamped(model)
    for f in stamped:
        for obj in objs:
            setattr(obj, f.attname, now)
    getters = {
        f: _Same(now) if f in stamped else attrgetter(f.attname)
        for f in model._meta.concrete_fields
    }
    return _inserting(model, objs, getters)


def inserting_values(
    model: type[Model], rows: Sequence[Mapping[str, Any]], *, skip_conflicts: bool = False
) -> Statement:
    """INSERT rows given as {attname: value}, all with the first row's keys; no model instances.

    A field the rows leave out takes its default (a callable one, such as uuid4, is called
    per row; an auto-incremented key the database's), and auto_now(_add) fields one
    timestamp for the statement. `skip_conflicts`: a row a unique constraint already holds
    is left out instead of failing the statement.
    """
    if not rows:
        return Statement("", "", [])
    given = rows[0].keys()
    stamped = _stamped(model)
    now = timezone.now()
    getters = {}
    for f in model._meta.concrete_fields:
        if isinstance(f, models.AutoField) and f.attname not in given:
            continue
        if f in stamped:
            getters[f] = _Same(now)
        elif f.attname in given:
            getters[f] = itemgetter(f.attname)
        elif f.has_default() and callable(f.default) and f.default not in (dict, list):
            getters[f] = lambda row, f=f: f.get_default()
        else:
            # No default, a constant, or an empty dict or list: the same in every row.
            getters[f] = _Same(f.get_default())
    return _inserting(model, rows, getters, " ON CONFLICT DO NOTHING" if skip_conflicts else "")


def _stamped(model: type[Model]) -> list[Field]:
    return [
        f
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]


def _inserting(
    model: type[Model], rows: Sequence, getters: dict[Field, Any], foot: str = ""
) -> Statement:
    """INSERT every row; `getters` read each field's value of a row; `foot` ends it.

    A getter is a function of the row, or _Same for a value every row shares.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    fields = list(getters)
    n = len(rows)
    columns = [
        [_preparer(f, connection)([get.value])[0]] * n
        if isinstance(get := getters[f], _Same)
        else _preparer(f, connection)(list(map(get, rows)))
        for f in fields
    ]
    names = ", ".join(quote(f.column) for f in fields)
    insert = f"INSERT INTO {quote(model._meta.db_table)} ({names}) "
    arrays = _columns(fields, connection)
    typed = ", ".join(_typed(f, f"v.column{i}", connection) for i, f in enumerate(fields, 1))
    aliases = ", ".join(f"column{i}" for i in range(1, len(fields) + 1))
    return Statement(
        insert + "VALUES ",
        foot,
        columns,
        arrays=arrays and f"{insert}SELECT {typed} FROM {arrays} AS v({aliases}){foot}",  # noqa: S608
    )


def updating(
    objs: Sequence, field_names: Sequence[str], *, where: dict, model: type[Model] | None = None
) -> Statement:
    """UPDATE the named fields of each row by primary key, only where the `where` fields match.

    The objects are model instances, or any objects with `pk` and those fields when `model`
    names the table.
    """
    if not objs:
        return Statement("", "", [])
    meta = (model or objs[0])._meta
    connection = connections[DEFAULT_DB_ALIAS]
    fields = [meta.get_field(name) for name in field_names]
    conditions = [(meta.get_field(name), value) for name, value in where.items()]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    # The VALUES list's columns are column1 (the key), column2... in every database.
    assignments = ", ".join(
        f"{quote(f.column)} = {_typed(f, f'v.column{i}', connection)}"
        for i, f in enumerate(fields, start=2)
    )
    matches = " AND ".join(
        [f"{table}.{quote(meta.pk.column)} = {_typed(meta.pk, 'v.column1', connection)}"]
        + [f"{table}.{quote(f.column)} = %s" for f, _ in conditions]
    )
    columns = [
        _preparer(f, connection)(list(map(attrgetter(name), objs)))
        for f, name in [(meta.pk, "pk"), *((f, f.attname) for f in fields)]
    ]
    arrays = _columns([meta.pk, *fields], connection)
    names = ", ".join(f"column{i}" for i in range(1, len(fields) + 2))
    return Statement(
        f"UPDATE {table} SET {assignments} FROM (VALUES ",  # noqa: S608
        f") AS v WHERE {matches}",
        columns,
        tuple(f.get_db_prep_value(value, connection) for f, value in conditions),
        arrays=arrays
        and f"UPDATE {table} SET {assignments} FROM {arrays} AS v({names}) "  # noqa: S608
        f"WHERE {matches}",
    )


def _columns(fields: Sequence[Field], connection) -> str:
    """On PostgreSQL, unnest() of one array parameter per field, each typed as its column
    (JSON as text, which the statement casts); "" elsewhere."""
    if connection.vendor != "postgresql":
        return ""
    types = ["text" if _as_text(f, connection) else f.cast_db_type(connection) for f in fields]
    return "unnest(" + ", ".join(f"%b::{kind}[]" for kind in types) + ")"


def _as_text(field: Field, connection) -> bool:
    """Whether the field's values go to PostgreSQL's arrays as JSON text: psycopg dumps an
    array of its JSON objects one by one in Python, of text in C."""
    return connection.vendor == "postgresql" and isinstance(field, models.JSONField)


def _typed(field: Field, expression: str, connection) -> str:
    """A column of the rows as the field's type: on PostgreSQL, where JSON comes as text
    (see _columns); SQLite keeps each value as it was bound."""
    if connection.vendor == "sqlite":
        return expression
    return f"CAST({expression} AS {field.cast_db_type(connection)})"


def adding_counts(
    model: type[Model], rows: Mapping[tuple, int], *, key: Sequence[str]
) -> Statement:
    """Add each count to its row's `count`, creating rows that do not exist yet.

    `rows` maps a tuple of values of the `key` fields (the model's unique constraint) to the
    amount to add. INSERT ... ON CONFLICT DO UPDATE, so concurrent writers never lose one.
    """
    if not rows:
        return Statement("", "", [])
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    meta = model._meta
    fields = [meta.get_field(name) for name in (*key, "count")]
    table_rows = [(*values, amount) for values, amount in rows.items()]
    if any(len(row) != len(fields) for row in table_rows):
        raise ValueError(f"every key of the rows holds a value of each of {tuple(key)}")
    getters = {f: itemgetter(i) for i, f in enumerate(fields)}
    table, count = quote(meta.db_table), quote(fields[-1].column)
    columns = ", ".join(quote(f.column) for f in fields[:-1])
    foot = f" ON CONFLICT ({columns}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}"
    return _inserting(model, table_rows, getters, foot)
