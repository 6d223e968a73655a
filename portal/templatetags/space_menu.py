"""The menu entries other apps add to a space's pages (see portal.extensions)."""

from django import template

from portal import extensions

register = template.Library()


@register.simple_tag
def space_menu_links(space):
    """[{label, url, menu}] of the registered entries for this space."""
    return extensions.menu_links(space_id=space.id)
