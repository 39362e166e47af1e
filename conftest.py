"""Fixtures shared by every test directory: the loaded protocol, the named personas
(trialdesk/testing/personas.py), logged-in clients, and participants at sites A and B."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.paths import DEFAULT_PROTOCOL


def _serialize_live_server() -> None:
    """The browser tests' live server shares the test's database connection between its
    request threads (an in-memory SQLite database has only one): an htmx check still in flight
    when the page posts a save would interleave two transactions on that one connection. One
    request at a time, as the single connection requires."""
    import threading

    from django.test import testcases

    if getattr(testcases.LiveServerThread, "_trialdesk_serialized", False):
        return
    original = testcases.LiveServerThread._create_server
    lock = threading.Lock()

    def create_server(self, connections_override=None):
        server = original(self, connections_override=connections_override)
        set_app = server.set_app

        def serialized_set_app(app):
            def locked(environ, start_response):
                with lock:
                    result = app(environ, start_response)
                    try:
                        return [b"".join(result)]
                    finally:
                        close = getattr(result, "close", None)
                        if close is not None:
                            close()

            set_app(locked)

        server.set_app = serialized_set_app
        return server

    testcases.LiveServerThread._create_server = create_server
    testcases.LiveServerThread._trialdesk_serialized = True


_serialize_live_server()


@pytest.fixture
def loaded_protocol(db):
    """The study protocol loaded into the test database (sites synced from it)."""
    from trialdesk.studies.actions import do_load_protocol

    row, _ = do_load_protocol(DEFAULT_PROTOCOL, reason="test")
    return row


@pytest.fixture
def personas(loaded_protocol):
    from trialdesk.testing.personas import create_personas

    return create_personas()


@pytest.fixture
def login(client, personas):
    """login("coord_a") -> a Django test client logged in as that persona."""

    def _login(username: str):
        client.force_login(personas[username])
        return client

    return _login


@pytest.fixture
def participant_a(personas):
    from trialdesk.testing.participants import make_participant

    return make_participant(personas, "01", anchor=dt.date.today() - dt.timedelta(days=7))


@pytest.fixture
def participant_b(personas):
    from trialdesk.testing.participants import make_participant

    anchor = dt.date.today() - dt.timedelta(days=7)
    return make_participant(personas, "02", anchor=anchor, user="coord_b")
