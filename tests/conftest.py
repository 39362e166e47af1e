"""Shared fixtures: the loaded protocol and the named personas (see trialdesk/testing/personas.py)."""

from __future__ import annotations

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
