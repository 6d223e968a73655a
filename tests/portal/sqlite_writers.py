"""Concurrent SDK writers against a file SQLite database, run in a process of its own.

Usage: python -m tests.portal.sqlite_writers <threads> <rounds>, with DATABASE_URL naming a
fresh SQLite file. Prints a JSON object: the status codes seen and how many of each.
"""

import collections
import json
import os
import sys
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def main(threads: int, rounds: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from tests.factories import ApiSpaceFactory, AppMessagingAuthFactory
    from tests.sessions_app.flows import base, open_session

    call_command("migrate", verbosity=0)
    auth = AppMessagingAuthFactory(space=ApiSpaceFactory())
    clients = [open_session(auth, profile_id="alice") for _ in range(threads)]
    statuses: collections.Counter = collections.Counter()
    barrier = threading.Barrier(threads)

    def writer(index: int) -> None:
        client, session = clients[index]
        push_url = f"{base(auth.space_id)}/sessions/{session['id']}/push"
        profile_url = f"{base(auth.space_id)}/profiles/alice"
        barrier.wait()
        try:
            for round_ in range(rounds):
                token = f"{index:02x}{round_:02x}".ljust(64, "a")
                body = {"apns": {"bundleId": "com.example.app", "environment": "production"}}
                body["apns"]["token"] = token
                answers = [
                    client.put(push_url, body, format="json"),
                    client.patch(profile_url, {f"k{index}": round_}, format="json"),
                    # Every thread also registers the same token: one row many sessions race for.
                    client.put(
                        push_url,
                        {**body, "apns": {**body["apns"], "token": "f" * 64}},
                        format="json",
                    ),
                ]
                for response in answers:
                    statuses[response.status_code] += 1
        finally:
            connections.close_all()

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {str(code): count for code, count in statuses.items()}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
