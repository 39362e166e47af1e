"""`trialdesk users ...`: the operator's hands on people, roles and sites.

Each sub-command calls the same audited action as the staff pages, as the "system" actor (the
operator already holds the database): bootstrap accounts, grant the first unblinded role, set an
e-mail address. Passwords are never shown to anyone but the person: `send-reset` e-mails a
one-time link; `createadmin --reset` is the operator's own emergency door.
"""

from __future__ import annotations

import click

from trialdesk.commands._django import resolve_study, setup, study_option


def _user(username: str):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise click.ClickException(f"no user named {username!r} (see `trialdesk users list`)")
    return user


def _site(study: str, code: str | None):
    if not code:
        return None
    from trialdesk.accounts.models import Site

    site = Site.objects.filter(study_id=study, code=code).first()
    if site is None:
        codes = ", ".join(Site.objects.filter(study_id=study).values_list("code", flat=True))
        raise click.ClickException(f"{study} has no site {code!r} (sites: {codes})")
    return site


def _run(step):
    from trialdesk.accounts.actions import AccountsError

    try:
        return step()
    except AccountsError as exc:
        raise click.ClickException(str(exc)) from exc


REASON = click.option("--reason", required=True, help="why (kept in the audit trail)")


@click.group()
def users() -> None:
    """People, roles and sites (audited; the operator acts as "system")."""
    setup()


@users.command("list")
def list_users() -> None:
    """Every account with its active roles."""
    from django.contrib.auth import get_user_model

    for user in get_user_model().objects.order_by("username").prefetch_related("memberships__site"):
        roles = ", ".join(
            f"{m.study_id}:{m.role}" + (f"@{m.site.code}" if m.site_id else "")
            for m in user.memberships.all()
            if m.active
        )
        state = "" if user.is_active else " (inactive)"
        click.echo(f"{user.username}{state}\t{user.email}\t{roles or '-'}")


@users.command()
@click.argument("username")
@click.option("--email", required=True, help="the one-time link to set the password goes here")
@click.option("--printed-name", default="", help="name shown on signatures")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="site address")
@REASON
def create(username: str, email: str, printed_name: str, url: str, reason: str) -> None:
    """Create an account and e-mail the person a link to set her password."""
    from trialdesk.accounts.actions import do_create_user, do_send_password_reset

    user = _run(
        lambda: do_create_user(
            username=username,
            email=email,
            printed_name=printed_name,
            acting_user=None,
            reason=reason,
        )
    )
    _run(lambda: do_send_password_reset(user, acting_user=None, reason=reason, link_base=url))
    click.echo(f"created {username}; a link to set the password was e-mailed to {email}")


@users.command()
@click.argument("username")
@click.option("--role", required=True)
@click.option("--site", "site_code", default=None, help="site code for a site role")
@study_option
@REASON
def grant(username: str, role: str, site_code: str | None, study: str | None, reason: str) -> None:
    """Give a role in one study (any role: the operator bootstraps the first unblinded grantor)."""
    from trialdesk.accounts.actions import do_grant_membership

    study = resolve_study(study)
    user, site = _user(username), _site(study, site_code)
    _run(
        lambda: do_grant_membership(
            user, role=role, site=site, acting_user=None, reason=reason, study=study
        )
    )
    click.echo(
        f"{username} now holds {role} in {study}" + (f" at {site_code}" if site_code else "")
    )


@users.command()
@click.argument("username")
@click.option("--role", required=True)
@click.option("--site", "site_code", default=None)
@study_option
@REASON
def revoke(username: str, role: str, site_code: str | None, study: str | None, reason: str) -> None:
    """Take a role away (in one study)."""
    from trialdesk.accounts.actions import do_revoke_membership
    from trialdesk.accounts.models import Membership

    study = resolve_study(study)
    user, site = _user(username), _site(study, site_code)
    m = Membership.objects.filter(
        user=user, study_id=study, role=role, site=site, active=True
    ).first()
    if m is None:
        raise click.ClickException(f"{username} holds no active {role} there")
    _run(lambda: do_revoke_membership(m, acting_user=None, reason=reason))
    click.echo(f"revoked {role} from {username}")


@users.command()
@click.argument("username")
@REASON
def deactivate(username: str, reason: str) -> None:
    """The person can no longer log in."""
    from trialdesk.accounts.actions import do_deactivate_user

    _run(lambda: do_deactivate_user(_user(username), acting_user=None, reason=reason))
    click.echo(f"deactivated {username}")


@users.command("send-reset")
@click.argument("username")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="site address")
@REASON
def send_reset(username: str, url: str, reason: str) -> None:
    """E-mail the person a one-time link to set a new password."""
    from trialdesk.accounts.actions import do_send_password_reset

    user = _user(username)
    _run(lambda: do_send_password_reset(user, acting_user=None, reason=reason, link_base=url))
    click.echo(f"a one-time link was e-mailed to {username}'s address")


@users.command("set-email")
@click.argument("username")
@click.argument("email")
@REASON
def set_email(username: str, email: str, reason: str) -> None:
    """Change an e-mail address (operator only: the reset link goes there)."""
    from trialdesk.accounts.actions import do_change_user

    _run(lambda: do_change_user(_user(username), acting_user=None, reason=reason, email=email))
    click.echo(f"{username}'s e-mail is now {email}")


@users.command()
@click.argument("code")
@click.option("--name", required=True)
@click.option("--city", default="")
@click.option("--closed", is_flag=True, help="closed to enrolment")
@study_option
@REASON
def site(code: str, name: str, city: str, closed: bool, study: str | None, reason: str) -> None:
    """Create or change a site of one study."""
    from trialdesk.accounts.actions import do_save_site

    study = resolve_study(study)
    _run(
        lambda: do_save_site(
            study=study,
            code=code,
            name=name,
            city=city,
            active=not closed,
            acting_user=None,
            reason=reason,
        )
    )
    click.echo(f"site {code} of {study} saved")
