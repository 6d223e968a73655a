"""Request body parsing for the APIs."""

import re

from rest_framework import exceptions, parsers

# Deeper documents are refused when parsed. Python's json parser stops near its recursion
# limit, but a document just under it still reaches every later step that recurses (the
# JSON field's encoder, the renderer, a worker with a deeper stack) and fails there as a 500.
# No message, profile or metadata of a real app nests anywhere near this.
MAX_JSON_DEPTH = 64
# JSON can escape half of a UTF-16 surrogate pair ("\ud800"); Python keeps it as a lone
# surrogate, which no UTF-8 encoder (PostgreSQL's driver, a provider's payload) accepts.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def too_deep(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a parsed JSON value nests lists and objects more than `limit` levels deep."""
    return _problem(value, limit) == "too_deep"


def _problem(value, limit: int = MAX_JSON_DEPTH) -> str:
    """ "too_deep", "lone_surrogate" or "" for a parsed JSON value.

    Iterative, so it never recurses itself; a string costs a look at it only when it is not
    plain ASCII.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _LONE_SURROGATE.search(item):
                return "lone_surrogate"
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return "too_deep"
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        else:
            stack.extend((child, depth + 1) for child in item)
    return ""


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with absurdly nested documents and lone surrogates a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data, problem = None, "too_deep"
        else:
            problem = _problem(data)
        if problem == "too_deep":
            raise exceptions.ParseError(
                f"JSON parse error - nested too deeply (at most {MAX_JSON_DEPTH} levels)."
            )
        if problem:
            raise exceptions.ParseError(
                "JSON parse error - a string holds a lone UTF-16 surrogate (an escape such as "
                "\\ud800 without its pair); send the character itself or its full pair."
            )
        return data
