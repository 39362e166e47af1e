"""Loading a protocol: validate, store the text and hash, sync the sites, audit."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.db import transaction

from trialdesk.accounts.access import role_at
from trialdesk.accounts.actions import apply_site
from trialdesk.audit.actions import record
from trialdesk.core.protocol import load_protocol_text
from trialdesk.studies.models import ProtocolVersion, Study


def do_load_protocol(
    path: Path, *, acting_user=None, reason: str = ""
) -> tuple[ProtocolVersion, bool]:
    """Load `path` (validated first; nothing is written if it is invalid): the study is
    created on its first protocol, and its sites are synced from the file. Other studies on the
    deployment are untouched. Returns (row, created); loading the same text again changes
    nothing."""
    text = Path(path).read_text(encoding="utf-8")
    protocol = load_protocol_text(text, source=str(path))  # raises ProtocolError, nothing written
    digest = hashlib.sha256(text.encode()).hexdigest()
    study_id = protocol.study.id
    with transaction.atomic(durable=True):
        study, study_created = Study.objects.get_or_create(
            code=study_id, defaults={"title": protocol.study.title[:500]}
        )
        if study_created:
            record(
                "create",
                actor=acting_user,
                study=study,
                obj=study,
                new={"code": study.code, "title": study.title},
                reason=reason or "study created by loading its protocol",
            )
        existing = ProtocolVersion.objects.filter(study_id=study_id, sha256=digest).first()
        if existing and existing.active:
            return existing, False
        ProtocolVersion.objects.filter(study_id=study_id, active=True).update(active=False)
        if existing:
            ProtocolVersion.objects.filter(pk=existing.pk).update(active=True)
            row, created = existing, False
        else:
            row = ProtocolVersion.objects.create(
                study_id=study_id,
                version=str(protocol.study.protocol_version),
                sha256=digest,
                source_path=str(path),
                yaml_text=text,
                loaded_by=acting_user,
            )
            created = True
        actor_role = role_at(acting_user, None, study=study.code) if acting_user else "system"
        for spec in protocol.sites.values():  # each created/changed site audited (accounts)
            apply_site(
                study.code,
                spec.code,
                name=spec.name,
                city=spec.city,
                active=spec.active,
                actor=acting_user,
                actor_role=actor_role,
                reason=f"site synced from protocol {study_id} v{protocol.study.protocol_version}",
            )
        record(
            "load",
            actor=acting_user,
            obj=row,
            new={"study_id": study_id, "version": row.version, "sha256": digest},
            reason=reason or "protocol loaded",
        )
    return row, created
