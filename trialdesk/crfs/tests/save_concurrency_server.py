"""A real server process for the save-concurrency test: ``setup`` builds the study and one
participant in the database named by DATABASE_URL and prints its study ID and D7 visit pk,
``serve PORT`` runs Django's threaded server (one thread per request), ``dump`` prints the
vitals form's revision, its heart-rate history and whether the audit chain verifies.
Test-only: a fast password hasher (Argon2 would only measure Argon2)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.site.settings")

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def setup() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from trialdesk.paths import DEFAULT_PROTOCOL
    from trialdesk.studies.actions import do_load_protocol
    from trialdesk.testing.participants import make_participant, visit_of
    from trialdesk.testing.personas import create_personas

    do_load_protocol(DEFAULT_PROTOCOL, reason="save concurrency test")
    personas = create_personas()
    p = make_participant(personas, "01", anchor=dt.date.today() - dt.timedelta(days=7))
    print(json.dumps({"subject_id": p.subject_id, "visit_pk": visit_of(p, "D7").pk}))


def dump() -> None:
    from trialdesk.audit.chain import verify
    from trialdesk.audit.models import AuditEvent
    from trialdesk.crfs.models import FormInstance, ItemValue

    fi = FormInstance.objects.get(form_code="vitals")
    hr = ItemValue.objects.get(form=fi, item="hr")
    events = AuditEvent.objects.filter(object_type="crfs.itemvalue", object_id=str(hr.pk))
    print(
        json.dumps(
            {
                "revision": fi.revision,
                "hr": hr.value,
                "hr_version": hr.version,
                "hr_events": events.count(),
                "chain_ok": verify().ok,
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
        request_queue_size = 64

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
