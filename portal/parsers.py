"""Request body parsing for the APIs."""

from rest_framework import exceptions, parsers

# Deeper documents are refused when parsed. Python's json parser stops near its recursion
# limit, but a document just under it still reaches every later step that recurses (the
# JSON field's encoder, the renderer, a worker with a deeper stack) and fails there as a 500.
# No message, profile or metadata of a real app nests anywhere near this.
MAX_JSON_DEPTH = 64


def too_deep(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a parsed JSON value nests lists and objects more than `limit` levels deep.

    Iterative, so it never recurses itself, and it visits containers only.
    """
    if not isinstance(value, dict | list):
        return False
    stack = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > limit:
            return True
        children = container.values() if isinstance(container, dict) else container
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with absurdly nested documents a 400 rather than a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
            deep = True
        else:
            deep = too_deep(data)
        if deep:
            raise exceptions.ParseError(
                f"JSON parse error - nested too deeply (at most {MAX_JSON_DEPTH} levels)."
            )
        return data
