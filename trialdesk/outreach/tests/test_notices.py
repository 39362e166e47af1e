"""Issue 14 (outreach): notices of other trials, double opt-in, idempotent sending."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client
from django.urls import reverse

from trialdesk.outreach.models import NoticeSent, Subscription
from trialdesk.outreach.notices import send_notices
from trialdesk.outreach.tests.test_contact import XSS, committed

LINK = re.compile(r"http://[^\s]+/notices/(confirm|unsubscribe)/([^\s/]+)/")


def _signup(client=None, **over):
    data = {"email": "dewi@example.org", "conditions": ["Preeclampsia"], "region": "Bandung"}
    data.update(over)
    with committed():
        return (client or Client()).post(reverse("outreach:notices"), data)


def _links(message) -> dict[str, str]:
    return {kind: f"/notices/{kind}/{token}/" for kind, token in LINK.findall(message.body)}


def test_signup_confirm_notice_once_unsubscribe(personas, loaded_protocol):
    page = Client().get(reverse("outreach:notices")).content.decode()
    assert "Preeclampsia" in page and "Bandung" in page  # conditions and the sites' cities
    assert _signup().status_code == 200
    sub = Subscription.objects.get()
    assert b"dewi" not in bytes(sub.email_ciphertext) and "dewi" not in sub.email_hash
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dewi@example.org"]
    links = _links(mail.outbox[0])
    assert set(links) == {"confirm", "unsubscribe"}
    assert send_notices() == 0 and len(mail.outbox) == 1  # nothing before confirmation
    assert Client().get(links["confirm"]).status_code == 200
    assert send_notices() == 1
    notice = mail.outbox[-1]
    assert loaded_protocol.study_id in notice.body and "/notices/unsubscribe/" in notice.body
    assert send_notices() == 0 and len(mail.outbox) == 2  # idempotent
    assert NoticeSent.objects.count() == 1
    unsubscribe = _links(notice)["unsubscribe"]
    assert Client().get(unsubscribe).status_code == 200  # asks; a prefetch unsubscribes no one
    assert Subscription.objects.get().unsubscribed_at is None
    Client().post(unsubscribe)
    assert Subscription.objects.get().unsubscribed_at is not None


def test_unconfirmed_gets_nothing_and_a_forged_link_fails(personas, loaded_protocol):
    _signup()
    assert Client().get("/notices/confirm/forged/").status_code == 404
    assert send_notices() == 0 and len(mail.outbox) == 1


def test_a_new_signup_makes_the_older_link_useless(personas, loaded_protocol):
    _signup()
    _signup(client=Client(REMOTE_ADDR="10.1.1.1"))
    first, second = (_links(m)["confirm"] for m in mail.outbox)
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200


def test_non_matching_condition_or_region_gets_no_notice(personas, loaded_protocol):
    _signup(region="Jayapura")  # another province
    sub = Subscription.objects.get()
    Subscription.objects.filter(pk=sub.pk).update(confirmed_at="2025-01-01T00:00Z")
    assert send_notices() == 0
    Subscription.objects.filter(pk=sub.pk).update(region="Kabupaten Garut")  # same province
    assert send_notices() == 1


def test_signup_validation_names_field_and_value(personas, loaded_protocol):
    response = _signup(email="nope", conditions=["Gout"])
    page = response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert response.status_code == 422
    assert "E-mail: “nope” is not an e-mail address" in page
    assert "Conditions: “Gout” is not one of" in page
    assert not Subscription.objects.exists() and not mail.outbox


def test_signup_honeypot_and_xss(personas, loaded_protocol):
    _signup(website="x")
    assert not Subscription.objects.exists() and not mail.outbox
    page = _signup(email=XSS, region=XSS).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page


def test_notices_command_and_tick(personas, loaded_protocol):
    from click.testing import CliRunner

    from trialdesk.commands.notices import notices
    from trialdesk.commands.tick import PERIODIC_TASKS

    assert PERIODIC_TASKS["outreach-notices"] == "trialdesk.outreach.notices:tick"
    result = CliRunner().invoke(notices, ["send"])
    assert result.exit_code == 0 and "nothing to send" in result.output
