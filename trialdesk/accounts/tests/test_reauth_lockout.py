"""Finding 5: password re-entry could be brute-forced (25 wrong passwords at form signing, 15 at
eligibility sign-off, then the right one signed; never locked; the same check guards unblinding
decisions). Now every wrong re-entry counts toward the login lockout (django-axes), the session
ends when it triggers, and even the right password neither signs nor logs in until the cool-off.
"""

from __future__ import annotations

import datetime as dt

import time_machine

from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.models import FormInstance, Signature
from trialdesk.crfs.tests.test_entry import url, vitals
from trialdesk.randomization.tests.test_unblinding import (  # noqa: F401  (fixtures)
    approval_protocol,
    study,
)
from trialdesk.testing.participants import visit_of, with_revision
from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.urls import reverse


def _login(client, username, password=PASSWORD):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def _locked_out(response) -> bool:
    return response.status_code == 429


def _assert_locked(client, username):
    """Session gone; the right password does not log in until the cool-off has passed."""
    assert "_auth_user_id" not in client.session
    assert _locked_out(_login(client, username))
    assert "_auth_user_id" not in client.session


def _complete_form(client, participant):
    client.force_login(_user("coord_a"))
    visit = visit_of(participant, "D7")
    data = with_revision(url(visit), {**vitals(), "complete": "1"})
    assert client.post(url(visit), data).status_code == 302
    client.logout()
    return FormInstance.objects.get(visit=visit, form_code="vitals")


def _user(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def test_wrong_passwords_at_form_signing_lock_the_account(client, participant_a, settings):
    fi = _complete_form(client, participant_a)
    assert _login(client, "inv_a").status_code == 302  # a real login, as the reviewer had
    sign = reverse("crfs:sign", args=[fi.pk])
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(sign, {"password": f"guess-{attempt}"})
        assert response.status_code == 422, attempt
    last = client.post(sign, {"password": "guess-last"})
    assert _locked_out(last)
    assert "_auth_user_id" not in client.session
    assert last.content == _login(client, "inv_a").content  # the login's own lockout answer
    # The right password now: no signature (the session is gone: back to the login page) ...
    after = client.post(sign, {"password": PASSWORD})
    assert after.status_code == 302 and reverse("accounts:login") in after["Location"]
    assert not Signature.objects.exists()
    _assert_locked(client, "inv_a")
    # ... and every wrong re-entry stays audited, as the form's event and as a failed login.
    assert (
        AuditEvent.objects.filter(
            action="login_failed", object_type="crfs.forminstance", actor_username="inv_a"
        ).count()
        == settings.AXES_FAILURE_LIMIT
    )
    assert AuditEvent.objects.filter(action="login_failed", object_id="inv_a").exists()
    # After the cool-off the right password works again.
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), tick=False):
        assert _login(client, "inv_a").status_code == 302
        assert client.post(sign, {"password": PASSWORD}).status_code == 302
    assert Signature.objects.count() == 1


def test_a_locked_account_cannot_sign_even_with_a_live_session(client, participant_a, settings):
    """Locked by failures elsewhere (another terminal): the right re-entry is refused too."""
    fi = _complete_form(client, participant_a)
    from django.test import Client

    other = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(other, "inv_a", "wrong")
    client.force_login(_user("inv_a"))
    response = client.post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD})
    assert _locked_out(response)
    assert not Signature.objects.exists()
    assert "_auth_user_id" not in client.session


def test_login_failures_and_reentry_failures_add_up(client, participant_a, settings):
    fi = _complete_form(client, participant_a)
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        assert _login(client, "inv_a", "wrong").status_code == 200
    assert _login(client, "inv_a").status_code == 302
    # A successful login resets the counter (AXES_RESET_ON_SUCCESS) ...
    sign = reverse("crfs:sign", args=[fi.pk])
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        assert client.post(sign, {"password": "wrong"}).status_code == 422
    client.logout()
    # ... but re-entry failures and login failures count together from there.
    assert _login(client, "inv_a", "wrong").status_code == 200
    assert _locked_out(_login(client, "inv_a", "wrong"))
    _assert_locked(client, "inv_a")


def test_wrong_passwords_at_eligibility_signoff_lock_the_account(client, personas, settings):
    from trialdesk.accounts.models import Site
    from trialdesk.enrolment.actions import do_assess_eligibility
    from trialdesk.enrolment.models import EligibilitySignature
    from trialdesk.enrolment.testing import screened

    p = screened(Site.objects.get(code="01"), personas["coord_a"])
    assert do_assess_eligibility(p, personas["coord_a"]).result == "eligible"
    assert _login(client, "inv_a").status_code == 302
    page = reverse("enrolment:participant", args=[p.subject_id])
    responses = [
        client.post(page, {"action": "sign", "password": f"guess-{i}"})
        for i in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert not any(_locked_out(r) for r in responses[:-1])
    assert _locked_out(responses[-1])
    assert "_auth_user_id" not in client.session
    client.post(page, {"action": "sign", "password": PASSWORD})
    assert not EligibilitySignature.objects.exists()
    _assert_locked(client, "inv_a")


def test_wrong_passwords_at_an_unblinding_decision_lock_the_account(client, study, settings):  # noqa: F811
    from trialdesk.randomization.actions import do_emergency_unblind
    from trialdesk.randomization.models import Unblinding

    row = do_emergency_unblind(study["p"], _user("inv_a"), reason="suspected anaphylaxis, urgent")
    assert row.status == "pending"
    assert _login(client, "dsmb").status_code == 302
    decide = reverse("randomization:unblinding", args=[row.pk])
    post = {"action": "approve", "reason": "agreed, urgent"}
    responses = [
        client.post(decide, {**post, "password": f"guess-{i}"})
        for i in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert not any(_locked_out(r) for r in responses[:-1])
    assert _locked_out(responses[-1])
    assert "_auth_user_id" not in client.session
    client.post(decide, {**post, "password": PASSWORD})
    assert Unblinding.objects.get().status == "pending"
    _assert_locked(client, "dsmb")


def test_wrong_passwords_at_a_role_approval_lock_the_account(client, personas, settings):
    from trialdesk.accounts.actions import do_request_role
    from trialdesk.accounts.models import Membership, Site

    req = do_request_role(
        personas["coord_a"],
        role="pharmacist",
        site=Site.objects.get(code="01"),
        acting_user=personas["admin"],
        reason="covering the pharmacy in January",
    )
    assert _login(client, "ustat").status_code == 302
    decide = reverse("people:role-request", args=[req.pk])
    post = {"action": "approve", "reason": "delegation log checked"}
    for i in range(settings.AXES_FAILURE_LIMIT):
        last = client.post(decide, {**post, "password": f"guess-{i}"})
    assert _locked_out(last)
    client.post(decide, {**post, "password": PASSWORD})
    assert not Membership.objects.filter(user=personas["coord_a"], role="pharmacist").exists()
    _assert_locked(client, "ustat")
