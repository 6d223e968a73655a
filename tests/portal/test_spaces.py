"""Space services: at least one owner, whatever happens at once."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from portal import spaces
from portal.models import Membership, Role
from portal.spaces import change_role, remove_member
from tests.factories import ApiSpaceFactory, MembershipFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["demote", "remove"])
def test_two_owners_taking_each_other_away_at_once_leave_one_owner(action, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs truly concurrent transactions (PostgreSQL)")
    checked = spaces.is_last_owner

    def slow_check(**kwargs):
        # Hold the gap between checking and writing open, where an unlocked check would race.
        answer = checked(**kwargs)
        time.sleep(0.3)
        return answer

    monkeypatch.setattr(spaces, "is_last_owner", slow_check)
    space = ApiSpaceFactory()
    owners = [MembershipFactory(space=space, role=Role.OWNER) for _ in range(2)]
    barrier = threading.Barrier(2)

    def take_away(membership):
        barrier.wait()
        try:
            if action == "demote":
                change_role(membership=membership, role=Role.VIEWER)
            else:
                remove_member(membership=membership)
            return "done"
        except ValidationError:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(take_away, owners))

    assert outcomes == ["done", "refused"]
    assert Membership.objects.filter(space=space, role=Role.OWNER).count() == 1


def test_a_demoted_owner_keeps_their_membership(db):
    space = ApiSpaceFactory()
    first, second = (MembershipFactory(space=space, role=Role.OWNER) for _ in range(2))
    change_role(membership=first, role=Role.ADMIN)
    assert Membership.objects.get(pk=first.pk).role == Role.ADMIN
    with pytest.raises(ValidationError, match="at least one owner"):
        remove_member(membership=second)
