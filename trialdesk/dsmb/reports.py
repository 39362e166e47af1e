"""Generating and storing the DSMB reports (audited), and who may see or make which.

Who may generate: the closed report, the unblinded statistician only (she prepares the closed
session); the open report, the unblinded statistician, the (blinded) statistician and the
data manager (the people who prepare the study team's data). Who may see: the open report,
the DSMB, the unblinded statistician, the safety physician and the blinded study roles of the
rules page (monitor, data manager, statistician, investigator); the closed report, the DSMB and the unblinded
statistician only — for everyone else a closed report does not exist (404).

The audit event carries the kind, the data cut and the hashes, never a number by arm.
"""

from __future__ import annotations

import hashlib

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from trialdesk.accounts.access import Access
from trialdesk.accounts.models import Role
from trialdesk.audit.actions import record
from trialdesk.studies.registry import active_version

from . import report_data, report_render
from .models import DsmbReport, canonical_json

K = DsmbReport.Kind
VIEW_ROLES = {
    K.OPEN: (
        Role.DSMB,
        Role.UNBLINDED_STATISTICIAN,
        Role.MONITOR,
        Role.DATA_MANAGER,
        Role.STATISTICIAN,
        Role.INVESTIGATOR,
        Role.SAFETY_PHYSICIAN,
    ),
    K.CLOSED: (Role.DSMB, Role.UNBLINDED_STATISTICIAN),
}
GENERATE_ROLES = {
    K.OPEN: (Role.UNBLINDED_STATISTICIAN, Role.STATISTICIAN, Role.DATA_MANAGER),
    K.CLOSED: (Role.UNBLINDED_STATISTICIAN,),
}
ALL_VIEW_ROLES = tuple(dict.fromkeys(VIEW_ROLES[K.OPEN] + VIEW_ROLES[K.CLOSED]))


def visible_kinds(access: Access) -> list[str]:
    return [k for k in (K.OPEN, K.CLOSED) if access.has_role(*VIEW_ROLES[k])]


def may_generate(access: Access, kind: str) -> bool:
    return kind in GENERATE_ROLES and access.has_role(*GENERATE_ROLES[kind])


def do_generate_report(study, acting_user, kind: str) -> DsmbReport:
    """Build, render, store and audit one report of the study's current data."""
    study_code = study if isinstance(study, str) else study.pk
    if kind not in K.values:
        raise ValueError(f"kind: open or closed, not {kind!r}")
    access = Access.of(acting_user, study_code)
    role = next((r for r in GENERATE_ROLES[kind] if access.has_role(r)), None)
    if role is None:
        raise PermissionDenied(f"you may not generate the {kind} DSMB report")
    with transaction.atomic(durable=True):
        data = report_data.build(study_code, kind)
        figs = report_render.figures(data)
        pdf = report_render.pdf(data, figs)
        numbers = data.numbers()
        report = DsmbReport.objects.create(
            study_id=study_code,
            kind=kind,
            data_cut_seq=data.data_cut_seq,
            generated_at=timezone.now(),
            generated_by=acting_user,
            html=report_render.html(data, figs),
            pdf=pdf,
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            numbers=numbers,
            numbers_sha256=hashlib.sha256(canonical_json(numbers)).hexdigest(),
            protocol_sha256=active_version(study_code).sha256,
        )
        record(
            "dsmb.report",
            actor=acting_user,
            role=role,
            study=study_code,
            obj=report,
            new={
                "kind": kind,
                "data_cut_seq": report.data_cut_seq,
                "pdf_sha256": report.pdf_sha256,
                "numbers_sha256": report.numbers_sha256,
                "protocol_sha256": report.protocol_sha256,
            },
            reason=f"{kind} DSMB report generated at data cut {report.data_cut_seq}",
        )
    return report
