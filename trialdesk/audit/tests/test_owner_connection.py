"""`trialdesk migrate`/`init` run as the owner when TRIALDESK_OWNER_DATABASE_URL is set, and then
re-grant the application role named by DATABASE_URL."""

from __future__ import annotations

import os

import pytest

from trialdesk.commands.db import use_owner_connection


@pytest.mark.parametrize(
    ("app", "owner", "role"),
    [
        ("postgres://trialdesk_app@db/t", "postgres://trialdesk_owner@db/t", "trialdesk_app"),
        ("postgres://same@db/t", "postgres://same@db/t", None),
        ("sqlite:///x.sqlite3", "postgres://owner@db/t", None),
        ("postgres://trialdesk_app@db/t", "", None),
    ],
)
def test_owner_url_is_used_and_the_app_role_named(monkeypatch, app, owner, role):
    monkeypatch.setenv("DATABASE_URL", app)
    monkeypatch.setenv("TRIALDESK_OWNER_DATABASE_URL", owner)
    assert use_owner_connection() == role
    assert os.environ["DATABASE_URL"] == (owner or app)
