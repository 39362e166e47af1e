"""A real server process for the concurrency test: ``setup`` builds the study in the database
named by DATABASE_URL, ``serve PORT`` runs Django's threaded server (one thread per request),
``dump`` prints allocations and slots as JSON. Test-only: a fast password hasher, because
Argon2 for 64 sign-offs would only measure Argon2."""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.site.settings")

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
N = 64
EXTRA = 1  # one more participant, for simultaneous duplicate requests


def setup() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from trialdesk.paths import DEFAULT_PROTOCOL
    from trialdesk.randomization.tests.helpers import ready, setup_list
    from trialdesk.studies.actions import do_load_protocol
    from trialdesk.testing.personas import create_personas

    do_load_protocol(DEFAULT_PROTOCOL, reason="concurrency test")
    personas = create_personas()
    setup_list(personas, per_stratum=40)
    out = []
    for i in range(N + EXTRA):
        site = "01" if i % 2 == 0 else "02"
        mode = "CS_EMERGENCY" if (i // 2) % 2 == 0 else "VAGINAL_SPONT"
        p = ready(personas, site, delivery_mode=mode, severe=(i // 4) % 2 == 0)
        out.append({"subject_id": p.subject_id, "site": site})
    print(json.dumps(out))


def dump() -> None:
    from trialdesk.randomization.models import Allocation, Slot

    print(
        json.dumps(
            {
                "allocations": list(
                    Allocation.objects.order_by("pk").values(
                        "pk",
                        "participant__subject_id",
                        "slot_id",
                        "stratum",
                        "randomization_number",
                        "kit_code",
                    )
                ),
                "slots": list(Slot.objects.values("pk", "stratum", "sequence", "used")),
            }
        )
    )


def serve(port: int) -> None:
    import socketserver

    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True
        request_queue_size = 128  # all 64 connections are accepted at once

    httpd = Server(("127.0.0.1", port), Quiet)
    httpd.set_app(get_wsgi_application())
    httpd.serve_forever()


def main() -> None:
    import django
    from django.test.utils import override_settings

    django.setup()
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        {"setup": setup, "dump": dump}.get(sys.argv[1], lambda: serve(int(sys.argv[2])))()


if __name__ == "__main__":
    main()
