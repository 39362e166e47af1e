"""What `trialdesk audit verify` compares for the eCRF tables (registered in CrfsConfig.ready)."""

from __future__ import annotations

from collections.abc import Iterator

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.reconcile import Reconciler, State, instant, merge, new_of, register
from trialdesk.crfs.models import (
    ClinicalAlert,
    FormInstance,
    ItemValue,
    Query,
    QueryMessage,
    Signature,
)

ITEM_KEYS = ("item", "entered", "entered_unit", "value", "unit", "status", "num_value", "version")


def _item_values() -> Iterator[tuple[int, State]]:
    rows = ItemValue.objects.values_list(
        "pk",
        "item",
        "entered_value",
        "entered_unit",
        "value",
        "unit",
        "status",
        "num_value",
        "version",
    )
    for pk, *values in rows.iterator(chunk_size=2000):
        yield pk, dict(zip(ITEM_KEYS, values, strict=True))


def _form_status() -> Iterator[tuple[int, State]]:
    for pk, status in FormInstance.objects.values_list("pk", "status").iterator(chunk_size=2000):
        yield pk, {"status": status}


def _queries() -> Iterator[tuple[int, State]]:
    rows = Query.objects.values_list("pk", "status", "text").iterator(chunk_size=2000)
    for pk, status, text in rows:
        yield pk, {"status": status, "text": text}


def _query_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    if event.action == "create":
        return {"status": "open", "text": new.get("query")}
    return {**state, "status": new.get("status")}


def _query_messages() -> Iterator[tuple[int, State]]:
    """Per query: how many messages, and their texts in order (one message per query event)."""
    rows = QueryMessage.objects.order_by("query_id", "id").values_list("query_id", "text")
    current, texts = None, []
    for query_id, text in rows.iterator(chunk_size=2000):
        if query_id != current and current is not None:
            yield current, {"messages": len(texts), "texts": texts}
            texts = []
        current = query_id
        texts.append(text)
    if current is not None:
        yield current, {"messages": len(texts), "texts": texts}


def _message_apply(state: State, event: AuditEvent) -> State:
    text = new_of(event).get("query") if event.action == "create" else event.reason
    texts = [*state.get("texts", []), text]
    return {"messages": len(texts), "texts": texts}


SIGNATURE_KEYS = ("valid", "content_hash", "printed_name", "signer", "signed_at")


def _signatures() -> Iterator[tuple[int, State]]:
    rows = Signature.objects.values_list(
        "pk", "voided_at", "content_hash", "printed_name", "signer_id", "signed_at"
    )
    for pk, voided_at, content_hash, printed_name, signer, signed_at in rows.iterator(
        chunk_size=2000
    ):
        yield (
            pk,
            {
                "valid": voided_at is None,
                "content_hash": content_hash,
                "printed_name": printed_name,
                "signer": signer,
                "signed_at": instant(signed_at),
            },
        )


def _signature_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    if event.action == "sign":
        return {
            "valid": True,
            "content_hash": new.get("content_hash"),
            "printed_name": new.get("printed_name"),
            "signer": event.actor_id,
            "signed_at": instant(new.get("signed_at")),
        }
    return {**state, "valid": False}  # voided


def _alerts() -> Iterator[tuple[int, State]]:
    rows = ClinicalAlert.objects.values_list("pk", "check_code", "message", "acknowledged_at")
    for pk, check, message, acknowledged_at in rows.iterator(chunk_size=2000):
        yield pk, {"check": check, "alert": message, "acknowledged": acknowledged_at is not None}


def _alert_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    if event.action == "create":
        return {"check": new.get("check"), "alert": new.get("alert"), "acknowledged": False}
    return {**state, "acknowledged": bool(new.get("acknowledged"))}


def register_all() -> None:
    register(
        "crfs.itemvalue",
        Reconciler(_item_values, merge(*ITEM_KEYS), ("create", "change", "delete")),
    )
    register("crfs.forminstance", Reconciler(_form_status, merge("status"), ("status",)))
    register("crfs.query", Reconciler(_queries, _query_apply, ("create", "status")))
    register(
        "crfs.querymessage",
        Reconciler(_query_messages, _message_apply, ("create", "status"), events_of="crfs.query"),
    )
    register("crfs.signature", Reconciler(_signatures, _signature_apply, ("sign", "status")))
    register("crfs.clinicalalert", Reconciler(_alerts, _alert_apply, ("create", "status")))
