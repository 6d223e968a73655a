"""Request body parsing for the APIs."""

import io
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
# Only an escape makes one (UTF-8 cannot encode a surrogate): a body without a surrogate
# escape needs no look at its strings.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def too_deep(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a parsed JSON value nests lists and objects more than `limit` levels deep.

    Iterative, so it never recurses itself; it visits the lists and objects only, a level at
    a time (a batch of a thousand messages is four levels of a few thousand containers).
    """
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below = []
        for item in level:
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, dict | list):
                    below.append(child)
        level = below
    return False


def _has_lone_surrogate(value) -> bool:
    """Whether any string of a parsed JSON value, key or value, holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with absurdly nested documents and lone surrogates a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            data, deep = None, True
        else:
            deep = too_deep(data)
        if deep:
            raise exceptions.ParseError(
                f"JSON parse error - nested too deeply (at most {MAX_JSON_DEPTH} levels)."
            )
        if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(data):
            raise exceptions.ParseError(
                "JSON parse error - a string holds a lone UTF-16 surrogate (an escape such as "
                "\\ud800 without its pair); send the character itself or its full pair."
            )
        return data
