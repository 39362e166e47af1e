"""Fixtures of the security tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def fuzz_world(personas, participant_a):
    from trialdesk.crfs.models import FormInstance
    from trialdesk.testing.participants import visit_of

    d7 = visit_of(participant_a, "D7")
    fi = FormInstance.objects.create(visit=d7, participant=participant_a, form_code="vitals")
    return {
        "subject_id": participant_a.subject_id,
        "visit_pk": str(d7.pk),
        "visit_code": "D7",
        "form_code": "vitals",
        "repeat": "1",
        "pk": str(fi.pk),
        "item": "hr",
    }
