"""Portal fixtures: a member of each role, and someone who belongs to another space only."""

import pytest
from django.test import Client

from portal.models import Role
from tests.factories import MembershipFactory


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer(space):
    return MembershipFactory(space=space, role=Role.VIEWER).user


@pytest.fixture
def viewer_client(viewer) -> Client:
    return signed_in(viewer)


@pytest.fixture
def admin_member(space):
    return MembershipFactory(space=space, role=Role.ADMIN).user


@pytest.fixture
def admin_member_client(admin_member) -> Client:
    return signed_in(admin_member)


@pytest.fixture
def stranger(other_space):
    """An owner of another space, with no membership of `space`."""
    return MembershipFactory(space=other_space, role=Role.OWNER).user


@pytest.fixture
def stranger_client(stranger) -> Client:
    return signed_in(stranger)
