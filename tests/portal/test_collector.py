"""What a process loads at start-up is left out of the garbage collector's later work, and
what an API request made is freed with its answer."""

import gc
import weakref

import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import collector


def test_the_loaded_apps_are_frozen_out_of_collections():
    # Django set up this process (pytest-django): the apps' ready() settled the collector.
    assert gc.get_freeze_count() > 50_000
    assert gc.get_threshold()[0] == collector.YOUNG


def test_start_up_garbage_is_collected_before_the_rest_is_frozen(monkeypatch):
    calls = []
    monkeypatch.setattr(gc, "collect", lambda: calls.append("collect"))
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))

    collector.settle()

    # Garbage frozen would never be freed: it goes first.
    assert calls == ["collect", "freeze"]


requests = []


class EchoView(APIView):
    authentication_classes = ()
    permission_classes = ()

    def post(self, request):
        requests.append(weakref.ref(request))
        return Response({"items": len(request.data)})


urlpatterns = [path("echo", EchoView.as_view())]


@pytest.mark.urls(__name__)
def test_an_api_request_leaves_no_cycle_for_the_collector(client):
    gc.collect()
    gc.disable()
    try:
        response = client.post("/echo", [{"a": 1}] * 3, content_type="application/json")
        assert response.json() == {"items": 3}
        del response
        # Reference counting alone freed the view, its request and what it parsed.
        assert requests.pop()() is None
    finally:
        gc.enable()
