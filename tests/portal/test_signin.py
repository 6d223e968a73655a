"""Sign-in throttling: a username from one IP is locked out after a few wrong passwords."""

import datetime as dt

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def sign_in(client, url, username, password, ip="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def person(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_wrong_passwords_answer_429_with_retry_after(person, url_name, settings):
    client = Client()
    url = reverse(url_name)
    wrong = [sign_in(client, url, person.username, "nope").status_code for _ in range(2)]

    locked = sign_in(client, url, person.username, "nope")

    assert wrong == [200, 200]
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "Too many sign-in attempts" in locked.content.decode()
    # Locked out means the right password does not help either, until the cool-off ends.
    assert sign_in(client, url, person.username, PASSWORD).status_code == 429
    assert client.get(reverse("space-list")).status_code == 302


@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_lockout_is_per_username_and_ip(person):
    client = Client()
    url = reverse("login")
    for _ in range(2):
        sign_in(client, url, person.username, "nope")

    assert sign_in(client, url, person.username, PASSWORD).status_code == 429
    # The same person from another network, and another name from the same one, still sign in.
    assert sign_in(Client(), url, person.username, PASSWORD, ip="10.0.0.2").status_code == 302
    other = UserFactory()
    assert sign_in(Client(), url, other.username, PASSWORD).status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_successful_sign_in_resets_the_count(person):
    client = Client()
    url = reverse("login")
    for _ in range(2):
        sign_in(client, url, person.username, "nope")
    assert sign_in(client, url, person.username, PASSWORD).status_code == 302
    client.post(reverse("logout"))

    statuses = [sign_in(client, url, person.username, "nope").status_code for _ in range(2)]

    assert statuses == [200, 200]


def test_the_lockout_page_names_the_wait_in_minutes(person, settings):
    settings.AXES_FAILURE_LIMIT = 1
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    response = sign_in(Client(), reverse("login"), person.username, "nope")

    assert response.status_code == 429
    assert "Try again in 15 minutes" in response.content.decode()
    assert response["Cache-Control"] == "no-store"
