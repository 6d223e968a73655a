"""Portal pages of a space's push data: devices, profiles, messages, the overview chart.

`install_portal_hooks()` (called from the app's ready()) adds the pages to every space's menu
and the chart and device counts to the overview, through portal.extensions.
"""


def install_portal_hooks() -> None:
    """Register the menu entries and the overview section with the portal."""
    from portal import extensions

    from . import overview

    extensions.add_menu_entry(label="Devices", url_name="space-devices", menu="devices")
    extensions.add_menu_entry(label="Profiles", url_name="space-profiles", menu="profiles")
    extensions.add_menu_entry(label="Messages", url_name="space-messages", menu="messages")
    extensions.add_menu_entry(label="Webhooks", url_name="space-webhooks", menu="webhooks")
    extensions.add_overview_section(
        template="channels_app/_overview_activity.html", context=overview.activity
    )
