"""The one way the channels' portal pages render inside a space's page shell."""

from django.shortcuts import render


def space_page(request, membership, template: str, menu: str, **context):
    """Render `template` with the space, the caller's membership and the current menu entry."""
    return render(
        request,
        template,
        {"space": membership.space, "membership": membership, "menu": menu, **context},
    )


def filter_params(request, names) -> dict:
    """The request's non-empty GET values among `names` (the filters a page keeps in its links)."""
    return {name: request.GET[name].strip() for name in names if request.GET.get(name, "").strip()}
