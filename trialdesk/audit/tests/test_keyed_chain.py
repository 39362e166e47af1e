"""Finding 3: someone who can write the database cannot recompute the chain (HMAC keyed outside
it), and anchors kept elsewhere catch even a key holder who re-chains the database."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from click.testing import CliRunner
from django.core import mail
from django.db import connection

from trialdesk.audit import chain
from trialdesk.audit.models import AuditChainHead, AuditEvent
from trialdesk.audit.tests.test_verify_and_export import _events, _raw
from trialdesk.commands.audit import audit
from trialdesk.commands.tick import tick

pytestmark = pytest.mark.django_db(transaction=True)


def _verify(*extra: str):
    return CliRunner().invoke(audit, ["verify", "--chain-only", *extra])


def _plain_sha256(fields: dict) -> str:
    """What the reviewer did: the old scheme, computable by anyone."""
    return hashlib.sha256(chain.canonical(fields)).hexdigest()


def _with_key(key: str):
    def mac(fields: dict) -> str:
        return hmac.new(key.encode(), chain.canonical(fields), "sha256").hexdigest()

    return mac


def _rechain_from(seq: int, mac, edit=None) -> None:
    """Rewrite event #seq (``edit`` changes its fields) and re-link every later event and the
    head, as a database writer would, computing each link with ``mac``."""
    prev = AuditEvent.objects.get(seq=seq - 1).hash if seq > 1 else chain.GENESIS
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        fields = chain._stored_fields(event)
        if event.seq == seq and edit:
            edit(fields)
        fields["prev_hash"] = prev
        new = mac(fields)
        _raw(
            "UPDATE audit_auditevent SET reason = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [fields["reason"], prev, new, event.seq],
        )
        prev = new
    _raw("UPDATE audit_auditchainhead SET last_hash = %s", [prev])


def _forge_append(mac) -> int:
    """Append a forged unblinding event and move the head, computing the link with ``mac``."""
    last = AuditEvent.objects.order_by("-seq").first()
    fields = {**chain._stored_fields(last)}
    fields.update(
        seq=last.seq + 1,
        action="unblind",
        object_type="randomization.unblinding",
        object_id="99",
        new_value={"status": "revealed"},
        reason="forged",
        prev_hash=last.hash,
    )
    fields["hash"] = mac(fields)
    fields.pop("actor_id")
    AuditEvent.objects.create(**fields)
    _raw(
        "UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s",
        [fields["seq"], fields["hash"]],
    )
    return fields["seq"]


def test_the_chain_is_an_hmac_not_a_plain_hash():
    _events(2)
    event = AuditEvent.objects.get(seq=1)
    assert len(event.hash) == 64
    assert event.hash != _plain_sha256(chain._stored_fields(event))
    head = AuditChainHead.objects.get()
    assert head.scheme == "hmac-sha256"
    assert head.key_fingerprint == chain.key_fingerprint()
    assert head.key_fingerprint not in connection.settings_dict.get("NAME", "")


@pytest.mark.parametrize("mac", [_plain_sha256, _with_key("a-guessed-key")], ids=["sha256", "hmac"])
def test_forged_appended_event_is_named(mac):
    _events(3)
    forged = _forge_append(mac)
    result = _verify()
    assert result.exit_code == 1, result.output
    assert f"BROKEN at event #{forged}" in result.output
    assert "forged without the audit key" in result.output


def test_full_rehash_after_rewriting_an_event_is_named():
    _events(6)

    def edit(fields):
        fields["reason"] = "rewritten"

    _rechain_from(3, _plain_sha256, edit)
    result = _verify()
    assert result.exit_code == 1
    assert "BROKEN at event #3" in result.output


def test_altered_head_mac_is_named():
    _events(3)
    _raw("UPDATE audit_auditchainhead SET last_hash = %s", ["f" * 64])
    result = _verify()
    assert result.exit_code == 1
    assert "head's stored MAC does not match event #3" in result.output


def test_altered_head_seq_is_named():
    _events(3)
    _raw("UPDATE audit_auditchainhead SET last_seq = 2")
    result = _verify()
    assert result.exit_code == 1
    assert "chain head says 2 events, found 3" in result.output


def test_wrong_key_says_wrong_key_not_tampered(settings):
    _events(2)
    assert _verify().exit_code == 0
    settings.AUDIT_KEY = "not-the-key-the-chain-was-written-with"
    result = _verify()
    assert result.exit_code == 1
    assert "wrong key" in result.output
    assert "BROKEN" not in result.output
    with pytest.raises(chain.WrongAuditKey, match="set the key the chain was written with"):
        _events(1)  # the application refuses to fork the chain with another key


def test_verify_names_scheme_and_key_fingerprint_but_not_the_key(settings):
    _events(1)
    result = _verify()
    assert result.exit_code == 0
    assert f"hmac-sha256, key {chain.key_fingerprint()}" in result.output
    assert settings.AUDIT_KEY not in result.output


def test_legacy_sha256_events_stay_verifiable_and_bound_to_the_keyed_part():
    """An upgraded database: events written before the key keep their SHA-256 links."""
    _events(3)
    _rechain_from(1, _plain_sha256)  # as the old code wrote them
    _raw(
        "UPDATE audit_auditchainhead SET legacy_until_seq = 3, legacy_mac = %s",
        [chain.legacy_mac(3)],  # as migration audit.0004 does with the key
    )
    _events(2)
    result = _verify()
    assert result.exit_code == 0, result.output
    assert "events #1-#3 predate the key" in result.output

    def edit(fields):
        fields["reason"] = "rewritten legacy event"

    _rechain_from(2, _plain_sha256, edit)  # re-hashing the keyed part too is impossible
    result = _verify()
    assert result.exit_code == 1
    assert "BROKEN at event #4" in result.output


def test_moving_the_legacy_boundary_to_pass_off_a_rehash_is_named():
    """A database writer declares every event "pre-key" and re-hashes them with SHA-256."""
    _events(4)

    def edit(fields):
        fields["reason"] = "rewritten"

    _rechain_from(2, _plain_sha256, edit)
    _raw("UPDATE audit_auditchainhead SET legacy_until_seq = 4, legacy_mac = %s", ["0" * 64])
    result = _verify()
    assert result.exit_code == 1
    assert "boundary was not set with the key" in result.output


# ------------------------------------------------------------------------------------ anchors
def _anchor(path) -> None:
    result = CliRunner().invoke(audit, ["anchor", "--to", str(path)])
    assert result.exit_code == 0, result.output


def test_anchor_appends_the_head_and_is_itself_audited(tmp_path):
    _events(3)
    path = tmp_path / "anchors.jsonl"
    _anchor(path)
    _events(1)
    _anchor(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [4, 6]
    event = AuditEvent.objects.get(seq=4)
    assert event.object_type == "audit.anchor" and event.action == "export"
    assert lines[0]["mac"] == event.hash
    assert lines[0]["key"] == chain.key_fingerprint()
    assert lines[0]["at"].endswith("Z")
    assert path.stat().st_mode & 0o777 == 0o600
    result = _verify("--anchors", str(path))
    assert result.exit_code == 0, result.output
    assert "2 anchored heads found in the chain" in result.output


def test_anchor_by_email(tmp_path):
    _events(1)
    result = CliRunner().invoke(audit, ["anchor", "--email", "sponsor@example.org"])
    assert result.exit_code == 0, result.output
    (message,) = mail.outbox
    assert message.to == ["sponsor@example.org"]
    line = next(x for x in message.body.splitlines() if x.startswith("{"))
    assert json.loads(line)["seq"] == 2
    saved = tmp_path / "mail.txt"
    saved.write_text(message.body)  # the sponsor's saved e-mail is an anchor file too
    assert _verify("--anchors", str(saved)).exit_code == 0


def test_anchor_needs_a_destination(monkeypatch):
    monkeypatch.delenv("TRIALDESK_AUDIT_ANCHOR_FILE", raising=False)
    result = CliRunner().invoke(audit, ["anchor"])
    assert result.exit_code == 1
    assert "--to" in result.output
    assert not AuditEvent.objects.exists()


def test_anchor_to_an_unwritable_place_records_nothing(tmp_path):
    _events(1)
    result = CliRunner().invoke(audit, ["anchor", "--to", str(tmp_path / "no-such-dir" / "a")])
    assert result.exit_code == 1
    assert "cannot write the anchor file" in result.output
    assert AuditEvent.objects.count() == 1


def test_truncating_the_chain_after_an_anchor_is_named(tmp_path):
    _events(3)
    path = tmp_path / "anchors.jsonl"
    _anchor(path)  # event #4
    _events(2)
    # A key holder (or anyone, since removing the tail needs no MAC) truncates the chain at #3
    # and moves the head back: the chain alone still verifies.
    _raw("DELETE FROM audit_auditevent WHERE seq >= 4")
    last = AuditEvent.objects.get(seq=3)
    _raw("UPDATE audit_auditchainhead SET last_seq = 3, last_hash = %s", [last.hash])
    assert _verify().exit_code == 0
    result = _verify("--anchors", str(path))
    assert result.exit_code == 1
    assert "anchor at line 1 (event #4" in result.output
    assert "event #4 is gone" in result.output


def test_rewriting_an_anchored_event_with_the_key_is_named(tmp_path, settings):
    _events(3)
    path = tmp_path / "anchors.jsonl"
    _anchor(path)  # event #4
    _events(2)

    def edit(fields):
        fields["reason"] = "history rewritten by someone holding the key"

    _rechain_from(2, _with_key(settings.AUDIT_KEY), edit)
    assert _verify().exit_code == 0  # the key holder's chain is internally consistent
    result = _verify("--anchors", str(path))
    assert result.exit_code == 1
    assert "event #4 differs from the anchored MAC (rewritten)" in result.output


def test_a_bad_anchor_line_is_named(tmp_path):
    _events(1)
    path = tmp_path / "anchors.jsonl"
    path.write_text('{"seq": "x"}\n')
    result = _verify("--anchors", str(path))
    assert result.exit_code == 1
    assert "anchors.jsonl:1 is not an anchor line" in result.output


def test_tick_anchors_once_until_something_new_is_written(tmp_path, monkeypatch):
    path = tmp_path / "anchors.jsonl"
    monkeypatch.setenv("TRIALDESK_AUDIT_ANCHOR_FILE", str(path))
    monkeypatch.setenv("TRIALDESK_AUDIT_ANCHOR_INTERVAL", "1")
    _events(2)
    first = CliRunner().invoke(tick)
    assert first.exit_code == 0, first.output
    assert "audit-anchor: anchored event #3" in first.output
    again = CliRunner().invoke(tick)
    assert "audit-anchor: nothing to do" in again.output
    assert len(path.read_text().splitlines()) == 1
    monkeypatch.setenv("TRIALDESK_AUDIT_ANCHOR_INTERVAL", "soon")
    _events(1)
    bad = CliRunner().invoke(tick)
    assert bad.exit_code == 1
    assert "TRIALDESK_AUDIT_ANCHOR_INTERVAL='soon'" in bad.output


def test_serve_runs_the_tick_loop_and_reports_only_what_changed(tmp_path, monkeypatch):
    import threading

    from trialdesk.commands.tick import tick_loop

    path = tmp_path / "anchors.jsonl"
    monkeypatch.setenv("TRIALDESK_AUDIT_ANCHOR_FILE", str(path))
    _events(1)
    stop, said = threading.Event(), []

    def echo(line):
        said.append(line)
        stop.set()

    tick_loop(stop, 0, echo)
    assert said == ["tick audit-anchor: anchored event #2 to " + str(path)]
    tick_loop(_stop_after(2), 0, said.append)
    assert len(said) == 1  # nothing new: nothing said, nothing anchored
    assert len(path.read_text().splitlines()) == 1


def _stop_after(n: int):
    """An event that reports 'set' on its n-th wait (the loop runs n times)."""
    import threading

    class Countdown(threading.Event):
        waits = 0

        def wait(self, timeout=None):
            self.waits += 1
            return self.waits >= n

    return Countdown()
