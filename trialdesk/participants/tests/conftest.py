"""Fixtures for data-capture tests: the shared personas plus participants with a schedule."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import loaded_protocol, login, personas  # noqa: F401, F811  (shared fixtures)


def make_participant(users, site_code="01", *, anchor: dt.date | None = None, user="coord_a"):
    from trialdesk.accounts.models import Site
    from trialdesk.participants.actions import do_create_participant, do_set_anchor_date

    site = Site.objects.get(code=site_code)
    identity = {"name": "Ani Lestari", "phone": "+62 812 0000 0000", "mrn": "RM-123456"}
    participant = do_create_participant(site, users[user], identity=identity)
    if anchor is not None:
        do_set_anchor_date(participant, anchor, users[user], reason="dosed")
    participant.refresh_from_db()
    return participant


@pytest.fixture
def participant_a(personas):  # noqa: F811
    return make_participant(personas, "01", anchor=dt.date.today() - dt.timedelta(days=7))


@pytest.fixture
def participant_b(personas):  # noqa: F811
    anchor = dt.date.today() - dt.timedelta(days=7)
    return make_participant(personas, "02", anchor=anchor, user="coord_b")


def visit_of(participant, code: str):
    return participant.visits.get(code=code, repeat=1)
