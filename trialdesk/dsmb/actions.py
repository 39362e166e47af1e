"""Every DSMB write, audited: rule evaluation and pauses (from the AE hook), decisions, signatures.

``on_form_saved`` runs inside the saving action's transaction (crfs.hooks), so it does not open
its own durable one; the decision actions do (``transaction.atomic(durable=True)``).
"""

from __future__ import annotations

import hashlib

from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from trialdesk.accounts import reauth
from trialdesk.accounts.access import Access
from trialdesk.accounts.models import Role
from trialdesk.audit.actions import record
from trialdesk.core.text import check_text
from trialdesk.studies.registry import get_protocol

from . import services
from .models import Decision, DecisionSignature, InterimRun, Pause, RuleState

SIGN_MEANING = "I approve this DSMB decision"
MAX_MINUTES_BYTES = 10 * 1024 * 1024


class DsmbError(ValueError):
    """A refused DSMB action; the message names the field or the reason."""


# --------------------------------------------------------------------------- rules and pauses
def on_form_saved(form_instance, changed, acting_user, role) -> None:
    """crfs.hooks: re-evaluate the study's rules when one of their event forms changed."""
    protocol = get_protocol(form_instance.participant)
    if form_instance.form_code not in services.event_forms(protocol):
        return
    evaluate_rules(form_instance.participant.study_id, acting_user=acting_user, role=role)


def evaluate_rules(study, *, acting_user=None, role: str = "") -> list[Pause]:
    """Evaluate every rule, keep each RuleState, open a pause for a rule that fires anew.

    A rule that no longer fires (a re-grading, a deletion) is recorded as such; its pause stays
    open until a DSMB decision closes it. After a decision closed a rule's pause, the rule opens
    a new pause only when its event count rises above the count of that pause.
    """
    study_code = study if isinstance(study, str) else study.pk
    now = timezone.now()
    opened = []
    for code, (ev, by_arm) in services.evaluate(study_code).items():
        state, _ = RuleState.objects.select_for_update().get_or_create(
            study_id=study_code, rule_code=code, defaults={"evaluated_at": now}
        )
        was = state.fires
        state.fires, state.events, state.n = ev.fires, ev.events, ev.n
        state.stop_count, state.posterior, state.by_arm = ev.stop_count, ev.posterior, by_arm
        state.evaluated_at = now
        state.save()
        if was != ev.fires:
            record(
                "dsmb.rule_state",
                actor=acting_user,
                role=role,
                study=study_code,
                obj=state,
                old={"rule": code, "fires": was},
                new={"rule": code, "fires": ev.fires},
                reason="stopping rule re-evaluated after an AE change",
            )
        if not ev.fires:
            continue
        pauses = Pause.objects.filter(study_id=study_code, rule_code=code)
        if pauses.filter(closed_at__isnull=True).exists():
            continue
        last = pauses.order_by("-fired_at", "-pk").first()
        if last is not None and ev.events <= last.events:
            continue
        opened.append(_open_pause(study_code, code, ev, by_arm, now, acting_user, role))
    return opened


def _open_pause(study_code, code, ev, by_arm, now, acting_user, role) -> Pause:
    protocol = get_protocol(study_code)
    rule = protocol.safety_rules[code]
    action = Pause.Action(rule.action)
    pause = Pause.objects.create(
        study_id=study_code,
        rule_code=code,
        action=action,
        fired_at=now,
        events=ev.events,
        counts={
            "arm": rule.arm,
            "events": ev.events,
            "n": ev.n,
            "stop_count": ev.stop_count,
            "posterior": ev.posterior,
            "by_arm": by_arm,
        },
    )
    record(
        "dsmb.pause",
        actor=acting_user,
        role=role,
        study=study_code,
        obj=pause,
        new={
            "rule": code,
            "action": pause.action,
            "fired_at": now,
            "closed_at": None,
            "open": True,
        },
        reason=f"safety rule '{code}' fired",
    )
    transaction.on_commit(lambda p=pause: notify_pause(p))
    return pause


def notify_pause(pause: Pause) -> None:
    """E-mail the protocol's DSMB chair and sponsor contacts (blinded text: no arm, no count)."""
    protocol = get_protocol(pause.study_id)
    contacts = protocol.contacts
    emails = (
        [c.email for c in (contacts.dsmb, contacts.sponsor) if c is not None] if contacts else []
    )
    if not emails:
        return
    rule = protocol.safety_rules.get(pause.rule_code)
    label = rule.label if rule is not None else pause.rule_code
    send_mail(
        f"[trialdesk] {pause.study_id}: safety rule '{pause.rule_code}' fired",
        f"{services.pause_message(pause)}.\n\nRule: {label}.\nStudy {pause.study_id}. "
        f"The DSMB reviews the unblinded counts in trialdesk: /staff/{pause.study_id}/dsmb/",
        None,
        emails,
        fail_silently=True,
    )


# --------------------------------------------------------------------------- decisions
def _dsmb_role(acting_user, study_code: str, what: str) -> str:
    access = Access.of(acting_user, study_code)
    if not access.has_role(Role.DSMB):
        raise PermissionDenied(f"only a DSMB member may {what}")
    return Role.DSMB


def do_create_decision(
    study,
    acting_user,
    *,
    kind: str,
    rationale: str,
    pauses=(),
    minutes: bytes,
    minutes_name: str,
) -> Decision:
    """Record a DSMB decision with its minutes (PDF); it takes effect once signed."""
    study_code = study if isinstance(study, str) else study.pk
    role = _dsmb_role(acting_user, study_code, "record a DSMB decision")
    if kind not in Decision.Kind.values:
        raise DsmbError(f"kind: choose one of {', '.join(Decision.Kind.values)}")
    rationale = check_text("rationale", rationale, kind="message").strip()
    if not rationale:
        raise DsmbError("rationale: give the reasons for the decision")
    if not minutes:
        raise DsmbError("minutes: upload the signed minutes of the meeting (PDF)")
    if len(minutes) > MAX_MINUTES_BYTES:
        raise DsmbError(f"minutes: the file is larger than {MAX_MINUTES_BYTES // (1024 * 1024)} MB")
    if not minutes.startswith(b"%PDF-"):
        raise DsmbError("minutes: the file is not a PDF")
    minutes_name = check_text("minutes_name", minutes_name, kind="short").strip() or "minutes.pdf"
    pause_list = list(pauses)
    if any(p.study_id != study_code or not p.is_open for p in pause_list):
        raise DsmbError("pauses: only open pauses of this study can be addressed")
    if any(p.action == Pause.Action.STOP for p in pause_list):
        raise DsmbError("pauses: a stopped study cannot be resumed")
    if kind in (Decision.Kind.CONTINUE, Decision.Kind.MODIFY) and not pause_list:
        raise DsmbError("pauses: name the pause(s) this decision resumes")
    with transaction.atomic(durable=True):
        decision = Decision.objects.create(
            study_id=study_code,
            kind=kind,
            rationale=rationale,
            minutes=minutes,
            minutes_name=minutes_name,
            minutes_sha256=hashlib.sha256(minutes).hexdigest(),
            created_by=acting_user,
            created_at=timezone.now(),
        )
        decision.pauses.set(pause_list)
        record(
            "dsmb.decision",
            actor=acting_user,
            role=role,
            study=study_code,
            obj=decision,
            new={
                "kind": kind,
                "pauses": [p.pk for p in pause_list],
                "minutes_sha256": decision.minutes_sha256,
                "minutes_name": minutes_name,
            },
            reason=rationale,
        )
    return decision


def do_sign_decision(
    decision: Decision, acting_user, *, password: str, meaning: str = SIGN_MEANING, request=None
) -> DecisionSignature:
    """A DSMB member's signature, password re-entered (21 CFR 11.200); the signature that
    completes the quorum (``services.REQUIRED_SIGNATURES``) puts the decision into effect."""
    study_code = decision.study_id
    role = _dsmb_role(acting_user, study_code, "sign a DSMB decision")
    if not acting_user.printed_name.strip():
        raise DsmbError("your account has no printed name: ask an administrator to set it")
    try:
        reauth.check_password(acting_user, password, request=request)
    except reauth.Refused as exc:
        record(
            "dsmb.sign_failed",
            actor=acting_user,
            role=role,
            study=study_code,
            obj=decision,
            reason=str(exc),
        )
        raise DsmbError(f"{exc}: the signature was not applied") from None
    with transaction.atomic(durable=True):
        decision = Decision.objects.select_for_update().get(pk=decision.pk)
        if decision.signatures.filter(signed_by=acting_user).exists():
            raise DsmbError("you have already signed this decision")
        sig = DecisionSignature.objects.create(
            decision=decision,
            signed_by=acting_user,
            printed_name=acting_user.printed_name,
            signed_at=timezone.now(),
            meaning=meaning,
            role=role,
        )
        record(
            "dsmb.sign",
            actor=acting_user,
            role=role,
            study=study_code,
            obj=decision,
            new={"printed_name": sig.printed_name, "signed_at": sig.signed_at, "meaning": meaning},
        )
        if (
            decision.decided_at is None
            and decision.signatures.count() >= services.REQUIRED_SIGNATURES
        ):
            _take_effect(decision, acting_user, role, sig.signed_at)
    return sig


def _take_effect(decision: Decision, acting_user, role: str, when) -> None:
    decision.decided_at = when
    decision.save(update_fields=["decided_at"])
    closed, opened = [], None
    if decision.kind in (Decision.Kind.CONTINUE, Decision.Kind.MODIFY):
        for pause in decision.pauses.select_for_update().filter(closed_at__isnull=True):
            _close_pause(pause, decision, when, acting_user, role)
            closed.append(pause.pk)
    elif decision.kind in (Decision.Kind.PAUSE, Decision.Kind.STOP):
        action = (
            Pause.Action.STOP
            if decision.kind == Decision.Kind.STOP
            else Pause.Action.PAUSE_ENROLMENT
        )
        opened = Pause.objects.create(
            study_id=decision.study_id,
            action=action,
            fired_at=when,
            opened_by_decision=decision,
        )
        record(
            "dsmb.pause",
            actor=acting_user,
            role=role,
            study=decision.study_id,
            obj=opened,
            new={
                "rule": "",
                "action": opened.action,
                "fired_at": when,
                "closed_at": None,
                "open": True,
                "opened_by_decision": decision.pk,
            },
            reason=f"DSMB decision #{decision.pk}: {decision.kind}",
        )
        if decision.kind == Decision.Kind.STOP:
            # a stop replaces every other pause: the study is closed for good
            for pause in Pause.objects.filter(
                study_id=decision.study_id, closed_at__isnull=True
            ).exclude(pk=opened.pk):
                _close_pause(pause, decision, when, acting_user, role)
                closed.append(pause.pk)
    record(
        "dsmb.decision_effective",
        actor=acting_user,
        role=role,
        study=decision.study_id,
        obj=decision,
        new={
            "kind": decision.kind,
            "decided_at": when,
            "pauses_closed": closed,
            "pause_opened": opened.pk if opened else None,
        },
    )


def _close_pause(pause: Pause, decision: Decision, when, acting_user, role: str) -> None:
    """A signed decision closes a pause; the pause's own audit event says so."""
    pause.closed_at, pause.closed_by_decision = when, decision
    pause.save(update_fields=["closed_at", "closed_by_decision"])
    record(
        "dsmb.pause",
        actor=acting_user,
        role=role,
        study=decision.study_id,
        obj=pause,
        old={"open": True},
        new={"closed_at": when, "open": False, "closed_by_decision": decision.pk},
        reason=f"DSMB decision #{decision.pk}: {decision.kind}",
    )


# --------------------------------------------------------------------------- interim analysis
def do_run_interim(study, acting_user) -> InterimRun:
    """Run the interim analysis now and keep it (the unblinded statistician only).

    The data cut is the last audit event before the run: every stored value the run read was
    written by an event at or before it (the run reads inside the same transaction). The
    audit event names the run, its data cut and the result's SHA-256, never a number by arm.
    """
    from trialdesk.audit.models import AuditEvent

    from . import interim

    study_code = getattr(study, "pk", study)
    access = Access.of(acting_user, study_code)
    if not access.has_role(Role.UNBLINDED_STATISTICIAN):
        raise PermissionDenied("only the unblinded statistician may run the interim analysis")
    with transaction.atomic(durable=True):
        last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        try:
            p, comp, used = interim.compute(study_code)
        except interim.InterimUnavailable as exc:
            raise DsmbError(str(exc)) from exc
        now = timezone.now()
        proto = interim.protocol_sha256(study_code)
        result = {
            **comp.to_dict(),
            "study": study_code,
            "endpoint": p.endpoint,
            "field": f"{p.form}.{p.item}",
            "visit": p.visit,
            "treatment_arm": p.treatment_arm,
            "control_arm": p.control_arm,
            "one_sided_from_two_sided": comp.one_sided_from_two_sided,
            "participants": used,
            "data_cut_seq": last,
            "protocol_sha256": proto,
        }
        digest = interim.canonical_sha256(result)
        r = comp.result
        rci = r.repeated_ci or (float("nan"), float("nan"))
        run = InterimRun.objects.create(
            study_id=study_code,
            run_at=now,
            run_by=acting_user,
            data_cut_seq=last,
            protocol_sha256=proto,
            treatment_arm=p.treatment_arm,
            control_arm=p.control_arm,
            n_treatment=comp.statistic.n_treatment,
            n_control=comp.statistic.n_control,
            estimate=comp.statistic.estimate,
            standard_error=comp.statistic.standard_error,
            z=comp.statistic.z,
            information_fraction=comp.information_fraction,
            critical_value=r.critical_value,
            futility_bound=r.futility_bound,
            decision=r.decision,
            conditional_power_trend=r.conditional_power_trend,
            conditional_power_design=r.conditional_power_design,
            conditional_power_planned_effect=comp.conditional_power_planned_effect,
            rci_lower=rci[0],
            rci_upper=rci[1],
            result=result,
            result_sha256=digest,
        )
        record(
            "dsmb.interim_run",
            actor=acting_user,
            role=Role.UNBLINDED_STATISTICIAN,
            study=study_code,
            obj=run,
            new={
                "run_at": now,
                "data_cut_seq": last,
                "protocol_sha256": proto,
                "result_sha256": digest,
            },
            reason="interim analysis of the primary endpoint run",
        )
    return run
