"""PostgreSQL: the application connects as a role that owns nothing and may do only what it needs.

The tables (and the audit trail's append-only trigger) belong to the owner that runs the
migrations (``TRIALDESK_OWNER_DATABASE_URL``); the application's role (``DATABASE_URL``) gets:

- ``audit_auditevent``: SELECT, INSERT, nothing else. Without ownership it cannot disable or
  drop the trigger, and without the privileges it cannot UPDATE, DELETE or TRUNCATE events.
- ``audit_auditchainhead``: SELECT, INSERT, UPDATE (the head moves with every event).
- ``django_migrations``: SELECT.
- every other table of the trialdesk apps: SELECT, INSERT, UPDATE (no action deletes a
  clinical row: values are cleared, signatures voided, records superseded); many-to-many link
  tables also DELETE (Django rewrites them);
- tables of the framework (sessions, login throttling, admin log, content types): also DELETE.
- USAGE on the schema and the sequences; never CREATE, TRUNCATE, REFERENCES or TRIGGER.

``grant_app_role`` is re-run by ``trialdesk migrate``/``init`` after migrating as the owner,
so tables added by a later migration get their grants too. See docs/security/audit.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db.backends.base.base import BaseDatabaseWrapper

AUDIT_EVENTS = "audit_auditevent"
CHAIN_HEAD = "audit_auditchainhead"


class RoleError(RuntimeError):
    """The role cannot be made least-privileged; the message says why and what to do."""


@dataclass(frozen=True)
class TableGrant:
    table: str
    privileges: tuple[str, ...]


def table_grants() -> list[TableGrant]:
    """What the application role may do on each table the models define."""
    grants = {"django_migrations": ("SELECT",)}
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        config = apps.get_app_config(model._meta.app_label)
        if table == AUDIT_EVENTS:
            privileges: tuple[str, ...] = ("SELECT", "INSERT")
        elif table == CHAIN_HEAD:
            privileges = ("SELECT", "INSERT", "UPDATE")
        elif config.name.startswith("trialdesk.") and not model._meta.auto_created:
            privileges = ("SELECT", "INSERT", "UPDATE")
        else:
            privileges = ("SELECT", "INSERT", "UPDATE", "DELETE")
        grants[table] = privileges
    return [TableGrant(t, p) for t, p in sorted(grants.items())]


def _refuse_if_privileged(cur, role: str) -> None:
    cur.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
    row = cur.fetchone()
    if row and (row[0] or row[1]):
        raise RoleError(f"role {role} is a superuser: the application role must be an ordinary one")
    cur.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tableowner = %s",
        [role],
    )
    owned = [r[0] for r in cur.fetchall()]
    if owned:
        raise RoleError(
            f"role {role} owns {len(owned)} tables ({', '.join(owned[:3])}…): run "
            f"`REASSIGN OWNED BY {role} TO <owner>` as the owner first, then migrate as the owner"
        )


def grant_app_role(
    connection: BaseDatabaseWrapper, role: str, *, password: str | None = None
) -> list[TableGrant]:
    """Create ``role`` if needed (LOGIN, NOSUPERUSER …) and give it exactly ``table_grants()``.

    Runs as the tables' owner (or a superuser). Idempotent: previous grants are revoked first.
    """
    if connection.vendor != "postgresql":
        raise RoleError("application roles are a PostgreSQL feature (SQLite has no roles)")
    from psycopg import sql

    ident = sql.Identifier(role)
    grants = table_grants()
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cur.fetchone() is None:
            cur.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
                ).format(ident)
            )
        _refuse_if_privileged(cur, role)
        if password:
            cur.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(password)))
        database = sql.Identifier(connection.settings_dict["NAME"])
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, ident))
        cur.execute("SELECT current_schema()")
        schema = sql.Identifier(cur.fetchone()[0])
        cur.execute(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(schema, ident))
        cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, ident))
        cur.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, ident))
        existing = set(connection.introspection.table_names(cur))
        for grant in grants:
            if grant.table not in existing:
                continue
            cur.execute(
                sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                    sql.SQL(", ").join(sql.SQL(p) for p in grant.privileges),
                    sql.Identifier(grant.table),
                    ident,
                )
            )
        cur.execute(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, ident)
        )
    return grants


def privilege_warning(connection: BaseDatabaseWrapper) -> str:
    """What `audit verify` says when the application's own connection could undo the
    append-only protection (PostgreSQL: a superuser, or the owner of the audit table)."""
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT current_user, r.rolsuper, t.tableowner = current_user "
            "FROM pg_roles r LEFT JOIN pg_tables t ON t.tablename = %s "
            "AND t.schemaname = current_schema() WHERE r.rolname = current_user",
            [AUDIT_EVENTS],
        )
        user, superuser, owner = cur.fetchone()
    if not (superuser or owner):
        return ""
    what = "a superuser" if superuser else f"the owner of {AUDIT_EVENTS}"
    return (
        f"WARNING: this connection's role {user} is {what}: it can disable the append-only "
        "trigger; run the application as a role made by `trialdesk db app-role` "
        "(docs/security/audit.md)"
    )
