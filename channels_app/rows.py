"""Writing many rows at once with one parameterized statement sent through executemany.

Django's bulk_create and bulk_update compile one statement per batch holding a placeholder
(or a CASE branch) per value; for sends of thousands of rows that compilation costs more
than the database. Only quoted names from the model go into the SQL; every value is a
parameter prepared by its field, exactly as save() would prepare it.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def insert(objs: Sequence[Model]) -> None:
    """INSERT new rows whose primary keys are already set (UUIDs); no signals are sent."""
    if not objs:
        return
    meta = objs[0]._meta
    fields = meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    rows = [
        [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields] for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


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
    fields = [meta.get_field(name) for name in field_names]
    conditions = [(meta.get_field(name), value) for name, value in where.items()]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    matches = " AND ".join(
        [f"{quote(meta.pk.column)} = %s"] + [f"{quote(f.column)} = %s" for f, _ in conditions]
    )
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {matches}"  # noqa: S608
    extra = [f.get_db_prep_value(value, connection) for f, value in conditions]
    rows = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
        + [meta.pk.get_db_prep_value(obj.pk, connection), *extra]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
