"""Manual queries: open, answer, re-open, close."""

from __future__ import annotations

from django.db import transaction

from trialdesk.accounts.access import require_at
from trialdesk.accounts.models import Role
from trialdesk.crfs.actions.checks import _value_snapshot
from trialdesk.crfs.actions.common import (
    ENTRY_ROLES,
    QUERY_ROLES,
    CrfError,
    _audit,
    _lock_form,
    clean_text,
)
from trialdesk.crfs.models import (
    FormInstance,
    Query,
    QueryMessage,
)
from trialdesk.studies.locking import refused_when_locked
from trialdesk.studies.registry import get_protocol


@refused_when_locked("open queries")
def do_open_query(fi: FormInstance, acting_user, *, item: str, text: str) -> Query:
    text, item = clean_text("text", text), clean_text("item", item)
    if not text.strip():
        raise CrfError(
            "the question (field 'text') is empty: write what should be checked or corrected",
            {"text": "write the question"},
        )
    role = require_at(acting_user, QUERY_ROLES, fi.participant.site_id, "raise queries")
    if item and item not in get_protocol(fi.participant).form(fi.form_code).fields:
        raise CrfError(f"form {fi.form_code} has no item {item!r}")
    with transaction.atomic(durable=True):
        fi = _lock_form(fi)
        q = Query.objects.create(
            form=fi,
            participant=fi.participant,
            item=item,
            origin=Query.Origin.MANUAL,
            text=text.strip(),
            opened_by=acting_user,
            value_snapshot=_value_snapshot(fi, item),
        )
        QueryMessage.objects.create(
            query=q, kind=QueryMessage.Kind.OPEN, text=text.strip(), author=acting_user
        )
        _audit(
            "create",
            fi,
            acting_user,
            role,
            obj=q,
            new={"query": q.text, "item": item},
            reason="query raised",
        )
    return q


#: What the text of each step is called in a refusal.
_STEP_NOUN = {
    QueryMessage.Kind.ANSWER: "answer",
    QueryMessage.Kind.REOPEN: "reason for re-opening",
    QueryMessage.Kind.CLOSE: "reason for closing",
}


def _query_step(q: Query, acting_user, roles, what, kind, new_status, text, allowed_from) -> Query:
    text = clean_text("text", text)
    if not text.strip():
        # Nothing is written: no status change, no message, no audit event.
        where = f" on item {q.item}" if q.item else ""
        raise CrfError(
            f"the {_STEP_NOUN.get(kind, 'message')} to query #{q.pk}{where} (field 'text') is "
            f"empty: write at least one word before sending; the query stays {q.status}",
            {"text": f"write the {_STEP_NOUN.get(kind, 'message')}"},
        )
    fi = q.form
    role = require_at(acting_user, roles, fi.participant.site_id, what)
    with transaction.atomic(durable=True):
        q = Query.objects.select_for_update().get(pk=q.pk)
        if q.status not in allowed_from:
            raise CrfError(f"the query is {q.status}: it cannot be {kind}ed now")
        old = q.status
        q.status = new_status
        q.save(update_fields=["status", "updated_at"])
        QueryMessage.objects.create(query=q, kind=kind, text=text.strip(), author=acting_user)
        _audit(
            "status",
            fi,
            acting_user,
            role,
            obj=q,
            old={"status": old},
            new={"status": new_status},
            reason=text.strip(),
        )
    return q


@refused_when_locked("answer queries")
def do_answer_query(q: Query, acting_user, *, text: str) -> Query:
    return _query_step(
        q,
        acting_user,
        ENTRY_ROLES,
        "answer queries",
        QueryMessage.Kind.ANSWER,
        Query.Status.ANSWERED,
        text,
        (Query.Status.OPEN, Query.Status.ANSWERED),
    )


@refused_when_locked("reopen queries")
def do_reopen_query(q: Query, acting_user, *, text: str) -> Query:
    return _query_step(
        q,
        acting_user,
        QUERY_ROLES,
        "re-open queries",
        QueryMessage.Kind.REOPEN,
        Query.Status.OPEN,
        text,
        (Query.Status.ANSWERED, Query.Status.CLOSED),
    )


@refused_when_locked("close queries")
def do_close_query(q: Query, acting_user, *, text: str) -> Query:
    return _query_step(
        q,
        acting_user,
        (Role.MONITOR, Role.DATA_MANAGER),
        "close queries",
        QueryMessage.Kind.CLOSE,
        Query.Status.CLOSED,
        text,
        (Query.Status.OPEN, Query.Status.ANSWERED),
    )
