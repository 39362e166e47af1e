"""`trialdesk audit verify` catches altered, deleted and re-ordered events; export streams."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from django.db import connection, transaction

from trialdesk.audit.actions import record
from trialdesk.audit.models import AppendOnlyError, AuditEvent
from trialdesk.commands.audit import audit


def _events(n: int = 5) -> None:
    for i in range(n):
        with transaction.atomic():
            record(
                "change",
                object_type="test.thing",
                object_id=i,
                old={"v": i},
                new={"v": i + 1},
                reason="t",
            )


def _raw(sql: str, params=()) -> None:
    """Change the table the way a database administrator could, bypassing the application."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only")
        cur.execute(sql, params)
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_append_only")


def _verify():
    return CliRunner().invoke(audit, ["verify", "--chain-only"])


@pytest.mark.django_db(transaction=True)
def test_intact_chain_verifies():
    _events()
    result = _verify()
    assert result.exit_code == 0, result.output
    assert "intact: 5 events" in result.output


@pytest.mark.django_db(transaction=True)
def test_altered_event_is_named():
    _events()
    _raw("UPDATE audit_auditevent SET reason = %s WHERE seq = 3", ["edited by hand"])
    result = _verify()
    assert result.exit_code == 1
    assert "BROKEN at event #3" in result.output
    assert "altered" in result.output


@pytest.mark.django_db(transaction=True)
def test_deleted_event_is_named():
    _events()
    _raw("DELETE FROM audit_auditevent WHERE seq = 2")
    result = _verify()
    assert result.exit_code == 1
    assert "event #2 is missing" in result.output


@pytest.mark.django_db(transaction=True)
def test_deleted_last_event_is_found_through_the_head():
    _events()
    _raw("DELETE FROM audit_auditevent WHERE seq = 5")
    result = _verify()
    assert result.exit_code == 1
    assert "#5" in result.output


@pytest.mark.django_db(transaction=True)
def test_application_cannot_change_or_delete_events():
    _events(1)
    event = AuditEvent.objects.get()
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(seq=1).update(reason="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the trigger exists on PostgreSQL")
def test_postgres_trigger_refuses_update_and_delete():
    from django.db import DatabaseError

    _events(1)
    for sql in ("UPDATE audit_auditevent SET reason = 'x'", "DELETE FROM audit_auditevent"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(sql)


@pytest.mark.django_db(transaction=True)
def test_export_csv_and_json_by_range_and_is_itself_audited(tmp_path):
    _events(3)
    out = tmp_path / "trail.csv"
    result = CliRunner().invoke(
        audit, ["export", "--from", "2000-01-01", "--to", "2999-12-31", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["seq"] for r in rows] == ["1", "2", "3"]
    assert json.loads(rows[0]["new_value"]) == {"v": 1}
    assert rows[0]["occurred_at"].endswith("Z")
    export_event = AuditEvent.objects.get(action="export")
    assert export_event.new_value["sha256"] in result.output
    result = CliRunner().invoke(audit, ["export", "--format", "json", "--from", "2999-01-01"])
    assert result.exit_code == 0
    assert [line for line in result.output.splitlines() if line.startswith("{")] == []
    result = CliRunner().invoke(audit, ["export", "--format", "json"])
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5]


@pytest.mark.django_db(transaction=True)
def test_export_refuses_a_bad_date():
    result = CliRunner().invoke(audit, ["export", "--from", "31/12/2026"])
    assert result.exit_code == 2
    assert "is not a date" in result.output
