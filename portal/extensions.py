"""Space pages and overview sections that apps built on portal add, without portal importing them.

Imports point portal <- sessions_app <- channels_app, so the portal cannot name the pages of
the apps above it. Those apps register them here from their AppConfig.ready():
`add_menu_entry(label=..., url_name=..., menu=...)` puts a link in every space page's menu, and
`add_overview_section(template=..., context=...)` renders a template on the space's overview
with what `context(space=..., membership=...)` returns.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class MenuEntry:
    label: str
    url_name: str
    # The `menu` value the entry's pages render with, which marks the entry as current.
    menu: str


@dataclass(frozen=True)
class OverviewSection:
    template: str
    context: Callable[..., dict]


_menu: dict[str, MenuEntry] = {}
_overview: dict[str, OverviewSection] = {}


def add_menu_entry(*, label: str, url_name: str, menu: str) -> None:
    """Link a page taking `space_id` from every space's menu (after the built-in entries)."""
    # Keyed by the URL name, so a second ready() (tests, autoreload) does not add it twice.
    _menu[url_name] = MenuEntry(label=label, url_name=url_name, menu=menu)


def add_overview_section(*, template: str, context: Callable[..., dict]) -> None:
    """Render `template` on every space's overview with `context(space=, membership=)`."""
    _overview[template] = OverviewSection(template=template, context=context)


def menu_links(*, space_id) -> list[dict]:
    """The registered entries as {label, url, menu} for this space, in registration order."""
    return [
        {
            "label": entry.label,
            "url": reverse(entry.url_name, kwargs={"space_id": space_id}),
            "menu": entry.menu,
        }
        for entry in _menu.values()
    ]


def overview_sections(*, space, membership) -> list[dict]:
    """The registered sections as {template, data} for this space's overview."""
    return [
        {"template": section.template, "data": section.context(space=space, membership=membership)}
        for section in _overview.values()
    ]
