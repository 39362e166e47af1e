"""Electronic signatures (21 CFR 11.50/11.70/11.200): sign, and void on change."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from trialdesk.accounts import reauth
from trialdesk.accounts.access import require_at
from trialdesk.accounts.models import Role
from trialdesk.crfs.actions.common import CrfError, S, _audit, _lock_form, _set_status
from trialdesk.crfs.models import (
    FormInstance,
    ItemValue,
    Query,
    Signature,
)
from trialdesk.studies.locking import refused_when_locked
from trialdesk.studies.registry import get_protocol

SIGNATURE_MEANING = (
    "I have reviewed the data on this form and confirm that it is accurate and complete "
    "(investigator's responsibility)"
)


def void_signatures(fi, user, role, why: str) -> bool:
    voided = False
    for sig in Signature.objects.select_for_update().filter(form=fi, voided_at__isnull=True):
        sig.voided_at, sig.void_reason = timezone.now(), why
        sig.save(update_fields=["voided_at", "void_reason"])
        _audit(
            "status",
            fi,
            user,
            role,
            obj=sig,
            old={"signature": "valid"},
            new={"signature": "void", "signed_by": sig.printed_name},
            reason=why,
        )
        voided = True
    return voided


def content_hash(fi: FormInstance) -> str:
    rows = sorted((r.item, r.value, r.unit, r.status) for r in ItemValue.objects.filter(form=fi))
    payload = {
        "participant": fi.participant.subject_id,
        "visit": fi.visit.code,
        "form": fi.form_code,
        "repeat": fi.repeat,
        "revision": fi.revision,
        "items": rows,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class SigningCheck:
    """What the protocol's ``signing`` rules say about signing one form now: ``blocks`` refuse
    the signature, ``warnings`` are shown before the password is asked and kept in the
    signature's audit event. ``open_queries`` are the form's queries that are not closed."""

    blocks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    open_queries: list[Query] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return bool(self.blocks)


def _queries_text(queries: list[Query]) -> str:
    n = len(queries)
    items = "; ".join(
        f"{q.item or 'whole form'}: {q.text}" if q.text else (q.item or "whole form")
        for q in queries[:10]
    )
    more = f"; and {n - 10} more" if n > 10 else ""
    noun = "open query" if n == 1 else "open queries"
    return f"{n} {noun} on this form ({items}{more})"


def signing_check(fi: FormInstance, policy=None) -> SigningCheck:
    """The protocol's signing rules (``signing.open_queries``: block|warn,
    ``signing.source_verification``: require|warn) applied to ``fi`` as it stands."""
    policy = policy or get_protocol(fi.participant).signing
    check = SigningCheck()
    queries = list(
        Query.objects.filter(form=fi)
        .exclude(status=Query.Status.CLOSED)
        .order_by("created_at", "id")
    )
    check.open_queries.extend(queries)
    if queries:
        text = _queries_text(queries)
        if policy.open_queries == "block":
            check.blocks.append(
                f"{text}: the protocol requires every query to be closed before signing"
            )
        else:
            check.warnings.append(text)
    if fi.status != FormInstance.Status.VERIFIED:
        text = "this form has not been source-verified by a monitor"
        if policy.source_verification == "require":
            check.blocks.append(f"{text}: the protocol requires source verification before signing")
        else:
            check.warnings.append(text)
    return check


def _refuse_if_blocked(check: SigningCheck) -> None:
    if check.blocked:
        message = "; ".join(check.blocks)
        raise CrfError(f"{message}: the form was not signed", {"form": message})


def _failed_signature(fi, user, role, why: str = "wrong password") -> None:
    with transaction.atomic(durable=True):
        _audit(
            "login_failed",
            fi,
            user,
            role,
            new={"signature": f"refused: {why}"},
            reason="signature attempt with a wrong password",
        )


@refused_when_locked("sign forms")
def do_sign_form(
    fi: FormInstance,
    acting_user,
    *,
    password: str,
    meaning: str = SIGNATURE_MEANING,
    request=None,
) -> Signature:
    """Sign (21 CFR 11.50/11.200): password re-entered, printed name, UTC time and meaning kept
    with the hash of the content signed. The protocol's ``signing`` rules are applied
    (:func:`signing_check`): a block refuses, warnings are kept in the audit event. With
    `request`, a wrong password counts toward the login lockout and the lockout ends the
    session (accounts.reauth)."""
    role = require_at(acting_user, (Role.INVESTIGATOR,), fi.participant.site_id, "sign forms")
    policy = get_protocol(fi.participant).signing
    if fi.status in (S.COMPLETE, S.VERIFIED):
        _refuse_if_blocked(signing_check(fi, policy))
    try:
        reauth.check_password(acting_user, password, request=request)
    except reauth.Refused as exc:
        _failed_signature(fi, acting_user, role, str(exc))
        raise CrfError(f"{exc}: the form was not signed", {"password": str(exc)}) from None
    with transaction.atomic(durable=True):
        fi = _lock_form(fi)
        if fi.status not in (S.COMPLETE, S.VERIFIED):
            raise CrfError(
                f"only a complete form can be signed (this one is {fi.get_status_display().lower()})"
            )
        check = signing_check(fi, policy)
        _refuse_if_blocked(check)
        sig = Signature.objects.create(
            form=fi,
            signer=acting_user,
            printed_name=acting_user.display_name(),
            meaning=meaning,
            signed_at=timezone.now(),
            content_hash=content_hash(fi),
            revision=fi.revision,
        )
        _audit(
            "sign",
            fi,
            acting_user,
            role,
            obj=sig,
            new={
                "printed_name": sig.printed_name,
                "meaning": meaning,
                "signed_at": sig.signed_at,
                "content_hash": sig.content_hash,
                **({"warnings": check.warnings} if check.warnings else {}),
            },
            reason=meaning,
        )
        fi.status_before_lock = ""
        _set_status(fi, S.SIGNED, acting_user, role, "signed by the investigator")
    sig.warnings = check.warnings  # what the signer was warned of (also in the audit event)
    return sig
