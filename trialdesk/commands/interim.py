"""`trialdesk interim …`: the interim analysis of the primary endpoint (unblinded)."""

from __future__ import annotations

import json

import click

from trialdesk.commands._django import resolve_study, setup, study_option


@click.group()
def interim() -> None:
    """The interim analysis of the primary endpoint (unblinded statistician)."""


@interim.command()
@study_option
def status(study: str | None) -> None:
    """Whether the interim is due (pooled counts only: no arm)."""
    setup()
    from trialdesk.dsmb import interim as svc

    code = resolve_study(study)
    try:
        s = svc.due_state(code)
    except svc.InterimUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_due_text(s))


def _due_text(s) -> str:
    state = "due" if s.due else "not yet due"
    return (
        f"{s.n_with_endpoint} of {s.n_planned_max} participants have the {s.visit} primary "
        f"endpoint; the interim is due at {s.due_at}: {state}"
    )


@interim.command()
@study_option
@click.option("--user", "username", required=True, help="the unblinded statistician running it")
@click.option("--json", "as_json", is_flag=True, help="print the stored result as JSON")
def run(study: str | None, username: str, as_json: bool) -> None:
    """Run the interim analysis now, keep it (audited) and print the result (by arm)."""
    setup()
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied

    from trialdesk.dsmb.actions import DsmbError, do_run_interim

    code = resolve_study(study)
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise click.ClickException(f"no active user {username!r}")
    try:
        r = do_run_interim(code, user)
    except (PermissionDenied, DsmbError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"run": r.pk, "sha256": r.result_sha256, **r.result}, indent=2))
        return
    click.echo(
        "\n".join(
            [
                f"Interim run {r.pk} of {code}, data cut at audit event {r.data_cut_seq}",
                f"{r.treatment_arm} n = {r.n_treatment}, {r.control_arm} n = {r.n_control}; "
                f"information fraction {r.information_fraction:.4f}",
                f"difference ({r.treatment_arm} - {r.control_arm}) {r.estimate:.4f}, "
                f"SE {r.standard_error:.4f}, z = {r.z:.4f}",
                f"critical value {r.critical_value:.4f}"
                + ("" if r.futility_bound is None else f", futility bound {r.futility_bound:.4f}")
                + f" -> {r.decision}",
                f"conditional power: {r.conditional_power_trend:.4f} (observed trend), "
                f"{r.conditional_power_design:.4f} (design alternative), "
                f"{r.conditional_power_planned_effect:.4f} (planned effect)",
                f"repeated CI: ({r.rci_lower:.4f}, {r.rci_upper:.4f})",
                f"result SHA-256 {r.result_sha256}",
            ]
        )
    )
