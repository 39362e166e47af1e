"""`trialdesk demo load --participants 80`: demonstration data in one study, or in every study.

For NCT07183384, synthetic participants come from the simulation package's dedicated generator
(`core.simulate.synth`, the same data `trialdesk synth` writes); any other study gets values
from the protocol-driven generator (`core.simulate.synth.generic`), which reads only its
protocol file. Either way every value goes in through the same actions a site
uses, so edit checks run, auto-queries open, derived values are computed and every write is
in the audit trail. Before the first participant the unblinded statistician generates and
re-verifies the randomization list; then each participant is screened (screening log),
consents, has her screening eCRF entered and her eligibility assessed and signed by the
investigator (or her screening closed with the failed criteria), is randomized from the list,
has her kit prepared by the unblinded pharmacist and is dosed (which sets day 0); her visits up
to today follow, and a few withdraw consent or come to a visit out of its window (a protocol
deviation). Only what has happened by today is entered: later visits stay scheduled, as in a
running study. The synthetic arms are dropped (blinding): allocation comes from the real list,
and nothing printed names an arm.

Speed (2 CPU cores, SQLite): `--participants 80 --all` takes about 3 to 4 minutes, about
2.5 minutes for NCT07183384 and 45 s for TD-IRON-PP. Saving the eCRFs takes most of it; the
enrolment and randomization steps add about a tenth (the investigator's password, re-entered
for each eligibility signature, is checked with Argon2).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import time
import zlib
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from unittest import mock

import click
from django.core.exceptions import PermissionDenied

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
    from django.conf import settings
    from django.core import mail
    from django.core.management import call_command

    # The alerts and reminders the story sets off are kept, not printed or sent: a demo has no
    # real investigators to tell, and hundreds of e-mails would bury the summary.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []

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

    sent = len(mail.outbox)
    click.echo(f"e-mails the story set off (kept, not sent): {sent}")
    click.echo(f"demo accounts, all with the password '{PASSWORD}' (a demo database only):")
    click.echo("  coord_a (coordinator 01), inv_a (investigator 01), monitor, dm (data manager),")
    click.echo("  pharm_a (unblinded pharmacist 01), stat, ustat (unblinded statistician), dsmb")
    if len(codes) > 1 or any(c != DEDICATED for c in codes):
        click.echo("  in other studies, coord_<site>/inv_<site>/pharm_<site> at each further site")


def _ensure_a_protocol() -> None:
    from trialdesk.paths import DEFAULT_PROTOCOL
    from trialdesk.studies.actions import do_load_protocol
    from trialdesk.studies.models import ProtocolVersion

    if not ProtocolVersion.objects.filter(active=True).exists():
        do_load_protocol(DEFAULT_PROTOCOL, reason="demo load")


def _demo_users(study: str):
    """The named personas, in `study`: the first study's people at the sites they share with
    it, and a coordinator, an investigator and an unblinded pharmacist at each further site
    (coord_03, inv_03, pharm_03)."""
    from trialdesk.studies.registry import get_protocol
    from trialdesk.testing.personas import PERSONAS, Persona, create_personas

    protocol = get_protocol(study)
    if study == DEDICATED:
        return create_personas(study)
    names = {code: spec.name for code, spec in protocol.sites.items()}
    people = {k: p for k, p in PERSONAS.items() if p.site is None or p.site in names}
    for code in names:
        for role, who in (
            ("coordinator", "coord"),
            ("investigator", "inv"),
            ("pharmacist", "pharm"),
        ):
            if any(p.site == code and p.role == role for p in people.values()):
                continue
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


#: Withdrawal scopes of the dedicated generator's disposition form → enrolment's scopes.
WITHDRAWAL_SCOPES = {
    "NO_PROCEDURES": "no_further_visits",
    "NO_DATA": "no_further_data",
    "DESTROY_SAMPLES": "destroy_samples",
}
#: Every DEVIATE_EVERY-th dosed participant (counting from the DEVIATE_AT-th) comes to her first
#: follow-up visit a little late: the data saved outside the window are a protocol deviation.
DEVIATE_EVERY, DEVIATE_AT = 12, 2
#: Share of dosed participants who withdraw consent in a generic study (the dedicated
#: generator decides that itself).
GENERIC_WITHDRAWAL_RATE = 0.08
#: Refusals the loader counts and goes past: a refused action never stops the demo.
REFUSALS = (ValueError, PermissionError, PermissionDenied)
MINUTE = dt.timedelta(minutes=1)


@contextlib.contextmanager
def _clock(moment: dt.datetime):
    """Run actions as if it were ``moment``: the demo replays months of a study in minutes,
    and the actions that stamp their own time (the eligibility assessment and its signature,
    the allocation, the preparation, closing the screening) must stamp the story's time, not
    today's, or the dose could not follow them. Only Django's clock moves; the audit trail
    keeps the real time at which each event was written."""
    from django.utils import timezone

    with mock.patch.object(timezone, "now", lambda: moment):
        yield


def site_zone(site):
    from trialdesk.studies.timezones import site_zone as zone_of

    return zone_of(site)


def _when(text: object, zone) -> dt.datetime | None:
    """An aware date-time from what a person typed (``YYYY-MM-DD HH:MM``, ISO) in ``zone``."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=zone)


def _decimal(text: object) -> Decimal | None:
    try:
        return Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None


class DemoLoader:
    """NCT07183384 from its dedicated generator. Each participant goes the way a site goes:
    screening log, consent, screening eCRF, eligibility assessed and signed by the investigator
    (or screening closed with the failed criteria), allocation from the study's list, the
    unblinded pharmacist's preparation, the dose (which sets day 0), the visits up to today, and
    a withdrawal where the synthetic story has one. The shared steps (``_screen`` …
    ``_withdraw``) serve ``GenericDemoLoader`` too."""

    def __init__(self, users, study: str):
        from trialdesk.accounts.models import Site
        from trialdesk.studies.registry import get_protocol

        self.study = study
        self.protocol = get_protocol(study)
        self.users = users
        self.today = dt.date.today()
        self.counts: dict[str, int] = defaultdict(int)
        self.rejections: dict[str, int] = defaultdict(int)
        self.sites = {s.code: s for s in Site.objects.filter(study_id=study)}
        self._members: dict[tuple[int, str], object] = {}
        self.follow_up = self._first_follow_up()
        self.started = time.monotonic()

    # -- the study ---------------------------------------------------------------------------
    def run(self, tables) -> None:
        people = tables.pop("participants").sort_values("screened_on")
        by_pid = {code: df.groupby("participant_id") for code, df in tables.items()}
        with self._progress() as progress:
            self._randomization_list(progress, len(people))
            task = progress.add_task("participants", total=len(people))
            for person in people.itertuples(index=False):
                if person.screened_on.date() <= self.today:
                    self._participant(person, by_pid)
                progress.advance(task)

    @staticmethod
    def _progress():
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            refresh_per_second=4,
        )

    def _randomization_list(self, progress, participants: int) -> None:
        """The unblinded statistician generates the list (as on the list page) and re-verifies
        it, before the first participant; one that is already active (``--add``) is kept."""
        from trialdesk.randomization.actions import do_generate_list, do_verify_list
        from trialdesk.randomization.models import RandomizationList

        task = progress.add_task("randomization list", total=2)
        if RandomizationList.objects.filter(study_id=self.study, active=True).exists():
            progress.update(task, completed=2, description="randomization list (kept)")
            return
        statistician = self._member(None, "unblinded_statistician")
        if statistician is None:
            raise click.ClickException(f"{self.study} has no unblinded statistician")
        # Enough for every participant, even if all fell into one stratum.
        do_generate_list(
            statistician,
            slots_per_stratum=max(participants, 8),
            reason="demo load: list for the demo participants",
            study=self.study,
        )
        progress.advance(task)
        check = do_verify_list(statistician, study=self.study)
        if not check:
            raise click.ClickException("the demo's randomization list does not verify")
        progress.advance(task)

    # -- one participant of the dedicated generator ------------------------------------------
    def _participant(self, person, by_pid) -> None:
        site = self.sites[str(person.site)]
        user = self._coordinator(site)
        zone = site_zone(site)
        pid = person.participant_id
        per_visit = self._per_visit(pid, by_pid)
        consent = next((r for c, _, r in per_visit.get("SCR", []) if c == "consent"), None)
        raw = self._raw_row("consent", consent) if consent is not None else {}
        at = self._consent_time(raw, zone, person.screened_on.date())
        participant = self._screen(site, user, at, f"Demo participant {pid}")
        if participant is None:
            return
        self._consent(participant, user, raw, at)
        self._visits(participant, per_visit, user, only={"SCR"})
        if not self._eligibility(participant, user, at):
            return
        dosing = self._rows(by_pid, "dosing", pid)
        if not (person.randomized and person.dosed and dosing):
            self._close(participant, user, at, "declined", "eligible, not randomized")
            return
        dose = self._dose(self._raw_row("dosing", dosing[0]), zone)
        if dose is None or not self._randomize_and_dose(participant, user, site, dose, at):
            return
        if self._deviates():
            self._late(per_visit)
        self._visits(participant, per_visit, user, only=None, logs=True)
        if isinstance(person.status, str) and person.status == "WITHDREW_CONSENT":
            end = next((r for c, _, r in per_visit.get("ET", []) if c == "disposition"), None)
            scope = end.get("withdrawal_scope") if end is not None else None
            self._withdraw(participant, user, WITHDRAWAL_SCOPES.get(scope, "no_further_visits"))

    def _rows(self, by_pid, form_code, pid):
        groups = by_pid.get(form_code)
        if groups is None or pid not in groups.groups:
            return []
        return [row for _, row in groups.get_group(pid).iterrows()]

    def _per_visit(self, pid, by_pid) -> dict[str | None, list]:
        """visit code (None: log forms) → [(form code, form, synthetic row)]."""
        per_visit: dict[str | None, list] = defaultdict(list)
        for code, form in self.protocol.forms.items():
            for row in self._rows(by_pid, code, pid):
                visit = row.get("visit")
                per_visit[visit if isinstance(visit, str) else None].append((code, form, row))
        return per_visit

    def _raw_row(self, form_code: str, row) -> dict[str, object]:
        """Every typed item of a synthetic row, those an action records too (for the action)."""
        form = self.protocol.form(form_code)
        return {f.code: _raw(f, row.get(f.code)) for f in form.fields.values() if not f.derived}

    def _late(self, per_visit) -> None:
        """Move the first follow-up visit's dates past its window (a protocol deviation)."""
        import pandas as pd

        if self.follow_up is None:
            return
        code, late = self.follow_up
        shifted = []
        for form_code, form, row in per_visit.get(code, []):
            row = row.copy()
            for fld in form.fields.values():
                value = row.get(fld.code)
                if (
                    str(fld.type) in ("date", "datetime")
                    and value is not None
                    and not pd.isna(value)
                ):
                    row[fld.code] = pd.Timestamp(value) + pd.Timedelta(days=late)
            shifted.append((form_code, form, row))
        per_visit[code] = shifted

    def _visits(self, participant, per_visit, user, *, only, logs: bool = False) -> None:
        """Date the participant's visits (``only`` these codes, or every visit not yet dated)
        and save their forms; with ``logs``, the log forms (adverse events, medication)."""
        from trialdesk.visits.actions import do_record_visit_date

        visits = {v.code: v for v in participant.visits.filter(repeat=1)}
        for code, visit in visits.items():
            if (only is not None and code not in only) or visit.actual_date is not None:
                continue
            entries = per_visit.get(code, [])
            dates = [d for d in (_row_date(r, f) for _, f, r in entries) if d]
            when = min(dates) if dates else None
            if when is None or when > self.today:
                continue
            try:
                visit = do_record_visit_date(visit, when, user, reason="demo load")
            except REFUSALS as exc:
                self._refused("visit date", exc)
                continue
            self.counts["visits done"] += 1
            for form_code, form, row in entries:
                self._save(visit, form_code, form, row, user)
        if not logs:
            return
        log_visit = next(
            (visits[c] for c in LOG_VISIT_PREFERENCE if c in visits and visits[c].actual_date), None
        )
        if log_visit is None:
            return
        for form_code, form, row in per_visit.get(None, []):
            self._save(log_visit, form_code, form, row, user, repeat=int(row.get("seq") or 1))

    # -- the steps every study shares --------------------------------------------------------
    def _consent_time(self, raw, zone, screened_on: dt.date) -> dt.datetime:
        at = _when(raw.get("consent_datetime"), zone)
        if at is None or at.date() != screened_on:
            at = dt.datetime.combine(screened_on, dt.time(8, 30), tzinfo=zone)
        return at

    def _screen(self, site, user, at: dt.datetime, name: str):
        """The screening-log entry (a new participant), on the day of consent."""
        from trialdesk.enrolment.actions import do_screen_participant

        try:
            with _clock(at - 5 * MINUTE):
                entry = do_screen_participant(
                    site, user, screened_on=at.date(), identity={"name": name}
                )
        except REFUSALS as exc:
            self._refused("screening", exc)
            return None
        self.counts["participants"] += 1
        self.counts["screened"] += 1
        return entry.participant

    def _consent(self, participant, user, raw, at: dt.datetime) -> bool:
        """Consent through the enrolment action, first of all (the consent form's items that
        duplicate it come from this record); none when the synthetic woman did not sign."""
        from trialdesk.enrolment.actions import do_record_consent

        if raw.get("participant_signed") == "no":
            self.counts["did not sign consent"] += 1
            return False
        version = raw.get("consent_version")
        if version not in self.protocol.consent_versions:
            spec = self.protocol.consent_version_on(at.date())
            version = spec.code if spec else next(iter(self.protocol.consent_versions), "")
        try:
            do_record_consent(participant, user, version=str(version), consented_at=at)
        except REFUSALS as exc:
            self._refused("consent", exc)
            return False
        self.counts["consented"] += 1
        return True

    def _eligibility(self, participant, user, at: dt.datetime) -> bool:
        """Assessed by the coordinator on the screening data, signed by the investigator when
        every criterion is met; otherwise screening is closed (screen failure)."""
        from trialdesk.enrolment.actions import do_assess_eligibility, do_confirm_eligibility
        from trialdesk.enrolment.models import EligibilityAssessment
        from trialdesk.testing.personas import PASSWORD

        try:
            with _clock(at + 20 * MINUTE):
                assessment = do_assess_eligibility(participant, user)
        except REFUSALS as exc:
            self._refused("eligibility", exc)
            return False
        if assessment.result == EligibilityAssessment.Result.NOT_ELIGIBLE:
            self._close(participant, user, at, "ineligible")
            return False
        if assessment.result != EligibilityAssessment.Result.ELIGIBLE:
            self._close(participant, user, at, "other", "eligibility undetermined: data missing")
            return False
        investigator = self._member(participant.site, "investigator")
        if investigator is None:
            self._refused("eligibility", f"no investigator at site {participant.site.code}")
            return False
        try:
            with _clock(at + 25 * MINUTE):
                do_confirm_eligibility(assessment, investigator, password=PASSWORD)
        except REFUSALS as exc:
            self._refused("eligibility signature", exc)
            return False
        self.counts["eligibility signed"] += 1
        return True

    def _close(self, participant, user, at: dt.datetime, outcome: str, note: str = "") -> None:
        from trialdesk.enrolment.actions import do_close_screening

        try:
            with _clock(at + 25 * MINUTE):
                do_close_screening(participant, user, outcome=outcome, note=note)
        except REFUSALS as exc:
            self._refused("closing screening", exc)
            return
        self.counts[
            "screen failed" if outcome == "ineligible" else f"not randomized ({outcome})"
        ] += 1

    def _dose(self, raw, zone) -> dict | None:
        """The dosing action's arguments from the dosing form's typed items."""
        start = _when(raw.get("start_at"), zone)
        stop = _when(raw.get("stop_at"), zone)
        given = _decimal(raw.get("administered_volume"))
        if start is None or stop is None or given is None:
            return None
        prepared = _decimal(raw.get("prepared_volume")) or given
        route = raw.get("route")
        route = route if route in self.protocol.routes else next(iter(self.protocol.routes))
        place = " ".join(str(raw.get(k) or "") for k in ("im_site", "im_side")).strip()
        return {
            "route": route,
            "volume_ml": given,
            "prepared_ml": max(prepared, given),
            "started_at": start,
            "stopped_at": stop,
            "injection_site": place if route == "IM" else "",
            "interrupted": raw.get("interrupted") == "yes",
        }

    def _randomize_and_dose(self, participant, user, site, dose, consented: dt.datetime) -> bool:
        """Allocation from the list (the coordinator), preparation of the kit (the site's
        unblinded pharmacist), the dose (the coordinator): the dose sets day 0."""
        from trialdesk.randomization.actions import (
            do_randomize_participant,
            do_record_dosing,
            do_record_preparation,
        )

        start = dose["started_at"]
        randomized_at = max(consented + 30 * MINUTE, start - 40 * MINUTE)
        pharmacist = self._member(site, "pharmacist")
        if pharmacist is None:
            self._refused("preparation", f"no pharmacist at site {site.code}")
            return False
        try:
            with _clock(randomized_at):
                allocation = do_randomize_participant(participant, user, reason="demo load")
        except REFUSALS as exc:
            self._refused("randomization", exc)
            return False
        self.counts["randomized"] += 1
        prepared_at = (randomized_at + 10 * MINUTE).replace(second=0, microsecond=0)
        try:
            with _clock(prepared_at):
                do_record_preparation(
                    allocation,
                    pharmacist,
                    lot=_lot(allocation.arm),
                    volume_ml=dose["prepared_ml"],
                    prepared_at=prepared_at,
                )
        except REFUSALS as exc:
            self._refused("preparation", exc)
            return False
        try:
            with _clock(max(dose["stopped_at"], start) + 5 * MINUTE):
                do_record_dosing(
                    participant,
                    user,
                    route=dose["route"],
                    volume_ml=dose["volume_ml"],
                    started_at=start,
                    stopped_at=dose["stopped_at"],
                    administered_by=user,
                    injection_site=dose["injection_site"],
                    interrupted=dose["interrupted"],
                )
        except REFUSALS as exc:
            self._refused("dosing", exc)
            return False
        self.counts["dosed"] += 1
        participant.refresh_from_db()
        return True

    def _withdraw(self, participant, user, scope: str) -> None:
        """Consent withdrawn the day after the last visit she came to (the enrolment action)."""
        from django.utils import timezone

        from trialdesk.enrolment.actions import do_withdraw_consent

        last = (
            participant.visits.filter(actual_date__isnull=False)
            .order_by("-actual_date")
            .values_list("actual_date", flat=True)
            .first()
        )
        day = min((last or self.today) + dt.timedelta(days=1), self.today)
        at = dt.datetime.combine(day, dt.time(10, 0), tzinfo=site_zone(participant.site))
        try:
            do_withdraw_consent(
                participant,
                user,
                scope=scope,
                withdrawn_at=min(at, timezone.now()),
                reason="withdrew consent (demo load)",
            )
        except REFUSALS as exc:
            self._refused("withdrawal", exc)
            return
        self.counts["withdrawn"] += 1

    def _deviates(self) -> bool:
        return self.counts["dosed"] % DEVIATE_EVERY == DEVIATE_AT % DEVIATE_EVERY

    def _first_follow_up(self) -> tuple[str, int] | None:
        """The first visit after day 0 with a window, and how many days late is past it."""
        visits = [v for v in self.protocol.visits.values() if v.scheduled and v.day and v.day > 0]
        if not visits:
            return None
        first = min(visits, key=lambda v: v.day or 0)
        return first.code, first.window_after + 2

    def _refused(self, step: str, exc) -> None:
        self.rejections[f"{step}: {str(exc)[:90]}"] += 1

    def _coordinator(self, site):
        user = self._member(site, "coordinator")
        if user is None:
            raise click.ClickException(f"no coordinator at site {site.code}: create one first")
        return user

    def _member(self, site, role):
        """A user holding ``role`` at ``site`` (or study-wide; ``site`` None: study-wide
        only), or None."""
        from django.db.models import Q

        from trialdesk.accounts.models import Membership

        key = (site.pk if site is not None else 0, role)
        if key not in self._members:
            where = Q(site__isnull=True) if site is None else Q(site=site) | Q(site__isnull=True)
            m = (
                Membership.objects.filter(where, study_id=self.study, role=role, active=True)
                .select_related("user")
                .order_by("pk")
                .first()
            )
            self._members[key] = m.user if m else None
        return self._members[key]

    # -- eCRF entry ---------------------------------------------------------------------------
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

        # Items an action's record fills (source) went to that action; the form never takes them.
        raw = {k: v for k, v in raw.items() if k not in form.fields or not form.fields[k].source}
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
            except REFUSALS as exc:  # e.g. data dated after a withdrawal
                self._refused(form_code, exc)
                return
            self.counts["forms saved"] += 1
            self.counts["forms complete" if complete else "forms in progress"] += 1
            self.counts["auto-queries"] += outcome.queries_opened
            self.counts["clinical alerts"] += outcome.alerts
            return

    # -- the report ---------------------------------------------------------------------------
    def report(self) -> str:
        """What was entered, and what the system counts (no arm: the output is blinded)."""
        from trialdesk.audit.models import AuditEvent
        from trialdesk.crfs.models import ItemValue
        from trialdesk.enrolment.services import consort_counts

        lines = [f"{k}: {v}" for k, v in self.counts.items()]
        values = ItemValue.objects.filter(participant__study_id=self.study).count()
        lines.append(f"item values stored: {values}")
        events = AuditEvent.objects.filter(study_code=self.study)
        deviations = events.filter(object_type="visits.deviation")
        lines.append(
            f"protocol deviations (data dated outside the visit window): {deviations.count()}, "
            f"at {deviations.values('object_id').distinct().count()} visit(s)"
        )
        lines.append(f"audit events: {events.count()}")
        consort = consort_counts(site_ids=[s.pk for s in self.sites.values()])
        not_enrolled = ", ".join(f"{k} {v}" for k, v in sorted(consort["not_enrolled"].items()))
        lines.append(
            f"screening log / CONSORT: screened {consort['screened']}, randomized "
            f"{consort['randomized']}, in screening {consort['in_screening']}, not enrolled: "
            f"{not_enrolled or 'none'}"
        )
        if self.rejections:
            lines.append(
                f"refused by the system (synthetic data it would not accept): {sum(self.rejections.values())}"
            )
            lines += [
                f"  {n} × {msg}"
                for msg, n in sorted(self.rejections.items(), key=lambda kv: -kv[1])[:10]
            ]
        lines.append(f"loaded in {time.monotonic() - self.started:.0f} s")
        return "\n".join(lines)


def _lot(arm: str) -> str:
    """A product lot per arm, as the pharmacy receives them; it does not spell the arm (the
    lot is unblinded, and stays in the pharmacy record)."""
    return f"GMP-{zlib.crc32(arm.encode()) % 100000:05d}"


class GenericDemoLoader(DemoLoader):
    """Any study, from its protocol alone (core.simulate.synth.generic): participants screened
    over the last months at the study's sites, through the same steps as ``DemoLoader``; the
    eligibility assessment decides who fails screening; a few of the dosed withdraw consent
    after their first follow-up visit."""

    def run(self, n: int, seed: int) -> None:  # type: ignore[override]
        from trialdesk.core.simulate.synth.generic import GenericSynth

        self.seed = seed
        synth = GenericSynth(self.protocol, seed)
        sites = [
            s
            for s in sorted(self.sites.values(), key=lambda s: s.code)
            if s.active and self._member(s, "coordinator") is not None
        ]
        if not sites:
            raise click.ClickException(f"{self.study} has no site with a coordinator")
        with self._progress() as progress:
            self._randomization_list(progress, n)
            task = progress.add_task("participants", total=n)
            for i in range(n):
                days_ago = int(180 * (n - i) / n)  # screened over the last six months
                anchor = self.today - dt.timedelta(days=days_ago)
                self._generic_participant(synth, sites[i % len(sites)], i, anchor)
                progress.advance(task)

    def _generic_participant(self, synth, site, i: int, anchor: dt.date) -> None:
        import random

        user = self._coordinator(site)
        zone = site_zone(site)
        key = f"{site.code}-{i:04d}"
        person = synth.participant(key, anchor=anchor, site=site.code)
        due = person.due(self.today)
        first = [(v, f, w) for v, f, w in due if (self.protocol.visits[v].day or 0) < 0]
        if not first:
            return
        raws = {
            (v, f): person.form(v, f, visit_date=w, roles=("investigator",), sourced=True)
            for v, f, w in first
        }
        consent = next((r for (_, f), r in raws.items() if f == "consent"), {})
        at = self._consent_time(consent, zone, min(w for _, _, w in first))
        participant = self._screen(site, user, at, "Demo participant")
        if participant is None:
            return
        self._consent(participant, user, consent, at)
        self._enter(participant, person, first, raws, user)
        if not self._eligibility(participant, user, at):
            return
        later = [(v, f, w) for v, f, w in due if (self.protocol.visits[v].day or 0) >= 0]
        dosing_visit = next((v for v in self.protocol.visits.values() if v.dosing), None)
        form = "dosing" if "dosing" in self.protocol.forms else None
        when = person.visit_date(dosing_visit.code) if dosing_visit else None
        if dosing_visit is None or form is None or when is None or when > self.today:
            return  # ready, awaiting randomization
        raw = person.form(
            dosing_visit.code, form, visit_date=when, roles=("investigator",), sourced=True
        )
        dose = self._dose(raw, zone)
        if dose is None or dose["started_at"] > dt.datetime.now(dt.UTC):
            return
        if not self._randomize_and_dose(participant, user, site, dose, at):
            return
        if self._deviates() and self.follow_up:
            code, late = self.follow_up
            person.visit_dates[code] = person.visit_date(code) + dt.timedelta(days=late)
            later = [(v, f, person.visit_date(v)) for v, f, _ in later]
            later = [(v, f, w) for v, f, w in later if w <= self.today]
        withdraws = random.Random(f"{self.seed}:{key}:withdraws").random()
        stop = self.follow_up[0] if self.follow_up and withdraws < GENERIC_WITHDRAWAL_RATE else None
        raws = {(dosing_visit.code, form): raw}
        done = [(v, f, w) for v, f, w in later if not stop or self._day(v) <= self._day(stop)]
        self._enter(participant, person, done, raws, user)
        if stop and any(v == stop for v, _, _ in done):
            self._withdraw(participant, user, "no_further_visits")

    def _day(self, visit_code: str) -> int:
        return self.protocol.visits[visit_code].day or 0

    def _enter(self, participant, person, due, raws, user) -> None:
        """Date each visit and save its forms (``raws``: forms already generated)."""
        from trialdesk.visits.actions import do_record_visit_date

        visits = {v.code: v for v in participant.visits.filter(repeat=1)}
        recorded: set[str] = set()
        for visit_code, form_code, when in due:
            visit = visits.get(visit_code)
            if visit is None:
                continue
            if visit_code not in recorded and visit.actual_date is None:
                try:
                    visit = do_record_visit_date(visit, when, user, reason="demo load")
                except REFUSALS as exc:
                    self._refused("visit date", exc)
                    continue
                visits[visit_code] = visit
                self.counts["visits done"] += 1
            recorded.add(visit_code)
            raw = raws.get((visit_code, form_code)) or person.form(
                visit_code, form_code, visit_date=when, roles=("investigator",)
            )
            self._save_raw(visit, form_code, self.protocol.form(form_code), raw, user)
