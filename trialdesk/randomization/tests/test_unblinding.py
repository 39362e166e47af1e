"""Emergency unblinding with the protocol's approval step (a protocol variant requiring it):
request → pending (the arm hidden from everyone, the requester included) → a second person
with an approver role approves (password re-entered) → the arm is shown to the requester and
the approver only; rejection; e-mails and audit values never carry the arm."""

from __future__ import annotations

import json
import typing

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from trialdesk.accounts.models import Membership, Role, Site
from trialdesk.audit.models import AuditEvent
from trialdesk.core.protocol import RoleCode
from trialdesk.paths import DEFAULT_PROTOCOL
from trialdesk.randomization import actions, services
from trialdesk.randomization.models import Allocation, Unblinding
from trialdesk.randomization.tests.helpers import ready, setup_list
from trialdesk.studies.registry import get_protocol
from trialdesk.testing.personas import PASSWORD

REASON = "suspected anaphylaxis, management depends on the arm"


@pytest.fixture
def approval_protocol(personas, tmp_path):
    from trialdesk.studies.actions import do_load_protocol

    text = DEFAULT_PROTOCOL.read_text(encoding="utf-8")
    old = "  approval_required: false\n"
    roles = "  approver_roles: [investigator]\n"
    assert old in text and roles in text
    text = text.replace(old, "  approval_required: true\n")
    text = text.replace(roles, "  approver_roles: [investigator, dsmb]\n")
    path = tmp_path / "approval.yaml"
    path.write_text(text, encoding="utf-8")
    do_load_protocol(path, reason="test: unblinding needs approval")
    assert get_protocol().unblinding.approval_required


@pytest.fixture
def study(personas, approval_protocol):
    """A randomized participant at site A, a second investigator there, e-mail addresses."""
    for who in ("dsmb", "admin", "inv_a", "inv_b"):
        personas[who].email = f"{who}@example.org"
        personas[who].save()
    inv_a2 = get_user_model().objects.create_user(
        "inv_a2", email="inv_a2@example.org", printed_name="Dr. Rina Second-Investigator"
    )
    inv_a2.password = personas["inv_a"].password  # the persona password, hashed once
    inv_a2.save()
    Membership.objects.create(user=inv_a2, role=Role.INVESTIGATOR, site=Site.objects.get(code="01"))
    setup_list(personas)
    p = ready(personas)
    allocation = actions.do_randomize_participant(p, personas["coord_a"])
    return {"p": p, "allocation": allocation, "inv_a2": inv_a2}


def _needles(arm: str) -> list[str]:
    spec = get_protocol().arms[arm]
    return [arm, spec.name.en, spec.name.id]


def _page(client, user, url):
    client.force_login(user)
    return client.get(url)


def _no_arm_in_mail(mails, arm):
    for m in mails:
        text = m.subject + m.body
        assert not any(n in text for n in _needles(arm)), text
        assert "not included in this message" in m.body


def test_request_waits_for_a_second_person_then_shows_requester_and_approver(
    personas, study, client, mailoutbox, django_capture_on_commit_callbacks
):
    p, a, inv_a2 = study["p"], study["allocation"], study["inv_a2"]
    client.force_login(personas["inv_a"])
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/staff/NCT07183384/randomization/participants/{p.subject_id}/unblind/",
            {"reason": REASON},
            follow=True,
        )
    row = Unblinding.objects.get()
    url = f"/staff/NCT07183384/randomization/unblindings/{row.pk}/"
    body = r.content.decode()
    assert r.redirect_chain[-1][0] == url and "awaits approval" in body
    assert row.status == "pending" and 'id="arm"' not in body
    assert services.arm_label(get_protocol(), a.arm) not in body
    a.refresh_from_db()
    assert a.unblinded_at is None

    # e-mails: the possible approvers (not the requester, not site B), then the oversight list
    approvers, oversight = mailoutbox
    assert sorted(approvers.to) == ["dsmb@example.org", "inv_a2@example.org"]
    assert url in approvers.body
    assert set(oversight.to) >= {
        "sponsor-medical-monitor@example.org",
        "dsmb-chair@example.org",
        "dsmb@example.org",
        "admin@example.org",
    }
    _no_arm_in_mail(mailoutbox, a.arm)

    # a second request while one is pending is refused
    with pytest.raises(actions.RandomizationError, match="already awaits approval"):
        actions.do_emergency_unblind(p, personas["inv_a"], reason=REASON)
    # who sees the pending request: requester and possible approvers, without the arm
    for who in ("inv_a", "dsmb"):
        page = _page(client, personas[who], url)
        assert page.status_code == 200 and 'id="arm"' not in page.content.decode()
    assert 'name="password"' in _page(client, inv_a2, url).content.decode()
    for who in ("inv_b", "monitor", "coord_a", "pharm_a", "admin"):
        assert _page(client, personas[who], url).status_code == 404, who
    listing = _page(
        client, inv_a2, "/staff/NCT07183384/randomization/unblindings/"
    ).content.decode()
    assert p.subject_id in listing and url in listing

    # the requester cannot approve herself; site B's investigator holds no role at site A
    with pytest.raises(actions.RandomizationError, match="you requested this unblinding"):
        actions.do_decide_unblinding(
            row, personas["inv_a"], approve=True, password=PASSWORD, reason="self approval"
        )
    with pytest.raises(PermissionDenied):
        actions.do_decide_unblinding(
            row, personas["inv_b"], approve=True, password=PASSWORD, reason="other site"
        )
    # a wrong password is refused and audited as a failed signature
    client.force_login(inv_a2)
    r = client.post(
        url, {"action": "approve", "password": "wrong", "reason": "agreed, urgent"}, follow=True
    )
    assert "password is not correct" in r.content.decode() and 'id="arm"' not in r.content.decode()
    assert Unblinding.objects.get().status == "pending"
    failed = AuditEvent.objects.filter(
        action="sign", object_type="randomization.unblinding", object_id=str(row.pk)
    ).get()
    assert failed.new_value["signed"] is False and failed.actor_username == "inv_a2"

    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            url,
            {"action": "approve", "password": PASSWORD, "reason": "agreed, urgent"},
            follow=True,
        )
    assert services.arm_label(get_protocol(), a.arm) in r.content.decode()
    row.refresh_from_db()
    assert row.status == "revealed" and row.approved_by == inv_a2 and row.approved_at
    a.refresh_from_db()
    assert a.unblinded_at == row.approved_at
    assert 'id="arm"' in _page(client, personas["inv_a"], url).content.decode()
    for who in ("dsmb", "inv_b", "monitor", "coord_a", "admin"):
        assert _page(client, personas[who], url).status_code == 404, who
    # reports mark the participant unblinded, still without the arm for blinded roles
    api = _page(
        client,
        personas["coord_a"],
        f"/api/v1/NCT07183384/randomization/participants/{p.subject_id}",
    )
    assert api.json()["unblinded"] is True and api.json()["arm"] is None

    assert len(mailoutbox) == 1 and "Approved by Dr. Rina" in mailoutbox[0].body
    _no_arm_in_mail(mailoutbox, a.arm)
    events = AuditEvent.objects.filter(object_type="randomization.unblinding")
    assert [e.action for e in events.order_by("seq")] == ["create", "sign", "unblind"]
    dumped = json.dumps([[e.old_value, e.new_value, e.reason] for e in events])
    assert not any(n in dumped for n in _needles(a.arm))
    with pytest.raises(actions.RandomizationError, match="already decided"):
        actions.do_decide_unblinding(
            row, personas["dsmb"], approve=False, password=PASSWORD, reason="too late now"
        )


def test_rejected_request_reveals_nothing(
    personas, study, client, mailoutbox, django_capture_on_commit_callbacks
):
    p, a = study["p"], study["allocation"]
    with django_capture_on_commit_callbacks(execute=True):
        row = actions.do_emergency_unblind(p, personas["inv_a"], reason=REASON)
    with pytest.raises(actions.RandomizationError, match="reason why you reject"):
        actions.do_decide_unblinding(
            row, personas["dsmb"], approve=False, password=PASSWORD, reason=""
        )
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_decide_unblinding(
            row,
            personas["dsmb"],
            approve=False,
            password=PASSWORD,
            reason="reaction managed without the code: treat as anaphylaxis",
        )
    row.refresh_from_db()
    assert row.status == "rejected" and row.rejected_by == personas["dsmb"]
    assert row.approved_at is None and not row.shown_to(personas["inv_a"])
    assert Allocation.objects.get(pk=a.pk).unblinded_at is None
    url = f"/staff/NCT07183384/randomization/unblindings/{row.pk}/"
    for who in ("inv_a", "dsmb"):
        page = _page(client, personas[who], url)
        assert page.status_code == 200 and "Rejected" in page.content.decode()
        assert 'id="arm"' not in page.content.decode()
    assert "Unblinding rejected" in mailoutbox[-1].subject
    _no_arm_in_mail(mailoutbox, a.arm)
    assert AuditEvent.objects.filter(
        action="status", object_type="randomization.unblinding", object_id=str(row.pk)
    ).exists()
    # a new request may follow a rejection
    again = actions.do_emergency_unblind(p, personas["inv_a"], reason=REASON + " (worse now)")
    assert again.status == "pending"


def test_without_approval_the_protocol_contacts_are_told_too(
    personas, mailoutbox, django_capture_on_commit_callbacks
):
    setup_list(personas)
    p = ready(personas)
    a = actions.do_randomize_participant(p, personas["coord_a"])
    with django_capture_on_commit_callbacks(execute=True):
        row = actions.do_emergency_unblind(p, personas["inv_a"], reason=REASON)
    assert row.revealed and row.shown_to(personas["inv_a"]) and row.approved_by is None
    assert not row.shown_to(personas["inv_b"])
    (mail,) = mailoutbox
    assert {"sponsor-medical-monitor@example.org", "dsmb-chair@example.org"} <= set(mail.to)
    assert "No approval is required" in mail.body
    _no_arm_in_mail(mailoutbox, a.arm)


def test_protocol_role_codes_are_the_account_roles():
    assert list(typing.get_args(RoleCode)) == list(Role.values)
