"""Reading the protocol's stopping rules against the stored AE data (no writes).

Counting (stated once, used everywhere):

* an *event* of a rule is a stored instance of the rule's event form (``form: ae``, a repeating
  log form) whose current values (entered or derived, not cleared) make the rule's expression
  TRUE; a participant counts once however many such AEs she has (the core module's rate is
  per participant);
* a rule with an ``arm`` counts events among participants allocated to that arm and, as the
  denominator, participants of that arm who were dosed; a rule without an arm counts every
  participant of the study and every dosed participant;
* the Bayesian rule's n is at least its event count (an event before dosing counts as treated).
"""

from __future__ import annotations

from collections import defaultdict

from trialdesk.core.rules import Truth
from trialdesk.core.safety_monitoring.rules import (
    RuleEvaluation,
    evaluate_bayesian_rule,
    evaluate_count_rule,
)
from trialdesk.crfs.engine import from_json
from trialdesk.crfs.models import ItemValue
from trialdesk.randomization.models import Allocation, Dosing
from trialdesk.studies.registry import get_protocol

from .models import Pause

#: what each pause action refuses (randomization.hooks ``what``). A dsmb_review pause (any
#: death) blocks dosing and randomization (a randomized participant must be dosed within
#: hours); the pharmacist may still prepare a kit already allocated.
BLOCKS = {
    Pause.Action.PAUSE_ENROLMENT: frozenset({"randomize", "prepare", "dose"}),
    Pause.Action.DSMB_REVIEW: frozenset({"randomize", "dose"}),
    Pause.Action.STOP: frozenset({"randomize", "prepare", "dose"}),
}

#: Signatures that make a decision take effect. The protocol names no quorum: two DSMB members.
REQUIRED_SIGNATURES = 2


def event_forms(protocol) -> set[str]:
    return {rule.event.form for rule in protocol.safety_rules.values()}


def _events_by_participant(study, protocol) -> dict[str, set[int]]:
    """rule code -> ids of participants with at least one event of the rule."""
    rules = protocol.safety_rules
    by_form: dict[str, list] = defaultdict(list)
    for rule in rules.values():
        by_form[rule.event.form].append(rule)
    out: dict[str, set[int]] = {code: set() for code in rules}
    for form_code, form_rules in by_form.items():
        form = protocol.forms[form_code]
        values: dict[int, dict[str, object]] = defaultdict(dict)
        owner: dict[int, int] = {}
        rows = ItemValue.objects.filter(
            participant__study=study,
            form__form_code=form_code,
            status__in=[ItemValue.Status.ENTERED, ItemValue.Status.DERIVED],
        ).values_list("form_id", "participant_id", "item", "value")
        for form_id, participant_id, item, value in rows:
            if item in form.fields:
                values[form_id][f"{form_code}.{item}"] = from_json(form.fields[item], value)
                owner[form_id] = participant_id
        for rule in form_rules:
            expr = protocol.compile(rule.event.expression, context=form_code)
            for form_id, vals in values.items():
                if expr.truth(vals) is Truth.TRUE:
                    out[rule.code].add(owner[form_id])
    return out


def evaluate(study) -> dict[str, tuple[RuleEvaluation, dict[str, dict[str, int]]]]:
    """rule code -> (evaluation of the monitored arm or of all, counts by arm)."""
    protocol = get_protocol(study)
    events = _events_by_participant(study, protocol)
    arm_of = dict(
        Allocation.objects.filter(participant__study=study).values_list("participant_id", "arm")
    )
    dosed = set(
        Dosing.objects.filter(participant__study=study).values_list("participant_id", flat=True)
    )
    out = {}
    for code, rule in protocol.safety_rules.items():
        by_arm = {
            arm: {
                "events": sum(1 for p in events[code] if arm_of.get(p) == arm),
                "n": sum(1 for p in dosed if arm_of.get(p) == arm),
            }
            for arm in protocol.arms
        }
        if rule.arm:
            x, n = by_arm[rule.arm]["events"], by_arm[rule.arm]["n"]
        else:
            x, n = len(events[code]), len(dosed)
        if rule.type == "beta_binomial":
            ev = evaluate_bayesian_rule(
                events=x,
                n=n,
                prior_mean=rule.prior_mean,
                prior_n=rule.prior_n,
                threshold=rule.threshold,
                posterior_probability=rule.posterior_probability,
                min_n=rule.min_n,
            )
        else:
            ev = evaluate_count_rule([(s.n_max, s.events) for s in rule.boundary], events=x, n=n)
        out[code] = (ev, by_arm)
    return out


def open_pauses(study):
    return Pause.objects.filter(study=study, closed_at__isnull=True)


def _utc_date(when) -> str:
    import datetime as dt

    return when.astimezone(dt.UTC).date().isoformat()


def pause_message(pause: Pause) -> str:
    """The blinded refusal: names the rule and the date, never an arm or a count."""
    day = _utc_date(pause.fired_at)
    if pause.action == Pause.Action.STOP:
        return (
            f"the study was stopped by a DSMB decision on {day} (UTC date): no further "
            "randomization or dosing"
        )
    by = f"the safety rule '{pause.rule_code}'" if pause.rule_code else "a DSMB decision"
    if pause.action == Pause.Action.DSMB_REVIEW:
        return f"dosing paused by {by} on {day} (UTC date) until the DSMB has reviewed it"
    return f"enrolment paused by {by} on {day} (UTC date); a DSMB decision is required"


def gate(participant, what: str) -> str | None:
    """randomization.hooks gate: the first open pause that blocks ``what``."""
    for pause in open_pauses(participant.study_id):
        if what in BLOCKS[pause.action]:
            return pause_message(pause)
    return None
