"""`trialdesk db app-role NAME`: the least-privileged PostgreSQL role the application runs as."""

from __future__ import annotations

import os
from urllib.parse import urlparse

import click

from trialdesk.commands._django import setup


def use_owner_connection() -> str | None:
    """Before Django starts: connect as the tables' owner when TRIALDESK_OWNER_DATABASE_URL is
    set (migrations, grants). Returns the application's role from DATABASE_URL, if it is a
    different PostgreSQL user, so that the caller can refresh its grants."""
    owner = os.environ.get("TRIALDESK_OWNER_DATABASE_URL", "")
    if not owner:
        return None
    app = urlparse(os.environ.get("DATABASE_URL", ""))
    os.environ["DATABASE_URL"] = owner
    if not app.scheme.startswith("postgres") or not app.username:
        return None
    return app.username if app.username != urlparse(owner).username else None


def refresh_grants(role: str | None) -> None:
    """After migrating as the owner: give the application role its grants on every table."""
    if not role:
        return
    from django.db import connection

    from trialdesk.site.dbroles import grant_app_role

    grant_app_role(connection, role)
    click.echo(f"application role {role}: least privileges granted (audit events: SELECT, INSERT)")


@click.group()
def db() -> None:
    """Database roles (PostgreSQL)."""


@db.command("app-role")
@click.argument("name")
@click.option(
    "--password",
    envvar="TRIALDESK_APP_DB_PASSWORD",
    default=None,
    help="set the role's password (or TRIALDESK_APP_DB_PASSWORD; omit for peer/cert login)",
)
def app_role(name: str, password: str | None) -> None:
    """Create or refresh role NAME with the least privileges the application needs.

    Run as the tables' owner (TRIALDESK_OWNER_DATABASE_URL, else DATABASE_URL). The role can
    read and append audit events but not change, delete or truncate them, nor disable the
    append-only trigger. Then set DATABASE_URL to connect as NAME.
    """
    use_owner_connection()
    setup()
    from django.db import connection

    from trialdesk.site.dbroles import RoleError, grant_app_role

    try:
        grants = grant_app_role(connection, name, password=password)
    except RoleError as exc:
        raise click.ClickException(str(exc)) from exc
    for grant in grants:
        click.echo(f"  {grant.table}: {', '.join(grant.privileges)}")
    click.echo(
        f"role {name} has these privileges and owns nothing (no TRUNCATE, ALTER or DROP). "
        f"Connect the application as it (DATABASE_URL=postgres://{name}@host/db) and migrate "
        "with TRIALDESK_OWNER_DATABASE_URL set to the owner."
    )
