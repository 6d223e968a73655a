"""check_credentials: one line per credential that needs a person, non-zero exit if any."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.factories import (
    ApiSpaceFactory,
    ApnsCertificateCredentialFactory,
    ApnsTokenCredentialFactory,
    FcmCredentialFactory,
)

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("check_credentials", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def certificate(days: float, name: str = "Acme"):
    return ApnsCertificateCredentialFactory(
        space=ApiSpaceFactory(name=name), not_after=timezone.now() + dt.timedelta(days=days)
    )


def test_it_says_all_is_well_and_exits_zero():
    certificate(days=200)
    FcmCredentialFactory()
    ApnsTokenCredentialFactory()
    out, error = run()
    assert error is None
    assert out.strip() == "all credentials OK"


def test_it_lists_an_expiring_certificate_with_its_space_and_fails():
    credential = certificate(days=10)
    out, error = run()
    assert error is not None
    assert error.returncode == 1
    assert out.count("\n") == 1
    assert f"Acme ({credential.space_id})" in out
    assert f"certificate expires on {credential.not_after:%Y-%m-%d}" in out


def test_it_lists_an_expired_certificate():
    credential = certificate(days=-3, name="Old")
    out, error = run()
    assert error is not None
    assert f"Old ({credential.space_id}): APNs Certificate (.p12): certificate expired on" in out


def test_days_widens_and_narrows_the_window():
    certificate(days=45)
    assert run()[1] is None
    out, error = run("--days", "60")
    assert error is not None
    assert "expires on" in out
    certificate(days=3, name="Soon")
    out, error = run("--days", "1")
    assert error is None


def test_it_lists_credentials_marked_needs_attention():
    fcm = FcmCredentialFactory(space=ApiSpaceFactory(name="Droid"))
    fcm.mark_needs_attention("401 UNAUTHENTICATED")
    token = ApnsTokenCredentialFactory(space=ApiSpaceFactory(name="Pear"))
    token.mark_needs_attention("403 InvalidProviderToken")
    out, error = run()
    assert error is not None
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert f"Droid ({fcm.space_id}): FCM: needs attention: 401 UNAUTHENTICATED" in lines
    assert (
        f"Pear ({token.space_id}): APNs Token (.p8): needs attention: 403 InvalidProviderToken"
        in lines
    )


def test_it_refuses_negative_days():
    _, error = run("--days", "-1")
    assert "cannot be negative" in str(error)
