"""Fixtures shared by every test directory: the loaded protocol, the named personas
(trialdesk/testing/personas.py), logged-in clients, and participants at sites A and B."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.paths import DEFAULT_PROTOCOL


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
