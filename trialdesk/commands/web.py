"""Web-app management: init (what `make run` does before serving), migrate, serve, admin."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click

from trialdesk.commands._django import setup
from trialdesk.paths import DEFAULT_PROTOCOL, PROTOCOLS_DIR, data_dir

ADMIN_USERNAME = "admin"


def _ensure_secret(env_name: str, file_name: str, make) -> None:
    """Create a local secret file once (0600, in the data directory, never in the repo)."""
    if os.environ.get(env_name):
        return
    path = data_dir() / file_name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
        click.echo(f"created {path} (keep it safe; set {env_name} in production instead)")


def ensure_local_secrets() -> None:
    from cryptography.fernet import Fernet

    _ensure_secret("TRIALDESK_SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
    _ensure_secret("TRIALDESK_PII_KEY", "pii_key", lambda: Fernet.generate_key().decode())
    _ensure_secret("TRIALDESK_AUDIT_KEY", "audit_key", lambda: secrets.token_urlsafe(32))


def _protocol_paths(path: str | None) -> list[Path]:
    """What `init` loads: --protocol FILE, else TRIALDESK_PROTOCOL (one file, or several
    separated by the path separator), else every protocol in protocols/ (a deployment hosts
    several studies; each file is one study)."""
    if path:
        return [Path(path)]
    env = os.environ.get("TRIALDESK_PROTOCOL")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return sorted(PROTOCOLS_DIR.glob("*.yaml")) or [DEFAULT_PROTOCOL]


@click.command()
@click.option("--protocol", "protocol_path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="where `serve` will listen (for the login hint)",
)
def init(protocol_path: str | None, url: str) -> None:
    """Secrets (once), migrations, protocol, admin account (once); prints how to log in."""
    from trialdesk.commands.db import refresh_grants, use_owner_connection

    ensure_local_secrets()
    app_role = use_owner_connection()
    setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    click.echo("database migrated")
    refresh_grants(app_role)
    for path in _protocol_paths(protocol_path):
        _load(path)
    _ensure_admin(url.rstrip("/"))
    click.echo(
        "demo data: `make run DEMO=1` (or `.venv/bin/trialdesk demo load --participants 80 --all`) "
        "takes 80 synthetic participants per study through the real path (screening, consent, "
        "eligibility, randomization, dosing, visits), in about 3 to 4 minutes for both studies"
    )


def _load(path: Path) -> None:
    from trialdesk.core.protocol import ProtocolError
    from trialdesk.studies.actions import do_load_protocol

    try:
        row, created = do_load_protocol(path, reason="loaded by trialdesk init")
    except ProtocolError as exc:
        raise click.ClickException(str(exc)) from exc
    state = "loaded" if created else "already loaded"
    click.echo(f"protocol {row.study_id} v{row.version} {state} (sha256 {row.sha256[:12]})")


def _create_admin(username: str, password: str, reason: str):
    """An administrator made by the operator's CLI (the audited "system" actor)."""
    from django.contrib.auth.hashers import make_password

    from trialdesk.accounts.actions import do_create_user

    user = do_create_user(
        username=username,
        email="",
        printed_name="Administrator",
        acting_user=None,
        reason=reason,
        password_hash=make_password(password),
        is_superuser=True,
    )
    _admin_everywhere(user, reason)
    return user


def _admin_everywhere(user, reason: str) -> None:
    """The operator's administrator administers every loaded study (idempotent)."""
    from trialdesk.accounts.actions import do_grant_membership
    from trialdesk.accounts.models import Membership
    from trialdesk.studies.registry import study_codes

    for study in study_codes():
        if not Membership.objects.filter(
            user=user, study_id=study, role="admin", site=None, active=True
        ).exists():
            do_grant_membership(
                user, role="admin", site=None, acting_user=None, reason=reason, study=study
            )


def _ensure_admin(url: str) -> None:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    password_file = data_dir() / "admin-password.txt"
    existing = User.objects.filter(username=ADMIN_USERNAME).first()
    if existing is not None:
        _admin_everywhere(existing, "administrator of every loaded study (trialdesk init)")
        hint = f" (initial password in {password_file})" if password_file.exists() else ""
        click.echo(f"log in at {url}/accounts/login/ as '{ADMIN_USERNAME}'{hint}")
        return
    password = secrets.token_urlsafe(12)
    _create_admin(ADMIN_USERNAME, password, "initial admin (trialdesk init)")
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    click.echo("created the administrator account (once):")
    click.echo(f"  open {url}/accounts/login/  user '{ADMIN_USERNAME}'  password '{password}'")
    click.echo(
        f"  (also saved, readable only by you, in {password_file}; change it after logging in)"
    )


@click.command()
def migrate() -> None:
    """Apply database migrations (as TRIALDESK_OWNER_DATABASE_URL when set, else DATABASE_URL,
    else the embedded SQLite file), then refresh the application role's grants."""
    from trialdesk.commands.db import refresh_grants, use_owner_connection

    app_role = use_owner_connection()
    setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False)
    refresh_grants(app_role)


@click.command("load-protocol")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason", default="", help="why this protocol is being loaded")
def load_protocol(path: str, reason: str) -> None:
    """Validate and load a protocol file into the database."""
    setup()
    _load(Path(path))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option(
    "--tick/--no-tick",
    default=True,
    show_default=True,
    help="run `trialdesk tick` in-process every minute (use --no-tick when cron runs it)",
)
def serve(host: str, port: int, threads: int, tick: bool) -> None:
    """Serve the web app with waitress (a production WSGI server; static files by WhiteNoise)."""
    setup()
    from waitress import serve as waitress_serve

    if tick:
        from trialdesk.commands.tick import start_in_process

        start_in_process()

    from trialdesk.site.wsgi import application

    click.echo(
        f"trialdesk is serving on http://{host}:{port}/  (staff: /accounts/login/; Ctrl-C stops)"
    )
    waitress_serve(application, host=host, port=port, threads=threads, ident="trialdesk")


@click.command()
@click.option("--username", default=ADMIN_USERNAME, show_default=True)
@click.option("--reset", is_flag=True, help="set a new random password")
def createadmin(username: str, reset: bool) -> None:
    """Create an administrator (or reset its password with --reset). Audited as "system"."""
    setup()
    from django.contrib.auth import get_user_model

    from trialdesk.accounts.actions import AccountsError, do_operator_reset_password

    user = get_user_model().objects.filter(username=username).first()
    if user and not reset:
        raise click.ClickException(f"user '{username}' exists; use --reset for a new password")
    try:
        if user is None:
            password = secrets.token_urlsafe(12)
            _create_admin(username, password, "trialdesk createadmin")
        else:
            password = do_operator_reset_password(user, reason="trialdesk createadmin --reset")
    except AccountsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user '{username}' password '{password}'")


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command (e.g. `trialdesk manage check --deploy`)."""
    setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line([sys.argv[0], *args])
