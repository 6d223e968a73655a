"""What a process loads at start-up is left out of the garbage collector's later work."""

import gc

from portal import collector


def test_the_loaded_apps_are_frozen_out_of_collections():
    # Django set up this process (pytest-django): the apps' ready() settled the collector.
    assert gc.get_freeze_count() > 50_000


def test_start_up_garbage_is_collected_before_the_rest_is_frozen(monkeypatch):
    calls = []
    monkeypatch.setattr(gc, "collect", lambda: calls.append("collect"))
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))

    collector.settle()

    # Garbage frozen would never be freed: it goes first.
    assert calls == ["collect", "freeze"]
