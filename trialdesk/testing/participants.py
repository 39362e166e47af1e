"""Participants for tests: registered through the real actions, with identity and day 0."""

from __future__ import annotations

import datetime as dt


def make_participant(
    users, site_code="01", *, anchor: dt.date | None = None, user="coord_a", study=None
):
    from trialdesk.accounts.models import Site
    from trialdesk.participants.actions import do_create_participant, do_set_anchor_date
    from trialdesk.studies.registry import resolve_study

    site = Site.objects.get(study_id=resolve_study(study), code=site_code)
    identity = {"name": "Ani Lestari", "phone": "+62 812 0000 0000", "mrn": "RM-123456"}
    participant = do_create_participant(site, users[user], identity=identity)
    if anchor is not None:
        do_set_anchor_date(participant, anchor, users[user], reason="dosed")
    participant.refresh_from_db()
    return participant


def visit_of(participant, code: str):
    return participant.visits.get(code=code, repeat=1)


def with_revision(path: str, data: dict) -> dict:
    """`data` plus the revision the eCRF page at `path` is rendered with, as a browser sends it
    (the hidden `revision` input); an explicit `revision` in `data` wins."""
    from trialdesk.crfs.models import FormInstance
    from trialdesk.testing.urls import resolve_path

    kw = resolve_path(path).kwargs
    fi = FormInstance.objects.filter(
        visit_id=kw["visit_pk"], form_code=kw["form_code"], repeat=kw["repeat"]
    ).first()
    return {"revision": str(fi.revision if fi else 0), **data}
