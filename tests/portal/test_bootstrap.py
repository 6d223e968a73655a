"""bootstrap: migrate, then an admin account exactly once."""

import re
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings


def bootstrap() -> str:
    out = StringIO()
    call_command("bootstrap", verbosity=0, stdout=out)
    return out.getvalue()


def test_it_creates_an_admin_with_a_generated_password_printed_once(db):
    with override_settings(PUSHPORT_ADMIN_USERNAME="root", PUSHPORT_ADMIN_PASSWORD=""):
        first = bootstrap()
        second = bootstrap()
    password = re.search(r"password: (\S+)", first).group(1)
    admin = get_user_model().objects.get(username="root")
    assert admin.is_superuser and admin.is_staff
    assert len(password) >= 20
    assert admin.check_password(password)
    assert "already exists" in second
    assert password not in second
    assert get_user_model().objects.filter(username="root").count() == 1


def test_it_takes_the_password_from_the_environment_and_never_changes_it(db):
    with override_settings(PUSHPORT_ADMIN_USERNAME="admin", PUSHPORT_ADMIN_PASSWORD="first-pw-1"):
        output = bootstrap()
    assert "first-pw-1" not in output
    with override_settings(PUSHPORT_ADMIN_USERNAME="admin", PUSHPORT_ADMIN_PASSWORD="other-pw-2"):
        bootstrap()
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password("first-pw-1")


def test_it_ends_with_the_url_user_name_and_password_on_their_own_lines(db):
    out = StringIO()
    with override_settings(PUSHPORT_ADMIN_USERNAME="root", PUSHPORT_ADMIN_PASSWORD=""):
        call_command("bootstrap", "--url", "https://push.example.com/", verbosity=0, stdout=out)
    lines = out.getvalue().splitlines()
    password = next(line for line in lines if line.startswith("password:")).split()[-1]

    assert "URL:      https://push.example.com/" in lines
    assert "username: root" in lines
    assert get_user_model().objects.get(username="root").check_password(password)
    assert "python manage.py changepassword root" in lines[-1]


def test_a_second_run_says_how_to_reset_the_password(db):
    with override_settings(PUSHPORT_ADMIN_USERNAME="root", PUSHPORT_ADMIN_PASSWORD="pw-123456"):
        bootstrap()
        second = bootstrap()
    assert "username: root" in second.splitlines()
    assert "pw-123456" not in second
    assert "changepassword root" in second
