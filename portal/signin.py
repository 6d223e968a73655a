"""Sign-in lockout: what a locked-out person sees once django-axes has stopped their attempts."""

import math

from django.conf import settings
from django.shortcuts import render


def lockout_seconds() -> int:
    """How long a locked-out username and IP wait, in whole seconds (the cool-off time)."""
    return math.ceil(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request, original_response=None, credentials=None):
    """429 with Retry-After and a page that says why and for how long (axes' lockout callable).

    The page never says whether the username exists: the lockout counts failures for any name.
    """
    seconds = lockout_seconds()
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": math.ceil(seconds / 60)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response
