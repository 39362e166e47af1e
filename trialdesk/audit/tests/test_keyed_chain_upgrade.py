"""Upgrading a database whose chain was written with plain SHA-256 (before the key): migration
audit.0004 records the boundary with the key; old events stay verifiable, new ones are keyed."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from trialdesk.audit import chain
from trialdesk.audit.models import AuditChainHead
from trialdesk.audit.tests.test_verify_and_export import _events

BEFORE = [("audit", "0003_audit_view_action")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _write_old_chain(old_apps, n: int) -> None:
    """Events as the code before the key wrote them."""
    Event = old_apps.get_model("audit", "AuditEvent")
    Head = old_apps.get_model("audit", "AuditChainHead")
    prev = chain.GENESIS
    for seq in range(1, n + 1):
        fields = {
            "seq": seq,
            "occurred_at": dt.datetime(2026, 1, seq, tzinfo=dt.UTC),
            "actor_id": None,
            "actor_username": "",
            "role": "",
            "site_code": "",
            "action": "change",
            "object_type": "test.thing",
            "object_id": str(seq),
            "participant": "",
            "old_value": None,
            "new_value": {"v": seq},
            "reason": "before the key",
            "software_version": "0.9",
            "prev_hash": prev,
        }
        prev = hashlib.sha256(chain.canonical(fields)).hexdigest()
        Event.objects.create(**{**fields, "hash": prev})
    Head.objects.create(id=1, last_seq=n, last_hash=prev)


@pytest.mark.django_db(transaction=True)
def test_upgrade_keeps_old_events_verifiable_and_keys_new_ones():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    executor = _migrate(BEFORE)
    try:
        _write_old_chain(executor.loader.project_state(BEFORE).apps, 3)
    finally:
        _migrate(latest)
    head = AuditChainHead.objects.get()
    assert (head.legacy_until_seq, head.legacy_mac) == (3, chain.legacy_mac(3))
    _events(2)
    result = chain.verify()
    assert result.ok, result.summary()
    assert "events #1-#3 predate the key" in result.summary()
