"""Query strings as the SDK writes them: concatenated raw, never form-encoded.

Django's QueryDict turns '+' into a space, so a profile id such as `a+b@x.com` (or a session
token holding a '+') would arrive changed; these values are only percent-decoded.
"""

from urllib.parse import unquote


def parse_raw(query_string: str) -> dict[str, list[str]]:
    """Every value of every key, in order, percent-decoded but with '+' kept."""
    values: dict[str, list[str]] = {}
    for pair in query_string.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        values.setdefault(unquote(key), []).append(unquote(value))
    return values


def raw_query(request) -> dict[str, list[str]]:
    """The request's query string parsed by parse_raw."""
    return parse_raw(request.META.get("QUERY_STRING", ""))


def first(values: dict[str, list[str]], key: str) -> str | None:
    """The first value of a key, or None."""
    found = values.get(key)
    return found[0] if found else None
