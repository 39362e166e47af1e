"""`trialdesk demo load --participants 80`: demonstration data in one study, or in every study.

For NCT07183384, synthetic participants come from the simulation package's dedicated generator
(`core.simulate.synth`, the same data `trialdesk synth` writes); any other study gets values
from the protocol-driven generator (`core.simulate.synth.generic`), which reads only its
protocol file. Either way every value goes in through the same actions a site
uses (`do_create_participant`, `do_save_form`, ...), so edit checks run, auto-queries open,
derived values are computed and every write is in the audit trail. Only what has happened by
today is entered: later visits stay scheduled, as in a running study. Allocation is never
loaded here (blinding): it belongs to the randomization module.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import click

from trialdesk.commands._django import resolve_study, setup
from trialdesk.core.protocol.models import NONE_OF_THESE

LOG_VISIT_PREFERENCE = ("D0", "SCR")


@click.group()
def demo() -> None:
    """Demonstration data."""


#: The study whose clinical story the dedicated generator (core.simulate.synth) tells.
DEDICATED = "NCT07183384"


@demo.command()
@click.option(
    "--participants",
    "n",
    default=80,
    show_default=True,
    type=click.IntRange(1, 2000),
    help="per study",
)
@click.option("--seed", default=20260101, show_default=True, type=int)
@click.option("--add", is_flag=True, help="add to a study that already has participants")
@click.option("--study", default=None, metavar="CODE", help="one study (default: the only one)")
@click.option("--all", "every", is_flag=True, help="every loaded study")
def load(n: int, seed: int, add: bool, study: str | None, every: bool) -> None:
    """Register N synthetic participants per study and enter their data up to today."""
    from trialdesk.commands.web import ensure_local_secrets

    ensure_local_secrets()
    setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from trialdesk.participants.models import Participant
    from trialdesk.studies.registry import study_codes

    _ensure_a_protocol()
    codes = study_codes() if every else [resolve_study(study)]
    for code in codes:
        existing = Participant.objects.filter(study_id=code).count()
        if existing and not add:
            raise click.ClickException(
                f"{code} already holds {existing} participant{'' if existing == 1 else 's'}: demo data is for an empty "
                "study (use a fresh TRIALDESK_DATA_DIR / DATABASE_URL, or --add)"
            )
    for code in codes:
        click.echo(f"— {code}")
        users = _demo_users(code)
        if code == DEDICATED:
            loader = DemoLoader(users, code)
            loader.run(_synthetic(code, n, seed))
        else:
            loader = GenericDemoLoader(users, code)
            loader.run(n, seed)
        click.echo(loader.report())
    from trialdesk.testing.personas import PASSWORD

    click.echo(f"demo accounts, all with the password '{PASSWORD}' (a demo database only):")
    click.echo("  coord_a (coordinator 01), inv_a (investigator 01), monitor, dm (data manager),")
    click.echo("  pharm_a (unblinded pharmacist 01), stat, ustat (unblinded statistician), dsmb")
    if len(codes) > 1 or any(c != DEDICATED for c in codes):
        click.echo("  in other studies, coord_<site>/inv_<site> at each further site")


def _ensure_a_protocol() -> None:
    from trialdesk.paths import DEFAULT_PROTOCOL
    from trialdesk.studies.actions import do_load_protocol
    from trialdesk.studies.models import ProtocolVersion

    if not ProtocolVersion.objects.filter(active=True).exists():
        do_load_protocol(DEFAULT_PROTOCOL, reason="demo load")


def _demo_users(study: str):
    """The named personas, in `study`: the first study's people at the sites they share with
    it, and a coordinator and an investigator at each further site (coord_03, inv_03)."""
    from trialdesk.studies.registry import get_protocol
    from trialdesk.testing.personas import PERSONAS, SITES, Persona, create_personas

    protocol = get_protocol(study)
    if study == DEDICATED:
        return create_personas(study)
    names = {code: spec.name for code, spec in protocol.sites.items()}
    people = {k: p for k, p in PERSONAS.items() if p.site is None or p.site in names}
    for code in names:
        if code in SITES and any(p.site == code for p in people.values()):
            continue
        for role, who in (("coordinator", "coord"), ("investigator", "inv")):
            name = f"{who}_{code}"
            people[name] = Persona(name, role, code, f"{role.title()} {code}")
    return create_personas(study, personas=people, site_names=names)


def _synthetic(study: str, n: int, seed: int):
    from trialdesk.core.simulate.synth import SynthOptions, generate_chunk
    from trialdesk.studies.registry import get_protocol

    tables = generate_chunk(
        get_protocol(study), seed=seed, chunk_index=0, start=0, n=n, options=SynthOptions()
    )
    tables.pop("allocation", None)  # unblinded: never into blinded clinical tables
    tables.pop("_primary", None)
    return tables


def _raw(fld, value) -> object:
    """The text a person would have typed for a synthetic value."""
    import pandas as pd

    if value is None or (not isinstance(value, str | list) and pd.isna(value)):
        return [] if str(fld.type) == "multichoice" else ""
    kind = str(fld.type)
    if kind == "multichoice":  # no code ticked: "None of these", as a person would tick it
        codes = [c for c in str(value).split(";") if c]
        return ["", *codes] if codes else ["", NONE_OF_THESE]
    if kind == "boolean":
        return "yes" if bool(value) else "no"
    if kind == "datetime":
        return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M")
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if kind in ("integer", "decimal"):
        x = float(value)
        return "" if math.isnan(x) else (str(int(x)) if kind == "integer" else repr(x))
    return str(value)


def _row_date(row, form) -> dt.date | None:
    import pandas as pd

    for fld in form.fields.values():
        if str(fld.type) in ("datetime", "date") and not fld.derived:
            value = row.get(fld.code)
            if value is not None and not pd.isna(value):
                return pd.Timestamp(value).date()
    return None


class DemoLoader:
    def __init__(self, users, study: str):
        from trialdesk.studies.registry import get_protocol

        self.study = study
        self.protocol = get_protocol(study)
        self.users = users
        self.today = dt.date.today()
        self.counts: dict[str, int] = defaultdict(int)
        self.rejections: dict[str, int] = defaultdict(int)

    def run(self, tables) -> None:
        from rich.progress import Progress

        people = tables.pop("participants").sort_values("screened_on")
        by_pid = {code: df.groupby("participant_id") for code, df in tables.items()}
        with Progress() as progress:
            task = progress.add_task("loading participants", total=len(people))
            for person in people.itertuples(index=False):
                if person.screened_on.date() <= self.today:
                    self._participant(person, by_pid)
                progress.advance(task)

    def _rows(self, by_pid, form_code, pid):
        groups = by_pid.get(form_code)
        if groups is None or pid not in groups.groups:
            return []
        return [row for _, row in groups.get_group(pid).iterrows()]

    def _participant(self, person, by_pid) -> None:
        from trialdesk.accounts.models import Site
        from trialdesk.participants.actions import (
            do_create_participant,
            do_set_anchor_date,
            do_set_status,
        )

        site = Site.objects.get(study_id=self.study, code=str(person.site))
        user = self._coordinator(site)
        participant = do_create_participant(
            site,
            user,
            identity={"name": f"Demo participant {person.participant_id}"},
            reason="demo load",
        )
        self.counts["participants"] += 1
        dosing = self._rows(by_pid, "dosing", person.participant_id)
        anchor = _row_date(dosing[0], self.protocol.form("dosing")) if dosing else None
        if anchor and anchor <= self.today and person.dosed:
            do_set_anchor_date(participant, anchor, user, reason="dosed (demo load)")
            do_set_status(participant, "enrolled", user, reason="randomized and dosed (demo load)")
        self._visits(participant, person.participant_id, by_pid, user)
        if person.screen_failure:
            do_set_status(
                participant,
                "screen_failed",
                user,
                reason=f"screen failure: {person.screen_failure_reasons}",
            )
        elif isinstance(person.status, str) and person.status in ("WITHDREW_CONSENT",):
            do_set_status(participant, "withdrawn", user, reason="withdrew consent (demo load)")

    def _coordinator(self, site):
        from trialdesk.accounts.models import Membership, Role

        m = (
            Membership.objects.filter(site=site, role=Role.COORDINATOR, active=True)
            .select_related("user")
            .first()
        )
        if m is None:
            raise click.ClickException(f"no coordinator at site {site.code}: create one first")
        return m.user

    def _member(self, site, role):
        """A user holding ``role`` at ``site`` (or study-wide), or None."""
        from django.db.models import Q

        from trialdesk.accounts.models import Membership

        m = (
            Membership.objects.filter(
                Q(site=site) | Q(site__isnull=True), study_id=site.study_id, role=role, active=True
            )
            .select_related("user")
            .order_by("pk")
            .first()
        )
        return m.user if m else None

    def _visits(self, participant, pid, by_pid, user) -> None:
        from trialdesk.visits.actions import do_record_visit_date

        per_visit: dict[str, list] = defaultdict(list)
        for code, form in self.protocol.forms.items():
            for row in self._rows(by_pid, code, pid):
                visit = row.get("visit")
                visit = visit if isinstance(visit, str) else None
                per_visit[visit].append((code, form, row))
        visits = {v.code: v for v in participant.visits.filter(repeat=1)}
        for code, visit in visits.items():
            entries = per_visit.get(code, [])
            dates = [d for d in (_row_date(r, f) for _, f, r in entries) if d]
            when = min(dates) if dates else None
            if when is None or when > self.today:
                continue
            visit = do_record_visit_date(visit, when, user, reason="demo load")
            self.counts["visits done"] += 1
            for form_code, form, row in entries:
                self._save(visit, form_code, form, row, user)
        log_visit = next(
            (visits[c] for c in LOG_VISIT_PREFERENCE if c in visits and visits[c].actual_date), None
        )
        if log_visit is None:
            return
        for form_code, form, row in per_visit.get(None, []):
            self._save(log_visit, form_code, form, row, user, repeat=int(row.get("seq") or 1))

    def _save(self, visit, form_code, form, row, user, repeat: int | None = None) -> None:
        from trialdesk.crfs.engine import entry_fields

        day = _row_date(row, form)
        if day is not None and day > self.today:
            return
        raw = {f.code: _raw(f, row.get(f.code)) for f in entry_fields(form)}
        self._save_raw(visit, form_code, form, raw, user, repeat or int(row.get("seq") or 1))

    def _save_raw(self, visit, form_code, form, raw, user, repeat: int = 1) -> None:
        """Save typed values as a site would: the coordinator's part first and, when the form
        has items reserved to another role (``entered_by``), the whole form as that role; a
        form refused only for missing required values stays in progress."""
        from trialdesk.crfs.actions import CrfError, do_save_form, reserved_fields

        reserved = reserved_fields(form, user, visit.participant.site_id)  # another role's
        if any(raw.get(code) not in ("", None, []) for code in reserved):
            own = {k: v for k, v in raw.items() if k not in reserved}
            try:
                do_save_form(visit, form_code, user, raw=own, repeat=repeat, reason="")
            except CrfError as exc:
                self.rejections[f"{form_code}: {next(iter(exc.errors.values()))[:90]}"] += 1
                return
            other = self._member(visit.participant.site, sorted(set(reserved.values()))[0])
            user, raw = (other, raw) if other is not None else (user, own)
        for complete in (True, False):
            try:
                outcome = do_save_form(
                    visit, form_code, user, raw=raw, complete=complete, repeat=repeat, reason=""
                )
            except CrfError as exc:
                if (
                    complete
                    and set(exc.errors) <= set(form.fields)
                    and exc.result
                    and not exc.result.errors
                ):
                    continue  # only required values missing: keep it in progress
                self.rejections[f"{form_code}: {next(iter(exc.errors.values()))[:90]}"] += 1
                return
            self.counts["forms saved"] += 1
            self.counts["forms complete" if complete else "forms in progress"] += 1
            self.counts["auto-queries"] += outcome.queries_opened
            self.counts["clinical alerts"] += outcome.alerts
            return

    def report(self) -> str:
        from trialdesk.audit.models import AuditEvent
        from trialdesk.crfs.models import ItemValue

        lines = [f"{k}: {v}" for k, v in self.counts.items()]
        values = ItemValue.objects.filter(participant__study_id=self.study).count()
        lines.append(f"item values stored: {values}")
        lines.append(f"audit events: {AuditEvent.objects.filter(study_code=self.study).count()}")
        if self.rejections:
            lines.append(
                f"refused by hard checks (synthetic data the system would not accept): {sum(self.rejections.values())}"
            )
            lines += [
                f"  {n} × {msg}"
                for msg, n in sorted(self.rejections.items(), key=lambda kv: -kv[1])[:10]
            ]
        return "\n".join(lines)


class GenericDemoLoader(DemoLoader):
    """Any study, from its protocol alone (core.simulate.synth.generic): participants screened
    over the last months at the study's sites; those meant to be ineligible stop at screening;
    the others are dosed (day 0) and their scheduled visits up to today are entered."""

    def run(self, n: int, seed: int) -> None:  # type: ignore[override]
        from rich.progress import Progress

        from trialdesk.accounts.models import Site
        from trialdesk.core.simulate.synth.generic import GenericSynth

        synth = GenericSynth(self.protocol, seed)
        sites = [
            s
            for s in Site.objects.filter(study_id=self.study, active=True).order_by("code")
            if self._member(s, "coordinator") is not None
        ]
        if not sites:
            raise click.ClickException(f"{self.study} has no site with a coordinator")
        with Progress() as progress:
            task = progress.add_task("loading participants", total=n)
            for i in range(n):
                days_ago = int(180 * (n - i) / n)  # screened over the last six months
                anchor = self.today - dt.timedelta(days=days_ago)
                self._generic_participant(synth, sites[i % len(sites)], anchor)
                progress.advance(task)

    def _generic_participant(self, synth, site, anchor: dt.date) -> None:
        from trialdesk.participants.actions import (
            do_create_participant,
            do_set_anchor_date,
            do_set_status,
        )
        from trialdesk.visits.actions import do_record_visit_date

        user = self._coordinator(site)
        participant = do_create_participant(
            site, user, identity={"name": "Demo participant"}, reason="demo load"
        )
        self.counts["participants"] += 1
        person = synth.participant(participant.subject_id, anchor=anchor, site=site.code)
        recorded: set[str] = set()
        for visit_code, form_code, when in person.due(self.today):
            day = self.protocol.visits[visit_code].day or 0
            if day > 0 and not person.meant_eligible:
                break
            if day >= 0 and participant.anchor_date is None:
                if not person.meant_eligible:
                    break
                do_set_anchor_date(participant, anchor, user, reason="dosed (demo load)")
                do_set_status(participant, "enrolled", user, reason="randomized and dosed (demo)")
                participant.refresh_from_db()
            visit = participant.visits.filter(code=visit_code, repeat=1).first()
            if visit is None:
                continue
            if visit_code not in recorded:
                visit = do_record_visit_date(visit, when, user, reason="demo load")
                recorded.add(visit_code)
                self.counts["visits done"] += 1
            form = self.protocol.form(form_code)
            raw = person.form(visit_code, form_code, visit_date=when, roles=("investigator",))
            self._save_raw(visit, form_code, form, raw, user)
        if not person.meant_eligible:
            do_set_status(participant, "screen_failed", user, reason="screen failure (demo load)")
            self.counts["screen failures"] += 1
