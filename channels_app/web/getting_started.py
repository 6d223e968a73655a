"""The getting-started part of a space's overview: first steps, credential health, SDK setup."""

from ..onboarding import credential_states, getting_started


def section(*, space, membership) -> dict:
    """The overview section's data (registered with portal.extensions)."""
    steps = getting_started(space=space)
    return {
        "steps": steps,
        "done": sum(step.done for step in steps),
        "all_done": all(step.done for step in steps),
        "credentials": credential_states(space=space),
    }


def install() -> None:
    """Put the section on every space's overview."""
    from portal import extensions

    extensions.add_overview_section(
        template="channels_app/_overview_getting_started.html", context=section
    )
