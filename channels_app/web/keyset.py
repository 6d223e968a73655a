"""Keyset pagination: a page of a long list continues from the last row shown, never by OFFSET.

The cursor carries the ordering values of a boundary row, so the database seeks to it through
an index whatever the depth; no page counts the rows of the list. Links go to the next (older)
page, the previous (newer) one, the first and the last.
"""

import base64
import json
from dataclasses import dataclass

from django.core.exceptions import BadRequest, ValidationError
from django.db.models import Q

PAGE_SIZE = 50


class BadCursor(BadRequest):
    """A cursor that does not decode to the list's ordering values (answered 400)."""


@dataclass(frozen=True)
class Page:
    rows: list
    has_next: bool
    has_previous: bool
    next_cursor: str
    previous_cursor: str


def _encode(row, fields) -> str:
    values = [str(getattr(row, name)) for name in fields]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(cursor: str, model, fields) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(fields):
            raise BadCursor(cursor)
        return [
            model._meta.get_field(name).to_python(value)
            for name, value in zip(fields, values, strict=True)
        ]
    except (ValueError, TypeError, ValidationError) as exc:
        # to_python raises ValidationError for a bad date or UUID; b64 and JSON raise ValueError.
        raise BadCursor(cursor) from exc


def _beyond(fields, values, *, older: bool) -> Q:
    """Rows after (older=True: below) the boundary in the order of `fields`, all descending.

    The first field's non-strict bound is repeated outside the OR so the database uses it as an
    index range instead of filtering every row it walks past.
    """
    op = "lt" if older else "gt"
    weak = "lte" if older else "gte"
    either = Q()
    equal = {}
    for name, value in zip(fields, values, strict=True):
        either |= Q(**equal, **{f"{name}__{op}": value})
        equal[name] = value
    return Q(**{f"{fields[0]}__{weak}": values[0]}) & either


def paginate(
    queryset, *, fields=("created_at", "id"), params=None, size: int | None = None
) -> Page:
    """One page of `queryset` ordered by `fields` descending, as the request's params ask.

    params: `after` (a cursor: the rows below it), `before` (the rows above it) or `last`
    (the oldest page); none of them: the newest page. A bad cursor raises BadCursor.
    """
    params = params or {}
    size = size or PAGE_SIZE
    fields = list(fields)
    newest_first = [f"-{name}" for name in fields]
    oldest_first = list(fields)
    model = queryset.model
    if params.get("after"):
        values = _decode(params["after"], model, fields)
        rows = list(
            queryset.filter(_beyond(fields, values, older=True)).order_by(*newest_first)[: size + 1]
        )
        has_next, has_previous = len(rows) > size, True
        rows = rows[:size]
    elif params.get("before"):
        values = _decode(params["before"], model, fields)
        rows = list(
            queryset.filter(_beyond(fields, values, older=False)).order_by(*oldest_first)[
                : size + 1
            ]
        )
        has_next, has_previous = True, len(rows) > size
        rows = rows[:size][::-1]
    elif params.get("last"):
        rows = list(queryset.order_by(*oldest_first)[: size + 1])
        has_next, has_previous = False, len(rows) > size
        rows = rows[:size][::-1]
    else:
        rows = list(queryset.order_by(*newest_first)[: size + 1])
        has_next, has_previous = len(rows) > size, False
        rows = rows[:size]
    return Page(
        rows=rows,
        has_next=has_next and bool(rows),
        has_previous=has_previous and bool(rows),
        next_cursor=_encode(rows[-1], fields) if rows else "",
        previous_cursor=_encode(rows[0], fields) if rows else "",
    )
