"""Finding 3 on PostgreSQL: the application's role owns no table, so it cannot disable or drop
the append-only trigger, nor UPDATE, DELETE or TRUNCATE audit events; a normal action still
writes. The role is created in the test database with `trialdesk db app-role`'s grants."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from django.db import connection

from trialdesk.audit.chain import verify
from trialdesk.audit.models import AuditEvent

ROLE = "trialdesk_audit_test_app"

REFUSED = {
    "UPDATE": "UPDATE audit_auditevent SET reason = 'rewritten'",
    "DELETE": "DELETE FROM audit_auditevent",
    "TRUNCATE": "TRUNCATE audit_auditevent",
    "DISABLE TRIGGER": (
        "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only"
    ),
    "DISABLE ALL TRIGGERS": "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    "DROP TRIGGER": "DROP TRIGGER audit_auditevent_append_only ON audit_auditevent",
    "DROP FUNCTION": "DROP FUNCTION trialdesk_audit_append_only() CASCADE",
    "DROP TABLE": "DROP TABLE audit_auditevent",
    "replication role (skips triggers)": "SET session_replication_role = replica",
    "DELETE head": "DELETE FROM audit_auditchainhead",
    "TRUNCATE head": "TRUNCATE audit_auditchainhead",
    "DELETE clinical row": "DELETE FROM participants_participant",
    "CREATE TABLE": "CREATE TABLE sneaky (id int)",
}


@pytest.fixture
def app_role(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL")
    from trialdesk.site.dbroles import grant_app_role

    grant_app_role(connection, ROLE)
    yield ROLE
    with connection.cursor() as cur:
        cur.execute(f"DROP OWNED BY {ROLE}")
        cur.execute(f"DROP ROLE {ROLE}")


def _connect_as(role: str):
    import psycopg

    params = connection.get_connection_params()
    params.pop("password", None)
    params["user"] = role
    return psycopg.connect(**params, autocommit=True)


@pytest.mark.postgres
@pytest.mark.parametrize("what", list(REFUSED))
def test_app_role_is_refused(app_role, personas, what):
    import psycopg

    from trialdesk.testing.participants import make_participant

    make_participant(personas)
    before = AuditEvent.objects.count()
    with _connect_as(app_role) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(REFUSED[what])
    assert AuditEvent.objects.count() == before
    assert verify().ok


@pytest.mark.postgres
def test_app_role_still_runs_the_application(app_role, personas, settings):
    """A normal action, through Django, connected as the application role."""
    from trialdesk.accounts.models import Site
    from trialdesk.commands.audit import audit
    from trialdesk.participants.actions import do_create_participant

    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["USER"] = app_role
    connection.settings_dict["PASSWORD"] = ""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone()[0] == app_role
        before = AuditEvent.objects.count()
        participant = do_create_participant(
            Site.objects.get(code="01"), personas["coord_a"], reason="written as the app role"
        )
        assert AuditEvent.objects.count() > before
        assert participant.subject_id.startswith("01-")
        result = CliRunner().invoke(audit, ["verify"])
        assert result.exit_code == 0, result.output
        assert "WARNING" not in result.output
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.mark.postgres
def test_app_role_command_refuses_a_role_that_owns_the_tables(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL")
    from trialdesk.commands.db import db

    with connection.cursor() as cur:
        cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_auditevent'")
        owner = cur.fetchone()[0]
    result = CliRunner().invoke(db, ["app-role", owner])
    assert result.exit_code == 1
    assert "superuser" in result.output or "owns" in result.output


@pytest.mark.postgres
def test_verify_warns_when_the_application_connects_as_a_superuser(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL")
    from trialdesk.commands.audit import audit

    result = CliRunner().invoke(audit, ["verify"])
    assert "WARNING: this connection's role" in result.output
    assert "can disable the append-only trigger" in result.output
