"""Playwright drives Debian's Chromium (never a browser build of Playwright's own).

pytest-playwright starts Playwright once per session, and Playwright's sync API then keeps an
event loop marked running in the main thread until the session ends; Django's ORM takes that for
an async context and refuses to run. So the browser tests run last, after the database is set
up, and allow the ORM beside the loop while they run.
"""

from pathlib import Path

import pytest

from tests.services import chromium_binary

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, with the system Chromium; skips without it."""
    return {
        **browser_type_launch_args,
        "executable_path": chromium_binary(),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Move this folder's tests after every other test of the session."""
    inside = [item for item in items if HERE in Path(item.path).parents]
    if inside:
        items[:] = [item for item in items if HERE not in Path(item.path).parents] + inside


@pytest.fixture(scope="module", autouse=True)
def sync_orm_beside_playwright(django_db_setup):
    """The test database exists before Playwright starts; the tests' own queries, and the
    database fixtures' set-up and teardown around each test, are plain synchronous code."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield
