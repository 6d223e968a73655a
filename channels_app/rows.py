"""Writing many rows at once with one parameterized statement sent through executemany.

Django's bulk_create and bulk_update compile one statement per batch holding a placeholder
(or a CASE branch) per value; for sends of thousands of rows that compilation costs more
than the database. Only quoted names from the model go into the SQL; every value is a
parameter prepared by its field, exactly as save() would prepare it.
"""

from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model
from django.utils import timezone

_MISSING = object()


def _preparer(field: Field, connection) -> Callable:
    """field.get_db_prep_save for one statement, remembering the result per value.

    Rows of one send repeat most values (a status, a timestamp, None, an empty JSON
    object), and preparing a datetime or a JSON value costs more than a look-up.
    """
    prepare = field.get_db_prep_save
    known: dict = {}

    def prepared(value):
        if isinstance(value, (dict, list)):
            if value:  # unhashable; only the empty ones repeat often enough to remember
                return prepare(value, connection)
            key = value.__class__
        else:
            key = (value.__class__, value)
        result = known.get(key, _MISSING)
        if result is _MISSING:
            known[key] = result = prepare(value, connection)
        return result

    return prepared


class _Same:
    """The value of a field in every row of a statement: prepared once, not per row."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def insert(objs: Sequence[Model]) -> None:
    """INSERT new model instances whose primary keys are already set (UUIDs); no signals."""
    if not objs:
        return
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
    _insert(model, objs, getters)


def insert_values(model: type[Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT rows given as {attname: value}, all with the first row's keys; no model instances.

    A field the rows leave out takes its default (a callable one, such as uuid4, is called
    per row), and auto_now(_add) fields one timestamp for the statement.
    """
    if not rows:
        return
    given = rows[0].keys()
    stamped = _stamped(model)
    now = timezone.now()
    getters = {}
    for f in model._meta.concrete_fields:
        if f in stamped:
            getters[f] = _Same(now)
        elif f.attname in given:
            getters[f] = itemgetter(f.attname)
        elif f.has_default() and callable(f.default) and f.default not in (dict, list):
            getters[f] = lambda row, f=f: f.get_default()
        else:
            # No default, a constant, or an empty dict or list: the same in every row.
            getters[f] = _Same(f.get_default())
    _insert(model, rows, getters)


def _stamped(model: type[Model]) -> list[Field]:
    return [
        f
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]


def _insert(model: type[Model], rows: Sequence, getters: dict[Field, Any]) -> None:
    """One INSERT statement run for every row; `getters` read each field's value of a row.

    A getter is a function of the row, or _Same for a value every row shares.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    # The shared values go last, so each row's parameters are its own values plus one tail.
    shared = [f for f, get in getters.items() if isinstance(get, _Same)]
    own = [f for f in getters if f not in shared]
    fields = own + shared
    readers = [(getters[f], _preparer(f, connection)) for f in own]
    tail = [f.get_db_prep_save(getters[f].value, connection) for f in shared]
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    params = [[prepare(get(row)) for get, prepare in readers] + tail for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def update(
    objs: Sequence, field_names: Sequence[str], *, where: dict, model: type[Model] | None = None
) -> None:
    """UPDATE the named fields of each row by primary key, only where the `where` fields match.

    The objects are model instances, or any objects with `pk` and those fields when `model`
    names the table.
    """
    if not objs:
        return
    meta = (model or objs[0])._meta
    connection = connections[DEFAULT_DB_ALIAS]
    fields = [meta.get_field(name) for name in field_names]
    conditions = [(meta.get_field(name), value) for name, value in where.items()]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    matches = " AND ".join(
        [f"{quote(meta.pk.column)} = %s"] + [f"{quote(f.column)} = %s" for f, _ in conditions]
    )
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {matches}"  # noqa: S608
    extra = [f.get_db_prep_value(value, connection) for f, value in conditions]
    columns_of = [(f.attname, _preparer(f, connection)) for f in fields]
    pk = meta.pk.get_db_prep_value
    rows = [
        [prepare(getattr(obj, name)) for name, prepare in columns_of]
        + [pk(obj.pk, connection), *extra]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def add_counts(model: type[Model], rows: Mapping[tuple, int], *, key: Sequence[str]) -> None:
    """Add each count to its row's `count`, creating rows that do not exist yet.

    `rows` maps a tuple of values of the `key` fields (the model's unique constraint) to the
    amount to add. One INSERT ... ON CONFLICT DO UPDATE, so concurrent writers never lose one.
    """
    if not rows:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [meta.get_field(name) for name in key]
    count = quote(meta.get_field("count").column)
    table = quote(meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * (len(fields) + 1))
    sql = (
        f"INSERT INTO {table} ({columns}, {count}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({columns}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}"
    )
    params = [
        [f.get_db_prep_save(value, connection) for f, value in zip(fields, values, strict=True)]
        + [amount]
        for values, amount in rows.items()
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
